/*
 * render.c — mail rendering: template blocks → RFC 5322 message.
 *
 * Templates (templates/<name>.tmpl, embedded by embed.sh) use a small
 * subset of Go's text/template, so Greenlight's files translate line for
 * line: {{define "subject"}}, {{define "plainBody"}} and
 * {{define "htmlBody"}} blocks closed by {{end}}, {{.key}} placeholders
 * filled from the job's JSON data, and Go-style comment actions. Anything else
 * between {{ and }} is an error, so a typo fails the unit tests instead of
 * reaching a user. Values are HTML-escaped in htmlBody (as html/template
 * would), refused in the subject when they hold control characters (header
 * injection), and have control characters replaced by spaces in bodies.
 *
 * Owns nothing beyond one call: every buffer is local and freed before
 * return except the message handed to the caller.
 */
#include "internal/mailer/render.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/buf.h"
#include "internal/base/hex.h"
#include "internal/base/utf8.h"
#include "internal/mailer/templates.h"

void
rl_mailer_set_why(char *why, size_t cap, const char *fmt, ...)
{
    if (why == NULL || cap == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* ---- header helpers ---------------------------------------------------- */

static bool
is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

bool
rl_mail_header_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_ctl(*p)) {
            return false;
        }
    }
    return true;
}

static bool
is_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) {
            return false;
        }
    }
    return true;
}

enum rl_err
rl_mail_address(const char *sender, char *buf, size_t cap)
{
    const char *lt = strrchr(sender, '<');
    const char *start = sender;
    size_t n;
    if (lt != NULL) {
        const char *gt = strchr(lt, '>');
        if (gt == NULL || gt[1] != '\0') {
            return RL_ERR_INVALID;
        }
        start = lt + 1;
        n = (size_t)(gt - start);
    } else {
        while (*start == ' ') {
            start++;
        }
        n = strlen(start);
        while (n > 0 && start[n - 1] == ' ') {
            n--;
        }
    }
    if (n == 0 || n >= cap) {
        return RL_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)start[i];
        if (is_ctl(c) || c == ' ' || c == '<' || c == '>') {
            return RL_ERR_INVALID;
        }
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    return RL_OK;
}

/* Appends s as RFC 2047 "B" encoded-words (UTF-8), folded so that no line
 * passes 76 characters; a word never splits a UTF-8 sequence. */
static void
encode_words(struct rl_buf *b, const char *s)
{
    /* "=?UTF-8?B?" + 52 base64 chars + "?=" after "Subject: " is 73. */
    enum { CHUNK = 39 };
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    bool first = true;
    while (left > 0 || first) {
        size_t n = 0;
        while (n < left) {
            size_t k = rl_utf8_seq_len(p + n, left - n);
            if (k == 0) {
                k = 1; /* not UTF-8: pass the byte on, still encoded */
            }
            if (n + k > CHUNK) {
                break;
            }
            n += k;
        }
        char b64[sodium_base64_ENCODED_LEN(CHUNK,
                                           sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof(b64), p, n,
                          sodium_base64_VARIANT_ORIGINAL);
        if (!first) {
            rl_buf_addstr(b, "\r\n ");
        }
        rl_buf_addstr(b, "=?UTF-8?B?");
        rl_buf_addstr(b, b64);
        rl_buf_addstr(b, "?=");
        p += n;
        left -= n;
        first = false;
    }
}

/* Appends header "name: value\r\n", encoding value per RFC 2047 when it is
 * not plain ASCII, would make a long line, or looks like an encoded-word. */
static void
add_text_header(struct rl_buf *b, const char *name, const char *value)
{
    rl_buf_addstr(b, name);
    rl_buf_addstr(b, ": ");
    if (is_ascii(value) && strlen(name) + 2 + strlen(value) <= 78 &&
        strstr(value, "=?") == NULL) {
        rl_buf_addstr(b, value);
    } else {
        encode_words(b, value);
    }
    rl_buf_addstr(b, "\r\n");
}

/* Appends an ASCII display name as an RFC 5322 phrase: as it is when it
 * is atoms and spaces (or already quoted), else as a quoted string. */
static void
add_phrase(struct rl_buf *b, const char *name)
{
    size_t n = strlen(name);
    if ((n >= 2 && name[0] == '"' && name[n - 1] == '"') ||
        strpbrk(name, "()<>[]:;@\\,.\"") == NULL) {
        rl_buf_addstr(b, name);
        return;
    }
    rl_buf_addc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\') {
            rl_buf_addc(b, '\\');
        }
        rl_buf_addc(b, *p);
    }
    rl_buf_addc(b, '"');
}

/* From: keeps "Name <addr>" but quotes a display name with special
 * characters and encodes a non-ASCII one. */
