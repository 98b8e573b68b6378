/*
 * accesslog.c — the request log line (accesslog.h), built in a stack buffer
 * so that logging a request never allocates: a path too long for the line
 * is cut short with "...". No printf: the line is pasted together from
 * literals, the cached time (rl_log_time) and rl_fmt_i64, since this runs
 * once per request (snprintf's format parsing was 2% of the server's CPU
 * on the healthcheck, by perf).
 */
#include "cmd/api/accesslog.h"

#include <stdint.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/base/parse.h"
#include "internal/jsonlog/jsonlog.h"

/* Appends the literal s; the caller has checked the room. */
#define PUT(line, pos, s)                                                      \
    do {                                                                       \
        memcpy((line) + (pos), (s), sizeof(s) - 1);                            \
        (pos) += sizeof(s) - 1;                                                \
    } while (0)

void
api_log_request(struct api_req *req, bool answered, bool aborted)
{
    char line[1024];
    /* Room kept after the path for the fixed fields: the longest tail is
     * under 200 bytes (three 20-digit numbers, an address, the labels). */
    const size_t cap = sizeof(line) - 200;
    size_t pos = 0;
    PUT(line, pos, "{\"level\":\"INFO\",\"time\":\"");
    char ts[RL_LOG_TIME_MAX];
    rl_log_time(ts, sizeof(ts));
    size_t n = strlen(ts);
    memcpy(line + pos, ts, n);
    pos += n;
    PUT(line, pos, "\",\"message\":\"request\",\"properties\":{\"method\":\"");
    const char *m = req->method ? req->method : "";
    (void)rl_json_escape(line, 64 + pos, &pos, m, strlen(m));
    PUT(line, pos, "\",\"path\":\"");
    const char *p = req->path ? req->path : "";
    if (rl_json_escape(line, cap, &pos, p, strlen(p)) != 0) {
        PUT(line, pos, "...");
    }
    PUT(line, pos, "\",\"status\":");
    pos += rl_fmt_i64(line + pos, answered ? req->status : 0);
    PUT(line, pos, ",\"bytes\":");
    pos += rl_fmt_i64(line + pos, answered ? (int64_t)req->resp_len : 0);
    PUT(line, pos, ",\"duration_us\":");
    pos += rl_fmt_i64(line + pos, (rl_mono_ns() - req->start_ns) / 1000);
    PUT(line, pos, ",\"remote_addr\":\"");
    const char *addr = api_req_peer(req);
    n = strlen(addr); /* RL_IP_TEXT_MAX at most, or "unknown" */
    memcpy(line + pos, addr, n);
    pos += n;
    if (aborted) {
        PUT(line, pos, "\",\"aborted\":true}}\n");
    } else {
        PUT(line, pos, "\"}}\n");
    }
    rl_log_buffered(line, pos);
}
