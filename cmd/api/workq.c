/*
 * workq.c — bounded work queues (workq.h). State: a singly-linked FIFO,
 * its length and a stop flag, all under q->mu; workers sleep on q->cv.
 */
#include "cmd/api/workq.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal/base/clock.h"

struct api_workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct api_work_item *head, *tail;
    int depth;
    int max_queued;
    int64_t max_wait_ns;
    int nice;
    bool stopping;
    api_workq_fn fn;
    void *cls;
    int nthreads;
    pthread_t *threads;
};

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
        while (q->head == NULL && !q->stopping) {
            pthread_cond_wait(&q->cv, &q->mu);
        }
        struct api_work_item *it = q->head;
        if (it == NULL) {
            break; /* stopping, and nothing is left */
        }
        q->head = it->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->depth--;
        pthread_mutex_unlock(&q->mu);
        bool late = rl_mono_ns() - it->enqueued_ns > q->max_wait_ns;
        q->fn(it, late, q->cls);
        pthread_mutex_lock(&q->mu);
    }
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
api_workq_new(int nthreads, int max_queued, int64_t max_wait_ns, int nice,
              api_workq_fn fn, void *cls, struct api_workq **out)
{
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
    q->max_queued = max_queued;
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
api_workq_push(struct api_workq *q, struct api_work_item *item,
               void (*before_visible)(struct api_work_item *))
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->depth >= q->max_queued) {
        pthread_mutex_unlock(&q->mu);
        return false;
    }
    if (before_visible != NULL) {
        before_visible(item);
    }
    item->next = NULL;
    item->enqueued_ns = rl_mono_ns();
    if (q->tail != NULL) {
        q->tail->next = item;
    } else {
        q->head = item;
    }
    q->tail = item;
    q->depth++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return true;
}

int
api_workq_depth(struct api_workq *q)
{
    pthread_mutex_lock(&q->mu);
    int d = q->depth;
    pthread_mutex_unlock(&q->mu);
    return d;
}

void
api_workq_free(struct api_workq *q)
{
    if (q != NULL) {
        destroy(q);
    }
}
