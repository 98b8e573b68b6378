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
#include "internal/mailer/mailer_int.h"
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
        if (rl_mail_is_ctl(c)) {
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
    rl_mail_qp_encode(b, body->data, body->len);
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
    rl_mail_random_hex(id, 16);
    snprintf(boundary, sizeof(boundary), "=_rl_");
    rl_mail_random_hex(boundary + 5, 16);

    rl_mail_add_date_header(&msg, now);
    rl_buf_addstr(&msg, "Message-ID: <");
    rl_buf_addstr(&msg, id);
    rl_buf_addc(&msg, '@');
    rl_buf_addstr(&msg, domain);
    rl_buf_addstr(&msg, ">\r\n");
    rl_mail_add_from_header(&msg, sender, addr);
    rl_buf_addstr(&msg, "To: ");
    rl_buf_addstr(&msg, recipient);
    rl_buf_addstr(&msg, "\r\n");
    rl_mail_add_text_header(&msg, "Subject", subject.data ? subject.data : "");
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
