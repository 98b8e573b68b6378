/*
 * test_conn.c — unit tests for internal/data/conn: the deadline arithmetic,
 * libpq's connect_timeout rules, and real connects: to a port that refuses,
 * to a listener that accepts and never answers (what rl_pg_connectdb says,
 * and when), and, when run-tests.sh hands over REDLIGHT_TEST_DB_DSN, to
 * the test cluster (skipped without it). A server frozen mid-query is
 * tested by tests/test_db_freeze.py.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal/base/clock.h"
#include "internal/data/conn.h"

static void
poll_ms_is_the_time_left(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_poll_ms(1500, 1000), 500);
    assert_int_equal(rl_pg_poll_ms(1001, 1000), 1);
}

static void
poll_ms_is_zero_at_and_past_the_deadline(void **state)
{
    (void)state;
    /* poll(2) with 0 still reports a socket that is ready right now. */
    assert_int_equal(rl_pg_poll_ms(1000, 1000), 0);
    assert_int_equal(rl_pg_poll_ms(1000, 1001), 0);
    assert_int_equal(rl_pg_poll_ms(0, INT64_MAX), 0);
}

static void
poll_ms_never_overflows_an_int(void **state)
{
    (void)state;
    /* -1 would mean "wait forever" to poll(2). */
    assert_int_equal(rl_pg_poll_ms(INT64_MAX, 0), INT_MAX);
    assert_int_equal(rl_pg_poll_ms((int64_t)INT_MAX + 10, 5), INT_MAX);
    assert_int_equal(rl_pg_poll_ms(INT64_MAX, -5), INT_MAX);
}

static void
deadline_adds_the_budget(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_deadline(1000, 3500), 4500);
}

static void
deadline_saturates(void **state)
{
    (void)state;
    assert_true(rl_pg_deadline(INT64_MAX - 10, 3500) == INT64_MAX);
    assert_true(rl_pg_deadline(INT64_MAX, 1) == INT64_MAX);
}

static void
deadline_without_budget_has_passed(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_deadline(1000, 0), 1000);
    assert_int_equal(rl_pg_deadline(1000, -5), 1000);
    assert_int_equal(rl_pg_poll_ms(rl_pg_deadline(1000, 0), 1000), 0);
}

static void
budget_is_statement_timeout_plus_slack(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_budget_ms(3000, 250), 3250);
    /* The pool's default: 3 s statement_timeout + 0.5 s. */
    assert_int_equal(rl_pg_budget_ms(3000, 0), 3000 + RL_PG_SLACK_MS);
    assert_int_equal(rl_pg_budget_ms(3000, -1), 3000 + RL_PG_SLACK_MS);
    assert_int_equal(RL_PG_SLACK_MS, 500);
}

static void
budget_of_the_largest_timeout_does_not_wrap(void **state)
{
    (void)state;
    assert_true(rl_pg_budget_ms(INT_MAX, INT_MAX) ==
                (int64_t)INT_MAX + INT_MAX);
}

static void
connect_timeout_follows_libpq(void **state)
{
    (void)state;
    int64_t ms = -1;
    assert_int_equal(rl_pg_connect_timeout_ms(NULL, &ms), RL_OK);
    assert_true(ms == 0); /* unset: no limit */
    const struct {
        const char *in;
        int64_t ms;
    } ok[] = {
        {"0", 0},
        {"-5", 0},
        {"1", 2000}, /* at least 2 s */
        {"2", 2000},
        {"10", 10000},
        {" 3 ", 3000},
        {"\t+4\n", 4000},
        {"2147483647", (int64_t)INT_MAX * 1000},
        {"-2147483648", 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ms = -1;
        assert_int_equal(rl_pg_connect_timeout_ms(ok[i].in, &ms), RL_OK);
        assert_true(ms == ok[i].ms);
    }
    /* libpq refuses these ('invalid integer value ... "connect_timeout"'). */
    const char *bad[] = {"",     " ",   "abc",        "3s",         "1.5",
                         "0x10", "- 1", "2147483648", "-2147483649"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 7;
        assert_int_equal(rl_pg_connect_timeout_ms(bad[i], &ms), RL_ERR_INVALID);
        assert_true(ms == 7);
    }
}

/* A TCP port on 127.0.0.1 that accepts connections (the kernel completes
 * the handshake) and never answers. */
static int
silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
static int
closed_port(void)
{
    int port;
    int fd = silent_listener(&port);
    close(fd);
    return port;
}

static bool
ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s);
    size_t t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static void
