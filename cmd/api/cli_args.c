/*
 * cli_args.c — flags anywhere among a subcommand's arguments. No state, no
 * allocation: values point into the words given.
 */
#include "cmd/api/cli_args.h"

#include <stdio.h>
#include <string.h>

/* A word that is a flag: "-x…" or "--x…", but not "-", "--" or a negative
 * number ("-1" is migrate force's argument). */
static bool
is_flag(const char *w)
{
    if (w[0] != '-' || w[1] == '\0') {
        return false;
    }
    const char *p = w[1] == '-' ? w + 2 : w + 1;
    return *p != '\0' && !(*p >= '0' && *p <= '9');
}

static struct api_cli_flag *
find(struct api_cli_flag *flags, size_t nflags, const char *name, size_t len)
{
    for (size_t i = 0; i < nflags; i++) {
        if (strlen(flags[i].name) == len &&
            strncmp(flags[i].name, name, len) == 0) {
            return &flags[i];
        }
    }
    return NULL;
}

static const char *
bool_value(const char *v)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        return "true";
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        return "false";
    }
    return NULL;
}

bool
api_cli_args_parse(int n, char **words, struct api_cli_flag *flags,
                   size_t nflags, const char **pos, size_t maxpos, size_t *npos,
                   char *err, size_t errcap)
{
    *npos = 0;
    bool flags_done = false;
    for (int i = 0; i < n; i++) {
        const char *w = words[i];
        if (!flags_done && strcmp(w, "--") == 0) {
            flags_done = true;
            continue;
        }
        if (flags_done || !is_flag(w)) {
            if (*npos == maxpos) {
                snprintf(err, errcap, "too many arguments (at \"%s\")", w);
                return false;
            }
            pos[(*npos)++] = w;
            continue;
        }
        const char *name = w[1] == '-' ? w + 2 : w + 1;
        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        struct api_cli_flag *f = find(flags, nflags, name, len);
        if (f == NULL) {
            snprintf(err, errcap, "flag provided but not defined: -%.*s",
                     (int)len, name);
            return false;
        }
        if (!f->has_value) {
            f->value = eq != NULL ? bool_value(eq + 1) : "true";
            if (f->value == NULL) {
                snprintf(err, errcap,
                         "invalid boolean value \"%s\" for flag -%s", eq + 1,
                         f->name);
                return false;
            }
        } else if (eq != NULL) {
            f->value = eq + 1;
        } else if (i + 1 < n) {
            f->value = words[++i];
        } else {
            snprintf(err, errcap, "flag needs an argument: -%s", f->name);
            return false;
        }
    }
    return true;
}

const struct api_cli_flag *
api_cli_flag_get(const struct api_cli_flag *flags, size_t nflags,
                 const char *name)
{
    for (size_t i = 0; i < nflags; i++) {
        if (strcmp(flags[i].name, name) == 0) {
            return &flags[i];
        }
    }
    return NULL;
}

bool
api_cli_flag_on(const struct api_cli_flag *flags, size_t nflags,
                const char *name)
{
    const struct api_cli_flag *f = api_cli_flag_get(flags, nflags, name);
    return f != NULL && f->value != NULL && strcmp(f->value, "true") == 0;
}

bool
api_cli_is_help(const char *word)
{
    return strcmp(word, "help") == 0 || strcmp(word, "-h") == 0 ||
           strcmp(word, "-help") == 0 || strcmp(word, "--help") == 0;
}

int
api_cli_usage_error(const char *why, const char *usage)
{
    fprintf(stderr, "error: %s\n%s", why, usage);
    return 2;
}
