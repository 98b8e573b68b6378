/*
 * clock.h — the monotonic clock, for durations and deadlines (never for
 * wall-clock time). Thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_BASE_CLOCK_H
#define REDLIGHT_INTERNAL_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds and milliseconds. */
int64_t rl_mono_ns(void);
int64_t rl_mono_ms(void);

/* The CLOCK_MONOTONIC timespec `ms` milliseconds from now, for
 * pthread_cond_timedwait on a condition variable set to that clock. */
struct timespec rl_mono_deadline(int64_t ms);

#endif
