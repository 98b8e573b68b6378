/*
 * procstat.c — reads /proc/self/status into a stack buffer (it is about
 * 1.5 KiB) and picks two lines; no allocation, no state.
 */
#include "internal/procstat/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The number after "name:" at the start of a line, or -1. */
static int64_t
field(const char *status, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = status; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            errno = 0;
            char *end;
            long long v = strtoll(p + n + 1, &end, 10);
            if (errno != 0 || end == p + n + 1 || v < 0) {
                return -1;
            }
            return v;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return -1;
}

void
rl_procstat_parse(const char *status, struct rl_procstat *out)
{
    int64_t kib = field(status, "VmRSS");
    out->rss_bytes = kib < 0 ? -1 : kib * 1024;
    out->threads = field(status, "Threads");
}

enum rl_err
rl_procstat_read(struct rl_procstat *out)
{
    struct mallinfo2 mi = mallinfo2();
    out->heap_bytes = (int64_t)mi.uordblks;
    out->rss_bytes = -1;
    out->threads = -1;
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return RL_ERR_IO;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
        if (len == sizeof(buf) - 1) {
            break;
        }
    }
    close(fd);
    buf[len] = '\0';
    rl_procstat_parse(buf, out);
    return out->rss_bytes < 0 || out->threads < 0 ? RL_ERR_IO : RL_OK;
}
