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

#include "internal/base/utf8.h"
#include "internal/mailer/templates.h"

/* ---- a size-capped growing buffer ------------------------------------ */

struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool failed; /* out of memory or past RL_MAIL_MAX_BYTES */
    bool too_big;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed) {
        return;
    }
    if (n > RL_MAIL_MAX_BYTES || b->len + n > RL_MAIL_MAX_BYTES) {
        b->failed = b->too_big = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void
sb_char(struct sbuf *b, char c)
{
    sb_add(b, &c, 1);
}

static void
sb_free(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

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
encode_words(struct sbuf *b, const char *s)
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
            sb_str(b, "\r\n ");
        }
        sb_str(b, "=?UTF-8?B?");
        sb_str(b, b64);
        sb_str(b, "?=");
        p += n;
        left -= n;
        first = false;
    }
}

/* Appends header "name: value\r\n", encoding value per RFC 2047 when it is
 * not plain ASCII, would make a long line, or looks like an encoded-word. */
static void
add_text_header(struct sbuf *b, const char *name, const char *value)
{
    sb_str(b, name);
    sb_str(b, ": ");
    if (is_ascii(value) && strlen(name) + 2 + strlen(value) <= 78 &&
        strstr(value, "=?") == NULL) {
        sb_str(b, value);
    } else {
        encode_words(b, value);
    }
    sb_str(b, "\r\n");
}

/* Appends an ASCII display name as an RFC 5322 phrase: as it is when it
 * is atoms and spaces (or already quoted), else as a quoted string. */
static void
add_phrase(struct sbuf *b, const char *name)
{
    size_t n = strlen(name);
    if ((n >= 2 && name[0] == '"' && name[n - 1] == '"') ||
        strpbrk(name, "()<>[]:;@\\,.\"") == NULL) {
        sb_str(b, name);
        return;
    }
    sb_char(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\') {
            sb_char(b, '\\');
        }
        sb_char(b, *p);
    }
    sb_char(b, '"');
}

/* From: keeps "Name <addr>" but quotes a display name with special
 * characters and encodes a non-ASCII one. */
static void
add_from_header(struct sbuf *b, const char *sender, const char *addr)
{
    const char *lt = strrchr(sender, '<');
    sb_str(b, "From: ");
    if (lt == NULL) {
        sb_str(b, addr);
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
            sb_char(b, ' ');
        }
        sb_char(b, '<');
        sb_str(b, addr);
        sb_char(b, '>');
    }
    sb_str(b, "\r\n");
}

static void
add_date_header(struct sbuf *b, time_t now)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    char line[64];
    if (gmtime_r(&now, &tm) == NULL) {
        b->failed = true;
        return;
    }
    snprintf(line, sizeof(line),
             "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    sb_str(b, line);
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
qp_encode(struct sbuf *b, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n')) {
            if (c == '\r') {
                i++;
            }
            sb_str(b, "\r\n");
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
            sb_str(b, "=\r\n");
            col = 0;
        }
        if (literal) {
            sb_char(b, (char)c);
        } else {
            char enc[3] = {'=', hex[c >> 4], hex[c & 15]};
            sb_add(b, enc, 3);
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
put_value(struct sbuf *b, enum mode mode, const char *v, char *why,
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
            sb_char(b, ' ');
            continue;
        }
        if (mode == M_HTML) {
            switch (c) {
            case '&':
                sb_str(b, "&amp;");
                continue;
            case '<':
                sb_str(b, "&lt;");
                continue;
            case '>':
                sb_str(b, "&gt;");
                continue;
            case '"':
                sb_str(b, "&#34;");
                continue;
            case '\'':
                sb_str(b, "&#39;");
                continue;
            default:
                break;
            }
        }
        sb_char(b, (char)c);
    }
    return true;
}

/* Expands a block's placeholders from data into b. */
static bool
expand(struct sbuf *b, const char *text, size_t len, enum mode mode,
       json_t *data, char *why, size_t why_cap)
{
    const char *p = text;
    const char *end = text + len;
    while (p < end) {
        const char *open = strstr(p, "{{");
        if (open == NULL || open >= end) {
            sb_add(b, p, (size_t)(end - p));
            break;
        }
        sb_add(b, p, (size_t)(open - p));
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
render_block(struct sbuf *b, const struct rl_mail_template *t, const char *name,
             enum mode mode, json_t *data, char *why, size_t why_cap)
{
    const char *text;
    size_t len;
    return find_block(t, name, &text, &len, why, why_cap) &&
           expand(b, text, len, mode, data, why, why_cap);
}

/* ---- the message -------------------------------------------------------- */

static void
add_part(struct sbuf *b, const char *boundary, const char *type,
         const struct sbuf *body)
{
    sb_str(b, "--");
    sb_str(b, boundary);
    sb_str(b, "\r\nContent-Type: ");
    sb_str(b, type);
    sb_str(b, "; charset=UTF-8\r\n"
              "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    qp_encode(b, body->p, body->len);
    sb_str(b, "\r\n");
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

    struct sbuf subject = {0}, plain = {0}, html = {0}, msg = {0};
    enum rl_err e = RL_ERR_INVALID;
    if (!render_block(&subject, t, "subject", M_SUBJECT, data, why, why_cap) ||
        !render_block(&plain, t, "plainBody", M_PLAIN, data, why, why_cap) ||
        !render_block(&html, t, "htmlBody", M_HTML, data, why, why_cap)) {
        goto done;
    }
    if (subject.failed || plain.failed || html.failed) {
        rl_mailer_set_why(why, why_cap, "message too large or out of memory");
        e = subject.too_big || plain.too_big || html.too_big ? RL_ERR_INVALID
                                                             : RL_ERR_NOMEM;
        goto done;
    }
    if (subject.p != NULL && !rl_mail_header_ok(subject.p)) {
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
    sb_str(&msg, "Message-ID: <");
    sb_str(&msg, id);
    sb_char(&msg, '@');
    sb_str(&msg, domain);
    sb_str(&msg, ">\r\n");
    add_from_header(&msg, sender, addr);
    sb_str(&msg, "To: ");
    sb_str(&msg, recipient);
    sb_str(&msg, "\r\n");
    add_text_header(&msg, "Subject", subject.p ? subject.p : "");
    sb_str(&msg, "MIME-Version: 1.0\r\n"
                 "Content-Type: multipart/alternative;\r\n boundary=\"");
    sb_str(&msg, boundary);
    sb_str(&msg, "\"\r\n\r\n");
    add_part(&msg, boundary, "text/plain", &plain);
    add_part(&msg, boundary, "text/html", &html);
    sb_str(&msg, "--");
    sb_str(&msg, boundary);
    sb_str(&msg, "--\r\n");
    if (msg.failed) {
        rl_mailer_set_why(why, why_cap, "message too large or out of memory");
        e = msg.too_big ? RL_ERR_INVALID : RL_ERR_NOMEM;
        goto done;
    }
    *out = msg.p;
    *len = msg.len;
    msg.p = NULL;
    e = RL_OK;
done:
    sb_free(&subject);
    sb_free(&plain);
    sb_free(&html);
    sb_free(&msg);
    json_decref(data);
    return e;
}
