/*
 * jwt.c — HS256 JWT signing and verification with a list of keys (key
 * rotation: the first signs, all verify, the "kid" header picks one). No
 * state; every buffer lives on the stack (tokens are capped at
 * RL_JWT_MAX_LEN) or is a jansson value released before return. Keys are
 * never copied or logged: struct rl_jwt_secret borrows the configuration's
 * bytes.
 */
#include "internal/jwt/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/hex.h"
#include "internal/base/list.h"
#include "internal/base/parse.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* The kid's hash context: a kid means nothing outside Redlight's JWTs. */
static const unsigned char kid_context[crypto_generichash_KEYBYTES] =
    "redlight jwt key id, version 1!";

int
rl_jwt_looks_like(const char *s, size_t len)
{
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        dots += s[i] == '.';
    }
    return dots == 2;
}

void
rl_jwt_kid(const unsigned char *key, size_t len, char out[RL_JWT_KID_LEN + 1])
{
    unsigned char h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof(h), key, len, kid_context,
                       sizeof(kid_context));
    rl_hex_encode(h, RL_JWT_KID_LEN / 2, out);
    out[RL_JWT_KID_LEN] = '\0';
}

enum rl_err
rl_jwt_keys_parse(const char *list, const char *issuer, const char *audience,
                  struct rl_jwt_keys *out)
{
    memset(out, 0, sizeof(*out));
    out->issuer = issuer;
    out->audience = audience;
    const char *pos = list;
    const char *item;
    size_t len;
    while (rl_list_next(&pos, &item, &len)) {
        if (out->n == RL_JWT_MAX_KEYS) {
            return RL_ERR_TOO_LARGE;
        }
        if (len < RL_JWT_MIN_KEY) {
            return RL_ERR_INVALID;
        }
        struct rl_jwt_secret *k = &out->keys[out->n++];
        k->bytes = (const unsigned char *)item;
        k->len = len;
        rl_jwt_kid(k->bytes, k->len, k->kid);
    }
    return RL_OK;
}

static void
mac(const struct rl_jwt_secret *key, const char *data, size_t len,
    unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

enum rl_err
rl_jwt_sign(const struct rl_jwt_keys *keys, int64_t sub, int64_t now,
            int64_t ttl, char *out, size_t cap)
{
    if (keys->n == 0 || keys->keys[0].len < RL_JWT_MIN_KEY ||
        cap > 0x7fffffff) {
        return RL_ERR_INVALID;
    }
    const struct rl_jwt_secret *key = &keys->keys[0];
    char header[64];
    int hn = snprintf(header, sizeof(header),
                      "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                      key->kid);
    if (hn < 0 || (size_t)hn >= sizeof(header)) {
        return RL_ERR_INVALID;
    }
    char sub_s[24];
    snprintf(sub_s, sizeof(sub_s), "%lld", (long long)sub);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "sub", sub_s,
                               "iss", keys->issuer, "aud", keys->audience,
                               "iat", (json_int_t)now, "nbf", (json_int_t)now,
                               "exp", (json_int_t)now + (json_int_t)ttl);
    if (claims == NULL) {
        return RL_ERR_NOMEM;
    }
    char payload[1024];
    size_t plen = json_dumpb(claims, payload, sizeof(payload), JSON_COMPACT);
    json_decref(claims);
    if (plen == 0 || plen >= sizeof(payload)) {
        return RL_ERR_INVALID;
    }
    size_t h64 = sodium_base64_ENCODED_LEN((size_t)hn, B64);
    size_t p64 = sodium_base64_ENCODED_LEN(plen, B64);
    size_t s64 = sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, B64);
    if (h64 + p64 + s64 > cap) { /* each counts its NUL: room for the dots */
        return RL_ERR_INVALID;
    }
    sodium_bin2base64(out, h64, (const unsigned char *)header, (size_t)hn, B64);
    size_t hlen = strlen(out);
    out[hlen] = '.';
    sodium_bin2base64(out + hlen + 1, p64, (const unsigned char *)payload, plen,
                      B64);
    size_t signed_len = strlen(out);
    unsigned char sig[crypto_auth_hmacsha256_BYTES];
    mac(key, out, signed_len, sig);
    out[signed_len] = '.';
    sodium_bin2base64(out + signed_len + 1, s64, sig, sizeof(sig), B64);
    return RL_OK;
}

/* Decodes one base64url part into a JSON object (caller decrefs). */
static json_t *
decode_part(const char *s, size_t len)
{
    unsigned char buf[RL_JWT_MAX_LEN];
    size_t n;
    if (sodium_base642bin(buf, sizeof(buf), s, len, NULL, &n, NULL, B64) != 0) {
        return NULL;
    }
    json_t *v = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* A NumericDate claim in whole seconds: an integer, or a real taken as
 * its floor and clamped to int64_t (a cast of an out-of-range double is
 * undefined). */
static int
int_claim(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v); /* jansson refuses NaN and inf */
        if (d >= 9223372036854775807.0) {
            *out = INT64_MAX;
        } else if (d <= -9223372036854775808.0) {
            *out = INT64_MIN;
        } else {
            int64_t t = (int64_t)d;
            *out = (double)t > d ? t - 1 : t;
        }
        return 1;
    }
    return 0;
}

