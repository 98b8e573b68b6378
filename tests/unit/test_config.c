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
    {"http-threads", "REDLIGHT_HTTP_THREADS", INT, OFF(http_threads), "3", "5",
     3, 5},
    {"shutdown-timeout", "REDLIGHT_SHUTDOWN_TIMEOUT", DURATION,
     OFF(shutdown_timeout_ms), "5s", "1.5s", 5000, 1500},
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
    {"limiter-rps", "REDLIGHT_LIMITER_RPS", FLOAT, OFF(limiter.rps), "10",
     "0.5", 10, 0.5},
    {"limiter-burst", "REDLIGHT_LIMITER_BURST", INT, OFF(limiter.burst), "20",
     "30", 20, 30},
    {"limiter-enabled", "REDLIGHT_LIMITER_ENABLED", BOOL, OFF(limiter.enabled),
     "false", "true", 0, 1},
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

struct run {
    enum api_config_result res;
    struct api_config cfg;
    int next;
    char out[8192]; /* stdout */
    char err[1024]; /* stderr */
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
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"api";
    while (*args != NULL && argc < 31) {
        argv[argc++] = (char *)*args++;
    }
    argv[argc] = NULL;
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
    r->res = api_config_parse(&r->cfg, argc, argv, &r->next);
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
         "-jwt-secret must be at least 32 bytes long (set by "
         "$REDLIGHT_JWT_SECRET)\n"},
        {"REDLIGHT_TRUSTED_PROXIES", "10.0.0.1, proxy.example",
         "invalid value \"10.0.0.1, proxy.example\" for "
         "$REDLIGHT_TRUSTED_PROXIES: \"proxy.example\" is not an IP address "
         "or CIDR prefix\n"},
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
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
