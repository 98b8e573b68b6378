/*
 * redis.c — the shared limiter (redis.h): connection slots, the Lua GCRA,
 * and the up/down state with its backoff.
 *
 * State. `up` says whether the last call reached Redis. A failed call
 * (connect, timeout, error reply) turns it down — logged once, the epoch
 * bumped so every slot drops its connection (after a Redis restart they
 * are all dead; without this each would fail once and turn the state down
 * again) — and sets when the next attempt may be made: 100 ms, doubling
 * after each failed attempt to 5 s. While down, calls return RL_ERR_CONN
 * at once, except the one that claims the attempt when it is due (a probe:
 * a real request's call, so a working Redis is found by the first request
 * after the wait). A success turns it up, logged once. state_mu guards the
 * state; `up` is also atomic so the common path reads it without the lock.
 *
 * Slots. Each has its own mutex, connection (hiredis, blocking, with
 * SO_RCVTIMEO/SO_SNDTIMEO set to the timeout) and the script's SHA1 as
 * SCRIPT LOAD answered on that connection. A thread starts looking for a
 * free slot at its own index (a thread-local hint), so with as many slots
 * as I/O threads each thread keeps to its own.
 *
 * Lifetime: everything is allocated by rl_redis_limiter_new and freed by
 * rl_redis_limiter_free.
 */
#include "internal/ratelimit/redis.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal/base/clock.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/netaddr/netaddr.h"

#define US_PER_S INT64_C(1000000)

/* GCRA as in ratelimit.c, in integer microseconds of Redis's clock: exact
 * in Lua's doubles (now is about 2^51 µs), where nanoseconds would not be.
 * KEYS[1] the bucket, ARGV[1] t (emission interval), ARGV[2] tau (burst *
 * t). Returns {allowed 0|1, slack = now + tau - tat}. A refused request
 * writes nothing; an admitted one stores the new tat with an expiry at the
 * moment its bucket is full again (tat <= now), when forgetting it changes
 * no decision. string.format('%d') because tostring() would print 15
 * significant digits. replicate_commands: TIME before a write needs
 * effects replication on Redis < 5 (a no-op after). */
