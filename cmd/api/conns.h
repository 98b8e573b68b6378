/*
 * conns.h — every client connection's deadline, and how many connections
 * each client address holds.
 *
 * libmicrohttpd 0.9.75 only knows an inactivity timeout, which a client
 * that trickles a byte now and then never trips (slowloris). This module
 * keeps an absolute deadline per connection — the whole request within
 * -read-timeout, a response written within -write-timeout, an idle
 * keep-alive connection closed after -idle-timeout — and a reaper thread
 * that shuts down (shutdown(2), never close(2)) the socket of a connection
 * past its deadline; the I/O thread that owns it then sees the end of the
 * stream and closes it the normal way, so nothing is freed under its feet.
 *
 * Lifetimes: api_conns_open is called by the connection's I/O thread when a
 * connection starts and api_conns_close when it ends, before its socket is
 * closed (libmicrohttpd's NOTIFY_CONNECTION order), so the reaper, which
 * works under the same lock, never shuts down a reused descriptor.
 *
 * Thread-safety: every function may be called from any thread. One mutex
 * (conns->mu) guards the list and the per-address counts; deadlines are
 * atomics, set by the owning I/O thread without the lock.
 */
#ifndef REDLIGHT_CMD_API_CONNS_H
#define REDLIGHT_CMD_API_CONNS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "internal/base/err.h"
#include "internal/netaddr/netaddr.h"

struct api_conns;

/* One tracked connection, malloc-owned by the module between open and
 * close. Fields other than `deadline_ns` and `fresh` are the module's. */
struct api_conn {
    struct api_conn *prev, *next;
    int fd;
    bool counted; /* holds one of its address's per-address slots */
    struct rl_ip ip;
    /* Monotonic nanoseconds after which the reaper shuts the socket down;
     * 0 = no deadline (a handler is running). */
    _Atomic int64_t deadline_ns;
    /* Has not sent a request yet (server.c's shutdown drain). */
    bool fresh;
    /* The request in progress on it (server.c's), or NULL. */
    void *req;
};

struct api_conns_config {
    int max_per_ip;                /* per client address */
    const struct rl_ipset *exempt; /* addresses with no per-address limit
                                      (trusted proxies); may be NULL */
    int max_conns;                 /* in all */
};

/* Creates the tracker and starts its reaper thread. RL_ERR_NOMEM or
 * RL_ERR_IO (no thread). Free with api_conns_free. */
enum rl_err api_conns_new(const struct api_conns_config *cfg,
                          struct api_conns **out) RL_MUST_CHECK;

/* Stops the reaper and frees the tracker. Every connection must have been
 * closed. NULL is a no-op. */
void api_conns_free(struct api_conns *c);

/* Whether a new connection from addr may be accepted: false when
 * max_conns are open, or when its address already holds max_per_ip
 * connections (exempt addresses and non-IP peers are not limited per
 * address). A hint taken before the connection exists: racing accepts may
 * overshoot by the number of I/O threads. */
bool api_conns_admit(struct api_conns *c, const struct sockaddr *addr);

/* Starts tracking the connection on fd from addr, with a first deadline
 * deadline_ns (0 = none). NULL when out of memory (the connection is then
 * not tracked: no deadline, not counted). */
struct api_conn *api_conns_open(struct api_conns *c, int fd,
                                const struct sockaddr *addr,
                                int64_t deadline_ns);

/* Stops tracking conn and frees it; must run before its socket is
 * closed. NULL is a no-op. */
void api_conns_close(struct api_conns *c, struct api_conn *conn);

/* Sets conn's deadline (0 = none). Lock-free; NULL conn is a no-op. */
void api_conn_deadline(struct api_conn *conn, int64_t deadline_ns);

/* Connections shut down by the reaper since start (for /metrics). */
long api_conns_reaped(const struct api_conns *c);

/* Connections open right now. */
long api_conns_open_count(const struct api_conns *c);

/* Every connection needs a descriptor: lifts the soft RLIMIT_NOFILE
 * towards the hard one (systemd starts services at 1024) so max_conns
 * connections, the pool, logs and listeners fit; logs an error when the
 * hard limit is lower. Call before any thread starts. */
void api_conns_raise_fd_limit(int max_conns);

#endif
