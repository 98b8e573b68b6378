/*
 * parse.h — the one decimal integer parser: whole string (or a prefix when
 * the caller asks for the end), range-checked, with the lexical rules each
 * caller accepts spelled out as flags instead of inherited from strtoll.
 *
 * Pure functions; thread-safe; errno is left alone.
 */
#ifndef REDLIGHT_INTERNAL_BASE_PARSE_H
#define REDLIGHT_INTERNAL_BASE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "internal/base/err.h"

/* What may come before the digits; 0 is digits only ("[0-9]+"). */
enum rl_parse_flags {
    RL_PARSE_SPACE = 1, /* leading isspace() characters are skipped */
    RL_PARSE_SIGN = 2,  /* one optional '+' or '-' before the digits */
    /* strtoll(s, &end, 10)'s syntax: spaces, sign, digits. */
    RL_PARSE_STRTOL = RL_PARSE_SPACE | RL_PARSE_SIGN,
};

/* Parses the base-10 integer at the start of s, with what flags allow
 * before its digits (at least one digit is required). end NULL: the digits
 * must end the string. end non-NULL: *end gets the first character after
 * the digits (the caller checks what may follow). The value must lie in
 * [min, max]. RL_OK sets *out (and *end); anything else (no digits,
 * trailing characters, out of range, overflow) is RL_ERR_INVALID and
 * leaves *out and *end as they were. */
enum rl_err rl_parse_i64(const char *s, unsigned flags, int64_t min,
                         int64_t max, const char **end,
                         int64_t *out) RL_MUST_CHECK;

/* rl_parse_i64 over exactly len bytes of s, which need not be
 * NUL-terminated; a NUL byte among them is not a digit, so it is refused
 * (a query value "36%00" is not 36). With flags RL_PARSE_SIGN and the full
 * range this is Go's strconv.ParseInt(s, 10, 64). Never reads s[len]. */
enum rl_err rl_parse_i64n(const char *s, size_t len, unsigned flags,
                          int64_t min, int64_t max, const char **end,
                          int64_t *out) RL_MUST_CHECK;

/* rl_parse_i64 for unsigned values up to max (at most UINT64_MAX): digits
 * only (no space, no sign), the whole string. */
enum rl_err rl_parse_u64(const char *s, uint64_t max,
                         uint64_t *out) RL_MUST_CHECK;

/* The other way: writes v in base 10 ('-' first when negative, no
 * padding) at out, which must have room for RL_FMT_I64_MAX bytes, adds a
 * NUL and returns the number of characters before it. For hot paths
 * where snprintf's format parsing shows up (the request log line). */
#define RL_FMT_I64_MAX 21
size_t rl_fmt_i64(char *out, int64_t v);

#endif