static void
add_from_header(struct rl_buf *b, const char *sender, const char *addr)
{
    const char *lt = strrchr(sender, '<');
    rl_buf_addstr(b, "From: ");
    if (lt == NULL) {
        rl_buf_addstr(b, addr);
    } else {
        size_t n = (size_t)(lt - sender);
        while (n > 0 && sender[n - 1] == ' ') {
            n--;
        }
        char display[256];
        if (n > 0 && n < sizeof(display)) {
            memcpy(display, sender, n);
            display[n] = '\0';
            if (is_ascii(display)) {
                add_phrase(b, display);
            } else {
                encode_words(b, display);
            }
            rl_buf_addc(b, ' ');
        }
        rl_buf_addc(b, '<');
        rl_buf_addstr(b, addr);
        rl_buf_addc(b, '>');
    }
    rl_buf_addstr(b, "\r\n");
}

static void
add_date_header(struct rl_buf *b, time_t now)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    char line[64];
    if (gmtime_r(&now, &tm) == NULL) {
        if (b->err == RL_OK) {
            b->err = RL_ERR_NOMEM; /* as it always was reported */
        }
        return;
    }
    snprintf(line, sizeof(line),
             "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    rl_buf_addstr(b, line);
}

static void
random_hex(char *out, size_t nbytes)
{
    unsigned char raw[32];
    if (nbytes > sizeof(raw)) {
        nbytes = sizeof(raw);
    }
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(out, nbytes * 2 + 1, raw, nbytes);
}

/* ---- quoted-printable (RFC 2045 §6.7) ---------------------------------- */

/* Appends text (LF or CRLF line ends) as quoted-printable with CRLF line
 * ends and soft breaks keeping lines within 76 characters. Besides the
 * rule's minimum it encodes a leading "." (SMTP) and "From " (mbox). */
static void
qp_encode(struct rl_buf *b, const char *text, size_t len)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n')) {
            if (c == '\r') {
                i++;
            }
            rl_buf_addstr(b, "\r\n");
            col = 0;
            continue;
        }
        bool at_eol =
            i + 1 == len || text[i + 1] == '\n' ||
            (text[i + 1] == '\r' && i + 2 < len && text[i + 2] == '\n');
        bool literal = (c >= 33 && c <= 126 && c != '=') ||
                       ((c == ' ' || c == '\t') && !at_eol);
        if (col == 0 && (c == '.' || (c == 'F' && len - i >= 5 &&
                                      memcmp(text + i, "From ", 5) == 0))) {
            literal = false;
        }
        size_t need = literal ? 1 : 3;
        /* Room for the token plus a possible soft-break "=". */
        if (col + need > (at_eol ? 76u : 75u)) {
            rl_buf_addstr(b, "=\r\n");
            col = 0;
        }
        if (literal) {
            rl_buf_addc(b, (char)c);
        } else {
            char enc[3] = {'=', rl_hex_digit_upper(c >> 4u),
                           rl_hex_digit_upper(c)};
            rl_buf_add(b, enc, 3);
        }
        col += need;
    }
}

/* ---- templates ---------------------------------------------------------- */

enum mode { M_SUBJECT, M_PLAIN, M_HTML };

static const struct rl_mail_template *
find_template(const char *name)
{
    for (size_t i = 0; i < rl_mail_ntemplates; i++) {
        if (strcmp(rl_mail_templates[i].name, name) == 0) {
            return &rl_mail_templates[i];
        }
    }
    return NULL;
}

/* Finds block `name` in t: *start and *len delimit its raw text, trimmed
 * of surrounding blank space. Checks the whole file's structure. */
static bool
find_block(const struct rl_mail_template *t, const char *name,
           const char **start, size_t *len, char *why, size_t why_cap)
{
    const char *p = (const char *)t->text;
    const char *end = p + t->len;
    bool found = false;
    while (p < end) {
        const char *open = strstr(p, "{{");
        const char *text_end = open ? open : end;
        for (const char *q = p; q < text_end; q++) {
            if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t') {
                rl_mailer_set_why(why, why_cap,
                                  "template %s: text outside a block", t->name);
                return false;
            }
        }
        if (open == NULL) {
            break;
        }
        if (strncmp(open, "{{/*", 4) == 0) {
            const char *close = strstr(open + 4, "*/}}");
            if (close == NULL) {
                rl_mailer_set_why(why, why_cap, "template %s: unclosed comment",
                                  t->name);
                return false;
            }
            p = close + 4;
            continue;
        }
        if (strncmp(open, "{{define \"", 10) != 0) {
            rl_mailer_set_why(why, why_cap, "template %s: unknown action",
                              t->name);
            return false;
        }
        const char *bname = open + 10;
        const char *q = strstr(bname, "\"}}");
        const char *body_end = q ? strstr(q, "{{end}}") : NULL;
        if (q == NULL || body_end == NULL) {
            rl_mailer_set_why(why, why_cap, "template %s: unclosed define",
                              t->name);
            return false;
        }
        const char *body = q + 3;
        if ((size_t)(q - bname) == strlen(name) &&
            strncmp(bname, name, (size_t)(q - bname)) == 0) {
            while (body < body_end &&
                   (*body == '\n' || *body == '\r' || *body == ' ')) {
                body++;
            }
            const char *e = body_end;
            while (e > body &&
                   (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ')) {
                e--;
            }
            *start = body;
            *len = (size_t)(e - body);
            found = true;
        }
        p = body_end + 7;
    }
    if (!found) {
        rl_mailer_set_why(why, why_cap, "template %s: no \"%s\" block", t->name,
                          name);
    }
    return found;
}

