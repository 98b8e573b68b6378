/*
 * mailer_int.h — package-private to internal/mailer: the message pieces
 * headers.c builds for render.c. Every function appends to b; an append
 * that runs out of memory leaves b failed (rl_buf), which the caller
 * checks once at the end.
 */
#ifndef REDLIGHT_INTERNAL_MAILER_MAILER_INT_H
#define REDLIGHT_INTERNAL_MAILER_MAILER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "internal/base/buf.h"

/* A control character: C0 or DEL. */
bool rl_mail_is_ctl(unsigned char c);
/* "name: value\r\n", value as RFC 2047 encoded-words when not ASCII. */
void rl_mail_add_text_header(struct rl_buf *b, const char *name,
                             const char *value);
/* "From: ...\r\n" for sender ("Name <addr>" or "addr") and its addr. */
void rl_mail_add_from_header(struct rl_buf *b, const char *sender,
                             const char *addr);
/* "Date: ...\r\n" (RFC 5322 §3.3, UTC). */
void rl_mail_add_date_header(struct rl_buf *b, time_t now);
/* nbytes (at most 32) random bytes as 2 * nbytes hex digits + NUL. */
void rl_mail_random_hex(char *out, size_t nbytes);
/* text (LF or CRLF line ends) as quoted-printable with CRLF line ends. */
void rl_mail_qp_encode(struct rl_buf *b, const char *text, size_t len);

#endif
