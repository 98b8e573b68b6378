/*
 * test_edge.c — the pieces of the HTTP edge that need no socket to test:
 * the per-address connection counts and deadlines (cmd/api/conns.c), the
 * bounded work queues (cmd/api/workq.c), the request body buffer and its
 * shared budget (cmd/api/body.c) and the path decoder
 * (internal/base/percent.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/api/body.h"
#include "cmd/api/conns.h"
#include "cmd/api/httpsyntax.h"
#include "cmd/api/request.h"
#include "cmd/api/workq.h"
#include "internal/base/clock.h"
#include "internal/base/percent.h"

static struct sockaddr_in
v4(const char *addr)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(1)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    return sa;
}

static void
test_per_address_limit(void **state)
{
    (void)state;
    struct api_conns_config cfg = {.max_per_ip = 3, .max_conns = 64};
    struct api_conns *c = NULL;
    assert_int_equal(api_conns_new(&cfg, &c), RL_OK);
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
    struct api_conn *held[3];
    for (int i = 0; i < 3; i++) {
        assert_true(api_conns_admit(c, (struct sockaddr *)&a));
        held[i] = api_conns_open(c, -1, (struct sockaddr *)&a, 0);
        assert_non_null(held[i]);
    }
    assert_false(api_conns_admit(c, (struct sockaddr *)&a));
    assert_true(api_conns_admit(c, (struct sockaddr *)&b));
    assert_int_equal(api_conns_open_count(c), 3);
    api_conns_close(c, held[1]);
    assert_true(api_conns_admit(c, (struct sockaddr *)&a));
    api_conns_close(c, held[0]);
    api_conns_close(c, held[2]);
    assert_int_equal(api_conns_open_count(c), 0);
    api_conns_free(c);
}

static void
test_exempt_addresses(void **state)
{
    (void)state;
    struct rl_ipset *proxies = NULL;
    assert_int_equal(rl_ipset_parse("10.0.0.0/8", &proxies, NULL, NULL), RL_OK);
    struct api_conns_config cfg = {
        .max_per_ip = 1, .exempt = proxies, .max_conns = 64};
    struct api_conns *c = NULL;
    assert_int_equal(api_conns_new(&cfg, &c), RL_OK);
    struct sockaddr_in p = v4("10.1.2.3");
    struct api_conn *held[5];
    for (int i = 0; i < 5; i++) {
        assert_true(api_conns_admit(c, (struct sockaddr *)&p));
        held[i] = api_conns_open(c, -1, (struct sockaddr *)&p, 0);
    }
    for (int i = 0; i < 5; i++) {
        api_conns_close(c, held[i]);
    }
    api_conns_free(c);
    rl_ipset_free(proxies);
}

/* Many addresses opened and closed in a shuffled order: the table's
 * deletion must keep every remaining address findable. */
static void
test_table_churn(void **state)
{
    (void)state;
    enum { N = 200 };
    struct api_conns_config cfg = {.max_per_ip = 1, .max_conns = N};
    struct api_conns *c = NULL;
    assert_int_equal(api_conns_new(&cfg, &c), RL_OK);
    struct api_conn *held[N];
    struct sockaddr_in sa[N];
    for (int i = 0; i < N; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "198.51.%d.%d", i / 250, i % 250);
        sa[i] = v4(buf);
        held[i] = api_conns_open(c, -1, (struct sockaddr *)&sa[i], 0);
        assert_false(api_conns_admit(c, (struct sockaddr *)&sa[i]));
    }
    for (int k = 0; k < N; k++) {
        int i = (k * 7) % N; /* 7 is coprime with 200 */
        api_conns_close(c, held[i]);
        held[i] = NULL;
        assert_true(api_conns_admit(c, (struct sockaddr *)&sa[i]));
        for (int j = 0; j < N; j++) {
            if (held[j] != NULL) {
                assert_false(api_conns_admit(c, (struct sockaddr *)&sa[j]));
            }
        }
    }
    api_conns_free(c);
}

/* A connection past its deadline gets its socket shut down by the reaper
 * (the peer reads end-of-stream); one without a deadline is left alone. */