/* Appends one value in `mode`. Returns false (with why) when it may not be
 * used there. */
static bool
put_value(struct rl_buf *b, enum mode mode, const char *v, char *why,
          size_t why_cap)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        unsigned char c = *p;
        if (is_ctl(c)) {
            if (mode == M_SUBJECT) {
                rl_mailer_set_why(why, why_cap,
                                  "header value contains a control character");
                return false;
            }
            rl_buf_addc(b, ' ');
            continue;
        }
        if (mode == M_HTML) {
            switch (c) {
            case '&':
                rl_buf_addstr(b, "&amp;");
                continue;
            case '<':
                rl_buf_addstr(b, "&lt;");
                continue;
            case '>':
                rl_buf_addstr(b, "&gt;");
                continue;
            case '"':
                rl_buf_addstr(b, "&#34;");
                continue;
            case '\'':
                rl_buf_addstr(b, "&#39;");
                continue;
            default:
                break;
            }
        }
        rl_buf_addc(b, (char)c);
    }
    return true;
}

/* Expands a block's placeholders from data into b. */
static bool
expand(struct rl_buf *b, const char *text, size_t len, enum mode mode,
       json_t *data, char *why, size_t why_cap)
{
    const char *p = text;
    const char *end = text + len;
    while (p < end) {
        const char *open = strstr(p, "{{");
        if (open == NULL || open >= end) {
            rl_buf_add(b, p, (size_t)(end - p));
            break;
        }
        rl_buf_add(b, p, (size_t)(open - p));
        const char *close = strstr(open, "}}");
        if (close == NULL || close > end) {
            rl_mailer_set_why(why, why_cap, "template: unclosed action");
            return false;
        }
        if (strncmp(open, "{{/*", 4) == 0) {
            p = close + 2;
            continue;
        }
        if (open[2] != '.' || close - open - 3 <= 0 || close - open > 64) {
            rl_mailer_set_why(why, why_cap, "template: unknown action");
            return false;
        }
        char key[64];
        size_t klen = (size_t)(close - open - 3);
        memcpy(key, open + 3, klen);
        key[klen] = '\0';
        json_t *v = json_object_get(data, key);
        char num[32];
        const char *s;
        if (json_is_string(v)) {
            s = json_string_value(v);
            if (strlen(s) != json_string_length(v)) {
                rl_mailer_set_why(why, why_cap, "data: %s contains NUL", key);
                return false;
            }
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
            s = num;
        } else {
            rl_mailer_set_why(why, why_cap,
                              "data: %s is missing or not a string", key);
            return false;
        }
        if (!put_value(b, mode, s, why, why_cap)) {
            return false;
        }
        p = close + 2;
    }
    return true;
}

static bool
render_block(struct rl_buf *b, const struct rl_mail_template *t,
             const char *name, enum mode mode, json_t *data, char *why,
             size_t why_cap)
{
    const char *text;
    size_t len;
    return find_block(t, name, &text, &len, why, why_cap) &&
           expand(b, text, len, mode, data, why, why_cap);
}

/* ---- the message -------------------------------------------------------- */

