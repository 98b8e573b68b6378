/*
 * test_mailer.c — unit tests for internal/mailer without a database or a
 * network: message rendering (headers, MIME structure, quoted-printable,
 * RFC 2047 subjects, HTML escaping, header-injection refusal), the
 * embedded templates, the SMTP URL and sender address helpers, and the
 * .eml writer (in a temporary directory).
 *
 * Messages are taken apart with small decoders written here (unfolding,
 * quoted-printable, base64 via libsodium) so that a test states what a
 * mail reader would see.
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
#include <dirent.h>
#include <regex.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/base/utf8.h"
#include "internal/mailer/render.h"
#include "internal/mailer/smtp.h"
#include "internal/mailer/templates.h"
#include "internal/mailer/worker.h"
#include "internal/mailer/worker_int.h"

#define NOW 1764135189 /* Wed, 26 Nov 2025 05:33:09 UTC */
#define SENDER "Redlight <no-reply@redlight.local>"
#define TOKEN "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* ---- helpers ---------------------------------------------------------- */

struct parsed {
    char *msg; /* the rendered message (free) */
    size_t len;
    char *headers;  /* copy of the header block, unfolded (free) */
    char *boundary; /* (free) */
    char *plain;    /* decoded text/plain part (free) */
    char *html;     /* decoded text/html part (free) */
};

static bool
matches(const char *re, const char *s)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    if (!ok) {
        print_error("\"%s\" does not match /%s/\n", s, re);
    }
    return ok;
}

/* Every line ends in CRLF, none is longer than `max` characters. */
static void
check_lines(const char *s, size_t len, size_t max)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            assert_true(i > 0 && s[i - 1] == '\r');
            col = 0;
            continue;
        }
        if (s[i] == '\r') {
            assert_true(i + 1 < len && s[i + 1] == '\n');
            continue;
        }
        col++;
        if (col > max) {
            print_error("line longer than %zu at offset %zu\n", max, i);
            fail();
        }
    }
    assert_true(len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n');
}

/* The unfolded value of header `name` in an unfolded header block, or
 * NULL (free). */
static char *
header(const char *headers, const char *name)
{
    size_t n = strlen(name);
    const char *p = headers;
    char *found = NULL;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            assert_null(found); /* each header once */
            const char *v = p + n + 1;
            while (*v == ' ') {
                v++;
            }
            found = strndup(v, (size_t)(p + len - v));
        }
        p += len + (eol ? 2 : 0);
    }
    return found;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes quoted-printable; CRLF becomes "\n". Fails the test on anything
 * a strict reader would refuse (lowercase hex, bare "=", bytes that must
 * be encoded, lines over 76). */
static char *
qp_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    assert_non_null(out);
    size_t o = 0, col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            assert_true(i + 1 < len && s[i + 1] == '\n');
            /* no trailing white space before a hard break */
            assert_true(o == 0 || (out[o - 1] != ' ' && out[o - 1] != '\t') ||
                        col == 0);
            out[o++] = '\n';
            i++;
            col = 0;
            continue;
        }
        col++;
        assert_true(col <= 76);
        if (c == '=') {
            if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
                i += 2; /* soft break */
                col = 0;
                continue;
            }
            assert_true(i + 2 < len);
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            assert_true(hi >= 0 && lo >= 0);
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
            col += 2;
            continue;
        }
        assert_true((c >= 33 && c <= 126) || c == ' ' || c == '\t');
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* Decodes an unfolded RFC 2047 header value made of B encoded-words (or
 * plain text). Every word must decode to whole UTF-8 characters. */
