/*
 * config.c — the flag table and its parser (glibc getopt_long_only, so
 * -name value, -name=value, --name value and --name=value all work).
 *
 * Every flag can also come from the environment variable REDLIGHT_<NAME>
 * (upper case, '-' → '_': -cors-trusted-origins is
 * REDLIGHT_CORS_TRUSTED_ORIGINS), so systemd's EnvironmentFile sets any of
 * them one per line, values with spaces included. Precedence: command
 * line, then environment, then the default. An empty variable sets an
 * empty string for a string flag and is ignored for any other kind (a
 * template's blank "REDLIGHT_SMTP_PORT=" keeps the default).
 */
#include "cmd/api/config.h"
#include "cmd/api/config_private.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal/base/duration.h"
#include "internal/base/parse.h"
#include "internal/jwt/jwt.h"
#include "internal/ratelimit/ratelimit.h"

enum kind { K_INT, K_FLOAT, K_STRING, K_BOOL, K_DURATION, K_HELP, K_VERSION };

struct flag {
    const char *name;
    enum kind kind;
    /* Never shown: no default in -help, REDACTED in /debug/vars (the whole
     * value, or a DSN's passwords). The one list of secret flags: a new
     * one is marked here and nowhere else. */
    enum api_secret secret;
    size_t off; /* offset in struct api_config */
    const char *usage;
};

#define OFF(field) offsetof(struct api_config, field)

