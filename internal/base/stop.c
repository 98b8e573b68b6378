#include "internal/base/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void
rl_stop_none(struct rl_stop *s)
{
    s->fd[0] = s->fd[1] = -1;
}

bool
rl_stop_init(struct rl_stop *s)
{
    if (pipe2(s->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        rl_stop_none(s);
        return false;
    }
    return true;
}

int
rl_stop_fd(const struct rl_stop *s)
{
    return s->fd[0];
}

void
rl_stop_fire(struct rl_stop *s)
{
    if (s->fd[1] < 0) {
        return;
    }
    /* One byte is enough: nobody reads it, so the end stays readable. A
     * full pipe (EAGAIN) is as good. */
    ssize_t n;
    do {
        n = write(s->fd[1], "x", 1);
    } while (n < 0 && errno == EINTR);
}

void
rl_stop_close(struct rl_stop *s)
{
    if (s->fd[0] >= 0) {
        close(s->fd[0]);
        close(s->fd[1]);
    }
    rl_stop_none(s);
}
