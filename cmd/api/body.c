/*
 * body.c — a request body as it arrives (body.h). The buffer is an rl_buf
 * on the heap; every byte of its capacity is charged to the shared budget
 * before the buffer grows to it, and given back by api_body_free.
 */
#include "cmd/api/body.h"

#include "cmd/api/request.h"

void
api_body_init(struct api_body *b)
{
    rl_buf_init(&b->buf, API_MAX_BODY, NULL);
    b->received = 0;
    b->truncated = false;
}

enum api_body_result
api_body_append(struct api_body *b, struct api_body_budget *budget,
                const char *data, size_t n)
{
    b->received += n;
    if (b->truncated) {
        return API_BODY_OK;
    }
    size_t room = API_MAX_BODY - b->buf.len;
    if (n > room) {
        b->truncated = true;
        n = room;
    }
    size_t cap = rl_buf_cap_for(&b->buf, n); /* n fits under max */
    if (cap == 0) {
        return API_BODY_NOMEM; /* an earlier add failed and it sticks */
    }
    size_t grow = cap - b->buf.cap;
    if (grow > 0 &&
        atomic_fetch_add(&budget->used, grow) + grow > budget->max) {
        atomic_fetch_sub(&budget->used, grow);
        return API_BODY_BUSY;
    }
    if (rl_buf_add(&b->buf, data, n) != RL_OK) {
        atomic_fetch_sub(&budget->used, grow);
        return API_BODY_NOMEM;
    }
    return API_BODY_OK;
}

void
api_body_free(struct api_body *b, struct api_body_budget *budget)
{
    if (b->buf.cap != 0) {
        atomic_fetch_sub(&budget->used, b->buf.cap);
    }
    rl_buf_free(&b->buf);
}