connectdb_refused_keeps_libpq_whole_message(void **state)
{
    (void)state;
    char dsn[128];
    char want[128];
    char err[1024];
    int port = closed_port();
    snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d", port);
    snprintf(want, sizeof(want),
             "connection to server at \"127.0.0.1\", port %d failed: "
             "Connection refused\n",
             port);
    PGconn *pg = (PGconn *)1;
    assert_int_equal(rl_pg_connectdb(dsn, NULL, NULL, &pg, err, sizeof(err)),
                     RL_ERR_CONN);
    assert_null(pg);
    /* Both of libpq's lines, the trailing newline trimmed. */
    assert_true(strncmp(err, want, strlen(want)) == 0);
    assert_true(ends_with(err, "accepting TCP/IP connections?"));
    /* The server's way keeps the first line. */
    assert_int_equal(rl_pg_connect(dsn, "t", NULL,
                                   rl_pg_deadline(rl_mono_ms(), 3000), &pg, err,
                                   sizeof(err)),
                     RL_ERR_CONN);
    assert_null(pg);
    want[strlen(want) - 1] = '\0';
    assert_string_equal(err, want);
}

static void
connectdb_refuses_what_pqconnectdb_refuses(void **state)
{
    (void)state;
    char err[512];
    PGconn *pg = (PGconn *)1;
    /* rl_pg_connect would take a bare word for a database name. */
    assert_int_equal(
        rl_pg_connectdb("redlight", NULL, NULL, &pg, err, sizeof(err)),
        RL_ERR_CONN);
    assert_null(pg);
    assert_string_equal(
        err, "missing \"=\" after \"redlight\" in connection info string");

    char dsn[128];
    int port = closed_port();
    snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d connect_timeout=2s",
             port);
    assert_int_equal(rl_pg_connectdb(dsn, NULL, NULL, &pg, err, sizeof(err)),
                     RL_ERR_CONN);
    assert_null(pg);
    assert_true(ends_with(err, "failed: invalid integer value \"2s\" for "
                               "connection option \"connect_timeout\""));
}

/* rl_pg_connectdb on a listener that never answers, with connect_timeout
 * from the DSN (dsn_timeout) or PGCONNECT_TIMEOUT (env): RL_ERR_TIMEOUT
 * after want_ms, libpq's words. */
static void
times_out_like_libpq(const char *dsn_timeout, const char *env, int want_ms)
{
    int port;
    int fd = silent_listener(&port);
    char dsn[128];
    char err[512];
    char want[128];
    snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d sslmode=disable%s%s",
             port, dsn_timeout ? " connect_timeout=" : "",
             dsn_timeout ? dsn_timeout : "");
    snprintf(want, sizeof(want),
             "connection to server at \"127.0.0.1\", port %d failed: "
             "timeout expired",
             port);
    if (env != NULL) {
        assert_int_equal(setenv("PGCONNECT_TIMEOUT", env, 1), 0);
    }
    PGconn *pg = (PGconn *)1;
    int64_t t0 = rl_mono_ms();
    enum rl_err e = rl_pg_connectdb(dsn, NULL, NULL, &pg, err, sizeof(err));
    int64_t took = rl_mono_ms() - t0;
    unsetenv("PGCONNECT_TIMEOUT");
    close(fd);
    assert_int_equal(e, RL_ERR_TIMEOUT);
    assert_null(pg);
    assert_string_equal(err, want);
    assert_true(took >= want_ms - 50);
    assert_true(took < want_ms + 1500);
}

static void
connectdb_honours_connect_timeout_of_the_dsn(void **state)
{
    (void)state;
    times_out_like_libpq("1", NULL, 2000); /* 1 counts as 2 s */
}

static void
connectdb_honours_pgconnect_timeout(void **state)
{
    (void)state;
    times_out_like_libpq(NULL, "2", 2000);
}

static void
connect_keeps_its_own_deadline(void **state)
{
    (void)state;
    int port;
    int fd = silent_listener(&port);
    char dsn[128];
    char err[512];
    /* The server's way ignores connect_timeout: deadline_ms rules. */
    snprintf(dsn, sizeof(dsn),
             "host=127.0.0.1 port=%d sslmode=disable connect_timeout=30", port);
    PGconn *pg = (PGconn *)1;
    int64_t t0 = rl_mono_ms();
    enum rl_err e = rl_pg_connect(dsn, "t", NULL, rl_pg_deadline(t0, 300), &pg,
                                  err, sizeof(err));
    int64_t took = rl_mono_ms() - t0;
    close(fd);
    assert_int_equal(e, RL_ERR_TIMEOUT);
    assert_null(pg);
    assert_string_equal(err, "timeout: the database did not complete the "
                             "connection before the deadline");
    assert_true(took >= 250 && took < 1500);
}

