/*
 * list.c — list-valued settings, see list.h.
 */
#include "internal/base/list.h"

#include <string.h>

bool
rl_list_is_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r';
}

bool
rl_list_next(const char **pos, const char **item, size_t *len)
{
    const char *p = *pos;
    while (rl_list_is_sep(*p)) {
        p++;
    }
    if (*p == '\0') {
        *pos = p;
        return false;
    }
    const char *start = p;
    while (*p != '\0' && !rl_list_is_sep(*p)) {
        p++;
    }
    *item = start;
    *len = (size_t)(p - start);
    *pos = p;
    return true;
}

size_t
rl_list_count(const char *list)
{
    size_t n = 0;
    const char *item;
    size_t len;
    while (rl_list_next(&list, &item, &len)) {
        n++;
    }
    return n;
}

bool
rl_list_contains(const char *list, const char *s, size_t len)
{
    const char *item;
    size_t ilen;
    while (len > 0 && rl_list_next(&list, &item, &ilen)) {
        if (ilen == len && memcmp(item, s, len) == 0) {
            return true;
        }
    }
    return false;
}
