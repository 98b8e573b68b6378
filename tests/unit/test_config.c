/*
 * test_config.c — cmd/api/config.c: every flag from the command line and
 * from its REDLIGHT_<NAME> variable, the command line winning, -h/-help/
 * --help, -env's three values, and the messages for bad values (naming
 * the variable when the environment set it).
 *
 * Each test starts with no REDLIGHT_* variable in the environment (make
 * test exports some); stderr and stdout are captured through a temporary
 * file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/api/config.h"
#include "cmd/api/config_private.h"
#include "internal/arena/arena.h"

extern char **environ;

enum kind { INT, FLOAT, STRING, BOOL, DURATION };

/* Every flag but -help and -version: two valid values other than the
 * default (a wins alone, b over a), and the value they give the field. */
static const struct flag_case {
    const char *name;
    const char *var;
    enum kind kind;
    size_t off;
    const char *a;
    const char *b;
    double a_val; /* INT, FLOAT, BOOL (0/1), DURATION (ms) */
    double b_val;
} cases[] = {
#define OFF(field) offsetof(struct api_config, field)
    {"port", "REDLIGHT_PORT", INT, OFF(port), "4100", "4200", 4100, 4200},
    {"env", "REDLIGHT_ENV", STRING, OFF(env), "staging", "production", 0, 0},
    {"db-dsn", "REDLIGHT_DB_DSN", STRING, OFF(db.dsn), "postgres://a/x",
     "postgres://b/y", 0, 0},
    {"db-max-open-conns", "REDLIGHT_DB_MAX_OPEN_CONNS", INT, OFF(db.max_open),
     "7", "8", 7, 8},
    {"db-max-idle-conns", "REDLIGHT_DB_MAX_IDLE_CONNS", INT, OFF(db.max_idle),
     "3", "0", 3, 0},
    {"db-max-idle-time", "REDLIGHT_DB_MAX_IDLE_TIME", DURATION,
     OFF(db.max_idle_time_ms), "1m", "1h30m", 60000, 5400000},
    {"db-prepared", "REDLIGHT_DB_PREPARED", BOOL, OFF(db.prepared), "false",
     "true", 0, 1},
    {"db-listen-dsn", "REDLIGHT_DB_LISTEN_DSN", STRING, OFF(db.listen_dsn),
     "postgres://a/l", "none", 0, 0},
    {"db-replica-dsn", "REDLIGHT_DB_REPLICA_DSN", STRING, OFF(db.replica_dsn),
     "postgres://a/r", "postgres://b/r", 0, 0},
    {"db-parallel-workers", "REDLIGHT_DB_PARALLEL_WORKERS", INT,
     OFF(db.parallel_workers), "-1", "2", -1, 2},
    {"db-replica-max-lag", "REDLIGHT_DB_REPLICA_MAX_LAG", DURATION,
     OFF(db.replica_max_lag_ms), "500ms", "5s", 500, 5000},
    {"db-concurrency", "REDLIGHT_DB_CONCURRENCY", INT, OFF(db.concurrency), "3",
     "7", 3, 7},
    {"auth-cache", "REDLIGHT_AUTH_CACHE", BOOL, OFF(auth_cache), "false",
     "true", 0, 1},
    {"http-threads", "REDLIGHT_HTTP_THREADS", INT, OFF(http_threads), "3", "5",
     3, 5},
    {"shutdown-timeout", "REDLIGHT_SHUTDOWN_TIMEOUT", DURATION,
     OFF(shutdown_timeout_ms), "5s", "1.5s", 5000, 1500},
    {"drain-delay", "REDLIGHT_DRAIN_DELAY", DURATION, OFF(drain_delay_ms), "5s",
     "250ms", 5000, 250},
    {"smtp-host", "REDLIGHT_SMTP_HOST", STRING, OFF(smtp.host),
     "smtp.example.com", "mail.example.org", 0, 0},
    {"smtp-port", "REDLIGHT_SMTP_PORT", INT, OFF(smtp.port), "587", "465", 587,
     465},
    {"smtp-username", "REDLIGHT_SMTP_USERNAME", STRING, OFF(smtp.username),
     "apikey", "other", 0, 0},
    {"smtp-password", "REDLIGHT_SMTP_PASSWORD", STRING, OFF(smtp.password),
     "s3cret", "other secret", 0, 0},
    {"smtp-sender", "REDLIGHT_SMTP_SENDER", STRING, OFF(smtp.sender),
     "Redlight Team <no-reply@example.com>", "Ops <ops@example.com>", 0, 0},
    {"mail-dir", "REDLIGHT_MAIL_DIR", STRING, OFF(smtp.mail_dir), "/tmp/a",
     "/tmp/b c", 0, 0},
    {"jwt-secret", "REDLIGHT_JWT_SECRET", STRING, OFF(jwt.secret),
     "0123456789abcdef0123456789abcdef", "abcdefghijklmnopqrstuvwxyz0123456789",
     0, 0},
    {"jwt-issuer", "REDLIGHT_JWT_ISSUER", STRING, OFF(jwt.issuer), "iss-a",
     "iss-b", 0, 0},
    {"jwt-audience", "REDLIGHT_JWT_AUDIENCE", STRING, OFF(jwt.audience),
     "aud-a", "aud-b", 0, 0},
    {"cursor-secret", "REDLIGHT_CURSOR_SECRET", STRING, OFF(cursor_secret),
     "cursor-key-0123456789abcdef0123456789",
     "another cursor key, at least 32 bytes long", 0, 0},
    {"limiter-rps", "REDLIGHT_LIMITER_RPS", FLOAT, OFF(limiter.rps), "10",
     "0.5", 10, 0.5},
    {"limiter-burst", "REDLIGHT_LIMITER_BURST", INT, OFF(limiter.burst), "20",
     "30", 20, 30},
    {"limiter-enabled", "REDLIGHT_LIMITER_ENABLED", BOOL, OFF(limiter.enabled),
     "false", "true", 0, 1},
    {"limiter-redis", "REDLIGHT_LIMITER_REDIS", STRING, OFF(limiter.redis),
     "redis://127.0.0.1:6379/1", "unix:///run/redis/redis.sock", 0, 0},
    {"limiter-redis-fail", "REDLIGHT_LIMITER_REDIS_FAIL", STRING,
     OFF(limiter.redis_fail), "closed", "open", 0, 0},
    {"trusted-proxies", "REDLIGHT_TRUSTED_PROXIES", STRING,
     OFF(trusted_proxies), "10.0.0.0/8, 192.0.2.1", "::1/128 127.0.0.1", 0, 0},
    {"cors-trusted-origins", "REDLIGHT_CORS_TRUSTED_ORIGINS", STRING,
     OFF(cors_trusted_origins), "http://a.example,https://b.example:8443",
     "http://localhost:3000 http://127.0.0.1:5173", 0, 0},
    {"metrics-allow", "REDLIGHT_METRICS_ALLOW", STRING, OFF(metrics_allow),
     "0.0.0.0/0 ::/0", "", 0, 0},
    {"read-timeout", "REDLIGHT_READ_TIMEOUT", DURATION,
     OFF(http.read_timeout_ms), "3s", "250ms", 3000, 250},
    {"idle-timeout", "REDLIGHT_IDLE_TIMEOUT", DURATION,
     OFF(http.idle_timeout_ms), "2m", "90s", 120000, 90000},
    {"write-timeout", "REDLIGHT_WRITE_TIMEOUT", DURATION,
     OFF(http.write_timeout_ms), "45s", "1m", 45000, 60000},
    {"max-conns", "REDLIGHT_MAX_CONNS", INT, OFF(http.max_conns), "5000",
     "6000", 5000, 6000},
    {"max-conns-per-ip", "REDLIGHT_MAX_CONNS_PER_IP", INT,
     OFF(http.max_conns_per_ip), "100", "200", 100, 200},
    {"real-ip-header", "REDLIGHT_REAL_IP_HEADER", STRING, OFF(real_ip_header),
     "X-Real-IP", "X-Forwarded-For", 0, 0},
#undef OFF
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Removes every REDLIGHT_* variable. */
static int
clear_env(void **state)
{
    (void)state;
    for (;;) {
        char **e = environ;
        while (*e != NULL && strncmp(*e, "REDLIGHT_", 9) != 0) {
            e++;
        }
        if (*e == NULL) {
            return 0;
        }
        char name[128];
        size_t n = strcspn(*e, "=");
        assert_true(n < sizeof(name));
        memcpy(name, *e, n);
        name[n] = '\0';
        unsetenv(name);
    }
}

/* One api_config_parse call. cfg points into argv and args (its argv, the
 * values of secret_args), so both live here, as long as the struct. */
struct run {
    enum api_config_result res;
    struct api_config cfg;
    int next;
    char *argv[40];
    char args[4096]; /* the arguments' bytes, NUL after each */
    char out[8192];  /* stdout */
    char err[1024];  /* stderr */
};

static void
slurp(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* api_config_parse on "api" + the NULL-terminated args, capturing what it
 * prints. */
static void
run_args(struct run *r, const char *const *args)
{
    const size_t max = sizeof(r->argv) / sizeof(r->argv[0]) - 1;
    size_t used = 0;
    int argc = 0;
    for (const char *a = "api"; a != NULL; a = *args++) {
        size_t n = strlen(a) + 1;
        assert_true((size_t)argc < max && n <= sizeof(r->args) - used);
        r->argv[argc++] = memcpy(r->args + used, a, n);
        used += n;
    }
    r->argv[argc] = NULL;
    FILE *out = tmpfile();
    FILE *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1);
    int saved_err = dup(2);
    dup2(fileno(out), 1);
    dup2(fileno(err), 2);
    r->next = -1;
    r->res = api_config_parse(&r->cfg, argc, r->argv, &r->next);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    slurp(out, r->out, sizeof(r->out));
    slurp(err, r->err, sizeof(r->err));
}

#define RUN(r, ...)                                                            \
    do {                                                                       \
        const char *const args_[] = {__VA_ARGS__, NULL};                       \
        run_args((r), args_);                                                  \
    } while (0)

static double
field(const struct api_config *cfg, const struct flag_case *c)
{
    const char *base = (const char *)cfg + c->off;
    switch (c->kind) {
    case INT:
        return *(const int *)(const void *)base;
    case FLOAT: {
        double d;
        memcpy(&d, base, sizeof(d));
        return d;
    }
    case BOOL:
        return *(const bool *)(const void *)base ? 1 : 0;
    case DURATION:
        return (double)*(const int64_t *)(const void *)base;
    case STRING:
        break;
    }
    fail_msg("not a number");
    return 0;
}

static void
assert_value(const struct api_config *cfg, const struct flag_case *c,
             const char *text, double val)
{
    if (c->kind == STRING) {
        const char *s =
            *(const char *const *)(const void *)((const char *)cfg + c->off);
        if (strcmp(s, text) != 0) {
            fail_msg("-%s: \"%s\", want \"%s\"", c->name, s, text);
        }
        return;
    }
    if (field(cfg, c) != val) {
        fail_msg("-%s: %g, want %g", c->name, field(cfg, c), val);
    }
}

static void
every_flag_from_argv(void **state)
{
    (void)state;
    struct run r;
    for (size_t i = 0; i < NCASES; i++) {
        char flag[128];
        snprintf(flag, sizeof(flag), "-%s", cases[i].name);
        if (cases[i].kind == BOOL) {
            /* Go's rule: "-name false" is -name, then an argument. */
            RUN(&r, flag, cases[i].a);
            assert_int_equal(r.res, API_CONFIG_OK);
            assert_int_equal(r.next, 2);
            assert_true(field(&r.cfg, &cases[i]) == 1);
            snprintf(flag, sizeof(flag), "-%s=%s", cases[i].name, cases[i].a);
            RUN(&r, flag);
        } else {
            RUN(&r, flag, cases[i].a);
        }
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_string_equal(r.err, "");
        assert_value(&r.cfg, &cases[i], cases[i].a, cases[i].a_val);
        /* --name=value too */
        snprintf(flag, sizeof(flag), "--%s=%s", cases[i].name, cases[i].b);
        RUN(&r, flag);
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_value(&r.cfg, &cases[i], cases[i].b, cases[i].b_val);
    }
}

static void
every_flag_from_env(void **state)
{
    (void)state;
    struct run r;
    for (size_t i = 0; i < NCASES; i++) {
        /* The variable's name is the flag's, upper case, '-' → '_'. */
        char want[64] = "REDLIGHT_";
        for (const char *p = cases[i].name; *p != '\0'; p++) {
            char c = *p == '-' ? '_' : (char)(*p - 'a' + 'A');
            strncat(want, &c, 1);
        }
        assert_string_equal(cases[i].var, want);
        setenv(cases[i].var, cases[i].a, 1);
        RUN(&r, "migrate", "version");
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_string_equal(r.err, "");
        assert_int_equal(r.next, 1);
        assert_value(&r.cfg, &cases[i], cases[i].a, cases[i].a_val);
        /* The environment does not put secrets on the command line. */
        assert_int_equal(r.cfg.nsecret_args, 0);
        unsetenv(cases[i].var);
    }
}

static void
command_line_wins_over_env(void **state)
{
    (void)state;
    struct run r;
    for (size_t i = 0; i < NCASES; i++) {
        setenv(cases[i].var, cases[i].a, 1);
        char flag[128];
        snprintf(flag, sizeof(flag), "-%s=%s", cases[i].name, cases[i].b);
        RUN(&r, flag);
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_value(&r.cfg, &cases[i], cases[i].b, cases[i].b_val);
        unsetenv(cases[i].var);
    }
    /* All of them at once, each from its own source. */
    for (size_t i = 0; i < NCASES; i++) {
        setenv(cases[i].var, cases[i].a, 1);
    }
    RUN(&r, "-port", "4300", "-limiter-enabled");
    assert_int_equal(r.res, API_CONFIG_OK);
    assert_int_equal(r.cfg.port, 4300);
    assert_true(r.cfg.limiter.enabled);
    for (size_t i = 0; i < NCASES; i++) {
        if (strcmp(cases[i].name, "port") != 0 &&
            strcmp(cases[i].name, "limiter-enabled") != 0) {
            assert_value(&r.cfg, &cases[i], cases[i].a, cases[i].a_val);
        }
    }
}

static void
defaults_without_env(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "serve-nothing");
    assert_int_equal(r.res, API_CONFIG_OK);
    assert_int_equal(r.next, 1);
    assert_int_equal(r.cfg.port, 4000);
    assert_string_equal(r.cfg.env, "development");
    assert_string_equal(r.cfg.db.dsn, "");
    assert_string_equal(r.cfg.smtp.password, "");
    assert_string_equal(r.cfg.jwt.secret, "");
    assert_string_equal(r.cfg.cors_trusted_origins, "");
    assert_string_equal(r.cfg.metrics_allow, "127.0.0.1/8 ::1/128");
    assert_true(r.cfg.limiter.enabled);
    assert_int_equal(r.cfg.limiter.burst, 4);
}

