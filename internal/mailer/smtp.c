/*
 * smtp.c — delivery of rendered messages: libcurl SMTP, or .eml files.
 *
 * Owns nothing beyond a call: the curl handle, the recipient list and the
 * file descriptors are made and released inside each function. Credentials
 * go to curl through CURLOPT_USERNAME/PASSWORD, never into the URL, so they
 * cannot appear in curl's error texts or in our logs.
 */
#include "internal/mailer/smtp.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/mailer/render.h"

enum rl_err
rl_smtp_url(const char *host, int port, char *buf, size_t cap)
{
    bool v6 = strchr(host, ':') != NULL && host[0] != '[';
    int n = snprintf(buf, cap, "%s://%s%s%s:%d", port == 465 ? "smtps" : "smtp",
                     v6 ? "[" : "", host, v6 ? "]" : "", port);
    return n > 0 && (size_t)n < cap ? RL_OK : RL_ERR_INVALID;
}

static bool
is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
}

struct reader {
    const char *p;
    size_t left;
};

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct reader *r = arg;
    size_t n = size * nitems;
    if (n > r->left) {
        n = r->left;
    }
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const atomic_bool *abort_flag = arg;
    return abort_flag != NULL && atomic_load(abort_flag) ? 1 : 0;
}

enum rl_err
rl_smtp_send(const struct rl_smtp_config *cfg, const char *recipient,
             const char *msg, size_t len, char *why, size_t why_cap)
{
    char url[512], from[330], rcpt[330], addr[320];
    if (cfg->host == NULL || cfg->host[0] == '\0' ||
        !rl_mail_header_ok(cfg->host) ||
        rl_smtp_url(cfg->host, cfg->port, url, sizeof(url)) != RL_OK) {
        rl_mailer_set_why(why, why_cap, "invalid smtp host");
        return RL_ERR_INVALID;
    }
    if (rl_mail_address(cfg->sender, addr, sizeof(addr)) != RL_OK) {
        rl_mailer_set_why(why, why_cap, "invalid sender address");
        return RL_ERR_INVALID;
    }
    snprintf(from, sizeof(from), "<%s>", addr);
    if (rl_mail_address(recipient, addr, sizeof(addr)) != RL_OK ||
        !rl_mail_header_ok(recipient)) {
        rl_mailer_set_why(why, why_cap, "invalid recipient address");
        return RL_ERR_INVALID;
    }
    snprintf(rcpt, sizeof(rcpt), "<%s>", addr);

    CURL *curl = curl_easy_init();
    struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
    if (curl == NULL || rcpts == NULL) {
        curl_easy_cleanup(curl);
        curl_slist_free_all(rcpts);
        rl_mailer_set_why(why, why_cap, "out of memory");
        return RL_ERR_NOMEM;
    }
    bool auth = cfg->username != NULL && cfg->username[0] != '\0';
    char errbuf[CURL_ERROR_SIZE] = "";
    struct reader rd = {msg, len};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    if (cfg->port != 465) {
        curl_easy_setopt(curl, CURLOPT_USE_SSL,
                         auth && !is_loopback(cfg->host)
                             ? (long)CURLUSESSL_ALL
                             : (long)CURLUSESSL_TRY);
    }
    if (auth) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD,
                         cfg->password != NULL ? cfg->password : "");
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &rd);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)cfg->abort);

    CURLcode rc = curl_easy_perform(curl);
    enum rl_err e = RL_OK;
    if (rc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        const char *text = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
        if (code > 0) {
            rl_mailer_set_why(why, why_cap, "smtp: %s (reply %ld)", text, code);
        } else {
            rl_mailer_set_why(why, why_cap, "smtp: %s", text);
        }
        e = rc == CURLE_OUT_OF_MEMORY ? RL_ERR_NOMEM : RL_ERR_IO;
    }
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(curl);
    return e;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int
mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];
            path[i] = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            path[i] = c;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

enum rl_err
rl_mail_write_eml(const char *dir, int64_t job_id, const char *tmpl,
                  const char *msg, size_t len, time_t now, char *path,
                  size_t path_cap, char *why, size_t why_cap)
{
    if (tmpl[0] == '\0' || tmpl[strspn(tmpl, "abcdefghijklmnopqrstuvwxyz"
                                             "0123456789_")] != '\0') {
        rl_mailer_set_why(why, why_cap, "invalid template name");
        return RL_ERR_INVALID;
    }
    struct tm tm;
    char stamp[32];
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0) {
        rl_mailer_set_why(why, why_cap, "cannot format the time");
        return RL_ERR_INVALID;
    }
    char tmp[4096];
    int n = snprintf(path, path_cap, "%s/%s-%lld-%s.eml", dir, stamp,
                     (long long)job_id, tmpl);
    int m = snprintf(tmp, sizeof(tmp), "%s/.%s-%lld-%s.eml.tmp", dir, stamp,
                     (long long)job_id, tmpl);
    if (n < 0 || (size_t)n >= path_cap || m < 0 || (size_t)m >= sizeof(tmp)) {
        rl_mailer_set_why(why, why_cap, "mail directory path too long");
        return RL_ERR_INVALID;
    }
    if (mkdir_p(dir) != 0) {
        rl_mailer_set_why(why, why_cap, "mkdir %s: %s", dir, strerror(errno));
        return RL_ERR_IO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rl_mailer_set_why(why, why_cap, "open %s: %s", tmp, strerror(errno));
        return RL_ERR_IO;
    }
    if (write_all(fd, msg, len) != 0 || fsync(fd) != 0) {
        rl_mailer_set_why(why, why_cap, "write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return RL_ERR_IO;
    }
    if (close(fd) != 0) {
        rl_mailer_set_why(why, why_cap, "close %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return RL_ERR_IO;
    }
    /* link(2) refuses to replace an existing file; rename(2) is the
     * fallback for file systems without hard links. */
    if (link(tmp, path) != 0) {
        int err = errno;
        if ((err == EPERM || err == ENOTSUP || err == ENOSYS) &&
            access(path, F_OK) != 0 && rename(tmp, path) == 0) {
            return RL_OK;
        }
        rl_mailer_set_why(why, why_cap, "link %s: %s", path, strerror(err));
        unlink(tmp);
        return RL_ERR_IO;
    }
    unlink(tmp);
    return RL_OK;
}
