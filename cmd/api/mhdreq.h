/*
 * mhdreq.h — struct api_req over libmicrohttpd: the request source that
 * reads what a client sent from an MHD connection, and the response built
 * from what the chain answered. With server.c, the only code that sees
 * libmicrohttpd; server.c owns the daemon and the request's life.
 *
 * Thread-safety: what MHD allows for the connection (its I/O thread, or a
 * worker while the connection is suspended).
 */
#ifndef REDLIGHT_CMD_API_MHDREQ_H
#define REDLIGHT_CMD_API_MHDREQ_H

#include <microhttpd.h>
#include <stdbool.h>

#include "cmd/api/request.h"

/* The request source (request.h); its ctx is the struct MHD_Connection. */
extern const struct api_req_source api_mhd_source;

/* Queues req's response on con: the chain's status, body (borrowed: it
 * must live until the completion callback) and headers, Connection: close
 * when req->close_conn or the server is shutting down. A request left
 * unanswered, or answered 500 without a body, gets the static 500 with
 * the middleware's headers only. When libmicrohttpd refuses a header (out
 * of memory) the response is not sent without it: req is answered
 * api_reply_server_error instead. *made is true when a response was
 * handed to MHD; MHD_NO tells MHD to close the connection. */
enum MHD_Result api_mhd_queue(struct MHD_Connection *con, struct api_req *req,
                              bool *made);

/* Queues the static 500 with Connection: close, for a request that has no
 * struct api_req (out of memory). */
enum MHD_Result api_mhd_queue_500(struct MHD_Connection *con);

#endif