static char *
decode_words(const char *v)
{
    if (strncmp(v, "=?", 2) != 0) {
        return strdup(v);
    }
    char *out = calloc(1, strlen(v) + 1);
    assert_non_null(out);
    size_t o = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        assert_true(strncmp(p, "=?UTF-8?B?", 10) == 0);
        const char *b = p + 10;
        const char *e = strstr(b, "?=");
        assert_non_null(e);
        assert_true(e - p + 2 <= 75); /* RFC 2047 word length */
        unsigned char bin[128];
        size_t n = 0;
        assert_int_equal(sodium_base642bin(bin, sizeof(bin), b, (size_t)(e - b),
                                           NULL, &n, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        for (size_t i = 0; i < n;) {
            size_t k = rl_utf8_seq_len(bin + i, n - i);
            assert_true(k > 0); /* no character split across words */
            i += k;
        }
        memcpy(out + o, bin, n);
        o += n;
        p = e + 2;
    }
    out[o] = '\0';
    return out;
}

/* Extracts and decodes the part whose Content-Type starts with `type`. */
static char *
part(const char *body, const char *boundary, const char *type)
{
    char delim[128];
    snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    const char *p = strstr(body, delim);
    while (p != NULL) {
        const char *start = p + strlen(delim);
        if (strncmp(start, "--", 2) == 0) {
            break;
        }
        assert_true(strncmp(start, "\r\n", 2) == 0);
        start += 2;
        const char *blank = strstr(start, "\r\n\r\n");
        assert_non_null(blank);
        const char *next = strstr(blank, delim);
        assert_non_null(next);
        char *hdrs = strndup(start, (size_t)(blank - start) + 2);
        char *ct = header(hdrs, "Content-Type");
        char *cte = header(hdrs, "Content-Transfer-Encoding");
        bool match = ct != NULL && strncmp(ct, type, strlen(type)) == 0;
        if (match) {
            assert_true(strstr(ct, "charset=UTF-8") != NULL);
            assert_string_equal(cte, "quoted-printable");
        }
        free(ct);
        free(cte);
        free(hdrs);
        if (match) {
            const char *content = blank + 4;
            /* next is not NULL: assert_non_null above does not return */
            /* cppcheck-suppress nullPointerArithmeticRedundantCheck */
            return qp_decode(content, (size_t)(next - content) + 2);
        }
        p = next;
    }
    fail_msg("no %s part", type);
    return NULL;
}

static enum rl_err
render(const char *tmpl, const char *data, const char *recipient,
       struct parsed *out)
{
    memset(out, 0, sizeof(*out));
    char why[256];
    enum rl_err e = rl_mail_render(tmpl, data, SENDER, recipient, NOW,
                                   &out->msg, &out->len, why, sizeof(why));
    if (e != RL_OK) {
        assert_null(out->msg);
        assert_true(why[0] != '\0');
        return e;
    }
    assert_int_equal(strlen(out->msg), out->len);
    /* Header lines stay within 78, body lines within 76 (QP). */
    const char *sep = strstr(out->msg, "\r\n\r\n");
    assert_non_null(sep);
    size_t hlen = (size_t)(sep - out->msg) + 2;
    check_lines(out->msg, hlen, 78);
    check_lines(sep + 4, out->len - hlen - 2, 76);

    /* Unfold: CRLF followed by white space joins lines. */
    out->headers = calloc(1, hlen + 1);
    assert_non_null(out->headers);
    size_t o = 0;
    for (size_t i = 0; i < hlen; i++) {
        if (out->msg[i] == '\r' && i + 2 < hlen &&
            (out->msg[i + 2] == ' ' || out->msg[i + 2] == '\t')) {
            i += 1;
            continue;
        }
        out->headers[o++] = out->msg[i];
    }
    char *ct = header(out->headers, "Content-Type");
    assert_non_null(ct);
    assert_true(matches("^multipart/alternative; boundary=\"[^\"]+\"$", ct));
    const char *b = strchr(ct, '"') + 1;
    out->boundary = strndup(b, strlen(b) - 1);
    free(ct);
    /* The body: preamble-free, the two parts, then the close delimiter. */
    char *close = NULL;
    assert_true(asprintf(&close, "\r\n--%s--\r\n", out->boundary) > 0);
    assert_true(out->len > strlen(close));
    assert_string_equal(out->msg + out->len - strlen(close), close);
    free(close);
    out->plain = part(sep + 2, out->boundary, "text/plain");
    out->html = part(sep + 2, out->boundary, "text/html");
    return RL_OK;
}

static void
parsed_free(struct parsed *p)
{
    free(p->msg);
    free(p->headers);
    free(p->boundary);
    free(p->plain);
    free(p->html);
}

static void
assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("\"%s\" not found in:\n%s", needle, hay);
    }
}

