/*
 * conns.c — connection deadlines and per-address counts (conns.h).
 *
 * State: a doubly-linked list of every tracked connection and an
 * open-addressing table {address → connections open}, both under c->mu;
 * the reaper thread wakes every REAP_TICK_MS, walks the list and shuts
 * down the sockets whose deadline has passed. A tick of 100 ms makes the
 * deadlines exact to a tenth of a second, which is what the contract's
 * whole-second timeouts need, for a walk that costs microseconds per
 * thousand connections.
 */
#include "cmd/api/conns.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "internal/base/clock.h"
#include "internal/jsonlog/jsonlog.h"

#define REAP_TICK_MS 100

struct slot {
    struct rl_ip ip;
    int count; /* 0 = empty */
};

struct api_conns {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes the reaper to stop */
    pthread_t reaper;
    bool stopping;
    struct api_conn *head;
    int max_conns;
    int max_per_ip;
    const struct rl_ipset *exempt;
    struct slot *slots; /* power-of-two sized */
    size_t mask;
    size_t used;
    uint64_t seed; /* keyed hash: a client cannot aim at another's slot */
    atomic_long reaped;
    atomic_long open;
};

static size_t
slot_hash(const struct api_conns *c, const struct rl_ip *ip)
{
    uint64_t h = 1469598103934665603ULL ^ c->seed;
    for (size_t i = 0; i < sizeof(ip->b); i++) {
        h ^= ip->b[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding ip, or the empty slot where it would go. */
static struct slot *
slot_find(struct api_conns *c, const struct rl_ip *ip)
{
    size_t i = slot_hash(c, ip) & c->mask;
    while (c->slots[i].count != 0 &&
           memcmp(&c->slots[i].ip, ip, sizeof(*ip)) != 0) {
        i = (i + 1) & c->mask;
    }
    return &c->slots[i];
}

/* Empties slot s, moving later entries of its probe run back so lookups
 * never stop early (linear probing's deletion without tombstones). */
static void
slot_remove(struct api_conns *c, struct slot *s)
{
    size_t i = (size_t)(s - c->slots);
    size_t j = i;
    c->slots[i].count = 0;
    c->used--;
    for (;;) {
        j = (j + 1) & c->mask;
        if (c->slots[j].count == 0) {
            return;
        }
        size_t home = slot_hash(c, &c->slots[j].ip) & c->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            c->slots[i] = c->slots[j];
            c->slots[j].count = 0;
            i = j;
        }
    }
}

static void *
reaper_main(void *arg)
{
    struct api_conns *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        struct timespec until = rl_mono_deadline(REAP_TICK_MS);
        int rc = 0;
        while (!c->stopping && rc != ETIMEDOUT) {
            rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
        }
        if (c->stopping) {
            break;
        }
        int64_t now = rl_mono_ns();
        for (struct api_conn *p = c->head; p != NULL; p = p->next) {
            int64_t d =
                atomic_load_explicit(&p->deadline_ns, memory_order_relaxed);
            if (d != 0 && d <= now) {
                /* The owner closes it on its next read; no second try. */
                atomic_store(&p->deadline_ns, 0);
                shutdown(p->fd, SHUT_RDWR);
                atomic_fetch_add(&c->reaped, 1);
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

enum rl_err
api_conns_new(const struct api_conns_config *cfg, struct api_conns **out)
{
    struct api_conns *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RL_ERR_NOMEM;
    }
    size_t cap = 64;
    while (cap < (size_t)cfg->max_conns * 2) {
        cap *= 2;
    }
    c->slots = calloc(cap, sizeof(*c->slots));
    if (c->slots == NULL) {
        free(c);
        return RL_ERR_NOMEM;
    }
    c->mask = cap - 1;
    c->max_conns = cfg->max_conns;
    c->max_per_ip = cfg->max_per_ip;
    c->exempt = cfg->exempt;
    randombytes_buf(&c->seed, sizeof(c->seed));
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&c->reaper, NULL, reaper_main, c) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c->slots);
        free(c);
        return RL_ERR_IO;
    }
    *out = c;
    return RL_OK;
}

void
api_conns_free(struct api_conns *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->reaper, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

static bool
limited(const struct api_conns *c, const struct rl_ip *ip)
{
    return !rl_ipset_contains(c->exempt, ip);
}

bool
api_conns_admit(struct api_conns *c, const struct sockaddr *addr)
{
    if (atomic_load(&c->open) >= c->max_conns) {
        return false;
    }
    struct rl_ip ip;
    if (addr == NULL || !rl_ip_from_sockaddr(addr, &ip) || !limited(c, &ip)) {
        return true;
    }
    pthread_mutex_lock(&c->mu);
    bool ok = slot_find(c, &ip)->count < c->max_per_ip;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

struct api_conn *
api_conns_open(struct api_conns *c, int fd, const struct sockaddr *addr,
               int64_t deadline_ns)
{
    struct api_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        return NULL;
    }
    conn->fd = fd;
    conn->fresh = true;
    atomic_init(&conn->deadline_ns, deadline_ns);
    bool have_ip = addr != NULL && rl_ip_from_sockaddr(addr, &conn->ip);
    pthread_mutex_lock(&c->mu);
    /* The table holds at most 3/4 of its slots: past that (more
     * connections than -max-conns), a connection is simply not counted. */
    if (have_ip && limited(c, &conn->ip) && c->used < (c->mask + 1) / 4 * 3) {
        struct slot *s = slot_find(c, &conn->ip);
        if (s->count == 0) {
            s->ip = conn->ip;
            c->used++;
        }
        s->count++;
        conn->counted = true;
    }
    conn->next = c->head;
    if (c->head != NULL) {
        c->head->prev = conn;
    }
    c->head = conn;
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->open, 1);
    return conn;
}

void
api_conns_close(struct api_conns *c, struct api_conn *conn)
{
    if (conn == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    if (conn->counted) {
        struct slot *s = slot_find(c, &conn->ip);
        if (s->count > 0 && --s->count == 0) {
            slot_remove(c, s);
        }
    }
    if (conn->prev != NULL) {
        conn->prev->next = conn->next;
    } else {
        c->head = conn->next;
    }
    if (conn->next != NULL) {
        conn->next->prev = conn->prev;
    }
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_sub(&c->open, 1);
    free(conn);
}

void
api_conn_deadline(struct api_conn *conn, int64_t deadline_ns)
{
    if (conn != NULL) {
        atomic_store_explicit(&conn->deadline_ns, deadline_ns,
                              memory_order_relaxed);
    }
}

long
api_conns_reaped(const struct api_conns *c)
{
    return atomic_load(&c->reaped);
}

long
api_conns_open_count(const struct api_conns *c)
{
    return atomic_load(&c->open);
}

void
api_conns_raise_fd_limit(int max_conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    rlim_t need = (rlim_t)max_conns + 256; /* the pool, logs, listeners */
    if (rl.rlim_cur >= need) {
        return;
    }
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need) {
        rl_log_props(RL_LOG_ERROR, "too few file descriptors for -max-conns",
                     NULL);
    }
}