static void
empty_env_values(void **state)
{
    (void)state;
    struct run r;
    /* Empty: ignored for numbers, booleans and durations ... */
    setenv("REDLIGHT_PORT", "", 1);
    setenv("REDLIGHT_LIMITER_ENABLED", "", 1);
    setenv("REDLIGHT_READ_TIMEOUT", "", 1);
    setenv("REDLIGHT_LIMITER_RPS", "", 1);
    /* ... the empty string for strings. */
    setenv("REDLIGHT_METRICS_ALLOW", "", 1);
    setenv("REDLIGHT_SMTP_PASSWORD", "", 1);
    RUN(&r, "x");
    assert_int_equal(r.res, API_CONFIG_OK);
    assert_int_equal(r.cfg.port, 4000);
    assert_true(r.cfg.limiter.enabled);
    assert_int_equal(r.cfg.http.read_timeout_ms, 10000);
    assert_true(r.cfg.limiter.rps == 2);
    assert_string_equal(r.cfg.metrics_allow, "");
    assert_string_equal(r.cfg.smtp.password, "");
}

static void
help_and_version(void **state)
{
    (void)state;
    struct run r;
    static const char *const forms[] = {"-h", "-help", "--help", "--h"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        RUN(&r, forms[i]);
        assert_int_equal(r.res, API_CONFIG_EXIT_0);
        assert_string_equal(r.err, "");
        assert_non_null(strstr(r.out, "Usage: api "));
    }
    /* Every flag, with its variable; secrets' values never shown. */
    setenv("REDLIGHT_DB_DSN", "postgres://u:topsecret@h/d", 1);
    RUN(&r, "-help");
    for (size_t i = 0; i < NCASES; i++) {
        char line[96];
        snprintf(line, sizeof(line), "\n  -%s", cases[i].name);
        assert_non_null(strstr(r.out, line));
        snprintf(line, sizeof(line), "[$%s]\n", cases[i].var);
        if (strstr(r.out, line) == NULL) {
            fail_msg("-help does not name %s", cases[i].var);
        }
    }
    assert_null(strstr(r.out, "topsecret"));
    /* The table here covers every flag -help lists (+ -help, -version). */
    size_t listed = 0;
    for (const char *p = r.out; (p = strstr(p, "\n  -")) != NULL; p++) {
        listed++;
    }
    assert_int_equal(listed, NCASES + 2);
    RUN(&r, "-version");
    assert_int_equal(r.res, API_CONFIG_EXIT_0);
    assert_non_null(strstr(r.out, "Version:\t"));
}