static const char welcome[] =
    "{\"user_id\": 42, \"name\": \"Alice\", \"activation_token\": \"" TOKEN
    "\"}";

/* ---- rendering ------------------------------------------------------------
 */

static void
headers_are_present_and_well_formed(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(render("user_welcome", welcome, "alice@example.com", &p),
                     RL_OK);
    char *v = header(p.headers, "Date");
    assert_string_equal(v, "Wed, 26 Nov 2025 05:33:09 +0000");
    free(v);
    v = header(p.headers, "Message-ID");
    assert_true(matches("^<[0-9a-f]{32}@redlight\\.local>$", v));
    free(v);
    v = header(p.headers, "From");
    assert_string_equal(v, SENDER);
    free(v);
    v = header(p.headers, "To");
    assert_string_equal(v, "alice@example.com");
    free(v);
    v = header(p.headers, "Subject");
    assert_string_equal(v, "Welcome to Redlight, Alice!");
    free(v);
    v = header(p.headers, "MIME-Version");
    assert_string_equal(v, "1.0");
    free(v);
    /* Header names are the only thing before the first blank line. */
    assert_true(matches("^([A-Za-z-]+: [^\r\n]*\r\n)+$", p.headers));
    parsed_free(&p);
}

static void
message_ids_and_boundaries_are_random(void **state)
{
    (void)state;
    struct parsed a, b;
    assert_int_equal(render("user_welcome", welcome, "a@b", &a), RL_OK);
    assert_int_equal(render("user_welcome", welcome, "a@b", &b), RL_OK);
    char *ia = header(a.headers, "Message-ID");
    char *ib = header(b.headers, "Message-ID");
    assert_string_not_equal(ia, ib);
    assert_string_not_equal(a.boundary, b.boundary);
    free(ia);
    free(ib);
    parsed_free(&a);
    parsed_free(&b);
}

static void
multipart_has_plain_then_html(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(render("user_welcome", welcome, "a@b", &p), RL_OK);
    const char *plain = strstr(p.msg, "Content-Type: text/plain");
    const char *html = strstr(p.msg, "Content-Type: text/html");
    assert_non_null(plain);
    assert_non_null(html);
    assert_true(plain < html); /* the preferred alternative comes last */
    /* Exactly three delimiter lines: two parts and the close. */
    int n = 0;
    for (const char *q = p.msg; (q = strstr(q, p.boundary)) != NULL; q++) {
        n++;
    }
    assert_int_equal(n, 4); /* the header's boundary= plus three lines */
    assert_true(strncmp(p.html, "<!doctype html>", 15) == 0);
    assert_contains(p.html, "</html>");
    parsed_free(&p);
}

static void
welcome_has_user_id_token_and_lifetime(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(render("user_welcome", welcome, "a@b", &p), RL_OK);
    assert_contains(p.plain, "Hi Alice,");
    assert_contains(p.plain, "your user ID number is 42.");
    assert_contains(p.plain, "{\"token\": \"" TOKEN "\"}");
    assert_contains(p.plain, "expire in 3 days");
    assert_contains(p.html, "your user ID number is 42.");
    assert_contains(p.html, "{\"token\": \"" TOKEN "\"}");
    /* The contract's string is also readable in the raw message. */
    assert_contains(p.msg, "{\"token\": \"" TOKEN "\"}");
    parsed_free(&p);
}