static const char SCRIPT[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = tonumber(ARGV[1])\n"
    "local tau = tonumber(ARGV[2])\n"
    "local tm = redis.call('TIME')\n"
    "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1])) or now\n"
    "if tat < now then tat = now end\n"
    "local nxt = tat + t\n"
    "if nxt - now > tau then return {0, now + tau - tat} end\n"
    "redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX',\n"
    "  string.format('%d', math.ceil((nxt - now) / 1000)))\n"
    "return {1, now + tau - nxt}\n";

struct slot {
    pthread_mutex_t mu;
    redisContext *c; /* NULL: not connected */
    uint64_t epoch;  /* l->epoch when c was made */
    char sha[41];
};

struct rl_redis_limiter {
    struct rl_redis_url url;
    char addr[RL_IP_TEXT_MAX]; /* tcp: the host resolved, numeric */
    struct timeval tv;
    int64_t t_us;
    int64_t tau_us;
    char t_arg[24];
    char tau_arg[24];
    int nslots;
    struct slot *slots;
    atomic_uint next_hint;

    pthread_mutex_t state_mu;
    atomic_bool up;
    atomic_uint_fast64_t epoch;
    int64_t retry_at_ns; /* down: no attempt before this */
    int64_t backoff_ms;  /* down: the wait after the next failure */
    bool probing;        /* down: a call is making the attempt */

    atomic_uint_fast64_t decided, rejected, unavailable, errors, connects,
        downs, waits;
};

static void
count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Where Redis is, for the log: never the password. */
static const char *
where(const struct rl_redis_limiter *l, char *buf, size_t cap)
{
    if (l->url.unix_socket) {
        return l->url.path;
    }
    snprintf(buf, cap, "%s%s%s:%d", strchr(l->addr, ':') ? "[" : "", l->addr,
             strchr(l->addr, ':') ? "]" : "", l->url.port);
    return buf;
}

/* Called with state_mu held or before any other thread runs. */
static void
set_down(struct rl_redis_limiter *l, const char *reason, int64_t now)
{
    bool was_up = atomic_load(&l->up);
    if (was_up) {
        atomic_store(&l->up, false);
        atomic_fetch_add(&l->epoch, 1);
        count(&l->downs);
        l->backoff_ms = RL_REDIS_BACKOFF_MIN_MS;
        char buf[RL_IP_TEXT_MAX + 16];
        rl_log_props(RL_LOG_ERROR,
                     "rate limiter: redis unreachable, buckets not shared",
                     RL_LOG_STR("redis", where(l, buf, sizeof(buf))),
                     RL_LOG_STR("error", reason),
                     RL_LOG_INT("retry_ms", l->backoff_ms), NULL);
    }
    l->retry_at_ns = now + l->backoff_ms * 1000000;
    l->backoff_ms = l->backoff_ms * 2 > RL_REDIS_BACKOFF_MAX_MS
                        ? RL_REDIS_BACKOFF_MAX_MS
                        : l->backoff_ms * 2;
    l->probing = false;
}

static void
set_up(struct rl_redis_limiter *l)
{
    if (!atomic_load(&l->up)) {
        atomic_store(&l->up, true);
        char buf[RL_IP_TEXT_MAX + 16];
        rl_log_props(RL_LOG_INFO,
                     "rate limiter: redis reachable, buckets "
                     "shared",
                     RL_LOG_STR("redis", where(l, buf, sizeof(buf))), NULL);
    }
    l->probing = false;
}

static void
drop(struct slot *s)
{
    redisFree(s->c);
    s->c = NULL;
}

/* A command on s's connection; NULL when the connection failed (it is
 * dropped) or the reply is an error (*err gets its text, the caller frees
 * the reply it gets back through *errreply). */
static redisReply *
command(struct slot *s, int argc, const char **argv, const size_t *lens,
        const char **why)
{
    redisReply *r = redisCommandArgv(s->c, argc, argv, lens);
    if (r == NULL) {
        *why = s->c->err == REDIS_ERR_IO    ? "i/o error or timeout"
               : s->c->err == REDIS_ERR_EOF ? "connection closed"
                                            : "protocol error";
        drop(s);
    }
    return r;
}

/* A command whose reply must be a status or a bulk string. */
static bool
simple(struct slot *s, int argc, const char **argv, const char **why,
       char *bulk, size_t cap)
{
    size_t lens[4];
    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    redisReply *r = command(s, argc, argv, lens, why);
    if (r == NULL) {
        return false;
    }
    bool ok = r->type == REDIS_REPLY_STATUS ||
              (r->type == REDIS_REPLY_STRING && bulk != NULL && r->len < cap);
    if (ok && bulk != NULL) {
        memcpy(bulk, r->str, r->len);
        bulk[r->len] = '\0';
    }
    if (!ok) {
        *why = r->type == REDIS_REPLY_ERROR ? "error reply to set-up"
                                            : "unexpected reply to set-up";
        drop(s);
    }
    freeReplyObject(r);
    return ok;
}

static bool
load_script(struct slot *s, const char **why)
{
    const char *argv[] = {"SCRIPT", "LOAD", SCRIPT};
    return simple(s, 3, argv, why, s->sha, sizeof(s->sha));
}

/* Connects s: TCP or Unix socket, timeouts, AUTH, SELECT, SCRIPT LOAD. */
static bool
connect_slot(struct rl_redis_limiter *l, struct slot *s, const char **why)
{
    s->c = l->url.unix_socket
               ? redisConnectUnixWithTimeout(l->url.path, l->tv)
               : redisConnectWithTimeout(l->addr, l->url.port, l->tv);
    if (s->c == NULL) {
        *why = "out of memory";
        return false;
    }
    if (s->c->err != 0) {
        *why = s->c->err == REDIS_ERR_IO ? "cannot connect (refused or "
                                           "timed out)"
                                         : "cannot connect";
        drop(s);
        return false;
    }
    if (redisSetTimeout(s->c, l->tv) != REDIS_OK) {
        *why = "cannot set the socket timeouts";
        drop(s);
        return false;
    }
    if (l->url.password[0] != '\0') {
        /* AUTH password, or AUTH user password (Redis 6 ACL users) */
        const char *auth[] = {"AUTH", l->url.username, l->url.password};
        bool with_user = l->url.username[0] != '\0';
        if (!with_user) {
            auth[1] = l->url.password;
        }
        if (!simple(s, with_user ? 3 : 2, auth, why, NULL, 0)) {
            *why = "authentication failed or timed out";
            return false;
        }
    }
    if (l->url.db > 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", l->url.db);
        const char *sel[] = {"SELECT", db};
        if (!simple(s, 2, sel, why, NULL, 0)) {
            return false;
        }
    }
    if (!load_script(s, why)) {
        return false;
    }
    s->epoch = atomic_load(&l->epoch);
    count(&l->connects);
    return true;
}

/* One EVALSHA; on NOSCRIPT (Redis restarted or SCRIPT FLUSH) loads the
 * script again and retries once. */
static bool
eval(struct rl_redis_limiter *l, struct slot *s, const char *key,
     struct rl_limiter_result *out, const char **why)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *argv[] = {"EVALSHA", s->sha,   "1",
                              key,       l->t_arg, l->tau_arg};
        size_t lens[6];
        for (int i = 0; i < 6; i++) {
            lens[i] = strlen(argv[i]);
        }
        redisReply *r = command(s, 6, argv, lens, why);
        if (r == NULL) {
            return false;
        }
        if (r->type == REDIS_REPLY_ERROR && attempt == 0 &&
            strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r);
            if (!load_script(s, why)) {
                return false;
            }
            continue;
        }
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                  r->element[0]->type == REDIS_REPLY_INTEGER &&
                  r->element[1]->type == REDIS_REPLY_INTEGER;
        if (ok) {
            rl_gcra_result(r->element[0]->integer == 1,
                           (int64_t)r->element[1]->integer, l->t_us, l->tau_us,
                           US_PER_S, out);
        } else {
            *why = r->type == REDIS_REPLY_ERROR ? "error reply"
                                                : "unexpected reply";
        }
        freeReplyObject(r);
        return ok;
    }
    *why = "script missing after loading it";
    return false;
}

