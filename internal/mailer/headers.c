/*
 * headers.c — the RFC 5322 / MIME pieces of a message that do not depend on
 * its template: header checks and encoding (RFC 2047 encoded-words, the
 * From phrase, Date), random hex for Message-ID and boundaries, and
 * quoted-printable bodies (RFC 2045). Used by render.c through
 * mailer_int.h; rl_mail_header_ok and rl_mail_address are public
 * (render.h). Pure apart from randomness; thread-safe.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal/base/buf.h"
#include "internal/base/hex.h"
#include "internal/base/utf8.h"
#include "internal/mailer/mailer_int.h"
#include "internal/mailer/render.h"

bool
rl_mail_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

bool
rl_mail_header_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (rl_mail_is_ctl(*p)) {
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
        if (rl_mail_is_ctl(c) || c == ' ' || c == '<' || c == '>') {
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
void
rl_mail_add_text_header(struct rl_buf *b, const char *name, const char *value)
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
void
rl_mail_add_from_header(struct rl_buf *b, const char *sender, const char *addr)
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

void
rl_mail_add_date_header(struct rl_buf *b, time_t now)
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

void
rl_mail_random_hex(char *out, size_t nbytes)
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
void
rl_mail_qp_encode(struct rl_buf *b, const char *text, size_t len)
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
