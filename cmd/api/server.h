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

/* Writes the address the server really listens on into buf (at least
 * RL_SOCKADDR_TEXT_MAX bytes), as rl_sockaddr_format does: the port the
 * kernel chose for -port 0, or the socket systemd passed. Returns false
 * (buf empty) when it cannot be found. */
bool api_server_addr(const struct api_server *s, char *buf, size_t cap);

/* Stops accepting new connections; requests in flight go on. */
void api_server_quiesce(struct api_server *s);

/* Closes every connection, joins the threads, frees s. NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
