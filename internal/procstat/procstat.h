/*
 * procstat.h — what the process itself measures about itself, for
 * /debug/vars and /metrics (knows nothing of HTTP):
 *   /proc/self/status  resident and virtual memory, thread count;
 *   getrusage          CPU time (the utime + stime of /proc/self/stat);
 *   /proc/self/stat    the start time;
 *   /proc/self/fd      open file descriptors; getrlimit: their limit;
 *   glibc mallinfo2    what malloc holds (struct rl_heapstat).
 * The same sources as the Prometheus client libraries' process collector.
 */
#ifndef REDLIGHT_INTERNAL_PROCSTAT_PROCSTAT_H
#define REDLIGHT_INTERNAL_PROCSTAT_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"

/* glibc malloc's own accounting (mallinfo2), in bytes, under the names of
 * Go's runtime.MemStats. tcache entries count as allocated (malloc does
 * not see them as free). */
struct rl_heapstat {
    int64_t alloc; /* HeapAlloc: uordblks + hblkhd, handed out and not freed */
    int64_t inuse; /* HeapInuse: alloc + fsmblks, plus the free chunks kept
                      in fastbins for their size (not reusable by others) */
    int64_t sys;   /* HeapSys: arena + hblkhd, obtained from the system */
};

struct rl_procstat {
    int64_t rss_bytes; /* VmRSS */
    int64_t vm_bytes;  /* VmSize */
    int64_t threads;   /* Threads */
    int64_t cpu_ns;    /* user + system CPU time (getrusage), in ns */
    int64_t open_fds;  /* entries of /proc/self/fd */
    int64_t max_fds;   /* RLIMIT_NOFILE, soft limit */
    struct rl_heapstat heap;
};

/* Fills *out. Returns RL_OK, or RL_ERR_IO when a /proc file cannot be read
 * or lacks a field (every other field is still filled; -1 when unknown).
 * Thread-safe; takes glibc's malloc locks for a moment. */
enum rl_err rl_procstat_read(struct rl_procstat *out) RL_MUST_CHECK;

/* malloc's accounting alone (no /proc). Thread-safe. */
void rl_procstat_heap(struct rl_heapstat *out);

/* When this process started, in nanoseconds since the Unix epoch: its
 * start in clock ticks after boot (/proc/self/stat) placed on the
 * realtime clock through CLOCK_BOOTTIME. Returns RL_OK or RL_ERR_IO. */
enum rl_err rl_procstat_start_time(int64_t *unix_ns) RL_MUST_CHECK;

/* Parses the text of a /proc/<pid>/status file: rss_bytes, vm_bytes and
 * threads (-1 when missing). The other fields are left alone. */
void rl_procstat_parse(const char *status, struct rl_procstat *out);

/* Parses the text of a /proc/<pid>/stat line: utime and stime (fields 14
 * and 15) and starttime (22), in clock ticks. The command name (field 2)
 * may hold spaces and parentheses: fields are counted after its last ')'.
 * Returns false when the line is too short or a field is not a number. */
bool rl_procstat_parse_stat(const char *stat, int64_t *utime, int64_t *stime,
                            int64_t *starttime);

/* Counts the entries of a /proc/<pid>/fd directory (dir), leaving out the
 * descriptor that reads it. Returns -1 when it cannot be opened. */
int64_t rl_procstat_count_fds(const char *dir);

#endif