static void
password_reset_has_token_and_lifetime(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(
        render("password_reset",
               "{\"name\": \"Bob\", \"password_reset_token\": \"" TOKEN "\"}",
               "b@c", &p),
        RL_OK);
    assert_contains(p.plain, "{\"password\": \"your new password\", "
                             "\"token\": \"" TOKEN "\"}");
    assert_contains(p.plain, "45 minutes");
    assert_contains(p.html, "\"token\": \"" TOKEN "\"}");
    char *s = header(p.headers, "Subject");
    assert_string_equal(s, "Reset your Redlight password");
    free(s);
    parsed_free(&p);
}

static void
token_activation_has_token_and_lifetime(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(render("token_activation",
                            "{\"name\": \"Bob\", \"activation_token\": \"" TOKEN
                            "\"}",
                            "b@c", &p),
                     RL_OK);
    assert_contains(p.plain, "{\"token\": \"" TOKEN "\"}");
    assert_contains(p.plain, "3 days");
    assert_contains(p.plain, "PUT /v1/users/activated");
    parsed_free(&p);
}

static void
every_embedded_template_renders(void **state)
{
    (void)state;
    static const char data[] =
        "{\"user_id\": 1, \"name\": \"N\", \"activation_token\": \"" TOKEN
        "\", \"password_reset_token\": \"" TOKEN "\"}";
    assert_int_equal(rl_mail_ntemplates, 3);
    for (size_t i = 0; i < rl_mail_ntemplates; i++) {
        struct parsed p;
        assert_int_equal(render(rl_mail_templates[i].name, data, "a@b", &p),
                         RL_OK);
        assert_contains(p.plain, TOKEN);
        assert_contains(p.html, TOKEN);
        /* every placeholder was filled */
        assert_null(strstr(p.plain, "{{"));
        assert_null(strstr(p.html, "{{"));
        parsed_free(&p);
    }
}

static void
crlf_in_header_values_is_refused(void **state)
{
    (void)state;
    struct parsed p;
    /* The name goes into the welcome subject. */
    assert_int_equal(
        render(
            "user_welcome",
            "{\"user_id\": 1, \"name\": \"Eve\\r\\nBcc: victim@example.com\","
            " \"activation_token\": \"" TOKEN "\"}",
            "a@b", &p),
        RL_ERR_INVALID);
    assert_int_equal(render("user_welcome",
                            "{\"user_id\": 1, \"name\": \"Eve\\nX: y\","
                            " \"activation_token\": \"" TOKEN "\"}",
                            "a@b", &p),
                     RL_ERR_INVALID);
    assert_int_equal(
        render("user_welcome", welcome, "a@b\r\nBcc: victim@example.com", &p),
        RL_ERR_INVALID);
    assert_int_equal(render("user_welcome", welcome, "a@b\n", &p),
                     RL_ERR_INVALID);
    assert_int_equal(render("user_welcome", welcome, "<a@b>", &p),
                     RL_ERR_INVALID);
    assert_int_equal(render("user_welcome", welcome, "", &p), RL_ERR_INVALID);

    char *msg = NULL;
    size_t len;
    assert_int_equal(rl_mail_render("user_welcome", welcome,
                                    "R <a@b>\r\nBcc: v@x", "c@d", NOW, &msg,
                                    &len, NULL, 0),
                     RL_ERR_INVALID);
    assert_null(msg);
    assert_false(rl_mail_header_ok("a\rb"));
    assert_false(rl_mail_header_ok("a\x7f"));
    assert_true(rl_mail_header_ok("Zo\xC3\xAB <z@x>"));
}

