/*
 * body.h — a request body as it arrives, in one capped buffer
 * (internal/base/buf.h) whose memory is charged to a budget that all the
 * bodies being received share.
 *
 * server.c appends each upload chunk libmicrohttpd hands it and points the
 * request's body at the buffer; past API_MAX_BODY bytes the rest is only
 * counted (the handler answers the contract's 413). A chunk that would grow
 * the buffers past the budget is refused, so a flood of large uploads is
 * answered 503 instead of exhausting memory.
 *
 * Thread-safety: a body belongs to one request (one thread at a time); the
 * budget's count is atomic and may be shared by every thread.
 */
#ifndef REDLIGHT_CMD_API_BODY_H
#define REDLIGHT_CMD_API_BODY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "internal/base/buf.h"

/* The bytes of body buffers allocated, all requests together, and the most
 * they may take. */
struct api_body_budget {
    atomic_size_t used;
    size_t max;
};

struct api_body {
    struct rl_buf buf; /* heap memory, NUL-terminated, ≤ API_MAX_BODY bytes */
    size_t received;   /* every byte the client sent, kept or not */
    bool truncated;    /* it sent more than API_MAX_BODY */
};

enum api_body_result { API_BODY_OK, API_BODY_NOMEM, API_BODY_BUSY };

/* Makes b empty; allocates nothing yet. */
void api_body_init(struct api_body *b);

/* Appends the n bytes at data (past API_MAX_BODY, only counts them),
 * charging the buffer's growth to budget first. API_BODY_BUSY when the
 * growth would take the budget past its max, API_BODY_NOMEM when malloc
 * fails; either way b keeps what it held. */
enum api_body_result api_body_append(struct api_body *b,
                                     struct api_body_budget *budget,
                                     const char *data, size_t n) RL_MUST_CHECK;

/* Frees b's buffer and gives its bytes back to budget; b is then empty. */
void api_body_free(struct api_body *b, struct api_body_budget *budget);

#endif
