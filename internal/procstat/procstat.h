/*
 * procstat.h — what the process itself measures about itself: resident
 * memory and thread count (/proc/self/status) and bytes allocated by malloc
 * (glibc mallinfo2). For /debug/vars and /metrics; knows nothing of HTTP.
 */
#ifndef REDLIGHT_INTERNAL_PROCSTAT_PROCSTAT_H
#define REDLIGHT_INTERNAL_PROCSTAT_PROCSTAT_H

#include <stdint.h>

#include "internal/base/err.h"

struct rl_procstat {
    int64_t rss_bytes;  /* VmRSS */
    int64_t threads;    /* Threads */
    int64_t heap_bytes; /* mallinfo2().uordblks: bytes in use by malloc */
};

/* Fills *out. Returns RL_OK, or RL_ERR_IO when /proc/self/status cannot be
 * read or lacks a field (the other fields are still filled, -1 when
 * unknown). Thread-safe; takes glibc's malloc locks for a moment. */
enum rl_err rl_procstat_read(struct rl_procstat *out) RL_MUST_CHECK;

/* Parses the text of a /proc/<pid>/status file (exposed for tests). */
void rl_procstat_parse(const char *status, struct rl_procstat *out);

#endif