static void
add_part(struct rl_buf *b, const char *boundary, const char *type,
         const struct rl_buf *body)
{
    rl_buf_addstr(b, "--");
    rl_buf_addstr(b, boundary);
    rl_buf_addstr(b, "\r\nContent-Type: ");
    rl_buf_addstr(b, type);
    rl_buf_addstr(b, "; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    qp_encode(b, body->data, body->len);
    rl_buf_addstr(b, "\r\n");
}

enum rl_err
rl_mail_render(const char *tmpl, const char *data_json, const char *sender,
               const char *recipient, time_t now, char **out, size_t *len,
               char *why, size_t why_cap)
{
    *out = NULL;
    *len = 0;
    rl_mailer_set_why(why, why_cap, "%s", "");
    const struct rl_mail_template *t = find_template(tmpl);
    if (t == NULL) {
        rl_mailer_set_why(why, why_cap, "unknown template");
        return RL_ERR_INVALID;
    }
    char addr[320];
    if (rl_mail_address(sender, addr, sizeof(addr)) != RL_OK ||
        !rl_mail_header_ok(sender)) {
        rl_mailer_set_why(why, why_cap, "invalid sender");
        return RL_ERR_INVALID;
    }
    if (recipient[0] == '\0' || !rl_mail_header_ok(recipient) ||
        strpbrk(recipient, "<>") != NULL) {
        rl_mailer_set_why(why, why_cap, "invalid recipient");
        return RL_ERR_INVALID;
    }
    json_error_t jerr;
    json_t *data = data_json ? json_loads(data_json, 0, &jerr) : NULL;
    if (!json_is_object(data)) {
        json_decref(data);
        rl_mailer_set_why(why, why_cap, "data is not a JSON object");
        return RL_ERR_INVALID;
    }

    struct rl_buf subject, plain, html, msg;
    rl_buf_init(&subject, RL_MAIL_MAX_BYTES, NULL);
    rl_buf_init(&plain, RL_MAIL_MAX_BYTES, NULL);
    rl_buf_init(&html, RL_MAIL_MAX_BYTES, NULL);
    rl_buf_init(&msg, RL_MAIL_MAX_BYTES, NULL);
    enum rl_err e = RL_ERR_INVALID;
    if (!render_block(&subject, t, "subject", M_SUBJECT, data, why, why_cap) ||
        !render_block(&plain, t, "plainBody", M_PLAIN, data, why, why_cap) ||
        !render_block(&html, t, "htmlBody", M_HTML, data, why, why_cap)) {
        goto done;
    }
    if (rl_buf_err(&subject) != RL_OK || rl_buf_err(&plain) != RL_OK ||
        rl_buf_err(&html) != RL_OK) {
        rl_mailer_set_why(why, why_cap, "message too large or out of memory");
        e = rl_buf_err(&subject) == RL_ERR_TOO_LARGE ||
                    rl_buf_err(&plain) == RL_ERR_TOO_LARGE ||
                    rl_buf_err(&html) == RL_ERR_TOO_LARGE
                ? RL_ERR_INVALID
                : RL_ERR_NOMEM;
        goto done;
    }
    if (subject.data != NULL && !rl_mail_header_ok(subject.data)) {
        rl_mailer_set_why(why, why_cap,
                          "header value contains a control character");
        goto done;
    }

    const char *at = strrchr(addr, '@');
    const char *domain =
        at != NULL && at[1] != '\0' ? at + 1 : "redlight.local";
    char id[33], boundary[40];
    random_hex(id, 16);
    snprintf(boundary, sizeof(boundary), "=_rl_");
    random_hex(boundary + 5, 16);

    add_date_header(&msg, now);
    rl_buf_addstr(&msg, "Message-ID: <");
    rl_buf_addstr(&msg, id);
    rl_buf_addc(&msg, '@');
    rl_buf_addstr(&msg, domain);
    rl_buf_addstr(&msg, ">\r\n");
    add_from_header(&msg, sender, addr);
    rl_buf_addstr(&msg, "To: ");
    rl_buf_addstr(&msg, recipient);
    rl_buf_addstr(&msg, "\r\n");
    add_text_header(&msg, "Subject", subject.data ? subject.data : "");
    rl_buf_addstr(&msg, "MIME-Version: 1.0\r\n"
                        "Content-Type: multipart/alternative;\r\n boundary=\"");
    rl_buf_addstr(&msg, boundary);
    rl_buf_addstr(&msg, "\"\r\n\r\n");
    add_part(&msg, boundary, "text/plain", &plain);
    add_part(&msg, boundary, "text/html", &html);
    rl_buf_addstr(&msg, "--");
    rl_buf_addstr(&msg, boundary);
    rl_buf_addstr(&msg, "--\r\n");
    if (rl_buf_err(&msg) != RL_OK) {
        rl_mailer_set_why(why, why_cap, "message too large or out of memory");
        e = rl_buf_err(&msg) == RL_ERR_TOO_LARGE ? RL_ERR_INVALID
                                                 : RL_ERR_NOMEM;
        goto done;
    }
    *out = rl_buf_take(&msg, len); /* not NULL: no error stuck */
    e = RL_OK;
done:
    rl_buf_free(&subject);
    rl_buf_free(&plain);
    rl_buf_free(&html);
    rl_buf_free(&msg);
    json_decref(data);
    return e;
}
