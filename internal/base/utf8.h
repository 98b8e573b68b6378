/*
 * utf8.h — the one UTF-8 decoder, shared by the logger, validators, the
 * JSON reader, the metrics page and the mailer. Pure functions.
 */
#ifndef REDLIGHT_INTERNAL_BASE_UTF8_H
#define REDLIGHT_INTERNAL_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* rl_utf8_decode's answer for a sequence that is well-formed as far as the
 * n bytes go but needs more. */
#define RL_UTF8_SHORT ((size_t)-1)

/* Decodes the sequence at s (n > 0 bytes available) by the
 * well-formedness table of Unicode §3.9 (no overlongs, surrogates or code
 * points past U+10FFFF): returns its length (1..4) and puts its code point
 * in *cp (cp may be NULL); returns 0 when it is malformed — the lead byte or
 * a continuation byte within the n bytes is wrong — and RL_UTF8_SHORT when
 * the n bytes end inside an otherwise well-formed sequence. Reads no byte
 * past the first wrong one. */
size_t rl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Length (1..4) of the well-formed UTF-8 sequence at s (n > 0 bytes
 * available), or 0 when it is malformed: overlong, a surrogate, beyond
 * U+10FFFF, or cut short. */
size_t rl_utf8_seq_len(const unsigned char *s, size_t n);

#endif