static struct slot *
take_slot(struct rl_redis_limiter *l)
{
    static _Thread_local unsigned hint = UINT32_MAX;
    if (hint == UINT32_MAX) {
        hint = atomic_fetch_add(&l->next_hint, 1);
    }
    for (int i = 0; i < l->nslots; i++) {
        struct slot *s = &l->slots[(hint + (unsigned)i) % (unsigned)l->nslots];
        if (pthread_mutex_trylock(&s->mu) == 0) {
            return s;
        }
    }
    count(&l->waits);
    struct slot *s = &l->slots[hint % (unsigned)l->nslots];
    pthread_mutex_lock(&s->mu);
    return s;
}

/* Whether this call may use Redis: always while up; while down, only the
 * one call that claims the attempt once its time has come. */
static bool
may_try(struct rl_redis_limiter *l)
{
    if (atomic_load_explicit(&l->up, memory_order_relaxed)) {
        return true;
    }
    pthread_mutex_lock(&l->state_mu);
    bool go =
        atomic_load(&l->up) || (!l->probing && rl_mono_ns() >= l->retry_at_ns);
    if (go && !atomic_load(&l->up)) {
        l->probing = true;
    }
    pthread_mutex_unlock(&l->state_mu);
    return go;
}

enum rl_err
rl_redis_limiter_allow(struct rl_redis_limiter *l, const unsigned char key[16],
                       struct rl_limiter_result *out)
{
    if (!may_try(l)) {
        count(&l->unavailable);
        return RL_ERR_CONN;
    }
    struct rl_ip ip;
    memcpy(ip.b, key, sizeof(ip.b));
    char k[sizeof(RL_REDIS_KEY_PREFIX) + RL_IP_TEXT_MAX];
    memcpy(k, RL_REDIS_KEY_PREFIX, sizeof(RL_REDIS_KEY_PREFIX) - 1);
    rl_ip_format(&ip, k + sizeof(RL_REDIS_KEY_PREFIX) - 1, RL_IP_TEXT_MAX);

    uint64_t epoch = atomic_load(&l->epoch);
    struct slot *s = take_slot(l);
    if (s->c != NULL && s->epoch != epoch) {
        drop(s); /* made before the last failure: likely dead */
    }
    const char *why = NULL;
    bool reused = s->c != NULL;
    bool ok = (reused || connect_slot(l, s, &why)) && eval(l, s, k, out, &why);
    if (!ok && reused && s->c == NULL) {
        /* The connection this slot kept broke (Redis restarted since it
         * was made, an idle timeout): one new connection decides whether
         * Redis is down, not the old one. */
        ok = connect_slot(l, s, &why) && eval(l, s, k, out, &why);
    }
    pthread_mutex_unlock(&s->mu);

