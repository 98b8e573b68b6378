/*
 * utf8.h — UTF-8 decoding shared by the logger, validators and the JSON
 * reader. Pure functions.
 */
#ifndef REDLIGHT_INTERNAL_BASE_UTF8_H
#define REDLIGHT_INTERNAL_BASE_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s (n > 0 bytes
 * available), or 0 when it is malformed: overlong, a surrogate, beyond
 * U+10FFFF, or cut short. */
size_t rl_utf8_seq_len(const unsigned char *s, size_t n);

#endif
