/*
 * list.h — the one reader of list-valued settings (-cors-trusted-origins,
 * -trusted-proxies, -metrics-allow): items separated by any run of spaces,
 * tabs, commas or line breaks, so "a b", "a,b", "a, b" and " a ,, b " all
 * hold the same two items. An empty or blank list holds none.
 *
 * Pure functions; thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_BASE_LIST_H
#define REDLIGHT_INTERNAL_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* True for the bytes that separate items. */
bool rl_list_is_sep(char c);

/* The next item at or after *pos: sets *item and *len to it, moves *pos
 * past it and returns true; returns false at the end of the list.
 *
 *   const char *p = list, *it;
 *   size_t n;
 *   while (rl_list_next(&p, &it, &n)) { ... }
 */
bool rl_list_next(const char **pos, const char **item, size_t *len);

/* How many items list holds. */
size_t rl_list_count(const char *list);

/* True when the len bytes of s are one of list's items (exact,
 * case-sensitive). An empty s is in no list. */
bool rl_list_contains(const char *list, const char *s, size_t len);

#endif
