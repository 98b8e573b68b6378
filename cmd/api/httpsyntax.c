/*
 * httpsyntax.c — HTTP syntax checks (httpsyntax.h). No state.
 */
#include "cmd/api/httpsyntax.h"

#include <string.h>

bool
api_http_is_token(const char *s, size_t len)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                     (c >= 'A' && c <= 'Z');
        if (!alnum && (c == '\0' || strchr(tchar, c) == NULL)) {
            return false;
        }
    }
    return true;
}

bool
api_http_field_ok(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (!api_http_is_token(name, nlen)) {
        return false;
    }
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

bool
api_http_content_length_ok(const char *v)
{
    size_t first = strspn(v, "0123456789");
    if (first == 0) {
        return false;
    }
    const char *p = v + first;
    while (*p != '\0') {
        if (strncmp(p, ", ", 2) != 0 || strncmp(p + 2, v, first) != 0 ||
            strspn(p + 2, "0123456789") != first) {
            return false;
        }
        p += 2 + first;
    }
    return true;
}
