/*
 * render.h — turns a mail job (template name + JSON data) into a complete
 * RFC 5322 message: headers, and a multipart/alternative body with a
 * text/plain and a text/html part, both UTF-8 and quoted-printable.
 *
 * Pure functions apart from randomness (Message-ID, MIME boundary, from
 * libsodium: call sodium_init first). Thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_MAILER_RENDER_H
#define REDLIGHT_INTERNAL_MAILER_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "internal/base/err.h"

/* Largest rendered message; beyond it rendering fails (RL_ERR_INVALID). */
#define RL_MAIL_MAX_BYTES (1024 * 1024)

/* Renders template `tmpl` (a file name of internal/mailer/templates without
 * .tmpl) with data_json (a JSON object whose keys fill {{.key}}), From
 * `sender` ("Name <addr>" or "addr"), To `recipient`, Date `now`.
 *
 * On RL_OK *out is a malloc'd, NUL-terminated message with CRLF line ends
 * (the caller frees it) and *len its length. Otherwise *out is NULL and
 * why (why_cap bytes, may be NULL) says what was wrong: RL_ERR_INVALID for
 * an unknown template, bad or incomplete data, or a header value with a
 * control character (CR/LF: header injection); RL_ERR_NOMEM. Retrying
 * an RL_ERR_INVALID job cannot help. */
enum rl_err rl_mail_render(const char *tmpl, const char *data_json,
                           const char *sender, const char *recipient,
                           time_t now, char **out, size_t *len, char *why,
                           size_t why_cap) RL_MUST_CHECK;

/* Copies the address part of `sender` ("Name <a@b>" → "a@b", "a@b" →
 * "a@b") into buf. RL_ERR_INVALID when it is empty, does not fit, or has a
 * control character, space or angle bracket. Pure. */
enum rl_err rl_mail_address(const char *sender, char *buf,
                            size_t cap) RL_MUST_CHECK;

/* True when s may be a header value: no control characters (CR and LF
 * above all) and no DEL. Pure. */
bool rl_mail_header_ok(const char *s);

/* printf into why (cap bytes) when why is not NULL: how the mailer's
 * functions explain a failure to their caller. */
void rl_mailer_set_why(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