static enum rl_jwt_result
check_claims(const struct rl_jwt_keys *key, const json_t *c, int64_t now,
             int64_t skew, struct rl_jwt_claims *out)
{
    const json_t *iss = json_object_get(c, "iss");
    if (!json_is_string(iss) ||
        strcmp(json_string_value(iss), key->issuer) != 0) {
        return RL_JWT_BAD_CLAIMS;
    }
    const json_t *aud = json_object_get(c, "aud");
    int aud_ok = 0;
    if (json_is_string(aud)) {
        aud_ok = strcmp(json_string_value(aud), key->audience) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        const json_t *a;
        json_array_foreach(aud, i, a)
        {
            aud_ok |= json_is_string(a) &&
                      strcmp(json_string_value(a), key->audience) == 0;
        }
    }
    if (!aud_ok) {
        return RL_JWT_BAD_CLAIMS;
    }
    const json_t *s = json_object_get(c, "sub");
    const char *sv = json_string_value(s);
    if (sv == NULL || *sv < '1' || *sv > '9') {
        return RL_JWT_BAD_CLAIMS;
    }
    int64_t id;
    if (rl_parse_i64(sv, 0, 1, INT64_MAX, NULL, &id) != RL_OK) {
        return RL_JWT_BAD_CLAIMS;
    }
    int64_t exp, nbf, iat;
    if (!int_claim(c, "exp", &exp)) {
        return RL_JWT_BAD_CLAIMS;
    }
    if (exp <= now - skew) {
        return RL_JWT_EXPIRED;
    }
    if (int_claim(c, "nbf", &nbf) && nbf > now + skew) {
        return RL_JWT_NOT_YET;
    }
    if (!int_claim(c, "iat", &iat)) {
        iat = RL_JWT_NO_IAT;
    } else if (iat > now + skew) {
        return RL_JWT_NOT_YET;
    }
    out->sub = id;
    out->iat = iat;
    return RL_JWT_OK;
}

/* Reads the header: alg must be HS256 (no "crit"); *kid is the kid (a
 * string, NUL-terminated, in buf) or NULL when there is none. */
static enum rl_jwt_result
read_header(const char *h64, size_t len, char *buf, size_t cap,
            const char **kid)
{
    json_t *header = decode_part(h64, len);
    if (header == NULL) {
        return RL_JWT_MALFORMED;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    int alg_ok = alg != NULL && strcmp(alg, "HS256") == 0 &&
                 json_object_get(header, "crit") == NULL;
    const json_t *k = json_object_get(header, "kid");
    enum rl_jwt_result r = alg_ok ? RL_JWT_OK : RL_JWT_BAD_ALG;
    *kid = NULL;
    if (r == RL_JWT_OK && k != NULL) {
        size_t n = json_string_length(k);
        if (!json_is_string(k) || n >= cap ||
            memchr(json_string_value(k), 0, n) != NULL) {
            r = RL_JWT_MALFORMED;
        } else {
            memcpy(buf, json_string_value(k), n + 1);
            *kid = buf;
        }
    }
    json_decref(header);
    return r;
}

enum rl_jwt_result
rl_jwt_verify(const struct rl_jwt_keys *keys, const char *token, size_t len,
              int64_t now, int64_t skew, struct rl_jwt_claims *out)
{
    if (len == 0 || len > RL_JWT_MAX_LEN || keys->n == 0) {
        return RL_JWT_MALFORMED;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 =
        dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot1 == NULL || dot2 == NULL ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
        return RL_JWT_MALFORMED;
    }
    char kidbuf[RL_JWT_MAX_LEN];
    const char *kid;
    enum rl_jwt_result r = read_header(token, (size_t)(dot1 - token), kidbuf,
                                       sizeof(kidbuf), &kid);
    if (r != RL_JWT_OK) {
        return r;
    }
    unsigned char sig[crypto_auth_hmacsha256_BYTES];
    size_t siglen;
    const char *sig64 = dot2 + 1;
    size_t sig64_len = len - (size_t)(sig64 - token);
    if (sodium_base642bin(sig, sizeof(sig), sig64, sig64_len, NULL, &siglen,
                          NULL, B64) != 0 ||
        siglen != sizeof(sig)) {
        return RL_JWT_BAD_SIG;
    }
    /* Every candidate key is tried, a match or not, so the time taken does
     * not say which one signed. */
    int matched = 0;
    for (size_t i = 0; i < keys->n && i < RL_JWT_MAX_KEYS; i++) {
        const struct rl_jwt_secret *k = &keys->keys[i];
        if (k->len < RL_JWT_MIN_KEY ||
            (kid != NULL && strcmp(kid, k->kid) != 0)) {
            continue;
        }
        unsigned char want[crypto_auth_hmacsha256_BYTES];
        mac(k, token, (size_t)(dot2 - token), want);
        matched |= sodium_memcmp(sig, want, sizeof(sig)) == 0;
    }
    if (!matched) {
        return RL_JWT_BAD_SIG;
    }
    json_t *claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (claims == NULL) {
        return RL_JWT_MALFORMED;
    }
    r = check_claims(keys, claims, now, skew, out);
    json_decref(claims);
    return r;
}
