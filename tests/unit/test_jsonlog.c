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
#include <pthread.h>
#include <regex.h>
#include <time.h>
#include <unistd.h>

#include "internal/jsonlog/jsonlog.h"

#define RFC3339_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
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
static json_t *
take_one_line(struct logfile *lf)
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
            assert_true(json_is_string(v));
        }
    }
    return j;
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

static void
log_time_format(void **state)
{
    (void)state;
    char buf[21];
    memset(buf, 'Z', sizeof(buf));
    time_t before = time(NULL);
    rl_log_time(buf, sizeof(buf));
    time_t after = time(NULL);
    assert_true(matches(RFC3339_RE, buf));
    struct tm tm = {0};
    const char *end = strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_non_null(end);
    assert_int_equal(*end, '\0');
    time_t t = timegm(&tm); /* UTC, not local time */
    assert_true(t >= before && t <= after);
}

static void
log_time_small_buffer(void **state)
{
    (void)state;
    char buf[20];
    memset(buf, 'Z', sizeof(buf));
    rl_log_time(buf, sizeof(buf)); /* one byte short */
    assert_string_equal(buf, "");
}

/* ---- rl_log lines ----------------------------------------------------- */

static void
log_line_fields(void **state)
{
    struct logfile *lf = *state;
    rl_log(RL_LOG_INFO, "starting server", "addr", ":4000", "env",
           "development", NULL);
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
    rl_log(RL_LOG_INFO, "no properties", NULL);
    json_t *j = take_one_line(lf);
    assert_null(json_object_get(j, "properties"));
    assert_string_equal(str_at(j, "message"), "no properties");
    json_decref(j);

    rl_log(RL_LOG_INFO, "only NULL values", "a", NULL, "b", NULL, NULL);
    j = take_one_line(lf);
    assert_null(json_object_get(j, "properties"));
    json_decref(j);

    rl_log(RL_LOG_INFO, "", NULL);
    j = take_one_line(lf);
    assert_string_equal(str_at(j, "message"), "");
    json_decref(j);
}

static void
log_skips_null_values(void **state)
{
    struct logfile *lf = *state;
    rl_log(RL_LOG_ERROR, "x", "a", NULL, "b", "2", "c", NULL, "d", "", NULL);
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
    rl_log(RL_LOG_DEBUG, "hidden at INFO", NULL);
    assert_string_equal(logfile_take(lf), "");

    static const struct {
        enum rl_log_level level;
        const char *name;
    } levels[] = {{RL_LOG_INFO, "INFO"},
                  {RL_LOG_ERROR, "ERROR"},
                  {RL_LOG_FATAL, "FATAL"}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        rl_log(levels[i].level, "m", NULL);
        json_t *j = take_one_line(lf);
        assert_string_equal(str_at(j, "level"), levels[i].name);
        json_decref(j);
    }

    rl_log_init(lf->fd, RL_LOG_DEBUG);
    rl_log(RL_LOG_DEBUG, "shown at DEBUG", NULL);
    json_t *j = take_one_line(lf);
    assert_string_equal(str_at(j, "level"), "DEBUG");
    json_decref(j);

    rl_log_init(lf->fd, RL_LOG_ERROR);
    rl_log(RL_LOG_INFO, "hidden at ERROR", NULL);
    assert_string_equal(logfile_take(lf), "");
    rl_log(RL_LOG_ERROR, "shown at ERROR", NULL);
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
    rl_log(RL_LOG_ERROR, nasty, "key \"q\"\n", nasty, NULL);
    json_t *j = take_one_line(lf);
    assert_string_equal(str_at(j, "message"), nasty);
    assert_string_equal(prop(j, "key \"q\"\n"), nasty);
    json_decref(j);

    rl_log(RL_LOG_ERROR, "bad \xFF\xC3(", "v", "\xED\xA0\x80", NULL);
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
log_long_value_is_cut(void **state)
{
    struct logfile *lf = *state;
    char *big = filled(20 * 1024, "v");
    rl_log(RL_LOG_ERROR, "big value", "before", "kept", "big", big, "after",
           "dropped", NULL);
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
    rl_log(RL_LOG_INFO, "m", "ctl", ctl, NULL);
    json_t *j = take_one_line(lf);
    check_cut(prop(j, "ctl"), ctl);
    json_decref(j);
    test_free(ctl);

    char *accents = filled(10 * 1024, "\xC3\xA9");
    rl_log(RL_LOG_INFO, "m", "accents", accents, NULL);
    j = take_one_line(lf); /* jansson refuses a split sequence */
    check_cut(prop(j, "accents"), accents);
    json_decref(j);
    test_free(accents);

    char *quotes = filled(20 * 1024, "\"");
    rl_log(RL_LOG_INFO, "m", "quotes", quotes, NULL);
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
        rl_log(RL_LOG_ERROR, msg, "k", "v", NULL);
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
        rl_log(
            RL_LOG_INFO, msg, k[0], val, k[1], val, k[2], val, k[3], val, k[4],
            val, k[5], val, k[6], val, k[7], val, k[8], val, k[9], val, k[10],
            val, k[11], val, k[12], val, k[13], val, k[14], val, k[15], val,
            k[16], val, k[17], val, k[18], val, k[19], val, k[20], val, k[21],
            val, k[22], val, k[23], val, k[24], val, k[25], val, k[26], val,
            k[27], val, k[28], val, k[29], val, k[30], val, k[31], val, k[32],
            val, k[33], val, k[34], val, k[35], val, k[36], val, k[37], val,
            k[38], val, k[39], val, k[40], val, k[41], val, k[42], val, k[43],
            val, k[44], val, k[45], val, k[46], val, k[47], val, k[48], val,
            k[49], val, k[50], val, k[51], val, k[52], val, k[53], val, k[54],
            val, k[55], val, k[56], val, k[57], val, k[58], val, k[59], val,
            k[60], val, k[61], val, k[62], val, k[63], val, k[64], val, k[65],
            val, k[66], val, k[67], val, k[68], val, k[69], val, k[70], val,
            k[71], val, k[72], val, k[73], val, k[74], val, k[75], val, k[76],
            val, k[77], val, k[78], val, k[79], val, NULL);
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
        rl_log(RL_LOG_INFO, "concurrent", "thread", id, "seq", seq, "pad", val,
               NULL);
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
        cmocka_unit_test(log_time_small_buffer),
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