static const struct flag flags[] = {
    {"port", K_INT, API_PUBLIC, OFF(port), "API server port"},
    {"env", K_STRING, API_PUBLIC, OFF(env),
     "Environment (development|staging|production)"},
    {"db-dsn", K_STRING, API_SECRET_DSN, OFF(db.dsn), "PostgreSQL DSN"},
    {"db-max-open-conns", K_INT, API_PUBLIC, OFF(db.max_open),
     "PostgreSQL max open connections"},
    {"db-max-idle-conns", K_INT, API_PUBLIC, OFF(db.max_idle),
     "PostgreSQL max idle connections"},
    {"db-max-idle-time", K_DURATION, API_PUBLIC, OFF(db.max_idle_time_ms),
     "PostgreSQL max connection idle time"},
    {"db-prepared", K_BOOL, API_PUBLIC, OFF(db.prepared),
     "Use server-side prepared statements (false for PgBouncer in "
     "transaction mode)"},
    {"db-listen-dsn", K_STRING, API_SECRET_DSN, OFF(db.listen_dsn),
     "Direct PostgreSQL DSN for LISTEN (mail worker, auth cache); empty: "
     "-db-dsn unless it goes through a pooler; none: poll, no auth cache"},
    {"db-replica-dsn", K_STRING, API_SECRET_DSN, OFF(db.replica_dsn),
     "Read replica DSN: GET /v1/movies lists and searches read there"},
    {"db-replica-max-lag", K_DURATION, API_PUBLIC, OFF(db.replica_max_lag_ms),
     "A replica further behind than this, or unreachable, is skipped"},
    {"db-parallel-workers", K_INT, API_PUBLIC, OFF(db.parallel_workers),
     "Parallel workers one query may start (max_parallel_workers_per_gather "
     "of each direct connection; -1: PostgreSQL's setting)"},
    {"auth-cache", K_BOOL, API_PUBLIC, OFF(auth_cache),
     "Cache authenticated users, invalidated by LISTEN/NOTIFY (off while "
     "the listening connection is down)"},
    {"db-concurrency", K_INT, API_PUBLIC, OFF(db.concurrency),
     "Database requests served at once, at most -db-max-open-conns "
     "(number of CPUs x 2)"},
    {"http-threads", K_INT, API_PUBLIC, OFF(http_threads),
     "libmicrohttpd I/O threads (number of CPUs)"},
    {"shutdown-timeout", K_DURATION, API_PUBLIC, OFF(shutdown_timeout_ms),
     "How long in-flight requests may take after SIGINT/SIGTERM"},
    {"drain-delay", K_DURATION, API_PUBLIC, OFF(drain_delay_ms),
     "After SIGTERM, keep serving this long while /readyz answers 503, then "
     "shut down (5s in production behind a load balancer)"},
    {"smtp-host", K_STRING, API_PUBLIC, OFF(smtp.host),
     "SMTP host (empty: write mails as .eml files under -mail-dir)"},
    {"smtp-port", K_INT, API_PUBLIC, OFF(smtp.port),
     "SMTP port (25 or 587: STARTTLS when offered; 465: implicit TLS)"},
    {"smtp-username", K_STRING, API_PUBLIC, OFF(smtp.username),
     "SMTP username"},
    {"smtp-password", K_STRING, API_SECRET, OFF(smtp.password),
     "SMTP password"},
    {"smtp-sender", K_STRING, API_PUBLIC, OFF(smtp.sender), "SMTP sender"},
    {"mail-dir", K_STRING, API_PUBLIC, OFF(smtp.mail_dir),
     "Where .eml files go when -smtp-host is empty"},
    {"jwt-secret", K_STRING, API_SECRET, OFF(jwt.secret),
     "JWT signing key, at least 32 bytes (empty: no JWTs)"},
    {"jwt-issuer", K_STRING, API_PUBLIC, OFF(jwt.issuer), "JWT issuer (iss)"},
    {"jwt-audience", K_STRING, API_PUBLIC, OFF(jwt.audience),
     "JWT audience (aud)"},
    {"cursor-secret", K_STRING, API_SECRET, OFF(cursor_secret),
     "Key of the list cursors, at least 32 bytes (empty: derived from "
     "-jwt-secret, or random for this process when that is empty)"},
    {"limiter-rps", K_FLOAT, API_PUBLIC, OFF(limiter.rps),
     "Rate limiter maximum requests per second per client"},
    {"limiter-burst", K_INT, API_PUBLIC, OFF(limiter.burst),
     "Rate limiter maximum burst per client"},
    {"limiter-enabled", K_BOOL, API_PUBLIC, OFF(limiter.enabled),
     "Enable rate limiter"},
    {"limiter-redis", K_STRING, API_SECRET_DSN, OFF(limiter.redis),
     "Keep the rate limiter's buckets in Redis, shared by every node using "
     "it: redis://[:password@]host[:port][/db] or unix:///path (empty: "
     "each node its own)"},
    {"limiter-redis-fail", K_STRING, API_PUBLIC, OFF(limiter.redis_fail),
     "While -limiter-redis is unreachable: open (the node's own buckets) "
     "or closed (503)"},
    {"trusted-proxies", K_STRING, API_PUBLIC, OFF(trusted_proxies),
     "Proxies whose X-Forwarded-For/X-Real-IP are believed (space-separated "
     "addresses or CIDR prefixes)"},
    {"cors-trusted-origins", K_STRING, API_PUBLIC, OFF(cors_trusted_origins),
     "Trusted CORS origins, scheme://host[:port] each (separated by spaces "
     "or commas)"},
    {"metrics-allow", K_STRING, API_PUBLIC, OFF(metrics_allow),
     "Who may read /debug/vars and /metrics (space-separated addresses or "
     "CIDR prefixes; others get 404)"},
    {"read-timeout", K_DURATION, API_PUBLIC, OFF(http.read_timeout_ms),
     "Time a whole request (line, headers, body) may take to arrive, "
     "counted from its first byte"},
    {"idle-timeout", K_DURATION, API_PUBLIC, OFF(http.idle_timeout_ms),
     "Time an idle keep-alive connection is kept open"},
    {"write-timeout", K_DURATION, API_PUBLIC, OFF(http.write_timeout_ms),
     "Time a response may take to be written before it is abandoned"},
    {"max-conns", K_INT, API_PUBLIC, OFF(http.max_conns),
     "Most client connections open at once (over it: closed at once)"},
    {"max-conns-per-ip", K_INT, API_PUBLIC, OFF(http.max_conns_per_ip),
     "Most connections open at once from one client address (addresses in "
     "-trusted-proxies are exempt)"},
    {"real-ip-header", K_STRING, API_PUBLIC, OFF(real_ip_header),
     "The header a trusted proxy names the client in (X-Forwarded-For or "
     "X-Real-IP); no other is believed"},
    {"help", K_HELP, API_PUBLIC, 0,
     "Print the flags and exit (also -h, --help)"},
    {"version", K_VERSION, API_PUBLIC, 0, "Print the version and exit"},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static void
set_defaults(struct api_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 4000;
    cfg->env = "development";
    cfg->db.dsn = "";
    cfg->db.max_open = 25;
    cfg->db.max_idle = 25;
    cfg->db.max_idle_time_ms = 15 * 60 * 1000;
    cfg->db.prepared = true;
    cfg->db.listen_dsn = "";
    cfg->db.replica_dsn = "";
    cfg->db.replica_max_lag_ms = 2000;
    /* Many short queries at once: a query's parallel workers take the CPUs
     * the other clients' queries need (README, "A million movies"). */
    cfg->db.parallel_workers = 0;
    cfg->auth_cache = true;
    /* One I/O thread per CPU this process may run on: no I/O thread waits
     * on the database or a hash (server.c hands those to workers), so more
     * threads only add context switches. Measured on 2 CPUs, healthcheck,
     * wrk -t2 -c32, 4 interleaved rounds: 2 threads 59.9k req/s (median),
     * 4 threads 57.6k, 8 threads (the old CPUs x 4) 52.7k. */
    cpu_set_t cpus;
    long n = sched_getaffinity(0, sizeof(cpus), &cpus) == 0
                 ? CPU_COUNT(&cpus)
                 : sysconf(_SC_NPROCESSORS_ONLN);
    cfg->http_threads = (int)(n > 0 ? (n < 1024 ? n : 1024) : 1);
    /* Database work runs on this many worker threads (server.c): enough to
     * keep a database on this machine busy, few enough that the threads
     * waking for each answer do not crowd the CPUs. Measured on 2 CPUs,
     * GET /v1/movies/:id, wrk -t2 -c32: 25 workers (one per connection,
     * as before) 6.4k req/s with p99 1.27 s; 2: 8.6k, 7 ms; 4: 8.8k,
     * 17 ms; 8: 8.2k, 40 ms. A remote database with many cores wants more:
     * throughput is at most concurrency / round-trip time. */
    cfg->db.concurrency = cfg->http_threads * 2;
    cfg->shutdown_timeout_ms = 30 * 1000;
    cfg->drain_delay_ms = 0;
    cfg->limiter.rps = 2;
    cfg->limiter.burst = 4;
    cfg->limiter.enabled = true;
    cfg->limiter.redis = "";
    cfg->limiter.redis_fail = "open";
    cfg->http.read_timeout_ms = 10 * 1000;
    cfg->http.idle_timeout_ms = 60 * 1000;
    cfg->http.write_timeout_ms = 30 * 1000;
    cfg->http.max_conns = 4096;
    cfg->http.max_conns_per_ip = 256;
    cfg->real_ip_header = "X-Forwarded-For";
    cfg->trusted_proxies = "";
    cfg->cors_trusted_origins = "";
    cfg->metrics_allow = "127.0.0.1/8 ::1/128";
    /* Secrets come from the environment (systemd's EnvironmentFile, see
     * apply_env), so they never show on a command line. */
    cfg->jwt.secret = "";
    cfg->jwt.issuer = "redlight";
    cfg->jwt.audience = "redlight";
    cfg->cursor_secret = "";
    cfg->smtp.host = "";
    cfg->smtp.port = 25;
    cfg->smtp.username = "";
    cfg->smtp.password = "";
    cfg->smtp.sender = "Redlight <no-reply@redlight.local>";
    cfg->smtp.mail_dir = "var/mail";
}

static void
format_value(const struct api_config *cfg, const struct flag *f, char *buf,
             size_t cap)
{
    const char *base = (const char *)cfg;
    switch (f->kind) {
    case K_INT:
        snprintf(buf, cap, "%d", *(const int *)(base + f->off));
        break;
    case K_FLOAT: {
        double d;
        memcpy(&d, base + f->off, sizeof(d));
        snprintf(buf, cap, "%g", d);
        break;
    }
    case K_STRING:
        snprintf(buf, cap, "\"%s\"", *(const char *const *)(base + f->off));
        break;
    case K_BOOL:
        snprintf(buf, cap, "%s",
                 *(const bool *)(base + f->off) ? "true" : "false");
        break;
    case K_DURATION:
        rl_duration_format(*(const int64_t *)(base + f->off), buf,
                           (unsigned)cap);
        break;
    case K_HELP:
    case K_VERSION:
        buf[0] = '\0';
        break;
    }
}

/* Longest "REDLIGHT_<NAME>" with its NUL. */
#define ENV_NAME_MAX 64

/* The environment variable of flag f: REDLIGHT_ and the name in upper
 * case with '-' → '_'. */
static void
env_name(const struct flag *f, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "REDLIGHT_%s", f->name);
    for (char *p = buf + strlen("REDLIGHT_"); n > 0 && *p != '\0'; p++) {
        *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    }
}