static void
line_breaks_in_body_values_become_spaces(void **state)
{
    (void)state;
    /* In a body a line break cannot inject headers, but it could fake a
     * MIME line; values are kept on their line. */
    struct parsed p;
    assert_int_equal(
        render("password_reset",
               "{\"name\": \"Eve\\r\\n--x\", \"password_reset_token\": \"" TOKEN
               "\"}",
               "a@b", &p),
        RL_OK);
    assert_contains(p.plain, "Hi Eve  --x,");
    parsed_free(&p);
}

static void
non_ascii_subject_is_rfc2047_encoded(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(
        render("user_welcome",
               "{\"user_id\": 7, \"name\": \"Zo\xC3\xAB \xF0\x9F\x8E\xAC\","
               " \"activation_token\": \"" TOKEN "\"}",
               "z@x", &p),
        RL_OK);
    char *raw = header(p.headers, "Subject");
    assert_true(strncmp(raw, "=?UTF-8?B?", 10) == 0);
    for (const unsigned char *c = (const unsigned char *)raw; *c; c++) {
        assert_true(*c < 0x80); /* headers stay 7-bit */
    }
    char *subject = decode_words(raw);
    assert_string_equal(subject,
                        "Welcome to Redlight, Zo\xC3\xAB \xF0\x9F\x8E\xAC!");
    /* Bodies carry the name in UTF-8 (quoted-printable on the wire). */
    assert_contains(p.plain, "Hi Zo\xC3\xAB \xF0\x9F\x8E\xAC,");
    assert_contains(p.msg, "Hi Zo=C3=AB =F0=9F=8E=AC,");
    free(raw);
    free(subject);
    parsed_free(&p);
}

static void
long_subject_is_folded_on_character_boundaries(void **state)
{
    (void)state;
    /* 200 two-byte characters: many encoded-words, folded lines. */
    char name[401 + 1];
    for (int i = 0; i < 200; i++) {
        name[2 * i] = '\xC3';
        name[2 * i + 1] = '\xA9';
    }
    name[400] = '\0';
    char *data = NULL;
    assert_true(asprintf(&data,
                         "{\"user_id\": 7, \"name\": \"x%s\", "
                         "\"activation_token\": \"" TOKEN "\"}",
                         name) > 0);
    struct parsed p;
    assert_int_equal(render("user_welcome", data, "z@x", &p), RL_OK);
    char *raw = header(p.headers, "Subject");
    char *subject = decode_words(raw);
    char *want = NULL;
    assert_true(asprintf(&want, "Welcome to Redlight, x%s!", name) > 0);
    assert_string_equal(subject, want);
    /* A long ASCII subject is folded the same way. */
    char ascii[301];
    memset(ascii, 'a', 300);
    ascii[300] = '\0';
    free(data);
    assert_true(asprintf(&data,
                         "{\"user_id\": 7, \"name\": \"%s\", "
                         "\"activation_token\": \"" TOKEN "\"}",
                         ascii) > 0);
    struct parsed q;
    assert_int_equal(render("user_welcome", data, "z@x", &q), RL_OK);
    char *raw2 = header(q.headers, "Subject");
    char *subject2 = decode_words(raw2);
    assert_true(strstr(subject2, ascii) != NULL);
    free(raw2);
    free(subject2);
    parsed_free(&q);
    free(want);
    free(data);
    free(raw);
    free(subject);
    parsed_free(&p);
}

static void
html_part_escapes_values(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(
        render("password_reset",
               "{\"name\": \"<script>alert('x')</script> & \\\"q\\\"\", "
               "\"password_reset_token\": \"" TOKEN "\"}",
               "a@b", &p),
        RL_OK);
    assert_contains(p.html, "Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
                            " &amp; &#34;q&#34;,");
    assert_null(strstr(p.html, "<script>"));
    /* The plain part shows the name as it is. */
    assert_contains(p.plain, "Hi <script>alert('x')</script> & \"q\",");
    parsed_free(&p);
}