static void
test_reaper_shuts_down_late_sockets(void **state)
{
    (void)state;
    int late[2], open_ended[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, late), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, open_ended), 0);
    struct api_conns_config cfg = {.max_per_ip = 8, .max_conns = 8};
    struct api_conns *c = NULL;
    assert_int_equal(api_conns_new(&cfg, &c), RL_OK);
    struct api_conn *a =
        api_conns_open(c, late[0], NULL, rl_mono_ns() + 50 * 1000000LL);
    struct api_conn *b = api_conns_open(c, open_ended[0], NULL, 0);
    struct timespec nap = {.tv_nsec = 400 * 1000000L};
    nanosleep(&nap, NULL);
    char ch;
    assert_int_equal(recv(late[1], &ch, 1, MSG_DONTWAIT), 0); /* EOF */
    assert_int_equal(recv(open_ended[1], &ch, 1, MSG_DONTWAIT), -1);
    assert_int_equal(api_conns_reaped(c), 1);
    api_conns_close(c, a);
    api_conns_close(c, b);
    api_conns_free(c);
    close(late[0]);
    close(late[1]);
    close(open_ended[0]);
    close(open_ended[1]);
}

struct qstate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool release;
    atomic_int ran, late;
};

static void
slow_item(struct api_work_item *it, bool late, void *cls)
{
    (void)it;
    struct qstate *st = cls;
    pthread_mutex_lock(&st->mu);
    while (!st->release) {
        pthread_cond_wait(&st->cv, &st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    atomic_fetch_add(&st->ran, 1);
    if (late) {
        atomic_fetch_add(&st->late, 1);
    }
}

static int before_calls;
static void
count_before(struct api_work_item *it)
{
    (void)it;
    before_calls++;
}

static void
test_workq_bounds(void **state)
{
    (void)state;
    struct qstate st = {.mu = PTHREAD_MUTEX_INITIALIZER,
                        .cv = PTHREAD_COND_INITIALIZER};
    struct api_workq *q = NULL;
    /* One worker, two places, 50 ms of patience. */
    const struct api_workq_class one = {.max_queued = 2};
    assert_int_equal(
        api_workq_new(1, &one, 1, 50 * 1000000LL, 0, slow_item, &st, &q),
        RL_OK);
    struct api_work_item items[4];
    before_calls = 0;
    assert_true(api_workq_push(q, 0, &items[0], count_before));
    /* Let the worker take the first item and block in it (up to 10 s: on
     * a loaded machine the worker thread may wait for a core). */
    for (int i = 0; i < 10000 && api_workq_depth(q, 0) != 0; i++) {
        usleep(1000);
    }
    assert_int_equal(api_workq_depth(q, 0), 0);
    assert_true(api_workq_push(q, 0, &items[1], count_before));
    assert_true(api_workq_push(q, 0, &items[2], count_before));
    assert_false(api_workq_push(q, 0, &items[3], count_before)); /* full */
    assert_int_equal(before_calls, 3);
    assert_int_equal(api_workq_depth(q, 0), 2);
    usleep(100 * 1000); /* the waiting two are now past their bound */
    pthread_mutex_lock(&st.mu);
    st.release = true;
    pthread_cond_broadcast(&st.cv);
    pthread_mutex_unlock(&st.mu);
    api_workq_stop(q);
    assert_int_equal(atomic_load(&st.ran), 3);
    assert_int_equal(atomic_load(&st.late), 2);
    assert_false(api_workq_push(q, 0, &items[3], count_before)); /* stopped */
    api_workq_free(q);
}

/* Items of the classified queue tests: which class, whether to block until
 * released, and where each ran in the order of all runs. */
struct citem {
    struct api_work_item work;
    int id;
    bool block;
};

struct cstate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool release;
    int order[16];
    int nran;
    int nlate;
};

static void
class_item(struct api_work_item *it, bool late, void *cls)
{
    struct citem *ci =
        (struct citem *)(void *)((char *)it - offsetof(struct citem, work));
    struct cstate *st = cls;
    pthread_mutex_lock(&st->mu);
    while (ci->block && !st->release) {
        pthread_cond_wait(&st->cv, &st->mu);
    }
    if (st->nran < 16) {
        st->order[st->nran] = ci->id;
    }
    st->nran++;
    st->nlate += late ? 1 : 0;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Until pred(q) holds, at most 10 s (a loaded machine may keep a worker
 * from its core a while). */
static bool
wait_for(struct api_workq *q, int cls, int running, int depth)
{
    for (int i = 0; i < 10000; i++) {
        if (api_workq_running(q, cls) == running &&
            api_workq_depth(q, cls) == depth) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

static int
nran(struct cstate *st)
{
    pthread_mutex_lock(&st->mu);
    int n = st->nran;
    pthread_mutex_unlock(&st->mu);
    return n;
}

static void
release_all(struct cstate *st)
{
    pthread_mutex_lock(&st->mu);
    st->release = true;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Four workers; the slow class may hold two. Four blocking slow items:
 * two run, two wait, however long; a fast item still runs at once on a
 * free worker, and the slow class's full queue does not refuse it. */
static void
test_workq_class_cap(void **state)
{
    (void)state;
    struct cstate st = {.mu = PTHREAD_MUTEX_INITIALIZER,
                        .cv = PTHREAD_COND_INITIALIZER};
    const struct api_workq_class classes[2] = {
        {.max_queued = 4},
        {.max_queued = 2, .max_running = 2},
    };
    struct api_workq *q = NULL;
    assert_int_equal(api_workq_new(4, classes, 2, 10LL * 1000 * 1000 * 1000, 0,
                                   class_item, &st, &q),
                     RL_OK);
    struct citem slow[5], fast[2];
    for (int i = 0; i < 5; i++) {
        slow[i] = (struct citem){.id = 10 + i, .block = true};
    }
    /* Two to run, then two to wait (the class queues at most two). */
    for (int i = 0; i < 2; i++) {
        assert_true(api_workq_push(q, 1, &slow[i].work, NULL));
    }
    assert_true(wait_for(q, 1, 2, 0));
    for (int i = 2; i < 4; i++) {
        assert_true(api_workq_push(q, 1, &slow[i].work, NULL));
    }
    assert_true(wait_for(q, 1, 2, 2));
    assert_false(api_workq_push(q, 1, &slow[4].work, NULL)); /* full */
    assert_false(api_workq_push(q, 2, &slow[4].work, NULL)); /* no class */
    for (int i = 0; i < 2; i++) {
        fast[i] = (struct citem){.id = i};
        assert_true(api_workq_push(q, 0, &fast[i].work, NULL));
    }
    for (int i = 0; i < 10000 && nran(&st) < 2; i++) {
        usleep(1000);
    }
    assert_int_equal(nran(&st), 2); /* the fast two, past the slow four */
    assert_int_equal(api_workq_running(q, 1), 2);
    assert_int_equal(api_workq_depth(q, 1), 2);
    release_all(&st);
    api_workq_stop(q);
    assert_int_equal(st.nran, 6);
    assert_int_equal(st.nlate, 0);
    assert_int_equal(api_workq_running(q, 1), 0);
    api_workq_free(q);
}

/* One worker, held by a blocking item: what waits meanwhile runs first
 * class first, then each class in the order it came (FIFO); items that
 * waited past max_wait_ns run late; stop runs every queued one even when
 * a class is at its cap. */
static void
test_workq_class_order(void **state)
{
    (void)state;
    struct cstate st = {.mu = PTHREAD_MUTEX_INITIALIZER,
                        .cv = PTHREAD_COND_INITIALIZER};
    const struct api_workq_class classes[2] = {
        {.max_queued = 8},
        {.max_queued = 8, .max_running = 1},
    };
    struct api_workq *q = NULL;
    assert_int_equal(
        api_workq_new(1, classes, 2, 50 * 1000000LL, 0, class_item, &st, &q),
        RL_OK);
    struct citem hold = {.id = 99, .block = true};
    assert_true(api_workq_push(q, 1, &hold.work, NULL));
    assert_true(wait_for(q, 1, 1, 0));
    struct citem it[6];
    const int cls[6] = {1, 0, 1, 0, 1, 0};
    for (int i = 0; i < 6; i++) {
        it[i] = (struct citem){.id = i};
        assert_true(api_workq_push(q, cls[i], &it[i].work, NULL));
    }
    assert_int_equal(api_workq_depth(q, 0), 3);
    assert_int_equal(api_workq_depth(q, 1), 3);
    usleep(100 * 1000); /* all six are now past their bound */
    release_all(&st);
    api_workq_stop(q);
    const int want[7] = {99, 1, 3, 5, 0, 2, 4};
    assert_int_equal(st.nran, 7);
    assert_memory_equal(st.order, want, sizeof(want));
    assert_int_equal(st.nlate, 6);
    assert_int_equal(api_workq_depth(q, 0), 0);
    api_workq_free(q);
    assert_int_equal(api_workq_new(1, classes, 0, 1, 0, class_item, &st, &q),
                     RL_ERR_INVALID);
}

static void
test_percent_decode(void **state)
{
    (void)state;
    char out[64];
    size_t n = rl_percent_decode("/v1/movies/36%00", 16, out);
    assert_int_equal(n, 14);
    assert_memory_equal(out, "/v1/movies/36\0", 14);
    n = rl_percent_decode("%41%4a%2f+%zz%4", 15, out);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "AJ/+%zz%4", 9);
    n = rl_percent_decode("%", 1, out);
    assert_int_equal(n, 1);
    assert_int_equal(rl_hex_value('F'), 15);
    assert_int_equal(rl_hex_value('g'), -1);
}

static void
test_http_syntax(void **state)
{
    (void)state;
    assert_true(api_http_is_token("GET", 3));
    assert_true(api_http_is_token("X-Custom_1.a~", 13));
    assert_false(api_http_is_token("", 0));
    assert_false(api_http_is_token("G\xe8T", 3));
    assert_false(api_http_is_token("G T", 3));
    assert_false(api_http_is_token("GE\0T", 4));
    assert_true(api_http_field_ok("X-A", 3, "a\tb c\x80", 6));
    assert_false(api_http_field_ok("X-A", 3, "a\x01b", 3));
    assert_false(api_http_field_ok("X-A", 3, "a\x7f", 2));
    assert_false(api_http_field_ok("X A", 3, "v", 1));
    assert_true(api_http_content_length_ok("0"));
    assert_true(api_http_content_length_ok("42"));
    assert_true(api_http_content_length_ok("42, 42"));
    assert_true(api_http_content_length_ok("42, 42, 42"));
    assert_false(api_http_content_length_ok("42, 43"));
    assert_false(api_http_content_length_ok("42, 420"));
    assert_false(api_http_content_length_ok("4, 42"));
    assert_false(api_http_content_length_ok("+42"));
    assert_false(api_http_content_length_ok(""));
    assert_false(api_http_content_length_ok("42,42"));
}

/* A body grows with what arrives, keeps API_MAX_BODY bytes and counts the
 * rest; the budget is charged before each growth and refuses one past its
 * max, leaving the body as it was; freeing gives every byte back. */
static void
test_body_budget(void **state)
{
    (void)state;
    struct api_body_budget budget = {.max = 8192};
    atomic_init(&budget.used, 0);
    struct api_body b;
    api_body_init(&b);
    assert_int_equal(api_body_append(&b, &budget, "abc", 3), API_BODY_OK);
    assert_string_equal(b.buf.data, "abc");
    assert_int_equal(atomic_load(&budget.used), b.buf.cap);
    static char chunk[6000];
    memset(chunk, 'x', sizeof(chunk));
    /* Growing to 8192 bytes for 6003 + NUL fits the budget exactly. */
    assert_int_equal(api_body_append(&b, &budget, chunk, sizeof(chunk)),
                     API_BODY_OK);
    assert_int_equal(b.buf.len, 6003);
    assert_int_equal(atomic_load(&budget.used), 8192);
    /* A second body cannot grow at all. */
    struct api_body other;
    api_body_init(&other);
    assert_int_equal(api_body_append(&other, &budget, "a", 1), API_BODY_BUSY);
    assert_null(other.buf.data);
    assert_int_equal(atomic_load(&budget.used), 8192);
    /* Nor can the first past its capacity; what it held stays. */
    assert_int_equal(api_body_append(&b, &budget, chunk, 4000), API_BODY_BUSY);
    assert_int_equal(b.buf.len, 6003);
    assert_int_equal(b.buf.data[6003], '\0');
    api_body_free(&b, &budget);
    api_body_free(&other, &budget);
    assert_int_equal(atomic_load(&budget.used), 0);

    /* Past API_MAX_BODY: truncated, the rest only counted. */
    budget.max = (size_t)4 * API_MAX_BODY;
    api_body_init(&b);
    char *big = malloc(API_MAX_BODY - 1);
    assert_non_null(big);
    memset(big, 'y', API_MAX_BODY - 1);
    assert_int_equal(api_body_append(&b, &budget, big, API_MAX_BODY - 1),
                     API_BODY_OK);
    assert_false(b.truncated);
    assert_int_equal(api_body_append(&b, &budget, "zz", 2), API_BODY_OK);
    assert_true(b.truncated);
    assert_int_equal(b.buf.len, API_MAX_BODY);
    assert_int_equal(b.buf.data[API_MAX_BODY - 1], 'z');
    assert_int_equal(api_body_append(&b, &budget, big, 100), API_BODY_OK);
    assert_int_equal(b.buf.len, API_MAX_BODY);
    assert_int_equal(b.received, API_MAX_BODY + 1 + 100);
    assert_true(b.buf.cap <= API_MAX_BODY + 1);
    assert_int_equal(atomic_load(&budget.used), b.buf.cap);
    free(big);
    api_body_free(&b, &budget);
    assert_int_equal(atomic_load(&budget.used), 0);
    assert_null(b.buf.data);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_address_limit),
        cmocka_unit_test(test_exempt_addresses),
        cmocka_unit_test(test_table_churn),
        cmocka_unit_test(test_reaper_shuts_down_late_sockets),
        cmocka_unit_test(test_workq_bounds),
        cmocka_unit_test(test_workq_class_cap),
        cmocka_unit_test(test_workq_class_order),
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_http_syntax),
        cmocka_unit_test(test_body_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
