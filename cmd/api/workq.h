/*
 * workq.h — a bounded queue of work, in classes, served by a fixed set of
 * threads.
 *
 * The server hands a request that must wait (on the database, or for a
 * password hash) to a queue of these instead of running it on an I/O
 * thread. Items come in classes (at most API_WORKQ_MAX_CLASSES), each its
 * own FIFO with its own bounds: how many of its items may wait, and how
 * many of the queue's workers its items may hold at once. A free worker
 * takes the oldest item of the first class, in the order given, that has
 * one waiting and is under its running cap; so a class of slow work capped
 * below the number of workers always leaves the others free workers, and
 * cannot fill the places of another class either. Both the wait and the
 * length are bounded: a push into a full class fails at once, and an item
 * that waited longer than max_wait_ns is handed to the callback marked
 * `late`, so the caller can answer 503 instead of doing work its client
 * has given up on.
 *
 * Items are owned by the caller; the queue only links them (item->next).
 * Thread-safety: push, depth and running may be called from any thread;
 * one mutex per queue.
 */
#ifndef REDLIGHT_CMD_API_WORKQ_H
#define REDLIGHT_CMD_API_WORKQ_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"

#define API_WORKQ_MAX_CLASSES 4

struct api_work_item {
    struct api_work_item *next;
    int64_t enqueued_ns;
};

/* One class of items. */
struct api_workq_class {
    int max_queued;  /* items that may wait; a push past it fails */
    int max_running; /* workers its items may hold at once; ≤ 0: all */
};

/* Runs an item on a worker thread; late: it waited past max_wait_ns. */
typedef void (*api_workq_fn)(struct api_work_item *item, bool late, void *cls);

struct api_workq;

/* Starts nthreads (≥ 1) workers for nclasses (1..API_WORKQ_MAX_CLASSES)
 * classes of items, classes[0] served first. nice > 0 lowers the workers'
 * scheduling priority (CPU-bound work such as password hashing, so the I/O
 * threads win the CPU when both want it). RL_ERR_NOMEM, RL_ERR_IO (no
 * thread) or RL_ERR_INVALID (nclasses out of range). */
enum rl_err api_workq_new(int nthreads, const struct api_workq_class *classes,
                          int nclasses, int64_t max_wait_ns, int nice,
                          api_workq_fn fn, void *cls,
                          struct api_workq **out) RL_MUST_CHECK;

/* Queues item in class cls. before_visible (may be NULL) runs under the
 * queue's lock before any worker can see the item (the server suspends
 * the connection there, so a worker cannot resume it first). Returns
 * false, without calling before_visible, when the class is full, the
 * queue is stopping or cls is not one of its classes. */
bool api_workq_push(struct api_workq *q, int cls, struct api_work_item *item,
                    void (*before_visible)(struct api_work_item *));

/* Items of class cls waiting (not yet taken by a worker); 0 for a class
 * the queue does not have. */
int api_workq_depth(struct api_workq *q, int cls);

/* Items of class cls a worker is running now; 0 for a class the queue
 * does not have. */
int api_workq_running(struct api_workq *q, int cls);

/* Stops taking new items (push fails from now on), runs every queued one
 * (each class still under its running cap) and joins the workers; q stays
 * valid for push until api_workq_free. Idempotent, but not concurrently
 * with itself. NULL is a no-op. */
void api_workq_stop(struct api_workq *q);

/* api_workq_stop, then frees q. NULL is a no-op. */
void api_workq_free(struct api_workq *q);

#endif
