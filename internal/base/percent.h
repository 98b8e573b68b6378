/*
 * percent.h — percent-decoding (RFC 3986 §2.1), the one decoder for request
 * paths and DSN database names (its hex digits are read by hex.h, which
 * this header includes for the callers that had rl_hex_value from here).
 *
 * Pure functions; thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_BASE_PERCENT_H
#define REDLIGHT_INTERNAL_BASE_PERCENT_H

#include <stddef.h>

#include "internal/base/hex.h" /* IWYU pragma: export */

/* Decodes the len bytes of s into out (room for len bytes; no NUL is
 * added): "%XX" with two hex digits becomes that byte, anything else is
 * copied as it is ('+' stays '+'), as libmicrohttpd and Go's PathUnescape
 * of a valid path do. Returns the decoded length (≤ len). The result may
 * hold NUL and other control bytes: keep its length, never strlen it. */
size_t rl_percent_decode(const char *s, size_t len, char *out);

#endif
