/*
 * files.c — the migrations directory and the files in it: rl_migrate_scan_dir
 * (readdir + stat; the names are parsed and paired in parse.c) and reading a
 * whole migration file. Owns nothing past a call: the set and the file text
 * go to the caller, everything else is freed before returning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/migrate/migrate_int.h"

static char *
join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    size_t nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

enum rl_err
rl_migrate_scan_dir(const char *dir, struct rl_migration_set *set, char *errbuf,
                    size_t errlen)
{
    enum rl_err err = RL_OK;
    size_t cap = 0;
    set->items = NULL;
    set->len = 0;

    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(errbuf, errlen, "cannot open migrations directory %s: %s", dir,
                 strerror(errno));
        return RL_ERR_IO;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                snprintf(errbuf, errlen, "cannot read %s: %s", dir,
                         strerror(errno));
                err = RL_ERR_IO;
            }
            break;
        }
        uint64_t version;
        bool is_up;
        bool overflow;
        size_t off;
        size_t nlen;
        if (!rl_migrate_parse_filename(de->d_name, &version, &is_up, &off,
                                       &nlen, &overflow)) {
            if (overflow) {
                snprintf(errbuf, errlen,
                         "migration file %s/%s: version does not fit in a "
                         "bigint",
                         dir, de->d_name);
                err = RL_ERR_INVALID;
                break;
            }
            continue;
        }
        char *path = join_path(dir, de->d_name);
        if (path == NULL) {
            err = RL_ERR_NOMEM;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path); /* a directory or dangling link is not a migration */
            continue;
        }
        err = rl_migrate_set_add(set, &cap, version, is_up, de->d_name + off,
                                 nlen, path, errbuf, errlen);
        if (err != RL_OK) {
            break;
        }
    }
    closedir(d);
    if (err == RL_ERR_NOMEM) {
        snprintf(errbuf, errlen, "out of memory");
    }
    if (err == RL_OK) {
        rl_migrate_set_sort(set);
    }
    return err;
}

/* Reads a whole migration file. Refuses files over RL_MIGRATE_FILE_MAX and
 * files holding a NUL byte (libpq would stop reading the SQL there). */
enum rl_err
rl_migrate_read_file(struct rl_migrator *m, const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rl_migrate_msg_add(m, "cannot open %s: %s", path, strerror(errno));
        return RL_ERR_IO;
    }
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    enum rl_err err = buf ? RL_OK : RL_ERR_NOMEM;
    while (err == RL_OK) {
        if (len + 1 == cap) {
            /* Room for RL_MIGRATE_FILE_MAX + 1 bytes tells "too big". */
            size_t ncap = cap * 2;
            if (ncap > RL_MIGRATE_FILE_MAX + 2) {
                ncap = RL_MIGRATE_FILE_MAX + 2;
            }
            char *n = realloc(buf, ncap);
            if (n == NULL) {
                err = RL_ERR_NOMEM;
                break;
            }
            buf = n;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rl_migrate_msg_add(m, "cannot read %s: %s", path, strerror(errno));
            err = RL_ERR_IO;
        } else if (r == 0) {
            break;
        } else if ((len += (size_t)r) > RL_MIGRATE_FILE_MAX) {
            rl_migrate_msg_add(m, "%s: larger than %zu bytes", path,
                               RL_MIGRATE_FILE_MAX);
            err = RL_ERR_INVALID;
        }
    }
    close(fd);
    if (err == RL_OK && memchr(buf, '\0', len) != NULL) {
        rl_migrate_msg_add(m, "%s: contains a NUL byte", path);
        err = RL_ERR_INVALID;
    }
    if (err != RL_OK) {
        if (err == RL_ERR_NOMEM) {
            rl_migrate_msg_add(m, "out of memory reading %s", path);
        }
        free(buf);
        return err;
    }
    buf[len] = '\0';
    *out = buf;
    return RL_OK;
}