static void
quoted_printable_encodes_what_it_must(void **state)
{
    (void)state;
    /* '=' must be encoded; a long name forces soft line breaks. */
    char name[301];
    memset(name, 'n', 300);
    name[0] = '=';
    name[300] = '\0';
    char *data = NULL;
    assert_true(asprintf(&data,
                         "{\"name\": \"%s\", \"password_reset_token\": \"" TOKEN
                         "\"}",
                         name) > 0);
    struct parsed p;
    assert_int_equal(render("password_reset", data, "a@b", &p), RL_OK);
    assert_contains(p.msg, "Hi =3Dnnn");
    assert_contains(p.plain, name); /* soft breaks vanish when decoded */
    free(data);
    parsed_free(&p);
}

static void
bad_jobs_are_refused(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(render("no_such_template", welcome, "a@b", &p),
                     RL_ERR_INVALID);
    assert_int_equal(render("user_welcome", "[1]", "a@b", &p), RL_ERR_INVALID);
    assert_int_equal(render("user_welcome", "{not json", "a@b", &p),
                     RL_ERR_INVALID);
    /* a missing key must not produce {"token": ""} */
    assert_int_equal(
        render("user_welcome", "{\"user_id\": 1, \"name\": \"A\"}", "a@b", &p),
        RL_ERR_INVALID);
    assert_int_equal(render("user_welcome",
                            "{\"user_id\": 1, \"name\": null, "
                            "\"activation_token\": \"" TOKEN "\"}",
                            "a@b", &p),
                     RL_ERR_INVALID);
    char *msg = NULL;
    size_t len;
    assert_int_equal(rl_mail_render("user_welcome", NULL, SENDER, "a@b", NOW,
                                    &msg, &len, NULL, 0),
                     RL_ERR_INVALID);
}

static void
sender_display_name_is_quoted_or_encoded(void **state)
{
    (void)state;
    char *msg = NULL;
    size_t len;
    assert_int_equal(rl_mail_render("user_welcome", welcome,
                                    "Caf\xC3\xA9 <hello@cafe.example>", "a@b",
                                    NOW, &msg, &len, NULL, 0),
                     RL_OK);
    assert_non_null(strstr(msg, "\r\nFrom: =?UTF-8?B?Q2Fmw6k=?= "
                                "<hello@cafe.example>\r\n"));
    assert_non_null(strstr(msg, "@cafe.example>\r\nFrom:")); /* Message-ID */
    free(msg);
    /* RFC 5322 specials in a display name: a quoted string. */
    assert_int_equal(rl_mail_render("user_welcome", welcome,
                                    "Redlight, \"Inc.\" <a@b.example>", "c@d",
                                    NOW, &msg, &len, NULL, 0),
                     RL_OK);
    assert_non_null(strstr(msg, "\r\nFrom: \"Redlight, \\\"Inc.\\\"\" "
                                "<a@b.example>\r\n"));
    /* The Message-ID uses the sender's domain. */
    assert_non_null(strstr(msg, "@b.example>\r\nFrom:"));
    free(msg);
}

/* ---- helpers of smtp.c and render.c ----------------------------------------
 */

static void
sender_address_is_extracted(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(
        rl_mail_address("Redlight <no-reply@x.y>", buf, sizeof(buf)), RL_OK);
    assert_string_equal(buf, "no-reply@x.y");
    assert_int_equal(rl_mail_address(" a@b ", buf, sizeof(buf)), RL_OK);
    assert_string_equal(buf, "a@b");
    assert_int_equal(rl_mail_address("x <>", buf, sizeof(buf)), RL_ERR_INVALID);
    assert_int_equal(rl_mail_address("x <a@b", buf, sizeof(buf)),
                     RL_ERR_INVALID);
    assert_int_equal(rl_mail_address("x <a b@c>", buf, sizeof(buf)),
                     RL_ERR_INVALID);
    assert_int_equal(rl_mail_address("a@b\r\n", buf, sizeof(buf)),
                     RL_ERR_INVALID);
    assert_int_equal(rl_mail_address("a@bcdef", buf, 4), RL_ERR_INVALID);
}

