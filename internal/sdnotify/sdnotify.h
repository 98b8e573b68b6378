/*
 * sdnotify.h — the two systemd protocols a Type=notify, socket-activated
 * service speaks, without libsystemd: sd_notify(3) datagrams to
 * $NOTIFY_SOCKET, and sd_listen_fds(3) sockets inherited as fd 3.
 * Knows nothing of HTTP.
 */
#ifndef REDLIGHT_INTERNAL_SDNOTIFY_SDNOTIFY_H
#define REDLIGHT_INTERNAL_SDNOTIFY_SDNOTIFY_H

#include <stdint.h>

#include "internal/base/err.h"

/* The first socket systemd passes (SD_LISTEN_FDS_START). */
#define RL_SD_LISTEN_FDS_START 3

/* Sends `state` ("READY=1", "STOPPING=1", "WATCHDOG=1", several
 * newline-separated assignments) as one datagram to $NOTIFY_SOCKET: a path,
 * or an abstract socket when it starts with '@'. Returns RL_OK, also when
 * NOTIFY_SOCKET is unset (not run by systemd: nothing to do); RL_ERR_INVALID
 * for an unusable NOTIFY_SOCKET; RL_ERR_IO when sending fails. Thread-safe
 * (reads the environment only). */
enum rl_err rl_sd_notify(const char *state) RL_MUST_CHECK;

/* The watchdog interval systemd asked for (WATCHDOG_USEC, when WATCHDOG_PID
 * is unset or names this process), in microseconds; 0 when there is none. */
int64_t rl_sd_watchdog_usec(void);

/* The number of sockets systemd passed (fds 3, 4, ...): LISTEN_FDS when
 * LISTEN_PID names this process, else 0 (so a child that inherits the
 * variables is not fooled). Marks them close-on-exec. Leaves the
 * environment alone, so it is thread-safe and may be called again. */
int rl_sd_listen_fds(void);

struct rl_sd_watchdog;

/* Starts a thread that sends WATCHDOG=1 every usec/2 microseconds. *out is
 * NULL (and RL_OK returned) when usec <= 0. Free with
 * rl_sd_watchdog_stop. */
enum rl_err rl_sd_watchdog_start(int64_t usec,
                                 struct rl_sd_watchdog **out) RL_MUST_CHECK;

/* Stops and joins the thread and frees w. NULL is a no-op. */
void rl_sd_watchdog_stop(struct rl_sd_watchdog *w);

#endif