    if (ok) {
        count(&l->decided);
        if (!out->allowed) {
            count(&l->rejected);
        }
        if (!atomic_load_explicit(&l->up, memory_order_relaxed)) {
            pthread_mutex_lock(&l->state_mu);
            set_up(l);
            pthread_mutex_unlock(&l->state_mu);
        }
        return RL_OK;
    }
    count(&l->errors);
    count(&l->unavailable);
    pthread_mutex_lock(&l->state_mu);
    /* A failure of a call made before the state last went down is old
     * news: it neither logs nor lengthens the wait. */
    if (atomic_load(&l->epoch) == epoch) {
        set_down(l, why, rl_mono_ns());
    }
    pthread_mutex_unlock(&l->state_mu);
    return RL_ERR_CONN;
}

/* The host as a numeric address, looked up once. */
static bool
resolve(struct rl_redis_limiter *l)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(l->url.host, NULL, &hints, &res) != 0 || res == NULL) {
        return false;
    }
    struct rl_ip ip;
    bool ok = rl_ip_from_sockaddr(res->ai_addr, &ip);
    freeaddrinfo(res);
    if (ok) {
        rl_ip_format(&ip, l->addr, sizeof(l->addr));
    }
    return ok;
}

enum rl_err
rl_redis_limiter_new(const struct rl_redis_limiter_config *cfg,
                     struct rl_redis_limiter **out)
{
    if (!(cfg->rps >= RL_LIMITER_RPS_MIN && cfg->rps <= RL_LIMITER_RPS_MAX) ||
        cfg->burst < 1 || cfg->burst > RL_LIMITER_BURST_MAX || cfg->conns < 1 ||
        cfg->conns > RL_REDIS_MAX_CONNS || cfg->timeout_ms < 0 ||
        cfg->timeout_ms > 60000) {
        return RL_ERR_INVALID;
    }
    struct rl_redis_limiter *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return RL_ERR_NOMEM;
    }
    l->slots = calloc((size_t)cfg->conns, sizeof(*l->slots));
    if (l->slots == NULL) {
        free(l);
        return RL_ERR_NOMEM;
    }
    l->url = *cfg->url;
    if (!l->url.unix_socket && !resolve(l)) {
        free(l->slots);
        free(l);
        return RL_ERR_INVALID;
    }
    int64_t ms = cfg->timeout_ms ? cfg->timeout_ms : RL_REDIS_TIMEOUT_MS;
    l->tv.tv_sec = (time_t)(ms / 1000);
    l->tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    double t = (double)US_PER_S / cfg->rps;
    l->t_us = t < 1.0 ? 1 : (int64_t)llround(t);
    snprintf(l->t_arg, sizeof(l->t_arg), "%lld", (long long)l->t_us);
    l->tau_us = l->t_us * cfg->burst;
    snprintf(l->tau_arg, sizeof(l->tau_arg), "%lld", (long long)l->tau_us);
    l->nslots = cfg->conns;
    for (int i = 0; i < l->nslots; i++) {
        pthread_mutex_init(&l->slots[i].mu, NULL);
    }
    pthread_mutex_init(&l->state_mu, NULL);
    atomic_init(&l->up, false);

    /* One connection now, to say at start-up whether Redis is there. */
    const char *why = NULL;
    if (connect_slot(l, &l->slots[0], &why)) {
        set_up(l);
    } else {
        count(&l->errors);
        atomic_store(&l->up, true); /* so set_down logs it */
        set_down(l, why, rl_mono_ns());
        atomic_store(&l->downs, 0); /* it was never up */
    }
    *out = l;
    return RL_OK;
}

void
rl_redis_limiter_free(struct rl_redis_limiter *l)
{
    if (l == NULL) {
        return;
    }
    for (int i = 0; i < l->nslots; i++) {
        drop(&l->slots[i]);
        pthread_mutex_destroy(&l->slots[i].mu);
    }
    pthread_mutex_destroy(&l->state_mu);
    free(l->slots);
    explicit_bzero(l->url.password, sizeof(l->url.password));
    free(l);
}

void
rl_redis_limiter_stats(struct rl_redis_limiter *l,
                       struct rl_redis_limiter_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->up = atomic_load(&l->up);
#define LOAD(f) atomic_load_explicit(&l->f, memory_order_relaxed)
    out->decided = LOAD(decided);
    out->rejected = LOAD(rejected);
    out->unavailable = LOAD(unavailable);
    out->errors = LOAD(errors);
    out->connects = LOAD(connects);
    out->downs = LOAD(downs);
    out->waits = LOAD(waits);
#undef LOAD
}
