/*
 * outbox_stats.c — GROUP BY status over mail_outbox. Owns nothing beyond
 * the call: the numbers are copied out before PQclear.
 */
#include "internal/data/outbox_stats.h"

#include <stdint.h>
#include <string.h>

#include "internal/base/parse.h"
#include "internal/data/pg_int.h"

enum rl_err
rl_outbox_counts(struct rl_db *db, struct rl_outbox_counts *out)
{
    memset(out, 0, sizeof(*out));
    PGresult *r;
    enum rl_err e = rl_db_run(db, RL_STMT_OUTBOX_COUNTS, NULL, &r);
    if (e != RL_OK) {
        return e;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t n;
        if (rl_parse_i64(PQgetvalue(r, i, 1), RL_PARSE_STRTOL, 0, INT64_MAX,
                         NULL, &n) != RL_OK) {
            e = RL_ERR_DB;
            break;
        }
        const char *status = PQgetvalue(r, i, 0);
        if (strcmp(status, "pending") == 0) {
            out->pending = n;
        } else if (strcmp(status, "dead") == 0) {
            out->dead = n;
        }
    }
    PQclear(r);
    return e;
}
