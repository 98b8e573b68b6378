/*
 * jsonlog.c — JSON lines on a file descriptor.
 *
 * State: the descriptor and the minimum level, set once by rl_log_init before
 * threads start, read-only afterwards. Lines are assembled on the stack (up
 * to LINE_MAX_BYTES; longer property values are cut with "...") and written
 * with one write(2), which keeps lines whole without a lock.
 *
 * Buffered lines (the request log) go to a per-thread buffer, each with its
 * own mutex (taken by its thread and, every FLUSH_MS, by the flusher), all
 * linked on `buffers` under buffers_mu. Buffers live until
 * rl_log_flusher_stop, so a thread that exits leaves nothing unwritten.
 */
#include "internal/jsonlog/jsonlog.h"

#include "internal/base/hex.h"
#include "internal/base/utf8.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

static int log_fd = 1;
static enum rl_log_level log_min = RL_LOG_INFO;

#define BUF_BYTES 16384
#define FLUSH_MS 100

struct logbuf {
    pthread_mutex_t mu;
    struct logbuf *next;
    size_t len;
    char data[BUF_BYTES];
};

static pthread_mutex_t buffers_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flusher_cv = PTHREAD_COND_INITIALIZER;
static struct logbuf *buffers;
static _Thread_local struct logbuf *my_buf;
/* rl_log_flusher_stop frees every buffer and bumps the generation; a thread
 * whose my_buf is from an older generation takes a new buffer instead of
 * using the freed one (a later rl_log_flusher_start). */
static atomic_uint generation;
static _Thread_local unsigned my_gen;
static atomic_bool flushing;
static bool flusher_stop;
static pthread_t flusher;

static const char *const level_names[] = {
    [RL_LOG_DEBUG] = "DEBUG",
    [RL_LOG_INFO] = "INFO",
    [RL_LOG_ERROR] = "ERROR",
    [RL_LOG_FATAL] = "FATAL",
};

void
rl_log_init(int fd, enum rl_log_level min_level)
{
    log_fd = fd;
    log_min = min_level;
}

int
rl_json_escape(char *buf, size_t cap, size_t *pos, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = *pos;
    for (size_t i = 0; i < len;) {
        char esc[8];
        size_t elen = 0;
        size_t adv = 1;
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < 0x20 || c == 0x7F) {
            memcpy(esc, "\\u00", 4);
            esc[4] = rl_hex_digit(c >> 4);
            esc[5] = rl_hex_digit(c);
            elen = 6;
        } else if (c < 0x80) {
            esc[0] = (char)c;
            elen = 1;
        } else {
            size_t sl = rl_utf8_seq_len(p + i, len - i);
            if (sl == 0) {
                memcpy(esc, "\xEF\xBF\xBD", 3);
                elen = 3;
            } else {
                memcpy(esc, p + i, sl);
                elen = sl;
                adv = sl;
            }
        }
        if (o + elen + 1 > cap) {
            buf[o] = '\0';
            *pos = o;
            return -1;
        }
        memcpy(buf + o, esc, elen);
        o += elen;
        i += adv;
    }
    if (o < cap) {
        buf[o] = '\0';
    }
    *pos = o;
    return 0;
}

/* rl_log_time's per-thread cache: the text of the last second formatted
 * ("YYYY-MM-DDTHH:MM:SS", 19 bytes) — gmtime_r and strftime once a second
 * per thread instead of once a line (they were 3% of the server's CPU
 * logging every request, by perf). */
static _Thread_local time_t time_sec = (time_t)-1;
static _Thread_local char time_text[24];

void
rl_log_time(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (cap < RL_LOG_TIME_MAX) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return;
    }
    if (ts.tv_sec != time_sec) {
        struct tm tm;
        if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
            strftime(time_text, sizeof(time_text), "%Y-%m-%dT%H:%M:%S", &tm) !=
                19) {
            buf[0] = '\0';
            return;
        }
        time_sec = ts.tv_sec;
    }
    long ms = ts.tv_nsec / 1000000L;
    memcpy(buf, time_text, 19);
    buf[19] = '.';
    buf[20] = (char)('0' + ms / 100);
    buf[21] = (char)('0' + ms / 10 % 10);
    buf[22] = (char)('0' + ms % 10);
    buf[23] = 'Z';
    buf[24] = '\0';
}

void
rl_log_write_line(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(log_fd, line, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere left to report a logging failure */
        }
        line += n;
        len -= (size_t)n;
    }
}

static void
append(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 1 <= cap) {
        memcpy(buf + *pos, s, n);
        *pos += n;
        buf[*pos] = '\0';
    }
}