static void
smtp_url_picks_the_scheme_by_port(void **state)
{
    (void)state;
    char url[64];
    assert_int_equal(rl_smtp_url("mail.example.com", 587, url, sizeof(url)),
                     RL_OK);
    assert_string_equal(url, "smtp://mail.example.com:587");
    assert_int_equal(rl_smtp_url("mail.example.com", 465, url, sizeof(url)),
                     RL_OK);
    assert_string_equal(url, "smtps://mail.example.com:465");
    assert_int_equal(rl_smtp_url("::1", 25, url, sizeof(url)), RL_OK);
    assert_string_equal(url, "smtp://[::1]:25");
    assert_int_equal(rl_smtp_url("mail.example.com", 25, url, 10),
                     RL_ERR_INVALID);
}

/* ---- the .eml writer --------------------------------------------------------
 */

static void
eml_file_is_written_once_with_private_modes(void **state)
{
    (void)state;
    char base[] = "/tmp/test_mailer.XXXXXX";
    assert_non_null(mkdtemp(base));
    char dir[128], path[256], why[256];
    snprintf(dir, sizeof(dir), "%s/var/mail", base);
    const char msg[] = "Subject: x\r\n\r\nbody\r\n";
    assert_int_equal(rl_mail_write_eml(dir, 17, "user_welcome", msg,
                                       sizeof(msg) - 1, NOW, path, sizeof(path),
                                       why, sizeof(why)),
                     RL_OK);
    char want[256];
    snprintf(want, sizeof(want), "%s/20251126T053309Z-17-user_welcome.eml",
             dir);
    assert_string_equal(path, want);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal((size_t)st.st_size, sizeof(msg) - 1);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char got[64] = "";
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    assert_int_equal(n, sizeof(msg) - 1);
    assert_string_equal(got, msg);

    /* The same name again is refused, not overwritten. */
    assert_int_equal(rl_mail_write_eml(dir, 17, "user_welcome", "other", 5, NOW,
                                       path, sizeof(path), why, sizeof(why)),
                     RL_ERR_IO);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal((size_t)st.st_size, sizeof(msg) - 1);
    /* No temporary file is left behind. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0) {
            files++;
        }
    }
    closedir(d);
    assert_int_equal(files, 1);
    /* A template name cannot climb out of the folder. */
    assert_int_equal(rl_mail_write_eml(dir, 1, "../x", "m", 1, NOW, path,
                                       sizeof(path), why, sizeof(why)),
                     RL_ERR_INVALID);

    assert_int_equal(unlink(want), 0);
    assert_int_equal(rmdir(dir), 0);
    snprintf(dir, sizeof(dir), "%s/var", base);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(rmdir(base), 0);
}

/* ---- the worker's configuration (no thread is started) --------------------
 */

static void
mailer_refuses_a_config_that_would_kill_every_job(void **state)
{
    (void)state;
    struct rl_mailer *m = NULL;
    struct rl_mailer_config cfg = {.dsn = "postgres://unused", .sender = "x"};
    cfg.sender = "Nobody <>";
    assert_int_equal(rl_mailer_start(&cfg, &m), RL_ERR_INVALID);
    cfg.sender = "Redlight <a@b>\r\nBcc: v@x";
    assert_int_equal(rl_mailer_start(&cfg, &m), RL_ERR_INVALID);
    cfg.sender = "Redlight <a@b>";
    cfg.smtp_host = "mail\r\n";
    assert_int_equal(rl_mailer_start(&cfg, &m), RL_ERR_INVALID);
    cfg.dsn = "";
    assert_int_equal(rl_mailer_start(&cfg, &m), RL_ERR_INVALID);
    assert_null(m);
    rl_mailer_stop(NULL); /* a no-op */
}

