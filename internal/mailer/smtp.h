/*
 * smtp.h — delivering a rendered message: over SMTP with libcurl, or, when
 * no SMTP host is configured, as an .eml file in a folder (the development
 * default: a new user can read the activation token without a mail
 * server).
 *
 * Every function is thread-safe once curl_global_init has run (the mailer
 * calls it in rl_mailer_start); each call uses its own curl handle.
 */
#ifndef REDLIGHT_INTERNAL_MAILER_SMTP_H
#define REDLIGHT_INTERNAL_MAILER_SMTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "internal/base/err.h"

struct rl_smtp_config {
    const char *host;     /* non-empty */
    int port;             /* 465: implicit TLS; others: STARTTLS if offered */
    const char *username; /* "" or NULL: no AUTH */
    const char *password; /* never logged, never in an error text */
    const char *sender;   /* "Name <addr>" or "addr"; MAIL FROM is addr */
    long connect_timeout_ms;
    long timeout_ms;          /* the whole transfer */
    const atomic_bool *abort; /* may be NULL; set → the transfer stops */
};

/* Writes the SMTP URL for host:port into buf: smtps:// for port 465,
 * smtp:// otherwise, IPv6 literals in brackets. RL_ERR_INVALID if it does
 * not fit. Pure. */
enum rl_err rl_smtp_url(const char *host, int port, char *buf,
                        size_t cap) RL_MUST_CHECK;

/* Sends msg (len bytes, CRLF line ends, as rl_mail_render makes it) to
 * recipient. TLS: implicit on 465; elsewhere STARTTLS when the server
 * offers it — required (not just tried) when credentials are given and the
 * host is not loopback, so a password never crosses the network in clear
 * text (Go's net/smtp rule). Certificates are verified.
 *
 * Returns RL_OK once the server accepted the message; otherwise
 * RL_ERR_INVALID (bad sender/recipient/config), RL_ERR_IO (anything the
 * network or server did; why says what, without credentials), or
 * RL_ERR_NOMEM. */
enum rl_err rl_smtp_send(const struct rl_smtp_config *cfg,
                         const char *recipient, const char *msg, size_t len,
                         char *why, size_t why_cap) RL_MUST_CHECK;

/* Writes msg into dir as "<UTC yyyymmddThhmmssZ>-<job_id>-<tmpl>.eml":
 * dir and missing parents are created with mode 0700; the file (mode 0600)
 * is written under a temporary name created with O_EXCL and then linked
 * into place, so a reader never sees half a message and nothing is
 * overwritten. The final path goes to path (path_cap bytes).
 * Returns RL_OK, RL_ERR_INVALID (tmpl not [a-z0-9_], path too long) or
 * RL_ERR_IO (why says which call failed). */
enum rl_err rl_mail_write_eml(const char *dir, int64_t job_id, const char *tmpl,
                              const char *msg, size_t len, time_t now,
                              char *path, size_t path_cap, char *why,
                              size_t why_cap) RL_MUST_CHECK;

#endif