static void
print_help(const char *prog)
{
    struct api_config d;
    set_defaults(&d);
    printf("Usage: %s [flags] [migrate ARGS | users ARGS]\n\n", prog);
    printf("Subcommands:\n"
           "  migrate up [N] | down [N | -all] | goto V | version | force V\n"
           "  users list | create -email E -name N ... | grant|revoke "
           "EMAIL PERMISSION\n"
           "  (\"migrate help\", \"users help\": the details)\n\n"
           "Flags (-name value, -name=value, --name value; booleans "
           "-name or -name=false).\n"
           "Each can also be set by the environment variable in brackets; "
           "the command\nline wins. Lists take spaces or commas between "
           "items.\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        char val[160];
        format_value(&d, &flags[i], val, sizeof(val));
        const char *type = flags[i].kind == K_INT        ? " int"
                           : flags[i].kind == K_FLOAT    ? " float"
                           : flags[i].kind == K_STRING   ? " string"
                           : flags[i].kind == K_DURATION ? " duration"
                                                         : "";
        printf("  -%s%s\n    \t%s", flags[i].name, type, flags[i].usage);
        if (flags[i].kind == K_HELP || flags[i].kind == K_VERSION) {
            printf("\n");
            continue;
        }
        if (flags[i].secret == API_PUBLIC) {
            printf(" (default %s)", val);
        }
        char var[ENV_NAME_MAX];
        env_name(&flags[i], var, sizeof(var));
        printf(" [$%s]\n", var);
    }
}

