/*
 * sdnotify.c — sd_notify and sd_listen_fds, re-implemented in a few lines
 * (the protocols are stable and documented in sd_notify(3) and
 * sd_listen_fds(3)), so the server needs no libsystemd.
 *
 * The watchdog thread owns nothing but its struct; stop joins it before
 * freeing. Its lock (w->mu) guards only w->stop.
 */
#include "internal/sdnotify/sdnotify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal/base/clock.h"
#include "internal/base/parse.h"

/* Parses a decimal integer that fills all of s; false otherwise. */
static bool
parse_ll(const char *s, long long *out)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    int64_t v;
    if (rl_parse_i64(s, RL_PARSE_STRTOL, LLONG_MIN, LLONG_MAX, NULL, &v) !=
        RL_OK) {
        return false;
    }
    *out = v;
    return true;
}

enum rl_err
rl_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || *path == '\0') {
        return RL_OK;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
        return RL_ERR_INVALID;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') {
        sa.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL */
    }
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                  (path[0] == '@' ? 0 : 1));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return RL_ERR_IO;
    }
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                       (const struct sockaddr *)&sa, salen);
    close(fd);
    return n == (ssize_t)strlen(state) ? RL_OK : RL_ERR_IO;
}

int64_t
rl_sd_watchdog_usec(void)
{
    long long pid = 0;
    long long usec = 0;
    const char *p = getenv("WATCHDOG_PID");
    if (p != NULL && (!parse_ll(p, &pid) || pid != (long long)getpid())) {
        return 0;
    }
    if (!parse_ll(getenv("WATCHDOG_USEC"), &usec) || usec <= 0) {
        return 0;
    }
    return (int64_t)usec;
}

int
rl_sd_listen_fds(void)
{
    long long pid = 0;
    long long n = 0;
    int result = 0;
    if (parse_ll(getenv("LISTEN_PID"), &pid) && pid == (long long)getpid() &&
        parse_ll(getenv("LISTEN_FDS"), &n) && n > 0 && n < 4096) {
        for (int fd = RL_SD_LISTEN_FDS_START;
             fd < RL_SD_LISTEN_FDS_START + (int)n; fd++) {
            int fl = fcntl(fd, F_GETFD);
            if (fl >= 0) {
                (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
            }
        }
        result = (int)n;
    }
    return result;
}

struct rl_sd_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int64_t period_ms;
};

static void *
watchdog_main(void *arg)
{
    struct rl_sd_watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec at = rl_mono_deadline(w->period_ms);
        while (!w->stop &&
               pthread_cond_timedwait(&w->cv, &w->mu, &at) != ETIMEDOUT) {
        }
        if (w->stop) {
            break;
        }
        pthread_mutex_unlock(&w->mu);
        if (rl_sd_notify("WATCHDOG=1") != RL_OK) {
            /* Nothing to do: a missed ping is what the watchdog is for. */
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

enum rl_err
rl_sd_watchdog_start(int64_t usec, struct rl_sd_watchdog **out)
{
    *out = NULL;
    if (usec <= 0) {
        return RL_OK;
    }
    struct rl_sd_watchdog *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return RL_ERR_NOMEM;
    }
    w->period_ms = usec / 2000 > 0 ? usec / 2000 : 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return RL_ERR_NOMEM;
    }
    *out = w;
    return RL_OK;
}

void
rl_sd_watchdog_stop(struct rl_sd_watchdog *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
