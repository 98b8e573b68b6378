/*
 * server_shutdown.c — the HTTP server's end (server.h): quiesce, stop, free.
 *
 * Shutdown (api_server_quiesce): MHD stops accepting; connections the
 * kernel had already accepted but MHD had not yet picked up are taken from
 * the listening socket and handed to MHD (MHD_add_connection), and only
 * then is the socket shut down, so a client whose connect() succeeded
 * before the signal is served, and later clients are refused. Connections
 * that have not yet sent a request are counted in app->fresh_conns, so
 * main.c's drain can wait for them too.
 */
#include "cmd/api/server_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/api/conns.h"
#include "cmd/api/workq.h"
#include "internal/jsonlog/jsonlog.h"

bool
api_server_take_adopt_credit(struct api_server *s)
{
    long credit = atomic_load(&s->adopt_credit);
    while (credit > 0 && !atomic_compare_exchange_weak(&s->adopt_credit,
                                                       &credit, credit - 1)) {
    }
    return credit > 0;
}

/* Hands MHD the connections waiting in the listening socket's backlog:
 * the kernel completed their handshakes, so their clients believe they are
 * connected and may have sent a request already. Each is counted in
 * fresh_conns at once (the MHD thread that registers it later uses up one
 * adopt_credit instead of counting it again), so the drain cannot miss it
 * in between. */
static void
adopt_backlog(struct api_server *s, MHD_socket fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return;
    }
    long adopted = 0;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int c = accept4(fd, (struct sockaddr *)&ss, &len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            break; /* EAGAIN: the backlog is empty */
        }
        atomic_fetch_add(&s->app->fresh_conns, 1);
        atomic_fetch_add(&s->adopt_credit, 1);
        if (MHD_add_connection(s->daemon, c, (struct sockaddr *)&ss, len) !=
            MHD_YES) {
            /* MHD closed it; nothing will register it. */
            if (api_server_take_adopt_credit(s)) {
                atomic_fetch_sub(&s->app->fresh_conns, 1);
            }
            continue;
        }
        adopted++;
    }
    if (adopted > 0) {
        rl_log_props(RL_LOG_INFO, "shutdown: took over queued connections",
                     RL_LOG_INT("count", adopted), NULL);
    }
}

void
api_server_quiesce(struct api_server *s)
{
    atomic_store(&s->app->shutting_down, true);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd == MHD_INVALID_SOCKET) {
        return;
    }
    s->listen_fd = fd;
    if (s->inherited) {
        /* systemd's socket: shutting it down would kill it for the next
         * instance too; what waits in its backlog is served by that one. */
        return;
    }
    adopt_backlog(s, fd);
    /* From here new connections are refused (RST) instead of queued. The
     * descriptor stays open until MHD_stop_daemon, as MHD requires. */
    shutdown(fd, SHUT_RDWR);
}

void
api_server_free(struct api_server *s)
{
    api_workq_free(s->dbq);
    api_workq_free(s->hashq);
    api_conns_free(s->conns);
    free(s);
}

void
api_server_stop(struct api_server *s)
{
    if (s == NULL) {
        return;
    }
    /* Workers first: they resume their connections, which MHD requires
     * before it stops. */
    struct MHD_Daemon *d = s->daemon;
    MHD_socket fd = s->listen_fd;
    api_workq_stop(s->dbq);
    api_workq_stop(s->hashq);
    MHD_stop_daemon(d);
    api_server_free(s);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
}