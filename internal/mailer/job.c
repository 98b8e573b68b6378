/*
 * job.c — one mail job: claim the earliest due row of mail_outbox, render
 * it, deliver it (SMTP, or an .eml file without an SMTP host) and record
 * sent, retry or dead in the same transaction, whose row lock keeps every
 * other thread and process off the job during the send. Runs on the
 * calling worker thread and its connection; the claimed row's strings live
 * until the claim result is cleared, before rl_mailer_process_one returns.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/data/conn.h"
#include "internal/data/statements.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/mailer/render.h"
#include "internal/mailer/smtp.h"
#include "internal/mailer/worker_int.h"

#define WHY_CAP 512

static void
fmt_i64(char *buf, size_t cap, int64_t v)
{
    snprintf(buf, cap, "%" PRId64, v);
}

struct job {
    const char *id;
    long long id_num; /* id as a number, for logs and .eml names */
    const char *tmpl;
    const char *recipient;
    const char *data; /* NULL: scrubbed (a requeued dead job) */
    int attempts;
};

/* Delivers job; on failure why says what went wrong and *permanent tells
 * whether retrying could help. */
static bool
deliver(struct rl_mailer_worker *w, const struct job *job, char *why,
        size_t why_cap, bool *permanent)
{
    const struct rl_mailer_config *cfg = &w->m->cfg;
    char *msg = NULL;
    size_t len = 0;
    *permanent = false;
    if (job->data == NULL) {
        snprintf(why, why_cap,
                 "no data: it was scrubbed, so the mail "
                 "cannot be rendered again");
        *permanent = true;
        return false;
    }
    time_t now = time(NULL);
    char rwhy[256];
    enum rl_err e =
        rl_mail_render(job->tmpl, job->data, cfg->sender, job->recipient, now,
                       &msg, &len, rwhy, sizeof(rwhy));
    if (e != RL_OK) {
        snprintf(why, why_cap, "render: %s", rwhy);
        *permanent = e == RL_ERR_INVALID;
        return false;
    }
    bool ok;
    if (cfg->smtp_host[0] != '\0') {
        struct rl_smtp_config sc = {
            .host = cfg->smtp_host,
            .port = cfg->smtp_port,
            .username = cfg->smtp_username,
            .password = cfg->smtp_password,
            .sender = cfg->sender,
            .connect_timeout_ms = 10000,
            .timeout_ms = 30000,
            .abort = &w->m->abort_sends,
        };
        e = rl_smtp_send(&sc, job->recipient, msg, len, why, why_cap);
        ok = e == RL_OK;
    } else {
        char path[4096];
        e = rl_mail_write_eml(cfg->mail_dir, job->id_num, job->tmpl, msg, len,
                              now, path, sizeof(path), why, why_cap);
        ok = e == RL_OK;
        if (ok) {
            rl_log_props(RL_LOG_INFO, "mail written",
                         RL_LOG_INT("id", job->id_num),
                         RL_LOG_STR("template", job->tmpl),
                         RL_LOG_STR("path", path), NULL);
        }
    }
    free(msg);
    return ok;
}

/* Claims and handles one due job. Returns 1 when it handled one, 0 when
 * none is due, -1 when the connection must be dropped. */
int
rl_mailer_process_one(struct rl_mailer_worker *w)
{
    const struct rl_mailer_config *cfg = &w->m->cfg;
    PGresult *claim = NULL, *r = NULL;
    if (!rl_mailer_begin(w)) {
        return -1;
    }
    if (!rl_mailer_exec_stmt(w, RL_STMT_OUTBOX_CLAIM, NULL, &claim)) {
        return -1;
    }
    if (PQntuples(claim) == 0) {
        PQclear(claim);
        return rl_mailer_run_simple(w->pg, "COMMIT") ? 0 : -1;
    }
    struct job job = {
        .id = PQgetvalue(claim, 0, 0),
        .id_num = rl_pg_int(claim, 0, 0),
        .tmpl = PQgetvalue(claim, 0, 1),
        .recipient = PQgetvalue(claim, 0, 2),
        .data = PQgetisnull(claim, 0, 3) ? NULL : PQgetvalue(claim, 0, 3),
        .attempts = (int)rl_pg_int(claim, 0, 4),
    };
    char why[WHY_CAP] = "";
    bool permanent;
    bool sent = deliver(w, &job, why, sizeof(why), &permanent);
    /* last_error must be valid text whatever a server or the C library
     * said (snprintf may also have cut a UTF-8 sequence). */
    for (char *p = why; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
            *p = '?';
        }
    }
    int failures = job.attempts + 1;
    char delay[24] = "";
    int64_t delay_ms = 0;
    bool ok;
    const char *outcome;
    if (sent) {
        const char *v[] = {job.id};
        ok = rl_mailer_exec_stmt(w, RL_STMT_OUTBOX_SENT, v, &r);
        outcome = "sent";
    } else if (permanent || failures >= cfg->max_attempts) {
        const char *v[] = {job.id, why};
        ok = rl_mailer_exec_stmt(w, RL_STMT_OUTBOX_DEAD, v, &r);
        outcome = "dead";
    } else {
        delay_ms = rl_mailer_backoff_ms(cfg, failures);
        fmt_i64(delay, sizeof(delay), delay_ms);
        const char *v[] = {job.id, why, delay};
        ok = rl_mailer_exec_stmt(w, RL_STMT_OUTBOX_RETRY, v, &r);
        outcome = "retry";
    }
    PQclear(r);
    ok = ok && rl_mailer_run_simple(w->pg, "COMMIT");
    if (!ok) {
        /* The row lock goes with the transaction; the job stays pending
         * and is tried again (a sent mail may then go out twice). */
        rl_log_props(RL_LOG_ERROR, "mailer: could not record the outcome",
                     RL_LOG_INT("id", job.id_num),
                     RL_LOG_STR("outcome", outcome), NULL);
        PQclear(claim);
        return -1;
    }
    if (sent) {
        rl_log_props(RL_LOG_INFO, "mail sent", RL_LOG_INT("id", job.id_num),
                     RL_LOG_STR("template", job.tmpl),
                     RL_LOG_INT("attempt", failures), NULL);
    } else if (strcmp(outcome, "dead") == 0) {
        rl_log_props(
            RL_LOG_ERROR, "mail dead: giving up", RL_LOG_INT("id", job.id_num),
            RL_LOG_STR("template", job.tmpl), RL_LOG_INT("attempt", failures),
            RL_LOG_STR("error", why), NULL);
    } else {
        rl_log_props(RL_LOG_ERROR, "mail failed: will retry",
                     RL_LOG_INT("id", job.id_num),
                     RL_LOG_STR("template", job.tmpl),
                     RL_LOG_INT("attempt", failures),
                     RL_LOG_INT("retry_in_ms", delay_ms),
                     RL_LOG_STR("error", why), NULL);
    }
    PQclear(claim);
    return 1;
}