static bool
parse_value(struct api_config *cfg, const struct flag *f, const char *v)
{
    char *base = (char *)cfg;
    switch (f->kind) {
    case K_INT: {
        if (v == NULL || *v == '\0') {
            return false;
        }
        /* strtoll's syntax (leading spaces and a sign), as before. */
        int64_t n;
        if (rl_parse_i64(v, RL_PARSE_STRTOL, INT_MIN, INT_MAX, NULL, &n) !=
            RL_OK) {
            return false;
        }
        *(int *)(base + f->off) = (int)n;
        return true;
    }
    case K_FLOAT: {
        if (v == NULL || *v == '\0') {
            return false;
        }
        errno = 0;
        char *end;
        double d = strtod(v, &end);
        if (errno != 0 || *end != '\0' || !isfinite(d)) {
            return false;
        }
        memcpy(base + f->off, &d, sizeof(d));
        return true;
    }
    case K_STRING:
        *(const char **)(base + f->off) = v ? v : "";
        return v != NULL;
    case K_BOOL:
        if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
            strcmp(v, "t") == 0 || strcmp(v, "TRUE") == 0 ||
            strcmp(v, "True") == 0 || strcmp(v, "T") == 0) {
            *(bool *)(base + f->off) = true;
            return true;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
            strcmp(v, "f") == 0 || strcmp(v, "FALSE") == 0 ||
            strcmp(v, "False") == 0 || strcmp(v, "F") == 0) {
            *(bool *)(base + f->off) = false;
            return true;
        }
        return false;
    case K_DURATION:
        return rl_duration_parse(v, (int64_t *)(base + f->off)) == RL_OK;
    case K_HELP:
    case K_VERSION:
        return true;
    }
    return false;
}

