/*
 * server_private.h — what the files of the HTTP server share (server.c,
 * server_shutdown.c); nothing else includes it.
 */
#ifndef REDLIGHT_CMD_API_SERVER_PRIVATE_H
#define REDLIGHT_CMD_API_SERVER_PRIVATE_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmd/api/body.h"
#include "cmd/api/server.h"

struct api_server {
    struct MHD_Daemon *daemon;
    struct api_app *app;
    struct api_conns *conns;
    struct api_workq *dbq;         /* requests that wait on the database */
    struct api_workq *hashq;       /* requests that hash a password */
    struct api_body_budget bodies; /* of every conn_state's body */
    int64_t read_ns, idle_ns, write_ns;
    MHD_socket listen_fd;     /* after quiesce: shut down, closed by stop */
    bool inherited;           /* listening on systemd's socket (LISTEN_FDS) */
    atomic_long adopt_credit; /* see adopt_backlog */
};

/* Uses up one of the connections api_server_quiesce counted in
 * app->fresh_conns ahead of MHD registering them (server_shutdown.c);
 * false when none is left. Any thread. */
bool api_server_take_adopt_credit(struct api_server *s);

/* Lets the workers finish every queued request, joins them, stops the
 * reaper and frees s (server_shutdown.c). */
void api_server_free(struct api_server *s);

#endif
