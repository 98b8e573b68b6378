/*
 * workq.h — a bounded FIFO of work served by a fixed set of threads.
 *
 * The server hands a request that must wait (on the database, or for a
 * password hash) to a queue of these instead of running it on an I/O
 * thread. Both the queue's length and the time an item may wait in it are
 * bounded: a push into a full queue fails at once, and an item that waited
 * longer than max_wait_ns is handed to the callback marked `late`, so the
 * caller can answer 503 instead of doing work its client has given up on.
 *
 * Items are owned by the caller; the queue only links them (item->next).
 * Thread-safety: push and depth may be called from any thread; one mutex
 * per queue.
 */
#ifndef REDLIGHT_CMD_API_WORKQ_H
#define REDLIGHT_CMD_API_WORKQ_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"

struct api_work_item {
    struct api_work_item *next;
    int64_t enqueued_ns;
};

/* Runs an item on a worker thread; late: it waited past max_wait_ns. */
typedef void (*api_workq_fn)(struct api_work_item *item, bool late, void *cls);

struct api_workq;

/* Starts nthreads (≥ 1) workers for a queue of at most max_queued waiting
 * items. nice > 0 lowers the workers' scheduling priority (CPU-bound work
 * such as password hashing, so the I/O threads win the CPU when both
 * want it). RL_ERR_NOMEM or RL_ERR_IO (no thread). */
enum rl_err api_workq_new(int nthreads, int max_queued, int64_t max_wait_ns,
                          int nice, api_workq_fn fn, void *cls,
                          struct api_workq **out) RL_MUST_CHECK;

/* Queues item. before_visible (may be NULL) runs under the queue's lock
 * before any worker can see the item (the server suspends the connection
 * there, so a worker cannot resume it first). Returns false, without
 * calling before_visible, when the queue is full or stopping. */
bool api_workq_push(struct api_workq *q, struct api_work_item *item,
                    void (*before_visible)(struct api_work_item *));

/* Items waiting (not yet taken by a worker). */
int api_workq_depth(struct api_workq *q);

/* Stops taking new items (push fails from now on), runs every queued one
 * and joins the workers; q stays valid for push until api_workq_free.
 * Idempotent, but not concurrently with itself. NULL is a no-op. */
void api_workq_stop(struct api_workq *q);

/* api_workq_stop, then frees q. NULL is a no-op. */
void api_workq_free(struct api_workq *q);

#endif