/* Range checks that make a value meaningless rather than unparsable. */
static const char *
check(const struct api_config *cfg)
{
    if (cfg->port < 0 || cfg->port > 65535) {
        return "-port must be between 0 and 65535";
    }
    if (cfg->db.max_open < 1) {
        return "-db-max-open-conns must be at least 1";
    }
    if (cfg->db.parallel_workers < -1 || cfg->db.parallel_workers > 1024) {
        return "-db-parallel-workers must be between -1 and 1024";
    }
    if (cfg->db.replica_max_lag_ms <= 0) {
        return "-db-replica-max-lag must be positive";
    }
    if (cfg->db.concurrency < 1 || cfg->db.concurrency > 1024) {
        return "-db-concurrency must be between 1 and 1024";
    }
    if (cfg->db.max_idle < 0) {
        return "-db-max-idle-conns must not be negative";
    }
    _Static_assert(RL_JWT_MAX_KEYS == 8, "the message below says 8");
    struct rl_jwt_keys keys;
    switch (rl_jwt_keys_parse(cfg->jwt.secret, "", "", &keys)) {
    case RL_OK:
        break;
    case RL_ERR_TOO_LARGE: /* RL_JWT_MAX_KEYS */
        return "-jwt-secret lists more than 8 keys";
    default:
        return "-jwt-secret keys must each be at least 32 bytes long";
    }
    if (cfg->cursor_secret[0] != '\0' &&
        strlen(cfg->cursor_secret) < RL_CURSOR_MIN_SECRET) {
        return "-cursor-secret must be at least 32 bytes long";
    }
    if (cfg->smtp.port < 1 || cfg->smtp.port > 65535) {
        return "-smtp-port must be between 1 and 65535";
    }
    if (cfg->http_threads < 1 || cfg->http_threads > 1024) {
        return "-http-threads must be between 1 and 1024";
    }
    if (!(cfg->limiter.rps >= RL_LIMITER_RPS_MIN &&
          cfg->limiter.rps <= RL_LIMITER_RPS_MAX)) {
        return "-limiter-rps must be between 0.001 and 1000000";
    }
    if (cfg->limiter.burst < 1 || cfg->limiter.burst > RL_LIMITER_BURST_MAX) {
        return "-limiter-burst must be between 1 and 1000000";
    }
    if (strcmp(cfg->limiter.redis_fail, "open") != 0 &&
        strcmp(cfg->limiter.redis_fail, "closed") != 0) {
        return "-limiter-redis-fail must be open or closed";
    }
    if (cfg->http.read_timeout_ms < 1 || cfg->http.idle_timeout_ms < 1 ||
        cfg->http.write_timeout_ms < 1) {
        return "-read-timeout, -idle-timeout and -write-timeout must be "
               "positive";
    }
    if (cfg->http.max_conns < 1 || cfg->http.max_conns > 1000000) {
        return "-max-conns must be between 1 and 1000000";
    }
    if (cfg->http.max_conns_per_ip < 1 ||
        cfg->http.max_conns_per_ip > cfg->http.max_conns) {
        return "-max-conns-per-ip must be between 1 and -max-conns";
    }
    if (strcmp(cfg->env, "development") != 0 &&
        strcmp(cfg->env, "staging") != 0 &&
        strcmp(cfg->env, "production") != 0) {
        return "-env must be development, staging or production";
    }
    if (strcasecmp(cfg->real_ip_header, "X-Forwarded-For") != 0 &&
        strcasecmp(cfg->real_ip_header, "X-Real-IP") != 0) {
        return "-real-ip-header must be X-Forwarded-For or X-Real-IP";
    }
    return NULL;
}

