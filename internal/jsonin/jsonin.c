/*
 * jsonin.c — the request-body JSON reader: a Go encoding/json emulation.
 *
 * Go's Decoder scans the whole first value before it unmarshals anything, so
 * the reader works in three passes over the caller's bytes, each only run
 * when the one before succeeded:
 *
 *   1. rl_jin_scan_first_value (scan.c): a validator that blames the same
 *      byte Go's scanner does (its grammar, its order of checks), plus
 *      Redlight's UTF-8, NUL and depth rules. Iterative, with a fixed
 *      1000-entry container stack. Its verdicts become messages in
 *      messages.c.
 *   2. rl_jin_check_object (schema.c): walks the top-level object's members
 *      in document order, like Go's decodeState.object into a struct, and
 *      builds jansson values (build.c) only for keys in the schema, and only
 *      as much of them as the schema can use. Values are built iteratively,
 *      so nothing recurses. What is not built is still walked, so every
 *      message and offset is the one Go would give.
 *   3. trailing data (here): only whitespace may follow the first value.
 *
 * Passes 2 and 3 read only bytes that pass 1 validated, which is why their
 * helpers do no bounds or syntax checks of their own.
 *
 * Ownership: every json_t made here is either handed to the caller in
 * out->object or released before rl_jin_read returns; the scratch buffer and
 * the builder's frame stack live in a struct rl_jin_ctx on this function's
 * stack and are freed on every exit path. No global state.
 */
#include "internal/jsonin/jsonin.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "internal/jsonin/jsonin_int.h"

enum rl_jin_status
rl_jin_read(const char *body, size_t len, bool truncated,
            const struct rl_jin_field *fields, size_t nfields,
            struct rl_jin_result *out)
{
    static const unsigned char nothing[1];
    struct rl_jin_ctx c = {.b = body != NULL ? (const unsigned char *)body
                                             : nothing,
                           .len = body != NULL ? len : 0};
    size_t start = 0, end = 0;

    out->status = RL_JIN_OK;
    out->object = NULL;
    out->message[0] = '\0';
    if (c.len > RL_JIN_MAX_BODY) {
        c.len = RL_JIN_MAX_BODY;
        truncated = true;
    }

    enum rl_jin_scan e = rl_jin_scan_first_value(c.b, c.len, &start, &end);
    if (e != RL_JIN_SCAN_OK) {
        rl_jin_report_scan_error(e, end, truncated, out);
        return out->status;
    }
    /* Go's scanner only knows a scalar has ended when it sees the next
     * byte; with the rest of the body discarded, it never does. */
    if (truncated && end == c.len && c.b[start] != '{' && c.b[start] != '[') {
        rl_jin_set_message(out, "%s", RL_JIN_MSG_TOO_LARGE);
        return out->status;
    }

    switch (c.b[start]) {
    case '{':
        rl_jin_check_object(&c, start, fields, nfields, out);
        break;
    case 'n':
        out->object = json_object();
        out->status = out->object != NULL ? RL_JIN_OK : RL_JIN_NOMEM;
        break;
    case '[':
        rl_jin_set_message(
            out, "body contains incorrect JSON type (at character %zu)",
            start + 1);
        break;
    default:
        rl_jin_set_message(
            out, "body contains incorrect JSON type (at character %zu)", end);
        break;
    }
    free(c.scratch);
    free(c.frames);
    if (out->status != RL_JIN_OK) {
        return out->status;
    }

    if (truncated || rl_jin_skip_ws(c.b, c.len, end) != c.len) {
        json_decref(out->object);
        out->object = NULL;
        rl_jin_set_message(out, "%s", RL_JIN_MSG_SINGLE);
    }
    return out->status;
}
