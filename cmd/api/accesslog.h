/*
 * accesslog.h — the one log line per request (CONTRACT's request log):
 * method, path, status, bytes, duration and client address, as JSON.
 */
#ifndef REDLIGHT_CMD_API_ACCESSLOG_H
#define REDLIGHT_CMD_API_ACCESSLOG_H

#include <stdbool.h>

#include "cmd/api/request.h"

/* Writes req's line through the log's buffered writer: status and bytes 0
 * when no response was queued (answered false), "aborted": true when the
 * connection ended before the response was sent. Thread-safe (one line,
 * one write). */
void api_log_request(struct api_req *req, bool answered, bool aborted);

#endif