/* ---- against the test cluster (REDLIGHT_TEST_DB_DSN) --------------------- */

/* Setup: *state is the test cluster's DSN, or NULL (the test skips). */
static int
test_dsn(void **state)
{
    const char *dsn = getenv("REDLIGHT_TEST_DB_DSN");
    *state = dsn != NULL && dsn[0] != '\0' ? (void *)dsn : NULL;
    return 0;
}

static const char *
conninfo(PGconn *pg, const char *keyword, char *buf, size_t cap)
{
    PQconninfoOption *opts = PQconninfo(pg);
    assert_non_null(opts);
    buf[0] = '\0';
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, keyword) == 0 && o->val != NULL) {
            snprintf(buf, cap, "%s", o->val);
        }
    }
    PQconninfoFree(opts);
    return buf;
}

static char *
one_value(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    assert_non_null(v);
    return v;
}

static void
on_notice(void *arg, const PGresult *res)
{
    int *warnings = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev != NULL && strcmp(sev, "WARNING") == 0) {
        (*warnings)++;
    }
}

static void
connectdb_gives_a_blocking_connection_with_notices(void **state)
{
    const char *dsn = *state;
    if (dsn == NULL) {
        skip();
    }
    char err[512];
    char buf[64];
    PGconn *pg = NULL;
    assert_int_equal(rl_pg_connectdb(dsn, "conn-test",
                                     "SET lock_timeout = '1234ms'", &pg, err,
                                     sizeof(err)),
                     RL_OK);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    assert_int_equal(PQisnonblocking(pg), 0);
    /* No keepalive defaults of the server's way: libpq's. */
    assert_string_equal(conninfo(pg, "keepalives_idle", buf, sizeof(buf)), "");
    char *v = one_value(pg, "SELECT current_setting('lock_timeout')");
    assert_string_equal(v, "1234ms");
    free(v);
    v = one_value(pg, "SELECT current_setting('application_name')");
    assert_string_equal(v, "conn-test");
    free(v);
    /* The caller's notice receiver gets the server's warnings. */
    int warnings = 0;
    PQsetNoticeReceiver(pg, on_notice, &warnings);
    PGresult *r = PQexec(pg, "DO $$BEGIN RAISE WARNING 'w'; END$$");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    assert_int_equal(warnings, 1);
    PQfinish(pg);
}

static void
connect_gives_a_non_blocking_connection(void **state)
{
    const char *dsn = *state;
    if (dsn == NULL) {
        skip();
    }
    char err[512];
    char buf[64];
    PGconn *pg = NULL;
    assert_int_equal(rl_pg_connect(dsn, "conn-test", "SET lock_timeout = 0",
                                   rl_pg_deadline(rl_mono_ms(), 5000), &pg, err,
                                   sizeof(err)),
                     RL_OK);
    assert_int_equal(PQisnonblocking(pg), 1);
    assert_string_equal(conninfo(pg, "keepalives_idle", buf, sizeof(buf)),
                        "30");
    assert_string_equal(conninfo(pg, "tcp_user_timeout", buf, sizeof(buf)),
                        "10000");
    PQfinish(pg);
    /* A failing set-up closes the connection and says why. */
    pg = (PGconn *)1;
    assert_int_equal(rl_pg_connectdb(dsn, NULL, "SET no_such_setting = 1", &pg,
                                     err, sizeof(err)),
                     RL_ERR_CONN);
    assert_null(pg);
    assert_true(strstr(err, "no_such_setting") != NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poll_ms_is_the_time_left),
        cmocka_unit_test(poll_ms_is_zero_at_and_past_the_deadline),
        cmocka_unit_test(poll_ms_never_overflows_an_int),
        cmocka_unit_test(deadline_adds_the_budget),
        cmocka_unit_test(deadline_saturates),
        cmocka_unit_test(deadline_without_budget_has_passed),
        cmocka_unit_test(budget_is_statement_timeout_plus_slack),
        cmocka_unit_test(budget_of_the_largest_timeout_does_not_wrap),
        cmocka_unit_test(connect_timeout_follows_libpq),
        cmocka_unit_test(connectdb_refused_keeps_libpq_whole_message),
        cmocka_unit_test(connectdb_refuses_what_pqconnectdb_refuses),
        cmocka_unit_test(connectdb_honours_connect_timeout_of_the_dsn),
        cmocka_unit_test(connectdb_honours_pgconnect_timeout),
        cmocka_unit_test(connect_keeps_its_own_deadline),
        cmocka_unit_test_setup(
            connectdb_gives_a_blocking_connection_with_notices, test_dsn),
        cmocka_unit_test_setup(connect_gives_a_non_blocking_connection,
                               test_dsn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