/* Remembers where a secret flag's value sits in argv (optarg points into
 * it), so the command line can be shown without it. */
static void
note_secret(struct api_config *cfg, const struct flag *f, const char *value)
{
    if (value == NULL || f->secret == API_PUBLIC) {
        return;
    }
    if (cfg->nsecret_args == API_MAX_SECRET_ARGS) {
        cfg->secret_args_overflow = true;
        return;
    }
    cfg->secret_args[cfg->nsecret_args].value = value;
    cfg->secret_args[cfg->nsecret_args].dsn = f->secret == API_SECRET_DSN;
    cfg->nsecret_args++;
}

enum api_secret
api_config_flag_secret(const char *name, size_t len)
{
    for (size_t i = 0; i < NFLAGS; i++) {
        if (strlen(flags[i].name) == len &&
            strncmp(flags[i].name, name, len) == 0) {
            return flags[i].secret;
        }
    }
    return API_PUBLIC;
}

/* Where a flag's value came from, for the messages about it. */
enum source { SRC_DEFAULT, SRC_ENV, SRC_ARGV };

static size_t
flag_index(const char *name)
{
    for (size_t i = 0; i < NFLAGS; i++) {
        if (strcmp(flags[i].name, name) == 0) {
            return i;
        }
    }
    return NFLAGS;
}

/* "flag -name", or "$REDLIGHT_NAME" when the environment set it. */
static const char *
where(const enum source *src, const char *name, char *buf, size_t cap)
{
    size_t i = flag_index(name);
    if (i < NFLAGS && src[i] == SRC_ENV) {
        buf[0] = '$';
        env_name(&flags[i], buf + 1, cap - 1);
    } else {
        snprintf(buf, cap, "flag -%s", name);
    }
    return buf;
}

/* Sets every flag whose REDLIGHT_<NAME> variable is in the environment
 * (see the top of the file). Prints the first bad value, naming the
 * variable, and returns false. */
static bool
apply_env(struct api_config *cfg, enum source *src)
{
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct flag *f = &flags[i];
        if (f->kind == K_HELP || f->kind == K_VERSION) {
            continue;
        }
        char var[ENV_NAME_MAX];
        env_name(f, var, sizeof(var));
        const char *v = getenv(var);
        if (v == NULL || (v[0] == '\0' && f->kind != K_STRING)) {
            continue;
        }
        if (!parse_value(cfg, f, v)) {
            fprintf(stderr, "invalid value \"%s\" for $%s: parse error\n", v,
                    var);
            return false;
        }
        src[i] = SRC_ENV;
    }
    return true;
}

/* Prints a range-check message (which names flags as "-name"), followed by
 * the variables that set any flag it names. */
static void
print_check_error(const char *why, const enum source *src)
{
    fputs(why, stderr);
    const char *sep = " (set by ";
    for (size_t i = 0; i < NFLAGS; i++) {
        if (src[i] != SRC_ENV) {
            continue;
        }
        size_t n = strlen(flags[i].name);
        for (const char *p = strchr(why, '-'); p != NULL;
             p = strchr(p + 1, '-')) {
            /* p[1 + n] is read only once the n bytes before it matched
             * (none of them the end of the string). */
            if ((p == why || p[-1] == ' ') &&
                strncmp(p + 1, flags[i].name, n) == 0 &&
                !(p[1 + n] == '-' || (p[1 + n] >= 'a' && p[1 + n] <= 'z'))) {
                char var[ENV_NAME_MAX];
                env_name(&flags[i], var, sizeof(var));
                fprintf(stderr, "%s$%s", sep, var);
                sep = ", ";
                break;
            }
        }
    }
    fputs(sep[0] == ',' ? ")\n" : "\n", stderr);
}

