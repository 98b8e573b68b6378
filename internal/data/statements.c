/*
 * statements.c — the statement table. Immutable, shared by all threads.
 */
#include "internal/data/statements.h"

/* floor(epoch) of users.sessions_valid_after, NULL for '-infinity' (the
 * migration keeps 'infinity' out). */
#define RL_SQL_SESSIONS_SINCE                                                  \
    "CASE WHEN isfinite(u.sessions_valid_after) THEN "                         \
    "floor(extract(epoch FROM u.sessions_valid_after))::bigint END"

const struct rl_stmt_def rl_stmts[RL_STMT_COUNT_] = {
    [RL_STMT_PING] = {"ping", "SELECT 1", 0, true, RL_STMT_PING},
    [RL_STMT_MOVIE_INSERT] =
        {"movie_insert",
         "INSERT INTO movies (title, year, runtime, genres) "
         "VALUES ($1, $2, $3, $4) RETURNING id, version",
         4, false, RL_STMT_MOVIE_INSERT},
    [RL_STMT_MOVIE_GET] = {"movie_get",
                           "SELECT id, title, year, runtime, genres, version "
                           "FROM movies WHERE id = $1",
                           1, true, RL_STMT_MOVIE_GET},
    [RL_STMT_MOVIE_UPDATE] =
        {"movie_update",
         "UPDATE movies SET title = $3, year = $4, runtime = $5, genres = $6, "
         "version = version + 1 WHERE id = $1 AND version = $2 "
         "RETURNING version",
         6, false, RL_STMT_MOVIE_UPDATE},
    [RL_STMT_MOVIE_DELETE] = {"movie_delete",
                              "DELETE FROM movies WHERE id = $1", 1, false,
                              RL_STMT_MOVIE_DELETE},
    [RL_STMT_MOVIE_DELETE_VERSION] =
        {"movie_delete_version",
         "DELETE FROM movies WHERE id = $1 AND version = $2", 2, false,
         RL_STMT_MOVIE_DELETE_VERSION},
    /* The mail outbox (outbox.c enqueues; internal/mailer runs the rest on
     * its own connection). The CTE makes insert + notify one round trip;
     * the notification is delivered at commit. */
    [RL_STMT_OUTBOX_ENQUEUE] =
        {"outbox_enqueue",
         "WITH job AS (INSERT INTO mail_outbox (template, recipient, data) "
         "VALUES ($1, $2, $3::jsonb) RETURNING id) "
         "SELECT job.id, pg_notify('mail_outbox', '') FROM job",
         3, false, RL_STMT_OUTBOX_ENQUEUE},
    [RL_STMT_OUTBOX_CLAIM] =
        {"outbox_claim",
         "SELECT id, template, recipient, data::text, attempts "
         "FROM mail_outbox WHERE status = 'pending' "
         "AND next_attempt_at <= now() ORDER BY id LIMIT 1 "
         "FOR UPDATE SKIP LOCKED",
         0, false, RL_STMT_OUTBOX_CLAIM},
    [RL_STMT_OUTBOX_SENT] =
        {"outbox_sent",
         "UPDATE mail_outbox SET status = 'sent', sent_at = now(), "
         "data = NULL, attempts = attempts + 1 WHERE id = $1",
         1, false, RL_STMT_OUTBOX_SENT},
    /* clock_timestamp, not now(): the send may have taken a while since
     * the transaction began. */
    [RL_STMT_OUTBOX_RETRY] =
        {"outbox_retry",
         "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, "
         "next_attempt_at = clock_timestamp() + "
         "make_interval(secs => $3::bigint / 1000.0) WHERE id = $1",
         3, false, RL_STMT_OUTBOX_RETRY},
    [RL_STMT_OUTBOX_DEAD] =
        {"outbox_dead",
         "UPDATE mail_outbox SET status = 'dead', data = NULL, "
         "attempts = attempts + 1, last_error = $2 WHERE id = $1",
         2, false, RL_STMT_OUTBOX_DEAD},
    /* Milliseconds until the earliest pending job is due (NULL: none). */
    [RL_STMT_OUTBOX_NEXT_DUE] =
        {"outbox_next_due",
         "SELECT ceil(extract(epoch FROM min(next_attempt_at) - "
         "clock_timestamp()) * 1000)::bigint "
         "FROM mail_outbox WHERE status = 'pending'",
         0, true, RL_STMT_OUTBOX_NEXT_DUE},
    /* Users and tokens (users.c, tokens.c). created_at and expiry leave
     * as RFC 3339 UTC text; password_hash is bytea holding the hash
     * string's bytes (as Greenlight stores bcrypt's). */
    [RL_STMT_USER_INSERT] =
        {"user_insert",
         "INSERT INTO users (name, email, password_hash, activated) "
         "VALUES ($1, $2, convert_to($3, 'UTF8'), $4) "
         "RETURNING id, to_char(created_at AT TIME ZONE 'UTC', "
         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), version",
         4, false, RL_STMT_USER_INSERT},
    [RL_STMT_USER_GET_BY_EMAIL] =
        {"user_get_by_email",
         "SELECT id, to_char(created_at AT TIME ZONE 'UTC', "
         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), name, email, "
         "encode(password_hash, 'escape'), activated, version "
         "FROM users WHERE email = $1",
         1, true, RL_STMT_USER_GET_BY_EMAIL},
    [RL_STMT_USER_GET_FOR_TOKEN] =
        {"user_get_for_token",
         "SELECT users.id, to_char(users.created_at AT TIME ZONE 'UTC', "
         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), users.name, users.email, "
         "encode(users.password_hash, 'escape'), users.activated, "
         "users.version FROM users JOIN tokens ON tokens.user_id = users.id "
         "WHERE tokens.hash = $1 AND tokens.scope = $2 "
         "AND tokens.expiry > now()",
         2, true, RL_STMT_USER_GET_FOR_TOKEN},
    [RL_STMT_USER_UPDATE] =
        {"user_update",
         "UPDATE users SET name = $3, email = $4, "
         "password_hash = convert_to($5, 'UTF8'), activated = $6, "
         "version = version + 1 WHERE id = $1 AND version = $2 "
         "RETURNING version",
         6, false, RL_STMT_USER_UPDATE},
    /* A password reset ends the user's JWTs (auth.h). now(): the same
     * instant for every statement of the reset's transaction. */
    [RL_STMT_USER_END_SESSIONS] =
        {"user_end_sessions",
         "UPDATE users SET sessions_valid_after = now() WHERE id = $1", 1,
         false, RL_STMT_USER_END_SESSIONS},
    [RL_STMT_PERMISSION_GRANT] =
        {"permission_grant",
         "INSERT INTO users_permissions SELECT $1::bigint, permissions.id "
         "FROM permissions WHERE permissions.code = ANY($2::text[]) "
         "ON CONFLICT DO NOTHING",
         2, false, RL_STMT_PERMISSION_GRANT},
    [RL_STMT_TOKEN_INSERT] =
        {"token_insert",
         "INSERT INTO tokens (hash, user_id, expiry, scope) "
         "VALUES ($1, $2, now() + make_interval(secs => $3::bigint), $4) "
         "RETURNING to_char(expiry AT TIME ZONE 'UTC', "
         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
         4, false, RL_STMT_TOKEN_INSERT},
    [RL_STMT_TOKEN_DELETE_ALL] =
        {"token_delete_all",
         "DELETE FROM tokens WHERE user_id = $1 AND scope = $2", 2, false,
         RL_STMT_TOKEN_DELETE_ALL},
    /* Authentication: the user, every permission code and the whole second
     * from which sessions are valid (NULL: never reset, '-infinity'), one
     * round trip; by token also the token's expiry (epoch seconds, whole:
     * the column is timestamp(0)), for the authentication cache. */
    [RL_STMT_AUTH_BY_TOKEN] =
        {"auth_by_token",
         "SELECT u.id, u.activated, ARRAY(SELECT p.code FROM "
         "users_permissions up JOIN permissions p ON p.id = up.permission_id "
         "WHERE up.user_id = u.id), " RL_SQL_SESSIONS_SINCE
         ", extract(epoch FROM t.expiry)::bigint FROM tokens t JOIN users u "
         "ON u.id = t.user_id WHERE t.hash = $1 AND "
         "t.scope = 'authentication' AND t.expiry > now()",
         1, true, RL_STMT_AUTH_BY_TOKEN},
    [RL_STMT_AUTH_BY_ID] =
        {"auth_by_id",
         "SELECT u.id, u.activated, ARRAY(SELECT p.code FROM "
         "users_permissions up JOIN permissions p ON p.id = up.permission_id "
         "WHERE up.user_id = u.id), " RL_SQL_SESSIONS_SINCE
         " FROM users u WHERE u.id = $1",
         1, true, RL_STMT_AUTH_BY_ID},
    [RL_STMT_AUTH_REVOKE] =
        {"auth_revoke",
         "DELETE FROM tokens WHERE hash = $1 AND scope = 'authentication'", 1,
         false, RL_STMT_AUTH_REVOKE},
    [RL_STMT_PERMISSION_LOOKUP] =
        {"permission_lookup",
         "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE email = $1) "
         "THEN 'u' ELSE '' END || CASE WHEN EXISTS (SELECT 1 FROM "
         "permissions WHERE code = $2) THEN 'c' ELSE '' END",
         2, true, RL_STMT_PERMISSION_LOOKUP},
    [RL_STMT_PERMISSION_ADD] =
        {"permission_add",
         "INSERT INTO users_permissions (user_id, permission_id) SELECT u.id, "
         "p.id FROM users u, permissions p WHERE u.email = $1 AND p.code = $2 "
         "ON CONFLICT DO NOTHING",
         2, false, RL_STMT_PERMISSION_ADD},
    [RL_STMT_PERMISSION_REMOVE] =
        {"permission_remove",
         "DELETE FROM users_permissions WHERE user_id = (SELECT id FROM users "
         "WHERE email = $1) AND permission_id = (SELECT id FROM permissions "
         "WHERE code = $2)",
         2, false, RL_STMT_PERMISSION_REMOVE},
    /* GET /metrics: the outbox gauges (outbox_stats.c). */
    [RL_STMT_OUTBOX_COUNTS] =
        {"outbox_counts",
         "SELECT status, count(*) FROM mail_outbox "
         "WHERE status IN ('pending', 'dead') GROUP BY status",
         0, true, RL_STMT_OUTBOX_COUNTS},
    /* `api users list`: every user with their permission codes, sorted. */
    [RL_STMT_USER_LIST] =
        {"user_list",
         "SELECT u.email, u.activated, coalesce(string_agg(p.code, ',' "
         "ORDER BY p.code), '') FROM users u "
         "LEFT JOIN users_permissions up ON up.user_id = u.id "
         "LEFT JOIN permissions p ON p.id = up.permission_id "
         "GROUP BY u.id ORDER BY lower(u.email::text), u.id",
         0, true, RL_STMT_USER_LIST},
};