static void
env_flag_takes_three_values(void **state)
{
    (void)state;
    struct run r;
    static const char *const good[] = {"development", "staging", "production"};
    for (size_t i = 0; i < 3; i++) {
        RUN(&r, "-env", good[i]);
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_string_equal(r.cfg.env, good[i]);
    }
    static const char *const bad[] = {"testing", "foo", "", "Production",
                                      "prod"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        RUN(&r, "-env", bad[i]);
        assert_int_equal(r.res, API_CONFIG_EXIT_2);
        assert_string_equal(
            r.err, "-env must be development, staging or production\n");
    }
    setenv("REDLIGHT_ENV", "testing", 1);
    RUN(&r, "x");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_string_equal(r.err, "-env must be development, staging or "
                               "production (set by $REDLIGHT_ENV)\n");
    /* The command line wins, so the bad variable does not count. */
    RUN(&r, "-env", "staging");
    assert_int_equal(r.res, API_CONFIG_OK);
}

static void
bad_values_name_their_source(void **state)
{
    (void)state;
    struct run r;
    static const struct {
        const char *var;
        const char *value;
        const char *err;
    } env_cases[] = {
        {"REDLIGHT_PORT", "abc",
         "invalid value \"abc\" for $REDLIGHT_PORT: parse error\n"},
        {"REDLIGHT_PORT", "70000",
         "-port must be between 0 and 65535 (set by $REDLIGHT_PORT)\n"},
        {"REDLIGHT_LIMITER_RPS", "nan",
         "invalid value \"nan\" for $REDLIGHT_LIMITER_RPS: parse error\n"},
        {"REDLIGHT_LIMITER_ENABLED", "maybe",
         "invalid value \"maybe\" for $REDLIGHT_LIMITER_ENABLED: parse "
         "error\n"},
        {"REDLIGHT_READ_TIMEOUT", "10", /* a duration needs its unit */
         "invalid value \"10\" for $REDLIGHT_READ_TIMEOUT: parse error\n"},
        {"REDLIGHT_JWT_SECRET", "short",
         "-jwt-secret keys must each be at least 32 bytes long (set by "
         "$REDLIGHT_JWT_SECRET)\n"},
        {"REDLIGHT_CURSOR_SECRET", "0123456789abcdef0123456789abcde",
         "-cursor-secret must be at least 32 bytes long (set by "
         "$REDLIGHT_CURSOR_SECRET)\n"},
        {"REDLIGHT_TRUSTED_PROXIES", "10.0.0.1, proxy.example",
         "invalid value \"10.0.0.1, proxy.example\" for "
         "$REDLIGHT_TRUSTED_PROXIES: \"proxy.example\" is not an IP address "
         "or CIDR prefix\n"},
        {"REDLIGHT_LIMITER_REDIS_FAIL", "maybe",
         "-limiter-redis-fail must be open or closed (set by "
         "$REDLIGHT_LIMITER_REDIS_FAIL)\n"},
        /* The reason, never the value: it may hold a password. */
        {"REDLIGHT_LIMITER_REDIS", "redis://:topsecret@cache:70000",
         "invalid value for $REDLIGHT_LIMITER_REDIS: the Redis URL's port "
         "must be a number from 1 to 65535\n"},
        {"REDLIGHT_CORS_TRUSTED_ORIGINS", "http://a.example,http://b/",
         "invalid value \"http://a.example,http://b/\" for "
         "$REDLIGHT_CORS_TRUSTED_ORIGINS: \"http://b/\" is not an origin "
         "(scheme://host[:port] in lower case, without a path or trailing "
         "slash, e.g. https://app.example.com)\n"},
    };
    for (size_t i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
        setenv(env_cases[i].var, env_cases[i].value, 1);
        RUN(&r, "x");
        assert_int_equal(r.res, API_CONFIG_EXIT_2);
        assert_string_equal(r.err, env_cases[i].err);
        unsetenv(env_cases[i].var);
    }
    /* A check over two flags names each variable that set one of them. */
    setenv("REDLIGHT_MAX_CONNS", "10", 1);
    RUN(&r, "-max-conns-per-ip", "20");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_string_equal(r.err, "-max-conns-per-ip must be between 1 and "
                               "-max-conns (set by $REDLIGHT_MAX_CONNS)\n");
    setenv("REDLIGHT_MAX_CONNS_PER_IP", "20", 1);
    RUN(&r, "x");
    assert_string_equal(r.err,
                        "-max-conns-per-ip must be between 1 and -max-conns "
                        "(set by $REDLIGHT_MAX_CONNS, "
                        "$REDLIGHT_MAX_CONNS_PER_IP)\n");
    unsetenv("REDLIGHT_MAX_CONNS");
    unsetenv("REDLIGHT_MAX_CONNS_PER_IP");
    /* A variable for a flag the message does not name is not listed (and
     * the scan for "-smtp-port" stops at the end of "X-Real-IP"). */
    setenv("REDLIGHT_SMTP_PORT", "587", 1);
    setenv("REDLIGHT_REAL_IP_HEADER", "Forwarded", 1);
    RUN(&r, "x");
    assert_string_equal(r.err, "-real-ip-header must be X-Forwarded-For or "
                               "X-Real-IP (set by $REDLIGHT_REAL_IP_HEADER)\n");
    RUN(&r, "-real-ip-header", "Forwarded");
    assert_string_equal(
        r.err, "-real-ip-header must be X-Forwarded-For or X-Real-IP\n");
    unsetenv("REDLIGHT_SMTP_PORT");
    unsetenv("REDLIGHT_REAL_IP_HEADER");
    /* From the command line: the flag is named, not a variable. */
    RUN(&r, "-port", "abc");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_string_equal(r.err,
                        "invalid value \"abc\" for flag -port: parse error\n");
    RUN(&r, "-cors-trusted-origins", "http://a.example/");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_non_null(strstr(r.err, "for flag -cors-trusted-origins: "
                                  "\"http://a.example/\" is not an origin"));
    RUN(&r, "-no-such-flag");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_string_equal(r.err,
                        "flag provided but not defined: -no-such-flag\n");
    RUN(&r, "-port");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_string_equal(r.err, "flag needs an argument: -port\n");
}

