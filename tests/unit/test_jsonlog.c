/*
 * test_jsonlog.c — unit tests for internal/jsonlog: JSON escaping, the
 * timestamp format, and whole log lines read back from a temporary file and
 * parsed with jansson.
 *
 * The logger's descriptor is process-wide: each line test points it at a
 * fresh temporary file in setup and back at stdout in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <time.h>
#include <unistd.h>

#include "internal/jsonlog/jsonlog.h"

#define RFC3339_RE                                                             \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"
#define LINE_LIMIT 8192 /* jsonlog.c's LINE_MAX_BYTES */

/* ---- helpers ---------------------------------------------------------- */

/* Escapes s (len bytes) into a fresh buffer and returns it (test_free). */
static char *
escape(const char *s, size_t len)
{
    size_t cap = len * 6 + 1;
    char *buf = test_malloc(cap);
    size_t pos = 0;
    assert_int_equal(rl_json_escape(buf, cap, &pos, s, len), 0);
    assert_int_equal(strlen(buf), pos);
    return buf;
}

static void
check_escape(const char *s, size_t len, const char *want)
{
    char *got = escape(s, len);
    if (strcmp(got, want) != 0) {
        print_error("escape gave \"%s\", want \"%s\"\n", got, want);
        test_free(got);
        fail();
    }
    test_free(got);
}

/* Wraps an escaped string in quotes, parses it as JSON and returns the
 * decoded bytes (free with free). NULL if jansson refuses it. */
static char *
json_unquote(const char *escaped, size_t *len)
{
    size_t n = strlen(escaped);
    char *doc = malloc(n + 3);
    assert_non_null(doc);
    doc[0] = '"';
    memcpy(doc + 1, escaped, n);
    doc[n + 1] = '"';
    doc[n + 2] = '\0';
    json_t *j = json_loads(doc, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    free(doc);
    if (j == NULL) {
        return NULL;
    }
    *len = json_string_length(j);
    char *out = malloc(*len + 1);
    assert_non_null(out);
    memcpy(out, json_string_value(j), *len + 1);
    json_decref(j);
    return out;
}

static bool
matches(const char *pattern, const char *s)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

struct logfile {
    int fd;
    char *text; /* last read, malloc'd */
};

static int
logfile_setup(void **state)
{
    struct logfile *lf = calloc(1, sizeof(*lf));
    if (lf == NULL) {
        return -1;
    }
    FILE *f = tmpfile();
    if (f == NULL) {
        free(lf);
        return -1;
    }
    lf->fd = dup(fileno(f));
    fclose(f); /* the dup keeps the unlinked file open */
    if (lf->fd < 0) {
        free(lf);
        return -1;
    }
    rl_log_init(lf->fd, RL_LOG_INFO);
    *state = lf;
    return 0;
}

static int
logfile_teardown(void **state)
{
    struct logfile *lf = *state;
    rl_log_init(1, RL_LOG_INFO);
    close(lf->fd);
    free(lf->text);
    free(lf);
    return 0;
}

/* Returns everything logged since the last call (NUL-terminated, owned by
 * lf) and empties the file. */
static const char *
logfile_take(struct logfile *lf)
{
    off_t size = lseek(lf->fd, 0, SEEK_END);
    assert_true(size >= 0);
    free(lf->text);
    lf->text = malloc((size_t)size + 1);
    assert_non_null(lf->text);
    assert_int_equal(pread(lf->fd, lf->text, (size_t)size, 0), size);
    lf->text[size] = '\0';
    assert_int_equal(ftruncate(lf->fd, 0), 0);
    assert_int_equal(lseek(lf->fd, 0, SEEK_SET), 0);
    return lf->text;
}

/* Takes the log and checks it holds exactly one line that is a JSON object
 * with the four documented keys (properties only when some were logged).
 * Returns the object (json_decref). */
/* The one line written since the last take, parsed and checked; with raw,
 * its text too (free with free). */
static json_t *
take_one_line_raw(struct logfile *lf, char **raw)
{
    const char *text = logfile_take(lf);
    size_t len = strlen(text);
    assert_true(len > 0);
    assert_int_equal(text[len - 1], '\n');
    assert_null(memchr(text, '\n', len - 1)); /* one line */
    assert_true(len <= LINE_LIMIT);
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (j == NULL) {
        print_error("not JSON (%s at %d): %.200s...%s\n", err.text,
                    err.position, text, len > 200 ? text + len - 100 : "");
        fail();
    }
    assert_true(json_is_object(j));
    assert_true(json_is_string(json_object_get(j, "level")));
    assert_true(json_is_string(json_object_get(j, "time")));
    assert_true(json_is_string(json_object_get(j, "message")));
    assert_true(
        matches(RFC3339_RE, json_string_value(json_object_get(j, "time"))));
    json_t *props = json_object_get(j, "properties");
    assert_int_equal(json_object_size(j), props == NULL ? 3 : 4);
    if (props != NULL) {
        assert_true(json_is_object(props));
        assert_true(json_object_size(props) > 0);
        const char *k;
        json_t *v;
        json_object_foreach(props, k, v)
        {
            assert_true(json_is_string(v) || json_is_integer(v));
        }
    }
    if (raw != NULL) {
        *raw = strdup(text);
        assert_non_null(*raw);
    }
    return j;
}

static json_t *
take_one_line(struct logfile *lf)
{
    return take_one_line_raw(lf, NULL);
}

static const char *
str_at(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static const char *
prop(json_t *j, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(j, "properties"), key));
}

