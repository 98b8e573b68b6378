/*
 * jwt.c — HS256 JWT signing and verification. No state; every buffer lives
 * on the stack (tokens are capped at RL_JWT_MAX_LEN) or is a jansson value
 * released before return.
 */
#include "internal/jwt/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/parse.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
/* = base64url('{"alg":"HS256","typ":"JWT"}') */

int
rl_jwt_looks_like(const char *s, size_t len)
{
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        dots += s[i] == '.';
    }
    return dots == 2;
}

static void
mac(const struct rl_jwt_key *key, const char *data, size_t len,
    unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->secret, key->len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

enum rl_err
rl_jwt_sign(const struct rl_jwt_key *key, int64_t sub, int64_t now, int64_t ttl,
            char *out, size_t cap)
{
    if (key->len < RL_JWT_MIN_KEY || cap > 0x7fffffff) {
        return RL_ERR_INVALID;
    }
    char sub_s[24];
    snprintf(sub_s, sizeof(sub_s), "%lld", (long long)sub);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "sub", sub_s,
                               "iss", key->issuer, "aud", key->audience, "iat",
                               (json_int_t)now, "nbf", (json_int_t)now, "exp",
                               (json_int_t)now + (json_int_t)ttl);
    if (claims == NULL) {
        return RL_ERR_NOMEM;
    }
    char payload[1024];
    size_t plen = json_dumpb(claims, payload, sizeof(payload), JSON_COMPACT);
    json_decref(claims);
    if (plen == 0 || plen >= sizeof(payload)) {
        return RL_ERR_INVALID;
    }
    size_t hlen = sizeof(header_b64) - 1;
    size_t p64 = sodium_base64_ENCODED_LEN(plen, B64);
    size_t s64 = sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, B64);
    if (hlen + 1 + p64 + 1 + s64 > cap) {
        return RL_ERR_INVALID;
    }
    memcpy(out, header_b64, hlen);
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
check_claims(const struct rl_jwt_key *key, const json_t *c, int64_t now,
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

enum rl_jwt_result
rl_jwt_verify(const struct rl_jwt_key *key, const char *token, size_t len,
              int64_t now, int64_t skew, struct rl_jwt_claims *out)
{
    if (len == 0 || len > RL_JWT_MAX_LEN || key->len < RL_JWT_MIN_KEY) {
        return RL_JWT_MALFORMED;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 =
        dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot1 == NULL || dot2 == NULL ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
        return RL_JWT_MALFORMED;
    }
    json_t *header = decode_part(token, (size_t)(dot1 - token));
    if (header == NULL) {
        return RL_JWT_MALFORMED;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    int alg_ok = alg != NULL && strcmp(alg, "HS256") == 0 &&
                 json_object_get(header, "crit") == NULL;
    json_decref(header);
    if (!alg_ok) {
        return RL_JWT_BAD_ALG;
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
    unsigned char want[crypto_auth_hmacsha256_BYTES];
    mac(key, token, (size_t)(dot2 - token), want);
    if (sodium_memcmp(sig, want, sizeof(sig)) != 0) {
        return RL_JWT_BAD_SIG;
    }
    json_t *claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (claims == NULL) {
        return RL_JWT_MALFORMED;
    }
    enum rl_jwt_result r = check_claims(key, claims, now, skew, out);
    json_decref(claims);
    return r;
}