static void
secrets_from_argv_are_noted(void **state)
{
    (void)state;
    struct run r;
    setenv("REDLIGHT_DB_DSN", "postgres://env:pw@h/d", 1);
    RUN(&r, "-db-dsn", "postgres://argv:pw@h/d", "-smtp-password", "x");
    assert_int_equal(r.res, API_CONFIG_OK);
    assert_string_equal(r.cfg.db.dsn, "postgres://argv:pw@h/d");
    assert_int_equal(r.cfg.nsecret_args, 2);
    assert_string_equal(r.cfg.secret_args[0].value, "postgres://argv:pw@h/d");
    assert_true(r.cfg.secret_args[0].dsn);
    assert_false(r.cfg.secret_args[1].dsn);
}

/* The flags /debug/vars hides the value of: wholly, or (the DSNs,
 * -limiter-redis) only the passwords inside it. */
static const char *const secret_names[] = {
    "db-dsn",     "db-listen-dsn", "db-replica-dsn", "smtp-password",
    "jwt-secret", "cursor-secret", "limiter-redis"};
#define NSECRETS (sizeof(secret_names) / sizeof(secret_names[0]))

static bool
is_secret_name(const char *name)
{
    for (size_t i = 0; i < NSECRETS; i++) {
        if (strcmp(secret_names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Fails unless api_config_redacted_arg shows r's command line as want
 * (NULL-terminated, "api" first). */
static void
assert_shown(const struct run *r, const char *const *want)
{
    assert_int_equal(r->res, API_CONFIG_OK);
    struct rl_arena *a = rl_arena_create(4096);
    assert_non_null(a);
    char why[512] = "";
    int i = 0;
    for (; i < r->cfg.argc && want[i] != NULL && why[0] == '\0'; i++) {
        const char *got = api_config_redacted_arg(&r->cfg, i, a);
        if (got == NULL || strcmp(got, want[i]) != 0) {
            snprintf(why, sizeof(why), "argument %d (%s): \"%s\", want \"%s\"",
                     i, r->cfg.argv[i], got ? got : "(null)", want[i]);
        }
    }
    rl_arena_destroy(a);
    if (why[0] != '\0') {
        fail_msg("%s", why);
    }
    assert_null(want[i]);
    assert_int_equal(i, r->cfg.argc);
}

#define SHOWN(r, ...)                                                          \
    do {                                                                       \
        const char *const want_[] = {__VA_ARGS__, NULL};                       \
        assert_shown((r), want_);                                              \
    } while (0)

#define JWT "0123456789abcdef0123456789abcdef"

static void
secret_values_redacted_in_every_form(void **state)
{
    (void)state;
    struct run r;
    /* -f=v, -f v, --f=v, --f v; getopt's abbreviations in each form. */
    RUN(&r, "-smtp-password=pw1", "-smtp-password", "pw2",
        "--smtp-password=pw3", "--smtp-password", "pw4", "-smtp-pass", "pw5",
        "--smtp-passw=pw6", "-smtp-pa=pw7", "--smtp-passwo", "pw8");
    assert_string_equal(r.cfg.smtp.password, "pw8");
    SHOWN(&r, "api", "-smtp-password=REDACTED", "-smtp-password", "REDACTED",
          "--smtp-password=REDACTED", "--smtp-password", "REDACTED",
          "-smtp-pass", "REDACTED", "--smtp-passw=REDACTED",
          "-smtp-pa=REDACTED", "--smtp-passwo", "REDACTED");
    RUN(&r, "-jwt-secret=" JWT, "-jwt-secret", JWT, "--jwt-secret=" JWT,
        "--jwt-secret", JWT, "-jwt-s", JWT, "--jwt-sec=" JWT, "-jwt-secre=" JWT,
        "--jwt-se", JWT);
    assert_string_equal(r.cfg.jwt.secret, JWT);
    SHOWN(&r, "api", "-jwt-secret=REDACTED", "-jwt-secret", "REDACTED",
          "--jwt-secret=REDACTED", "--jwt-secret", "REDACTED", "-jwt-s",
          "REDACTED", "--jwt-sec=REDACTED", "-jwt-secre=REDACTED", "--jwt-se",
          "REDACTED");
    /* -db-dsn: only the passwords (URL userinfo, password=, sslpassword=,
     * libpq's quoting). */
    RUN(&r, "-db-dsn", "postgres://u:pw@h:5432/d?sslmode=disable",
        "-db-dsn=postgres://u:pw@h/d", "--db-dsn=host=h password=pw user=u",
        "--db-dsn", "user=u password='a b\\'c' sslmode=disable", "-db-d",
        "postgresql://u:p%40w@h/d?password=x&sslpassword=y", "-db-ds=u=1",
        "-db-dsn", "postgres://u@h/d");
    assert_string_equal(r.cfg.db.dsn, "postgres://u@h/d");
    SHOWN(&r, "api", "-db-dsn",
          "postgres://u:REDACTED@h:5432/d?sslmode=disable",
          "-db-dsn=postgres://u:REDACTED@h/d",
          "--db-dsn=host=h password=REDACTED user=u", "--db-dsn",
          "user=u password=REDACTED sslmode=disable", "-db-d",
          "postgresql://u:REDACTED@h/d?password=REDACTED&sslpassword=REDACTED",
          "-db-ds=u=1", "-db-dsn", "postgres://u@h/d");
    /* An empty value, and a value that looks like a flag. */
    RUN(&r, "-smtp-password=", "-smtp-password", "-jwt-secret", "x");
    assert_int_equal(r.next, 4);
    /* x follows a secret flag's name, so it is hidden too. */
    SHOWN(&r, "api", "-smtp-password=REDACTED", "-smtp-password", "REDACTED",
          "REDACTED");
}

static void
repeated_secret_flags_all_redacted(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "-smtp-password", "same", "-smtp-password", "same",
        "-smtp-password=same", "-db-dsn", "postgres://a:same@h/d", "-db-dsn",
        "postgres://b:same@h/d");
    assert_int_equal(r.cfg.nsecret_args, 5);
    SHOWN(&r, "api", "-smtp-password", "REDACTED", "-smtp-password", "REDACTED",
          "-smtp-password=REDACTED", "-db-dsn", "postgres://a:REDACTED@h/d",
          "-db-dsn", "postgres://b:REDACTED@h/d");
    /* API_MAX_SECRET_ARGS of them are each placed; one more hides every
     * argument but the program's name. */
    const char *args[2 * API_MAX_SECRET_ARGS + 4] = {NULL};
    const char *want[2 * API_MAX_SECRET_ARGS + 5] = {"api"};
    for (int i = 0; i < API_MAX_SECRET_ARGS; i++) {
        args[2 * i] = "-smtp-password";
        args[2 * i + 1] = "v";
        want[2 * i + 1] = "-smtp-password";
        want[2 * i + 2] = "REDACTED";
    }
    args[2 * API_MAX_SECRET_ARGS] = "-port";
    args[2 * API_MAX_SECRET_ARGS + 1] = "4100";
    want[2 * API_MAX_SECRET_ARGS + 1] = "-port";
    want[2 * API_MAX_SECRET_ARGS + 2] = "4100";
    run_args(&r, args);
    assert_false(r.cfg.secret_args_overflow);
    assert_shown(&r, want);
    args[2 * API_MAX_SECRET_ARGS] = "-jwt-secret";
    args[2 * API_MAX_SECRET_ARGS + 1] = JWT;
    run_args(&r, args);
    assert_true(r.cfg.secret_args_overflow);
    for (int i = 1; i <= 2 * API_MAX_SECRET_ARGS + 2; i++) {
        want[i] = "REDACTED";
    }
    assert_shown(&r, want);
}

static void
other_arguments_shown_as_given(void **state)
{
    (void)state;
    struct run r;
    /* Flags next to secret ones, values that name a secret flag. */
    RUN(&r, "-smtp-username", "pw", "-jwt-issuer=jwt-secret", "--jwt-audience",
        "smtp-password", "-cors-trusted-origins",
        "http://password=visible.example", "-smtp-sender=smtp-password",
        "-port", "4100");
    SHOWN(&r, "api", "-smtp-username", "pw", "-jwt-issuer=jwt-secret",
          "--jwt-audience", "smtp-password", "-cors-trusted-origins",
          "http://password=visible.example", "-smtp-sender=smtp-password",
          "-port", "4100");
    /* Secrets from the environment are not on the command line. */
    setenv("REDLIGHT_SMTP_PASSWORD", "env-pw", 1);
    setenv("REDLIGHT_JWT_SECRET", JWT, 1);
    RUN(&r, "-port", "4100");
    assert_int_equal(r.cfg.nsecret_args, 0);
    SHOWN(&r, "api", "-port", "4100");
    /* A password in any argument is hidden all the same (a DSN handed to
     * a subcommand, say). */
    RUN(&r, "-smtp-sender=x password=pw", "migrate", "postgres://u:pw@h/d",
        "host=h sslpassword=pw");
    SHOWN(&r, "api", "-smtp-sender=x password=REDACTED", "migrate",
          "postgres://u:REDACTED@h/d", "host=h sslpassword=REDACTED");
}

static void
secret_flags_redacted_after_flags_end(void **state)
{
    (void)state;
    struct run r;
    /* The parser stops at the subcommand or "--"; a secret flag by its
     * full name is still hidden. */
    RUN(&r, "users", "list", "-smtp-password", "pw", "--jwt-secret=k",
        "-jwt-secret", "k", "--smtp-password", "pw", "-smtp-username", "u");
    assert_int_equal(r.next, 1);
    assert_int_equal(r.cfg.nsecret_args, 0);
    SHOWN(&r, "api", "users", "list", "-smtp-password", "REDACTED",
          "--jwt-secret=REDACTED", "-jwt-secret", "REDACTED", "--smtp-password",
          "REDACTED", "-smtp-username", "u");
    RUN(&r, "--", "-smtp-password=pw", "-db-dsn", "postgres://u:pw@h/d");
    assert_int_equal(r.next, 2);
    SHOWN(&r, "api", "--", "-smtp-password=REDACTED", "-db-dsn",
          "postgres://u:REDACTED@h/d");
}

/* Every flag given "-name=value" and "-name value": the value hidden for
 * the flags config.c's table marks secret, shown as given for all others;
 * and the table marks these three. */
static void
only_secret_flags_are_redacted(void **state)
{
    (void)state;
    struct run r;
    size_t nsecret = 0;
    for (size_t i = 0; i < NCASES; i++) {
        const struct flag_case *c = &cases[i];
        /* config.c's table says what is secret, and says it of these. */
        enum api_secret kind = api_config_flag_secret(c->name, strlen(c->name));
        bool secret = kind != API_PUBLIC;
        bool dsn = kind == API_SECRET_DSN;
        assert_int_equal(secret, is_secret_name(c->name));
        bool redis = strcmp(c->name, "limiter-redis") == 0;
        assert_int_equal(dsn, strcmp(c->name, "db-dsn") == 0 ||
                                  strcmp(c->name, "db-listen-dsn") == 0 ||
                                  strcmp(c->name, "db-replica-dsn") == 0 ||
                                  redis);
        nsecret += secret;
        const char *value = redis ? "redis://:hunter2@h:6379/1"
                            : dsn ? "postgres://u:hunter2@h/d"
                                  : c->a;
        const char *hidden = redis ? "redis://:REDACTED@h:6379/1"
                             : dsn ? "postgres://u:REDACTED@h/d"
                                   : "REDACTED";
        char joined[256];
        char joined_shown[256];
        snprintf(joined, sizeof(joined), "-%s=%s", c->name, value);
        snprintf(joined_shown, sizeof(joined_shown), "-%s=%s", c->name,
                 secret ? hidden : value);
        RUN(&r, joined);
        SHOWN(&r, "api", joined_shown);
        if (c->kind == BOOL) {
            continue; /* "-name false" is -name and an argument */
        }
        char flag[128];
        snprintf(flag, sizeof(flag), "-%s", c->name);
        RUN(&r, flag, value);
        SHOWN(&r, "api", flag, secret ? hidden : value);
    }
    assert_int_equal(nsecret, NSECRETS);
    /* By full name only; not a flag is not secret. */
    assert_int_equal(api_config_flag_secret("jwt-secret=x", 10), API_SECRET);
    assert_int_equal(api_config_flag_secret("jwt-secre", 9), API_PUBLIC);
    assert_int_equal(api_config_flag_secret("jwt-secret", 9), API_PUBLIC);
    assert_int_equal(api_config_flag_secret("smtp-passwords", 14), API_PUBLIC);
    assert_int_equal(api_config_flag_secret("", 0), API_PUBLIC);
    assert_int_equal(api_config_flag_secret("help", 4), API_PUBLIC);
}

static void
every_flag_needs_its_argument(void **state)
{
    (void)state;
    struct run r;
    for (size_t i = 0; i < NCASES; i++) {
        char flag[128];
        snprintf(flag, sizeof(flag), "-%s", cases[i].name);
        RUN(&r, flag);
        if (cases[i].kind == BOOL) {
            assert_int_equal(r.res, API_CONFIG_OK);
            assert_true(field(&r.cfg, &cases[i]) == 1);
            continue;
        }
        assert_int_equal(r.res, API_CONFIG_EXIT_2);
        char want[160];
        snprintf(want, sizeof(want), "flag needs an argument: -%s\n",
                 cases[i].name);
        assert_string_equal(r.err, want);
        assert_string_equal(r.out, "");
    }
}

static void
every_range_check_message(void **state)
{
    (void)state;
    struct run r;
    static const struct {
        const char *arg;
        const char *err;
    } bad[] = {
        {"-port=-1", "-port must be between 0 and 65535\n"},
        {"-port=65536", "-port must be between 0 and 65535\n"},
        {"-port=99999999999", "invalid value \"99999999999\" for flag -port: "
                              "parse error\n"},
        {"-port=", "invalid value \"\" for flag -port: parse error\n"},
        {"-db-max-open-conns=0", "-db-max-open-conns must be at least 1\n"},
        {"-db-replica-max-lag=0s", "-db-replica-max-lag must be positive\n"},
        {"-db-parallel-workers=-2",
         "-db-parallel-workers must be between -1 and 1024\n"},
        {"-db-parallel-workers=1025",
         "-db-parallel-workers must be between -1 and 1024\n"},
        {"-db-max-idle-conns=-1", "-db-max-idle-conns must not be negative\n"},
        {"-db-max-idle-time=5", "invalid value \"5\" for flag "
                                "-db-max-idle-time: parse error\n"},
        {"-db-prepared=yes", "invalid value \"yes\" for flag -db-prepared: "
                             "parse error\n"},
        {"-jwt-secret=0123456789abcdef0123456789abcde",
         "-jwt-secret keys must each be at least 32 bytes long\n"},
        {"-jwt-secret=0123456789abcdef0123456789abcdef,short",
         "-jwt-secret keys must each be at least 32 bytes long\n"},
        {"-jwt-secret=1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
         "2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
         "3xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 4xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
         "5xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 6xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
         "7xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 8xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
         "9xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         "-jwt-secret lists more than 8 keys\n"},
        {"-smtp-port=0", "-smtp-port must be between 1 and 65535\n"},
        {"-smtp-port=65536", "-smtp-port must be between 1 and 65535\n"},
        {"-db-concurrency=0", "-db-concurrency must be between 1 and 1024\n"},
        {"-db-concurrency=1025",
         "-db-concurrency must be between 1 and 1024\n"},
        {"-http-threads=0", "-http-threads must be between 1 and 1024\n"},
        {"-http-threads=1025", "-http-threads must be between 1 and 1024\n"},
        {"-limiter-rps=0", "-limiter-rps must be between 0.001 and 1000000\n"},
        {"-limiter-rps=1000001",
         "-limiter-rps must be between 0.001 and 1000000\n"},
        {"-limiter-rps=inf",
         "invalid value \"inf\" for flag -limiter-rps: parse error\n"},
        {"-limiter-rps=1x",
         "invalid value \"1x\" for flag -limiter-rps: parse error\n"},
        {"-limiter-burst=0", "-limiter-burst must be between 1 and 1000000\n"},
        {"-limiter-burst=1000001",
         "-limiter-burst must be between 1 and 1000000\n"},
        {"-limiter-enabled=yes",
         "invalid value \"yes\" for flag -limiter-enabled: parse error\n"},
        {"-read-timeout=0s", "-read-timeout, -idle-timeout and -write-timeout "
                             "must be positive\n"},
        {"-idle-timeout=0s", "-read-timeout, -idle-timeout and -write-timeout "
                             "must be positive\n"},
        {"-write-timeout=0s", "-read-timeout, -idle-timeout and "
                              "-write-timeout must be positive\n"},
        {"-shutdown-timeout=1", "invalid value \"1\" for flag "
                                "-shutdown-timeout: parse error\n"},
        {"-drain-delay=-1s", "invalid value \"-1s\" for flag "
                             "-drain-delay: parse error\n"},
        {"-max-conns=0", "-max-conns must be between 1 and 1000000\n"},
        {"-max-conns=1000001", "-max-conns must be between 1 and 1000000\n"},
        {"-max-conns-per-ip=0",
         "-max-conns-per-ip must be between 1 and -max-conns\n"},
        {"-metrics-allow=10.0.0.0/33",
         "invalid value \"10.0.0.0/33\" for flag -metrics-allow: "
         "\"10.0.0.0/33\" is not an IP address or CIDR prefix\n"},
        {"-trusted-proxies=::1 proxy",
         "invalid value \"::1 proxy\" for flag -trusted-proxies: \"proxy\" "
         "is not an IP address or CIDR prefix\n"},
        {"-no-such-flag=1", "flag provided but not defined: -no-such-flag=1\n"},
        {"-db-max", "flag provided but not defined: -db-max\n"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        RUN(&r, bad[i].arg);
        assert_int_equal(r.res, API_CONFIG_EXIT_2);
        if (strcmp(r.err, bad[i].err) != 0) {
            fail_msg("%s: \"%s\", want \"%s\"", bad[i].arg, r.err, bad[i].err);
        }
        assert_string_equal(r.out, "");
    }
    /* A range check over a variable names it. */
    setenv("REDLIGHT_IDLE_TIMEOUT", "0s", 1);
    RUN(&r, "x");
    assert_int_equal(r.res, API_CONFIG_EXIT_2);
    assert_string_equal(r.err, "-read-timeout, -idle-timeout and "
                               "-write-timeout must be positive (set by "
                               "$REDLIGHT_IDLE_TIMEOUT)\n");
    setenv("REDLIGHT_METRICS_ALLOW", "nowhere", 1);
    RUN(&r, "-idle-timeout=1s");
    assert_string_equal(r.err, "invalid value \"nowhere\" for "
                               "$REDLIGHT_METRICS_ALLOW: \"nowhere\" is not "
                               "an IP address or CIDR prefix\n");
}

static void
booleans_and_where_flags_end(void **state)
{
    (void)state;
    struct run r;
    static const char *const falses[] = {"0",     "f",     "F",
                                         "false", "FALSE", "False"};
    static const char *const trues[] = {"1", "t", "T", "true", "TRUE", "True"};
    for (size_t i = 0; i < 6; i++) {
        char arg[64];
        snprintf(arg, sizeof(arg), "-db-prepared=%s", falses[i]);
        RUN(&r, arg);
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_false(r.cfg.db.prepared);
        setenv("REDLIGHT_LIMITER_ENABLED", falses[i], 1);
        snprintf(arg, sizeof(arg), "--db-prepared=%s", trues[i]);
        RUN(&r, arg);
        assert_int_equal(r.res, API_CONFIG_OK);
        assert_true(r.cfg.db.prepared);
        assert_false(r.cfg.limiter.enabled);
    }
    /* Flags stop at the first non-flag and after "--". */
    RUN(&r, "-port", "4100", "migrate", "-port", "x");
    assert_int_equal(r.res, API_CONFIG_OK);
    assert_int_equal(r.next, 3);
    assert_int_equal(r.cfg.port, 4100);
    RUN(&r, "--", "-port", "x");
    assert_int_equal(r.res, API_CONFIG_OK);
    assert_int_equal(r.next, 2);
    assert_int_equal(r.cfg.port, 4000);
    RUN(&r, "-version");
    assert_string_equal(r.out, "Version:\t" RL_VERSION "\n");
    assert_string_equal(r.err, "");
}

static void
cors_origins_checked(void **state)
{
    (void)state;
    struct run r;
    static const char *const good[] = {
        "http://localhost:3000",
        "https://[::1]:8443",
        "app+x.y-z://h",
        "http://a.example:65535 https://b.example:1",
        "http://a-b_c~d!$&'()*+;=.example",
        "http://[2001:db8::1]",
        "",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        RUN(&r, "-cors-trusted-origins", good[i]);
        if (r.res != API_CONFIG_OK) {
            fail_msg("%s: %s", good[i], r.err);
        }
        assert_string_equal(r.cfg.cors_trusted_origins, good[i]);
    }
    static const char *const bad[] = {
        "HTTP://a",       "http://A.example", "http://a:0",   "http://a:065",
        "http://a:65536", "http://a:123456",  "http://a:",    "http://",
        "http://[]",      "http://[::1",      "http://[::g]", "http://a/",
        "://a",           "1http://a",        "http://u@a",   "http:/a",
        "http://a?x",     "http://a#x",       "http://a:8x",  "-http://a",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        RUN(&r, "-cors-trusted-origins", bad[i]);
        assert_int_equal(r.res, API_CONFIG_EXIT_2);
        char want[512];
        snprintf(want, sizeof(want),
                 "invalid value \"%s\" for flag -cors-trusted-origins: "
                 "\"%s\" is not an origin (scheme://host[:port] in lower "
                 "case, without a path or trailing slash, e.g. "
                 "https://app.example.com)\n",
                 bad[i], bad[i]);
        assert_string_equal(r.err, want);
    }
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup(f, clear_env)
    const struct CMUnitTest tests[] = {
        T(every_flag_from_argv),
        T(every_flag_from_env),
        T(command_line_wins_over_env),
        T(defaults_without_env),
        T(empty_env_values),
        T(help_and_version),
        T(env_flag_takes_three_values),
        T(bad_values_name_their_source),
        T(secrets_from_argv_are_noted),
        T(secret_values_redacted_in_every_form),
        T(repeated_secret_flags_all_redacted),
        T(other_arguments_shown_as_given),
        T(secret_flags_redacted_after_flags_end),
        T(only_secret_flags_are_redacted),
        T(every_flag_needs_its_argument),
        T(every_range_check_message),
        T(booleans_and_where_flags_end),
        T(cors_origins_checked),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