/* ---- rl_json_escape --------------------------------------------------- */

static void
escape_plain_and_special(void **state)
{
    (void)state;
    check_escape("", 0, "");
    check_escape("hello, world", 12, "hello, world");
    check_escape("say \"hi\"", 8, "say \\\"hi\\\"");
    check_escape("C:\\dir\\", 7, "C:\\\\dir\\\\");
    check_escape("a\nb\rc\td", 7, "a\\nb\\rc\\td");
    check_escape("/", 1, "/"); /* solidus needs no escape */
    check_escape("'<>&", 4, "'<>&");
}

static void
escape_control_chars(void **state)
{
    (void)state;
    check_escape("\x01", 1, "\\u0001");
    check_escape("\x08", 1, "\\u0008");
    check_escape("\x0b\x0c", 2, "\\u000b\\u000c");
    check_escape("\x1b[0m", 4, "\\u001b[0m");
    check_escape("\x1f", 1, "\\u001f");
    check_escape("a\0b", 3, "a\\u0000b"); /* NUL inside len */
    /* Every byte below 0x20 is escaped and decodes back to itself. */
    for (unsigned c = 0; c < 0x20; c++) {
        char in = (char)c;
        char *out = escape(&in, 1);
        assert_int_equal(out[0], '\\');
        size_t n = 0;
        char *back = json_unquote(out, &n);
        assert_non_null(back);
        assert_int_equal(n, 1);
        assert_int_equal((unsigned char)back[0], c);
        free(back);
        test_free(out);
    }
}

static void
escape_keeps_valid_utf8(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "caf\xC3\xA9",      "\xE2\x82\xAC 5",
        "\xF0\x9F\x8E\xAC", "\xEF\xBF\xBD",
        "\xF4\x8F\xBF\xBF", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        check_escape(texts[i], strlen(texts[i]), texts[i]);
    }
}

