/*
 * helpers.c — reading a request's JSON body and :id parameter (helpers.h).
 */
#include "cmd/api/helpers.h"

#include <stdint.h>
#include <string.h>

#include "cmd/api/errors.h"
#include "internal/base/parse.h"

int
api_read_body(struct api_req *req, const struct rl_jin_field *fields,
              size_t nfields, json_t **in)
{
    *in = NULL;
    struct rl_jin_result r;
    enum rl_jin_status st =
        rl_jin_read(req->body ? req->body : "", req->body_len,
                    req->body_truncated, fields, nfields, &r);
    switch (st) {
    case RL_JIN_OK:
        if (api_keep(req, r.object) == NULL) {
            break;
        }
        *in = r.object;
        return API_CONTINUE;
    case RL_JIN_BAD:
        return api_reply_bad_request(req, r.message);
    case RL_JIN_NOMEM:
        break;
    }
    return api_reply_server_error(req, "reading body: out of memory");
}

int
api_read_id(struct api_req *req, const char *name, int64_t *id)
{
    for (int i = 0; i < req->nparams; i++) {
        if (strcmp(req->param_names[i], name) == 0) {
            const char *v = req->param_values[i];
            if (api_parse_id(v, strlen(v), id)) {
                return API_CONTINUE;
            }
            break;
        }
    }
    return api_reply_not_found(req);
}

bool
api_parse_id(const char *s, size_t len, int64_t *id)
{
    int64_t n;
    if (rl_parse_i64n(s, len, 0, 1, INT64_MAX, NULL, &n) != RL_OK) {
        return false;
    }
    *id = n;
    return true;
}
