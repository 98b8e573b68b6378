/*
 * accesslog.c — the request log line (accesslog.h), built in a stack buffer
 * so that logging a request never allocates: a path too long for the line
 * is cut short with "...".
 */
#include "cmd/api/accesslog.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/jsonlog/jsonlog.h"

void
api_log_request(struct api_req *req, bool answered, bool aborted)
{
    char line[1024];
    const size_t cap = sizeof(line) - 200;
    size_t pos = 0;
    char ts[32];
    rl_log_time(ts, sizeof(ts));
    pos += (size_t)snprintf(line, cap,
                            "{\"level\":\"INFO\",\"time\":\"%s\","
                            "\"message\":\"request\",\"properties\":"
                            "{\"method\":\"",
                            ts);
    const char *m = req->method ? req->method : "";
    (void)rl_json_escape(line, 64 + pos, &pos, m, strlen(m));
    memcpy(line + pos, "\",\"path\":\"", 10);
    pos += 10;
    const char *p = req->path ? req->path : "";
    if (rl_json_escape(line, cap, &pos, p, strlen(p)) != 0) {
        memcpy(line + pos, "...", 3);
        pos += 3;
    }
    int64_t us = (rl_mono_ns() - req->start_ns) / 1000;
    pos += (size_t)snprintf(
        line + pos, sizeof(line) - pos,
        "\",\"status\":%d,\"bytes\":%zu,\"duration_us\":%lld,"
        "\"remote_addr\":\"%s\"%s}}\n",
        answered ? req->status : 0, answered ? req->resp_len : 0, (long long)us,
        api_req_peer(req), aborted ? ",\"aborted\":true" : "");
    if (pos >= sizeof(line)) {
        pos = sizeof(line) - 1;
        line[pos - 1] = '\n';
    }
    rl_log_buffered(line, pos);
}
