/*
 * percent.h — percent-decoding (RFC 3986 §2.1), the one decoder for request
 * paths and DSN database names, and the one hex-digit reader (the four hex
 * digits of a JSON \u escape use it too).
 *
 * Pure functions; thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_BASE_PERCENT_H
#define REDLIGHT_INTERNAL_BASE_PERCENT_H

#include <stddef.h>

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int rl_hex_value(char c);

/* Decodes the len bytes of s into out (room for len bytes; no NUL is
 * added): "%XX" with two hex digits becomes that byte, anything else is
 * copied as it is ('+' stays '+'), as libmicrohttpd and Go's PathUnescape
 * of a valid path do. Returns the decoded length (≤ len). The result may
 * hold NUL and other control bytes: keep its length, never strlen it. */
size_t rl_percent_decode(const char *s, size_t len, char *out);

#endif