static void
escape_replaces_invalid_bytes(void **state)
{
    (void)state;
#define FFFD "\xEF\xBF\xBD"
    check_escape("\xFF", 1, FFFD);
    check_escape("\x80", 1, FFFD);
    check_escape("a\xC3(", 3, "a" FFFD "(");
    check_escape("\xC0\x80", 2, FFFD FFFD);          /* overlong */
    check_escape("\xED\xA0\x80", 3, FFFD FFFD FFFD); /* surrogate */
    check_escape("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
    check_escape("ok\xE2\x82", 4, "ok" FFFD FFFD); /* cut at the end */
    check_escape("\xE2\x82\xAC", 2, FFFD FFFD);    /* len cuts it */
    check_escape("\xFE\"", 2, FFFD "\\\"");
#undef FFFD
    /* Whatever the input, the output is a valid JSON string body. */
    for (unsigned c = 0; c < 256; c++) {
        char in[3] = {(char)c, (char)0xA9, 'x'};
        char *out = escape(in, sizeof(in));
        size_t n = 0;
        char *back = json_unquote(out, &n);
        if (back == NULL) {
            print_error("byte 0x%02x: \"%s\" is not a JSON string\n", c, out);
            test_free(out);
            fail();
        }
        free(back);
        test_free(out);
    }
}

static void
escape_appends_at_pos(void **state)
{
    (void)state;
    char buf[32] = "prefix:";
    size_t pos = 7;
    assert_int_equal(rl_json_escape(buf, sizeof(buf), &pos, "a\"b", 3), 0);
    assert_int_equal(pos, 11);
    assert_string_equal(buf, "prefix:a\\\"b");
    assert_int_equal(rl_json_escape(buf, sizeof(buf), &pos, "", 0), 0);
    assert_int_equal(pos, 11);
    assert_string_equal(buf, "prefix:a\\\"b");
    assert_int_equal(rl_json_escape(buf, sizeof(buf), &pos, "\n", 1), 0);
    assert_string_equal(buf, "prefix:a\\\"b\\n");
    assert_int_equal(pos, 13);
}

struct small_case {
    const char *in;
    size_t len;
    size_t cap;
    int ret;
    const char *out; /* what buf holds afterwards */
};

static void
escape_buffer_too_small(void **state)
{
    (void)state;
    static const struct small_case cases[] = {
        {"abc", 3, 4, 0, "abc"}, /* exact fit with the NUL */
        {"abcd", 4, 4, -1, "abc"},
        {"abcdef", 6, 1, -1, ""},
        {"ab\"c", 4, 4, -1, "ab"}, /* \" is not split */
        {"ab\"c", 4, 5, -1, "ab\\\""},
        {"a\x01", 2, 7, -1, "a"}, /* \u0001 is not split */
        {"a\x01", 2, 8, 0, "a\\u0001"},
        {"\xC3\xA9", 2, 2, -1, ""}, /* é is not split */
        {"\xC3\xA9", 2, 3, 0, "\xC3\xA9"},
        {"x\xF0\x9F\x8E\xAC", 5, 5, -1, "x"},
        {"x\xFF", 2, 4, -1, "x"}, /* U+FFFD is not split */
        {"x\xFF", 2, 5, 0, "x\xEF\xBF\xBD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct small_case *c = &cases[i];
        /* Exactly cap bytes on the heap: ASan catches a write past them. */
        char *buf = test_malloc(c->cap);
        memset(buf, 'Z', c->cap);
        size_t pos = 0;
        int ret = rl_json_escape(buf, c->cap, &pos, c->in, c->len);
        if (ret != c->ret || memchr(buf, '\0', c->cap) == NULL ||
            strcmp(buf, c->out) != 0 || pos != strlen(c->out)) {
            print_error("case %zu: ret %d pos %zu\n", i, ret, pos);
            test_free(buf);
            fail();
        }
        test_free(buf);
    }
}

static void
escape_too_small_after_prefix(void **state)
{
    (void)state;
    char buf[10] = "123456";
    size_t pos = 6;
    assert_int_equal(rl_json_escape(buf, sizeof(buf), &pos, "\"\"\"", 3), -1);
    assert_string_equal(buf, "123456\\\"");
    assert_int_equal(pos, 8);
}

/* ---- rl_log_time ------------------------------------------------------ */

static int64_t
realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
log_time_format(void **state)
{
    (void)state;
    char buf[RL_LOG_TIME_MAX];
    memset(buf, 'Z', sizeof(buf));
    int64_t before = realtime_ms();
    rl_log_time(buf, sizeof(buf));
    int64_t after = realtime_ms();
    assert_true(matches(RFC3339_RE, buf));
    assert_int_equal(strlen(buf), RL_LOG_TIME_MAX - 1);
    struct tm tm = {0};
    const char *end = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(end);
    assert_int_equal(*end, '.');
    /* UTC, not local time, to the millisecond. */
    int64_t ms = (int64_t)timegm(&tm) * 1000 + strtol(end + 1, NULL, 10);
    assert_true(ms >= before && ms <= after);
}

static void
log_time_has_milliseconds(void **state)
{
    (void)state;
    /* Two stamps 15 ms apart differ in their milliseconds. */
    char a[RL_LOG_TIME_MAX], b[RL_LOG_TIME_MAX];
    rl_log_time(a, sizeof(a));
    struct timespec ts = {0, 15 * 1000 * 1000};
    nanosleep(&ts, NULL);
    rl_log_time(b, sizeof(b));
    assert_true(strcmp(a, b) < 0);
}

static void
log_time_small_buffer(void **state)
{
    (void)state;
    char buf[RL_LOG_TIME_MAX - 1];
    memset(buf, 'Z', sizeof(buf));
    rl_log_time(buf, sizeof(buf)); /* one byte short */
    assert_string_equal(buf, "");
}

/* ---- rl_log lines ----------------------------------------------------- */

static void
log_line_fields(void **state)
{
    struct logfile *lf = *state;
    rl_log_props(RL_LOG_INFO, "starting server", RL_LOG_STR("addr", ":4000"),
                 RL_LOG_STR("env", "development"), NULL);
    json_t *j = take_one_line(lf);
    assert_string_equal(str_at(j, "level"), "INFO");
    assert_string_equal(str_at(j, "message"), "starting server");
    assert_int_equal(json_object_size(json_object_get(j, "properties")), 2);
    assert_string_equal(prop(j, "addr"), ":4000");
    assert_string_equal(prop(j, "env"), "development");
    json_decref(j);
}

static void
log_line_without_properties(void **state)
{
    struct logfile *lf = *state;
    /* As Go's `json:"properties,omitempty"`: no key when empty. */
    rl_log_props(RL_LOG_INFO, "no properties", NULL);
    json_t *j = take_one_line(lf);
    assert_null(json_object_get(j, "properties"));
    assert_string_equal(str_at(j, "message"), "no properties");
    json_decref(j);

    rl_log_props(RL_LOG_INFO, "only NULL values", RL_LOG_STR("a", NULL),
                 RL_LOG_STR("b", NULL), NULL);
    j = take_one_line(lf);
    assert_null(json_object_get(j, "properties"));
    json_decref(j);

    rl_log_props(RL_LOG_INFO, "", NULL);
    j = take_one_line(lf);
    assert_string_equal(str_at(j, "message"), "");
    json_decref(j);
}

static void
log_typed_properties(void **state)
{
    struct logfile *lf = *state;
    rl_log_props(RL_LOG_INFO, "mail sent", RL_LOG_INT("id", 42),
                 RL_LOG_STR("template", "user_welcome"),
                 RL_LOG_INT("attempt", 1), RL_LOG_INT("neg", -7),
                 RL_LOG_INT("max", LLONG_MAX), RL_LOG_INT("min", LLONG_MIN),
                 RL_LOG_STR("digits", "42"), RL_LOG_INT("zero", 0), NULL);
    char *raw = NULL;
    json_t *j = take_one_line_raw(lf, &raw);
    json_t *p = json_object_get(j, "properties");
    assert_int_equal(json_object_size(p), 8);
    assert_true(json_is_integer(json_object_get(p, "id")));
    assert_int_equal(json_integer_value(json_object_get(p, "id")), 42);
    assert_int_equal(json_integer_value(json_object_get(p, "attempt")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "neg")), -7);
    assert_int_equal(json_integer_value(json_object_get(p, "zero")), 0);
    assert_true(json_integer_value(json_object_get(p, "max")) == LLONG_MAX);
    assert_true(json_integer_value(json_object_get(p, "min")) == LLONG_MIN);
    /* A string of digits stays a string. */
    assert_string_equal(prop(j, "digits"), "42");
    assert_string_equal(prop(j, "template"), "user_welcome");
    /* In the order given, numbers bare. */
    assert_non_null(strstr(raw, "\"properties\":{\"id\":42,\"template\":"
                                "\"user_welcome\",\"attempt\":1,"));
    free(raw);
    json_decref(j);
}

static void
log_skips_null_values(void **state)
{
    struct logfile *lf = *state;
    rl_log_props(RL_LOG_ERROR, "x", RL_LOG_STR("a", NULL), RL_LOG_STR("b", "2"),
                 RL_LOG_STR("c", NULL), RL_LOG_STR("d", ""), NULL);
    json_t *j = take_one_line(lf);
    json_t *props = json_object_get(j, "properties");
    assert_int_equal(json_object_size(props), 2);
    assert_string_equal(prop(j, "b"), "2");
    assert_string_equal(prop(j, "d"), "");
    json_decref(j);
}

static void
log_levels_and_filter(void **state)
{
    struct logfile *lf = *state;
    rl_log_props(RL_LOG_DEBUG, "hidden at INFO", NULL);
    assert_string_equal(logfile_take(lf), "");

    static const struct {
        enum rl_log_level level;
        const char *name;
    } levels[] = {{RL_LOG_INFO, "INFO"},
                  {RL_LOG_ERROR, "ERROR"},
                  {RL_LOG_FATAL, "FATAL"}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        rl_log_props(levels[i].level, "m", NULL);
        json_t *j = take_one_line(lf);
        assert_string_equal(str_at(j, "level"), levels[i].name);
        json_decref(j);
    }

    rl_log_init(lf->fd, RL_LOG_DEBUG);
    rl_log_props(RL_LOG_DEBUG, "shown at DEBUG", NULL);
    json_t *j = take_one_line(lf);
    assert_string_equal(str_at(j, "level"), "DEBUG");
    json_decref(j);

    rl_log_init(lf->fd, RL_LOG_ERROR);
    rl_log_props(RL_LOG_INFO, "hidden at ERROR", NULL);
    assert_string_equal(logfile_take(lf), "");
    rl_log_props(RL_LOG_ERROR, "shown at ERROR", NULL);
    j = take_one_line(lf);
    assert_string_equal(str_at(j, "level"), "ERROR");
    json_decref(j);
}

static void
log_escapes_everything(void **state)
{
    struct logfile *lf = *state;
    const char *nasty = "line1\nline2\r\t\"quoted\" back\\slash \x01\x1f "
                        "caf\xC3\xA9 \xF0\x9F\x8E\xAC";
    rl_log_props(RL_LOG_ERROR, nasty, RL_LOG_STR("key \"q\"\n", nasty), NULL);
    json_t *j = take_one_line(lf);
    assert_string_equal(str_at(j, "message"), nasty);
    assert_string_equal(prop(j, "key \"q\"\n"), nasty);
    json_decref(j);

    rl_log_props(RL_LOG_ERROR, "bad \xFF\xC3(", RL_LOG_STR("v", "\xED\xA0\x80"),
                 NULL);
    j = take_one_line(lf);
    assert_string_equal(str_at(j, "message"), "bad \xEF\xBF\xBD\xEF\xBF\xBD(");
    assert_string_equal(prop(j, "v"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    json_decref(j);
}

/* Checks that got is want cut short and marked with "...". */
static void
check_cut(const char *got, const char *want)
{
    size_t n = strlen(got);
    assert_true(n > 3);
    assert_string_equal(got + n - 3, "...");
    assert_true(n - 3 < strlen(want));
    assert_memory_equal(got, want, n - 3);
}

static char *
filled(size_t n, const char *unit)
{
    size_t ul = strlen(unit);
    char *s = test_malloc(n * ul + 1);
    for (size_t i = 0; i < n; i++) {
        memcpy(s + i * ul, unit, ul);
    }
    s[n * ul] = '\0';
    return s;
}

static void
log_number_after_a_cut_value(void **state)
{
    struct logfile *lf = *state;
    /* A string cut at the line limit ends the properties: the number after
     * it is dropped and the line stays JSON. */
    char *big = filled(20 * 1024, "v");
    rl_log_props(RL_LOG_ERROR, "m", RL_LOG_INT("first", 1),
                 RL_LOG_STR("big", big), RL_LOG_INT("after", 2), NULL);
    json_t *j = take_one_line(lf);
    json_t *p = json_object_get(j, "properties");
    assert_int_equal(json_integer_value(json_object_get(p, "first")), 1);
    assert_null(json_object_get(p, "after"));
    json_decref(j);
    test_free(big);
}

static void
log_long_value_is_cut(void **state)
{
    struct logfile *lf = *state;
    char *big = filled(20 * 1024, "v");
    rl_log_props(RL_LOG_ERROR, "big value", RL_LOG_STR("before", "kept"),
                 RL_LOG_STR("big", big), RL_LOG_STR("after", "dropped"), NULL);
    json_t *j = take_one_line(lf);
    assert_string_equal(str_at(j, "message"), "big value");
    assert_string_equal(prop(j, "before"), "kept");
    check_cut(prop(j, "big"), big);
    /* The line is as full as the limit allows, not cut early. */
    assert_true(strlen(prop(j, "big")) > LINE_LIMIT - 200);
    json_decref(j);
    test_free(big);
}

static void
log_long_value_of_escapes_is_cut(void **state)
{
    struct logfile *lf = *state;
    /* Each byte becomes six; each é must stay whole. */
    char *ctl = filled(20 * 1024, "\x01");
    rl_log_props(RL_LOG_INFO, "m", RL_LOG_STR("ctl", ctl), NULL);
    json_t *j = take_one_line(lf);
    check_cut(prop(j, "ctl"), ctl);
    json_decref(j);
    test_free(ctl);

    char *accents = filled(10 * 1024, "\xC3\xA9");
    rl_log_props(RL_LOG_INFO, "m", RL_LOG_STR("accents", accents), NULL);
    j = take_one_line(lf); /* jansson refuses a split sequence */
    check_cut(prop(j, "accents"), accents);
    json_decref(j);
    test_free(accents);

    char *quotes = filled(20 * 1024, "\"");
    rl_log_props(RL_LOG_INFO, "m", RL_LOG_STR("quotes", quotes), NULL);
    j = take_one_line(lf);
    check_cut(prop(j, "quotes"), quotes);
    json_decref(j);
    test_free(quotes);
}

static void
log_long_message_stays_valid(void **state)
{
    struct logfile *lf = *state;
    static const char *const units[] = {"m", "\"", "\xE2\x82\xAC", "\n"};
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        char *msg = filled(20 * 1024, units[u]);
        rl_log_props(RL_LOG_ERROR, msg, RL_LOG_STR("k", "v"), NULL);
        json_t *j = take_one_line(lf);
        /* Cut with "..." like a value; the property no longer fits. */
        check_cut(str_at(j, "message"), msg);
        assert_null(json_object_get(j, "properties"));
        json_decref(j);
        test_free(msg);
    }
}

static void
log_many_properties_stay_valid(void **state)
{
    struct logfile *lf = *state;
    /* Lengths chosen so the line limit falls at every possible point of a
     * property: inside the key, the separator, the value. */
    char *val = filled(97, "x");
    for (int shift = 0; shift < 40; shift++) {
        char *msg = filled((size_t)shift, "m");
        char keys[80][16];
        const char *k[80];
        for (unsigned i = 0; i < 80; i++) {
            snprintf(keys[i], sizeof(keys[i]), "k%02u", i);
            k[i] = keys[i];
        }
        rl_log_props(
            RL_LOG_INFO, msg, RL_LOG_STR(k[0], val), RL_LOG_STR(k[1], val),
            RL_LOG_STR(k[2], val), RL_LOG_STR(k[3], val), RL_LOG_STR(k[4], val),
            RL_LOG_STR(k[5], val), RL_LOG_STR(k[6], val), RL_LOG_STR(k[7], val),
            RL_LOG_STR(k[8], val), RL_LOG_STR(k[9], val),
            RL_LOG_STR(k[10], val), RL_LOG_STR(k[11], val),
            RL_LOG_STR(k[12], val), RL_LOG_STR(k[13], val),
            RL_LOG_STR(k[14], val), RL_LOG_STR(k[15], val),
            RL_LOG_STR(k[16], val), RL_LOG_STR(k[17], val),
            RL_LOG_STR(k[18], val), RL_LOG_STR(k[19], val),
            RL_LOG_STR(k[20], val), RL_LOG_STR(k[21], val),
            RL_LOG_STR(k[22], val), RL_LOG_STR(k[23], val),
            RL_LOG_STR(k[24], val), RL_LOG_STR(k[25], val),
            RL_LOG_STR(k[26], val), RL_LOG_STR(k[27], val),
            RL_LOG_STR(k[28], val), RL_LOG_STR(k[29], val),
            RL_LOG_STR(k[30], val), RL_LOG_STR(k[31], val),
            RL_LOG_STR(k[32], val), RL_LOG_STR(k[33], val),
            RL_LOG_STR(k[34], val), RL_LOG_STR(k[35], val),
            RL_LOG_STR(k[36], val), RL_LOG_STR(k[37], val),
            RL_LOG_STR(k[38], val), RL_LOG_STR(k[39], val),
            RL_LOG_STR(k[40], val), RL_LOG_STR(k[41], val),
            RL_LOG_STR(k[42], val), RL_LOG_STR(k[43], val),
            RL_LOG_STR(k[44], val), RL_LOG_STR(k[45], val),
            RL_LOG_STR(k[46], val), RL_LOG_STR(k[47], val),
            RL_LOG_STR(k[48], val), RL_LOG_STR(k[49], val),
            RL_LOG_STR(k[50], val), RL_LOG_STR(k[51], val),
            RL_LOG_STR(k[52], val), RL_LOG_STR(k[53], val),
            RL_LOG_STR(k[54], val), RL_LOG_STR(k[55], val),
            RL_LOG_STR(k[56], val), RL_LOG_STR(k[57], val),
            RL_LOG_STR(k[58], val), RL_LOG_STR(k[59], val),
            RL_LOG_STR(k[60], val), RL_LOG_STR(k[61], val),
            RL_LOG_STR(k[62], val), RL_LOG_STR(k[63], val),
            RL_LOG_STR(k[64], val), RL_LOG_STR(k[65], val),
            RL_LOG_STR(k[66], val), RL_LOG_STR(k[67], val),
            RL_LOG_STR(k[68], val), RL_LOG_STR(k[69], val),
            RL_LOG_STR(k[70], val), RL_LOG_STR(k[71], val),
            RL_LOG_STR(k[72], val), RL_LOG_STR(k[73], val),
            RL_LOG_STR(k[74], val), RL_LOG_STR(k[75], val),
            RL_LOG_STR(k[76], val), RL_LOG_STR(k[77], val),
            RL_LOG_STR(k[78], val), RL_LOG_STR(k[79], val), NULL);
        json_t *j = take_one_line(lf);
        json_t *props = json_object_get(j, "properties");
        assert_true(json_object_size(props) > 10);
        assert_true(json_object_size(props) < 80);
        assert_string_equal(prop(j, "k00"), val);
        json_decref(j);
        test_free(msg);
    }
    test_free(val);
}

static void
log_write_line_verbatim(void **state)
{
    struct logfile *lf = *state;
    const char line[] = "{\"custom\":true}\n";
    rl_log_write_line(line, sizeof(line) - 1);
    assert_string_equal(logfile_take(lf), line);
}

enum { THREADS = 8, LINES_PER_THREAD = 200 };

static void *
log_from_thread(void *arg)
{
    char id[16];
    snprintf(id, sizeof(id), "%d", *(const int *)arg);
    char *val = malloc(3001);
    if (val == NULL) {
        return NULL;
    }
    memset(val, 'a' + *(const int *)arg, 3000);
    val[3000] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++) {
        char seq[16];
        snprintf(seq, sizeof(seq), "%d", i);
        rl_log_props(RL_LOG_INFO, "concurrent", RL_LOG_STR("thread", id),
                     RL_LOG_STR("seq", seq), RL_LOG_STR("pad", val), NULL);
    }
    free(val);
    return NULL;
}

static void
log_lines_never_interleave(void **state)
{
    struct logfile *lf = *state;
    pthread_t t[THREADS];
    int ids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ids[i] = i;
        assert_int_equal(pthread_create(&t[i], NULL, log_from_thread, &ids[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    const char *text = logfile_take(lf);
    int next[THREADS] = {0};
    size_t lines = 0;
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
        assert_non_null(j);
        int id = (int)strtol(prop(j, "thread"), NULL, 10);
        assert_true(id >= 0 && id < THREADS);
        /* Each thread's lines arrive whole and in its own order. */
        assert_int_equal(strtol(prop(j, "seq"), NULL, 10), next[id]);
        next[id]++;
        assert_int_equal(strlen(prop(j, "pad")), 3000);
        assert_int_equal(prop(j, "pad")[0], 'a' + id);
        json_decref(j);
        lines++;
        line = nl + 1;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
}

/* ---- buffered lines --------------------------------------------------- */

static void
buffered_writes_through_without_flusher(void **state)
{
    struct logfile *lf = *state;
    const char line[] = "{\"buffered\":false}\n";
    rl_log_buffered(line, sizeof(line) - 1);
    assert_string_equal(logfile_take(lf), line);
}

enum { BUF_THREADS = 4, BUF_LINES = 2000 };

static void *
buffer_lines(void *arg)
{
    int id = *(const int *)arg;
    for (int i = 0; i < BUF_LINES; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "{\"t\":%d,\"i\":%d}\n", id, i);
        rl_log_buffered(line, (size_t)n);
    }
    return NULL;
}

/* Runs BUF_THREADS threads plus the calling one (id BUF_THREADS) through a
 * flusher start/stop and checks every line came out whole, once, in each
 * thread's order. */
static void
buffered_round(struct logfile *lf)
{
    assert_int_equal(rl_log_flusher_start(), 0);
    pthread_t t[BUF_THREADS];
    int ids[BUF_THREADS + 1];
    for (int i = 0; i < BUF_THREADS; i++) {
        ids[i] = i;
        assert_int_equal(pthread_create(&t[i], NULL, buffer_lines, &ids[i]), 0);
    }
    ids[BUF_THREADS] = BUF_THREADS;
    (void)buffer_lines(&ids[BUF_THREADS]);
    for (int i = 0; i < BUF_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    rl_log_flusher_stop(); /* writes what is left, frees the buffers */
    const char *text = logfile_take(lf);
    int next[BUF_THREADS + 1] = {0};
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
        assert_non_null(j);
        int id = (int)json_integer_value(json_object_get(j, "t"));
        assert_true(id >= 0 && id <= BUF_THREADS);
        assert_int_equal(json_integer_value(json_object_get(j, "i")), next[id]);
        next[id]++;
        json_decref(j);
        line = nl + 1;
    }
    for (int i = 0; i <= BUF_THREADS; i++) {
        assert_int_equal(next[i], BUF_LINES);
    }
}

static void
buffered_lines_all_written_by_stop(void **state)
{
    buffered_round(*state);
}

static void
buffered_flusher_restarts(void **state)
{
    /* A second start/stop in the same process, from the same thread that
     * logged in the first round (whose buffer the first stop freed). */
    buffered_round(*state);
    buffered_round(*state);
}

static void
buffered_flushed_without_stop(void **state)
{
    struct logfile *lf = *state;
    assert_int_equal(rl_log_flusher_start(), 0);
    const char line[] = "{\"soon\":true}\n";
    rl_log_buffered(line, sizeof(line) - 1);
    /* The flusher writes it within about 100 ms; allow 5 s. */
    for (int i = 0; i < 100 && lseek(lf->fd, 0, SEEK_END) == 0; i++) {
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    assert_string_equal(logfile_take(lf), line);
    rl_log_flusher_stop();
    assert_string_equal(logfile_take(lf), "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escape_plain_and_special),
        cmocka_unit_test(escape_control_chars),
        cmocka_unit_test(escape_keeps_valid_utf8),
        cmocka_unit_test(escape_replaces_invalid_bytes),
        cmocka_unit_test(escape_appends_at_pos),
        cmocka_unit_test(escape_buffer_too_small),
        cmocka_unit_test(escape_too_small_after_prefix),
        cmocka_unit_test(log_time_format),
        cmocka_unit_test(log_time_has_milliseconds),
        cmocka_unit_test(log_time_small_buffer),
        cmocka_unit_test_setup_teardown(log_typed_properties, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_number_after_a_cut_value,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(log_line_fields, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_line_without_properties,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(log_skips_null_values, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_levels_and_filter, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_escapes_everything, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_long_value_is_cut, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_long_value_of_escapes_is_cut,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(log_long_message_stays_valid,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(log_many_properties_stay_valid,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(log_write_line_verbatim, logfile_setup,
                                        logfile_teardown),
        cmocka_unit_test_setup_teardown(log_lines_never_interleave,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(buffered_writes_through_without_flusher,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(buffered_lines_all_written_by_stop,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(buffered_flushed_without_stop,
                                        logfile_setup, logfile_teardown),
        cmocka_unit_test_setup_teardown(buffered_flusher_restarts,
                                        logfile_setup, logfile_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