static void
mailer_tuning_comes_from_the_environment(void **state)
{
    (void)state;
    struct rl_mailer_config cfg = {.max_attempts = 5};
    setenv("REDLIGHT_MAIL_BACKOFF_MS", "250", 1);
    setenv("REDLIGHT_MAIL_BACKOFF_MAX_MS", "4000", 1);
    setenv("REDLIGHT_MAIL_MAX_ATTEMPTS", "0", 1); /* not positive: ignored */
    setenv("REDLIGHT_MAIL_THREADS", "3x", 1);     /* not a number: ignored */
    rl_mailer_config_env(&cfg);
    assert_int_equal(cfg.backoff_base_ms, 250);
    assert_int_equal(cfg.backoff_max_ms, 4000);
    assert_int_equal(cfg.max_attempts, 5);
    assert_int_equal(cfg.threads, 0);
    setenv("REDLIGHT_MAIL_MAX_ATTEMPTS", "3", 1);
    setenv("REDLIGHT_MAIL_THREADS", "4", 1);
    rl_mailer_config_env(&cfg);
    assert_int_equal(cfg.max_attempts, 3);
    assert_int_equal(cfg.threads, 4);
    unsetenv("REDLIGHT_MAIL_BACKOFF_MS");
    unsetenv("REDLIGHT_MAIL_BACKOFF_MAX_MS");
    unsetenv("REDLIGHT_MAIL_MAX_ATTEMPTS");
    unsetenv("REDLIGHT_MAIL_THREADS");
}

/* base * 2^(failures-1), capped, less up to a fifth of jitter. */
static void
mailer_backoff_doubles_to_its_cap_with_jitter(void **state)
{
    (void)state;
    struct rl_mailer_config cfg = {.backoff_base_ms = 1000,
                                   .backoff_max_ms = 300000};
    for (int i = 0; i < 50; i++) {
        int64_t d1 = rl_mailer_backoff_ms(&cfg, 1);
        int64_t d3 = rl_mailer_backoff_ms(&cfg, 3);
        int64_t d40 = rl_mailer_backoff_ms(&cfg, 40);
        assert_true(d1 >= 800 && d1 <= 1000);
        assert_true(d3 >= 3200 && d3 <= 4000);
        assert_true(d40 >= 240000 && d40 <= 300000);
    }
    cfg.backoff_base_ms = cfg.backoff_max_ms = 4; /* a fifth of 4: none */
    assert_int_equal(rl_mailer_backoff_ms(&cfg, 9), 4);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headers_are_present_and_well_formed),
        cmocka_unit_test(message_ids_and_boundaries_are_random),
        cmocka_unit_test(multipart_has_plain_then_html),
        cmocka_unit_test(welcome_has_user_id_token_and_lifetime),
        cmocka_unit_test(password_reset_has_token_and_lifetime),
        cmocka_unit_test(token_activation_has_token_and_lifetime),
        cmocka_unit_test(every_embedded_template_renders),
        cmocka_unit_test(crlf_in_header_values_is_refused),
        cmocka_unit_test(line_breaks_in_body_values_become_spaces),
        cmocka_unit_test(non_ascii_subject_is_rfc2047_encoded),
        cmocka_unit_test(long_subject_is_folded_on_character_boundaries),
        cmocka_unit_test(html_part_escapes_values),
        cmocka_unit_test(quoted_printable_encodes_what_it_must),
        cmocka_unit_test(bad_jobs_are_refused),
        cmocka_unit_test(sender_display_name_is_quoted_or_encoded),
        cmocka_unit_test(sender_address_is_extracted),
        cmocka_unit_test(smtp_url_picks_the_scheme_by_port),
        cmocka_unit_test(eml_file_is_written_once_with_private_modes),
        cmocka_unit_test(mailer_refuses_a_config_that_would_kill_every_job),
        cmocka_unit_test(mailer_tuning_comes_from_the_environment),
        cmocka_unit_test(mailer_backoff_doubles_to_its_cap_with_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