enum api_config_result
api_config_parse(struct api_config *cfg, int argc, char **argv, int *next)
{
    set_defaults(cfg);
    enum source src[NFLAGS] = {SRC_DEFAULT};
    if (!apply_env(cfg, src)) {
        return API_CONFIG_EXIT_2;
    }
    struct option opts[NFLAGS + 2];
    for (size_t i = 0; i < NFLAGS; i++) {
        opts[i].name = flags[i].name;
        opts[i].has_arg =
            flags[i].kind == K_BOOL ? optional_argument
            : (flags[i].kind == K_HELP || flags[i].kind == K_VERSION)
                ? no_argument
                : required_argument;
        opts[i].flag = NULL;
        opts[i].val = 1000 + (int)i;
    }
    /* -h is -help (an exact match, so not an ambiguous abbreviation of
     * -help and -http-threads). */
    opts[NFLAGS] = opts[flag_index("help")];
    opts[NFLAGS].name = "h";
    memset(&opts[NFLAGS + 1], 0, sizeof(struct option));
    opterr = 0;
    /* 0, not 1: glibc then forgets where the last call stopped inside an
     * argument (a pointer into that call's argv), so a second call, as in
     * the unit tests, starts afresh. */
    optind = 0;
    const char *prog = argc > 0 ? argv[0] : "api";
    for (;;) {
        int idx = -1;
        int c = getopt_long_only(argc, argv, "+", opts, &idx);
        if (c == -1) {
            break;
        }
        if (c == '?' || c == ':' || c < 1000) {
            const char *bad = argv[optind - 1];
            if (optopt >= 1000 && (size_t)(optopt - 1000) < NFLAGS) {
                fprintf(stderr, "flag needs an argument: -%s\n",
                        flags[optopt - 1000].name);
            } else {
                fprintf(stderr, "flag provided but not defined: %s\n", bad);
            }
            return API_CONFIG_EXIT_2;
        }
        const struct flag *f = &flags[c - 1000];
        if (f->kind == K_HELP) {
            print_help(prog);
            return API_CONFIG_EXIT_0;
        }
        if (f->kind == K_VERSION) {
            printf("Version:\t%s\n", RL_VERSION);
            return API_CONFIG_EXIT_0;
        }
        if (!parse_value(cfg, f, optarg)) {
            fprintf(stderr, "invalid value \"%s\" for flag -%s: parse error\n",
                    optarg ? optarg : "", f->name);
            return API_CONFIG_EXIT_2;
        }
        note_secret(cfg, f, optarg);
        src[c - 1000] = SRC_ARGV;
    }
    const char *why = check(cfg);
    if (why != NULL) {
        print_check_error(why, src);
        return API_CONFIG_EXIT_2;
    }
    char w1[ENV_NAME_MAX + 8];
    char w2[ENV_NAME_MAX + 8];
    char w3[ENV_NAME_MAX + 8];
    char w4[ENV_NAME_MAX + 8];
    if (!api_config_check_redis(where(src, "limiter-redis", w4, sizeof(w4)),
                                cfg->limiter.redis) ||
        !api_config_check_ipset(where(src, "trusted-proxies", w1, sizeof(w1)),
                                cfg->trusted_proxies) ||
        !api_config_check_ipset(where(src, "metrics-allow", w2, sizeof(w2)),
                                cfg->metrics_allow) ||
        !api_config_check_origins(
            where(src, "cors-trusted-origins", w3, sizeof(w3)),
            cfg->cors_trusted_origins)) {
        return API_CONFIG_EXIT_2;
    }
    cfg->argc = argc;
    cfg->argv = argv;
    *next = optind;
    return API_CONFIG_OK;
}
