/*
 * workq.c — bounded work queues in classes (workq.h). State: per class a
 * singly-linked FIFO, its length and how many of its items are running;
 * a stop flag; all under q->mu. Workers sleep on q->cv; a push wakes one,
 * and so does a worker finishing an item of a class that was held back
 * at its cap while more of it waits (it may take something else itself).
 */
#include "cmd/api/workq.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal/base/clock.h"

struct wq_class {
    struct api_work_item *head, *tail;
    int depth;
    int running;
    int max_queued;
    int max_running;
};

struct api_workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct wq_class classes[API_WORKQ_MAX_CLASSES];
    int nclasses;
    int64_t max_wait_ns;
    int nice;
    bool stopping;
    api_workq_fn fn;
    void *cls;
    int nthreads;
    pthread_t *threads;
};

/* The class whose head a free worker takes now, or -1. Under q->mu. */
static int
pick(const struct api_workq *q)
{
    for (int c = 0; c < q->nclasses; c++) {
        const struct wq_class *k = &q->classes[c];
        if (k->head != NULL && k->running < k->max_running) {
            return c;
        }
    }
    return -1;
}

static bool
all_empty(const struct api_workq *q)
{
    for (int c = 0; c < q->nclasses; c++) {
        if (q->classes[c].head != NULL) {
            return false;
        }
    }
    return true;
}

static void *
worker_main(void *arg)
{
    struct api_workq *q = arg;
    if (q->nice != 0) {
        /* Linux: a thread's own niceness (best effort). */
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), q->nice);
    }
    pthread_mutex_lock(&q->mu);
    for (;;) {
        int c = pick(q);
        if (c < 0) {
            if (q->stopping && all_empty(q)) {
                break;
            }
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        struct wq_class *k = &q->classes[c];
        struct api_work_item *it = k->head;
        k->head = it->next;
        if (k->head == NULL) {
            k->tail = NULL;
        }
        k->depth--;
        k->running++;
        pthread_mutex_unlock(&q->mu);
        bool late = rl_mono_ns() - it->enqueued_ns > q->max_wait_ns;
        q->fn(it, late, q->cls);
        pthread_mutex_lock(&q->mu);
        k->running--;
        if (k->head != NULL && k->running + 1 == k->max_running) {
            /* Its class was at its cap: another worker may take the next. */
            pthread_cond_signal(&q->cv);
        }
    }
    /* Others may wait for an item held back by a cap that is gone now. */
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

void
api_workq_stop(struct api_workq *q)
{
    if (q == NULL) {
        return;
    }
    pthread_mutex_lock(&q->mu);
    bool joined = q->stopping;
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (joined) {
        return;
    }
    for (int i = 0; i < q->nthreads; i++) {
        pthread_join(q->threads[i], NULL);
    }
}

static void
destroy(struct api_workq *q)
{
    api_workq_stop(q);
    free(q->threads);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

enum rl_err
api_workq_new(int nthreads, const struct api_workq_class *classes, int nclasses,
              int64_t max_wait_ns, int nice, api_workq_fn fn, void *cls,
              struct api_workq **out)
{
    if (nclasses < 1 || nclasses > API_WORKQ_MAX_CLASSES) {
        return RL_ERR_INVALID;
    }
    struct api_workq *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        return RL_ERR_NOMEM;
    }
    q->threads =
        calloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof(*q->threads));
    if (q->threads == NULL) {
        free(q);
        return RL_ERR_NOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->nclasses = nclasses;
    for (int c = 0; c < nclasses; c++) {
        q->classes[c].max_queued = classes[c].max_queued;
        int cap = classes[c].max_running;
        q->classes[c].max_running = cap > 0 && cap < nthreads ? cap : nthreads;
    }
    q->max_wait_ns = max_wait_ns;
    q->nice = nice;
    q->fn = fn;
    q->cls = cls;
    for (; q->nthreads < nthreads; q->nthreads++) {
        if (pthread_create(&q->threads[q->nthreads], NULL, worker_main, q) !=
            0) {
            destroy(q);
            return RL_ERR_IO;
        }
    }
    *out = q;
    return RL_OK;
}

bool
api_workq_push(struct api_workq *q, int cls, struct api_work_item *item,
               void (*before_visible)(struct api_work_item *))
{
    if (cls < 0 || cls >= q->nclasses) {
        return false;
    }
    struct wq_class *k = &q->classes[cls];
    pthread_mutex_lock(&q->mu);
    if (q->stopping || k->depth >= k->max_queued) {
        pthread_mutex_unlock(&q->mu);
        return false;
    }
    if (before_visible != NULL) {
        before_visible(item);
    }
    item->next = NULL;
    item->enqueued_ns = rl_mono_ns();
    if (k->tail != NULL) {
        k->tail->next = item;
    } else {
        k->head = item;
    }
    k->tail = item;
    k->depth++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return true;
}

/* depth or running of class cls, under the lock; 0 for no such class. */
static int
count(struct api_workq *q, int cls, bool running)
{
    if (cls < 0 || cls >= q->nclasses) {
        return 0;
    }
    pthread_mutex_lock(&q->mu);
    const struct wq_class *k = &q->classes[cls];
    int n = running ? k->running : k->depth;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int
api_workq_depth(struct api_workq *q, int cls)
{
    return count(q, cls, false);
}

int
api_workq_running(struct api_workq *q, int cls)
{
    return count(q, cls, true);
}

void
api_workq_free(struct api_workq *q)
{
    if (q != NULL) {
        destroy(q);
    }
}
