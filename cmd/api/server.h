/*
 * server.h — the HTTP server (libmicrohttpd behind this interface).
 */
#ifndef REDLIGHT_CMD_API_SERVER_H
#define REDLIGHT_CMD_API_SERVER_H

#include "cmd/api/app.h"

struct api_server;

/* Starts listening on app->cfg.port (IPv6 dual-stack, or IPv4 when IPv6 is
 * unavailable) with app->cfg.http_threads worker threads. */
enum rl_err api_server_start(struct api_app *app,
                             struct api_server **out) RL_MUST_CHECK;

/* Stops accepting new connections; requests in flight go on. */
void api_server_quiesce(struct api_server *s);

/* Closes every connection, joins the threads, frees s. NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
