/*
 * hex.h — the one hex helper: reading a hex digit (percent-decoding, the
 * four digits of a JSON \u escape) and writing them (JSON and Go escapes in
 * the logger and the JSON reader's messages, token hashes as bytea
 * literals, quoted-printable mail bodies).
 *
 * Pure functions; thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_BASE_HEX_H
#define REDLIGHT_INTERNAL_BASE_HEX_H

#include <stddef.h>

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int rl_hex_value(char c);

/* The lower-case hex digit of v's low four bits. */
char rl_hex_digit(unsigned v);

/* The upper-case hex digit of v's low four bits. */
char rl_hex_digit_upper(unsigned v);

/* Writes the 2 * n lower-case hex digits of the n bytes at in, high nibble
 * first, into out (no NUL is added). */
void rl_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
