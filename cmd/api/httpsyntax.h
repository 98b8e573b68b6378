/*
 * httpsyntax.h — the few rules of HTTP/1.1 syntax (RFC 9110, RFC 9112) that
 * the server checks itself because libmicrohttpd does not.
 *
 * Pure functions over (pointer, length); thread-safe.
 */
#ifndef REDLIGHT_CMD_API_HTTPSYNTAX_H
#define REDLIGHT_CMD_API_HTTPSYNTAX_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 9110 §5.6.2: len ≥ 1 bytes of tchar (a method, a field name). */
bool api_http_is_token(const char *s, size_t len);

/* RFC 9110 §5.1, §5.5: the name is a token and the value has no control
 * byte but HTAB. */
bool api_http_field_ok(const char *name, size_t nlen, const char *value,
                       size_t vlen);

/* A Content-Length as the server joins repeated header lines: one decimal
 * number, or the same number repeated ("5, 5", RFC 9110 §8.6). */
bool api_http_content_length_ok(const char *v);

#endif
