/*
 * stop.h — a stop signal a background thread can poll(2) beside its own
 * descriptors (a database socket, a timeout): a non-blocking close-on-exec
 * pipe whose read end becomes readable, and stays so, once fired.
 *
 *     struct rl_stop s;
 *     rl_stop_init(&s);            // before the thread starts
 *     ... poll({rl_stop_fd(&s), POLLIN}, ...) in the thread ...
 *     rl_stop_fire(&s);            // any thread; safe to call again
 *     pthread_join(...); rl_stop_close(&s);
 *
 * A zeroed struct is not usable: rl_stop_init first, or rl_stop_none for
 * one whose init is not reached (rl_stop_fire and rl_stop_close then do
 * nothing).
 */
#ifndef REDLIGHT_INTERNAL_BASE_STOP_H
#define REDLIGHT_INTERNAL_BASE_STOP_H

#include <stdbool.h>

struct rl_stop {
    int fd[2];
};

/* Marks s as not created (no descriptors). */
void rl_stop_none(struct rl_stop *s);

/* Creates the pipe. False (errno set, s as after rl_stop_none) when the
 * process is out of descriptors. */
bool rl_stop_init(struct rl_stop *s);

/* The descriptor to poll for POLLIN; -1 when not created (poll ignores
 * it). */
int rl_stop_fd(const struct rl_stop *s);

/* Wakes every poller, now and later. Async-signal-safe. */
void rl_stop_fire(struct rl_stop *s);

/* Closes the descriptors (after the pollers are gone). */
void rl_stop_close(struct rl_stop *s);

#endif
