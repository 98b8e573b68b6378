/*
 * schema.c — pass 2 of the JSON reader: the top-level object against the
 * caller's fields, like Go's decodeState.object into a struct with
 * DisallowUnknownFields, plus duplicate keys. Builds jansson values only for
 * keys in the schema, and only as much of them as the schema can use (a
 * string array up to its max_items + 1 elements, a custom value only when it
 * has at most RL_JIN_CUSTOM_MAX_ITEMS nodes); what is not built is still
 * walked, so every message is the one Go would give. Owns nothing past the
 * call: the object goes to out->object or is released.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "internal/jsonin/jsonin_int.h"

static const struct rl_jin_field *
find_field(const struct rl_jin_field *fields, size_t nfields, const char *key,
           size_t n)
{
    for (size_t k = 0; k < nfields; k++) {
        if (strncmp(fields[k].name, key, n) == 0 && fields[k].name[n] == '\0') {
            return &fields[k];
        }
    }
    return NULL;
}

/* Whether the validated array at b[i] ('[') holds only strings. */
static bool
all_strings(const unsigned char *b, size_t len, size_t i)
{
    i = rl_jin_skip_ws(b, len, i + 1);
    if (b[i] == ']') {
        return true;
    }
    for (;;) {
        if (b[i] != '"') {
            return false;
        }
        i = rl_jin_skip_ws(b, len, rl_jin_string_end(b, i));
        if (b[i] == ']') {
            return true;
        }
        i = rl_jin_skip_ws(b, len, i + 1);
    }
}

/* Whether the non-null value b[i..end) has the JSON type kind asks for
 * (RL_JIN_CUSTOM is checked by its own function). */
static bool
type_ok(const struct rl_jin_ctx *c, enum rl_jin_kind kind, size_t i, size_t end)
{
    const unsigned char *b = c->b;
    json_int_t v;

    switch (kind) {
    case RL_JIN_STRING:
        return b[i] == '"';
    case RL_JIN_INT32:
        return (b[i] == '-' || rl_jin_is_digit(b[i])) &&
               rl_jin_parse_int64(b, i, end, &v) && v >= INT32_MIN &&
               v <= INT32_MAX;
    case RL_JIN_STRING_ARRAY:
        return b[i] == '[' && all_strings(b, c->len, i);
    case RL_JIN_CUSTOM:
    case RL_JIN_CUSTOM_STRING:
        break;
    }
    return true;
}

/*
 * Go's decodeState.object into a struct with DisallowUnknownFields, plus
 * duplicate keys: the first duplicate / unknown / wrong-type error in
 * document order is kept while the walk goes on, because a failing custom
 * check (Go: an UnmarshalJSON error) ends the walk and wins. i is at '{'.
 */
void
rl_jin_check_object(struct rl_jin_ctx *c, size_t i,
                    const struct rl_jin_field *fields, size_t nfields,
                    struct rl_jin_result *out)
{
    const unsigned char *b = c->b;
    json_t *obj = json_object();
    bool saved = false;

    if (obj == NULL) {
        goto nomem;
    }
    i = rl_jin_skip_ws(b, c->len, i + 1);
    while (b[i] != '}') {
        size_t kpos = i;
        size_t colon = rl_jin_skip_ws(b, c->len, rl_jin_string_end(b, i));
        size_t vpos = rl_jin_skip_ws(b, c->len, colon + 1);
        size_t items = 0;
        size_t vend = rl_jin_skip_value(b, c->len, vpos, &items);
        size_t klen = rl_jin_decode_string(c, kpos);
        if (klen == SIZE_MAX) {
            goto nomem;
        }
        const struct rl_jin_field *f =
            find_field(fields, nfields, c->scratch, klen);

        /* Until something is saved, every key seen so far was a known
         * field and went into obj, so obj is the duplicate detector. */
        if (!saved && f != NULL &&
            json_object_getn(obj, c->scratch, klen) != NULL) {
            rl_jin_set_key_message(out, "duplicate key", c->scratch, klen);
            saved = true;
        } else if (!saved && f == NULL) {
            rl_jin_set_key_message(out, "unknown key", c->scratch, klen);
            saved = true;
        }
        if (f != NULL && b[vpos] == 'n') {
            if (!saved &&
                json_object_set_new_nocheck(obj, f->name, json_null()) != 0) {
                goto nomem;
            }
        } else if (f != NULL && (f->kind == RL_JIN_CUSTOM ||
                                 f->kind == RL_JIN_CUSTOM_STRING)) {
            json_t *v = NULL;
            if ((f->kind == RL_JIN_CUSTOM || b[vpos] == '"') &&
                items <= RL_JIN_CUSTOM_MAX_ITEMS) {
                size_t at = vpos;
                v = rl_jin_build_value(c, &at);
                if (v == NULL) {
                    goto nomem;
                }
            }
            if (v == NULL || f->check == NULL || !f->check(v)) {
                json_decref(v);
                json_decref(obj);
                if (f->custom_message != NULL) {
                    rl_jin_set_message(out, "%s", f->custom_message);
                } else {
                    rl_jin_set_key_message(out, "incorrect JSON type for field",
                                           f->name, strlen(f->name));
                }
                return;
            }
            if (saved) {
                json_decref(v);
            } else if (json_object_set_new_nocheck(obj, f->name, v) != 0) {
                goto nomem;
            }
        } else if (f != NULL && !saved) {
            if (!type_ok(c, f->kind, vpos, vend)) {
                rl_jin_set_key_message(out, "incorrect JSON type for field",
                                       f->name, strlen(f->name));
                saved = true;
            } else {
                size_t at = vpos;
                json_t *v;
                if (f->kind == RL_JIN_STRING_ARRAY) {
                    size_t keep = f->max_items == 0 || f->max_items == SIZE_MAX
                                      ? SIZE_MAX
                                      : f->max_items + 1;
                    v = rl_jin_build_string_array(c, vpos, keep);
                } else {
                    v = rl_jin_build_value(c, &at);
                }
                if (v == NULL ||
                    json_object_set_new_nocheck(obj, f->name, v) != 0) {
                    goto nomem;
                }
            }
        }
        i = rl_jin_skip_ws(b, c->len, vend);
        if (b[i] == ',') {
            i = rl_jin_skip_ws(b, c->len, i + 1);
        }
    }
    if (saved) {
        json_decref(obj);
        return;
    }
    for (size_t k = 0; k < nfields; k++) {
        if (json_is_null(json_object_get(obj, fields[k].name))) {
            (void)json_object_del(obj, fields[k].name);
        }
    }
    out->object = obj;
    out->status = RL_JIN_OK;
    return;
nomem:
    json_decref(obj);
    out->message[0] = '\0';
    out->status = RL_JIN_NOMEM;
}