void
rl_log_propv(enum rl_log_level level, const char *message,
             const struct rl_log_prop *const *props)
{
    if (level < log_min) {
        return;
    }
    char line[LINE_MAX_BYTES];
    /* Leave room to close the object even when a value had to be cut. */
    const size_t cap = sizeof(line) - 8;
    size_t pos = 0;
    char ts[32];
    rl_log_time(ts, sizeof(ts));
    append(line, cap, &pos, "{\"level\":\"");
    append(line, cap, &pos, level_names[level]);
    append(line, cap, &pos, "\",\"time\":\"");
    append(line, cap, &pos, ts);
    append(line, cap, &pos, "\",\"message\":\"");
    /* A message that does not fit is cut like a value below: escaping up
     * to the very end of the buffer would leave no room for the closing
     * quote, and the line would not be JSON. */
    if (rl_json_escape(line, cap - 8, &pos, message, strlen(message)) != 0) {
        append(line, cap, &pos, "...\"");
    } else {
        append(line, cap, &pos, "\"");
    }

    int first = 1;
    for (; *props != NULL; props++) {
        const struct rl_log_prop *p = *props;
        if (p->type == RL_LOG_PROP_STR && p->str == NULL) {
            continue;
        }
        /* Keys are short identifiers; a value that does not fit is cut and
         * ends the properties, so the line always stays valid JSON. */
        if (pos + strlen(p->key) + 32 > cap) {
            break;
        }
        append(line, cap, &pos, first ? ",\"properties\":{\"" : ",\"");
        first = 0;
        (void)rl_json_escape(line, cap, &pos, p->key, strlen(p->key));
        if (p->type == RL_LOG_PROP_INT) {
            char num[24];
            snprintf(num, sizeof(num), "\":%lld", p->num);
            append(line, cap, &pos, num);
            continue;
        }
        append(line, cap, &pos, "\":\"");
        int cut = rl_json_escape(line, cap - 8, &pos, p->str, strlen(p->str));
        if (cut != 0) {
            append(line, cap, &pos, "...\"");
            break;
        }
        append(line, cap, &pos, "\"");
    }
    if (!first) {
        memcpy(line + pos, "}", 1);
        pos += 1;
    }
    memcpy(line + pos, "}\n", 2);
    pos += 2;
    rl_log_write_line(line, pos);
}

static struct logbuf *
thread_buf(void)
{
    if (my_buf != NULL && my_gen == atomic_load(&generation)) {
        return my_buf;
    }
    struct logbuf *b = malloc(sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->len = 0;
    pthread_mutex_lock(&buffers_mu);
    b->next = buffers;
    buffers = b;
    pthread_mutex_unlock(&buffers_mu);
    my_buf = b;
    my_gen = atomic_load(&generation);
    return b;
}

void
rl_log_buffered(const char *line, size_t len)
{
    struct logbuf *b;
    if (!atomic_load(&flushing) || len > BUF_BYTES ||
        (b = thread_buf()) == NULL) {
        rl_log_write_line(line, len);
        return;
    }
    pthread_mutex_lock(&b->mu);
    if (b->len + len > BUF_BYTES) {
        rl_log_write_line(b->data, b->len);
        b->len = 0;
    }
    memcpy(b->data + b->len, line, len);
    b->len += len;
    pthread_mutex_unlock(&b->mu);
}

static void
flush_all(void)
{
    pthread_mutex_lock(&buffers_mu);
    for (struct logbuf *b = buffers; b != NULL; b = b->next) {
        pthread_mutex_lock(&b->mu);
        if (b->len > 0) {
            rl_log_write_line(b->data, b->len);
            b->len = 0;
        }
        pthread_mutex_unlock(&b->mu);
    }
    pthread_mutex_unlock(&buffers_mu);
}

static void *
flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&buffers_mu);
    while (!flusher_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += FLUSH_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&flusher_cv, &buffers_mu, &ts);
        pthread_mutex_unlock(&buffers_mu);
        flush_all();
        pthread_mutex_lock(&buffers_mu);
    }
    pthread_mutex_unlock(&buffers_mu);
    return NULL;
}

int
rl_log_flusher_start(void)
{
    flusher_stop = false;
    if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0) {
        return -1;
    }
    atomic_store(&flushing, true);
    return 0;
}

void
rl_log_flusher_stop(void)
{
    if (!atomic_load(&flushing)) {
        return;
    }
    pthread_mutex_lock(&buffers_mu);
    flusher_stop = true;
    pthread_cond_signal(&flusher_cv);
    pthread_mutex_unlock(&buffers_mu);
    pthread_join(flusher, NULL);
    atomic_store(&flushing, false);
    flush_all();
    pthread_mutex_lock(&buffers_mu);
    struct logbuf *b = buffers;
    buffers = NULL;
    atomic_fetch_add(&generation, 1);
    pthread_mutex_unlock(&buffers_mu);
    while (b != NULL) {
        struct logbuf *next = b->next;
        pthread_mutex_destroy(&b->mu);
        free(b);
        b = next;
    }
}
