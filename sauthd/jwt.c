/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

#define JWT_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define JWT_ALG "EdDSA"
#define JWT_TYP "JWT"

/* jansson's own cleanup helper (2.11 and later); takes NULL. */
#define _cleanup_json_ _cleanup_(json_decrefp)

void jwt_claims_done(JwtClaims *c) {
        if (!c)
                return;
        free(c->iss);
        free(c->sub);
        free(c->acc);
        free(c->jti);
        strv_free(c->auth);
        free(c->method);
        free(c->identity);
        *c = (JwtClaims) {};
}

void jwt_new_jti(char out[static JWT_JTI_LEN + 1]) {
        unsigned char raw[16];

        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(out, JWT_JTI_LEN + 1, raw, sizeof raw, JWT_B64);
}

/* ---- signing ---- */

static bool jwt_string_ok(const char *s) {
        return s && *s && strnlen(s, JWT_STRING_MAX + 1) <= JWT_STRING_MAX;
}

static int jwt_claims_check(const JwtClaims *c) {
        size_t n = 0;

        if (!jwt_string_ok(c->iss) || !jwt_string_ok(c->sub) || !jwt_string_ok(c->acc) ||
            !jwt_string_ok(c->jti) || !jwt_string_ok(c->method))
                return -EINVAL;
        if (c->identity && !jwt_string_ok(c->identity))
                return -EINVAL;
        if (c->exp <= c->iat || c->exp > INT64_MAX)
                return -EINVAL;
        for (char **r = c->auth; r && *r; r++, n++)
                if (n >= JWT_ROLES_MAX || !jwt_string_ok(*r))
                        return -EINVAL;
        return 0;
}

static json_t *jwt_claims_json(const JwtClaims *c) {
        _cleanup_json_ json_t *auth = json_array(), *o = NULL;

        if (!auth)
                return NULL;
        for (char **r = c->auth; r && *r; r++)
                /* json_string() is NULL for text that is not UTF-8. */
                if (json_array_append_new(auth, json_string(*r)) < 0)
                        return NULL;
        /* "O" takes its own reference: auth is still released below. */
        o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:O, s:s}",
                      "iss", c->iss, "sub", c->sub, "acc", c->acc, "jti", c->jti,
                      "iat", (json_int_t) c->iat, "exp", (json_int_t) c->exp,
                      "auth", auth, "method", c->method);
        if (!o)
                return NULL;
        if (c->identity && json_object_set_new(o, "identity", json_string(c->identity)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* Appends base64url(JSON of j) at out + *pos; out has JWT_MAX + 1 bytes. */
static int jwt_put_json(char *out, size_t *pos, const json_t *j) {
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t len;

        if (!text)
                return -EINVAL;
        len = strlen(text);
        if (sodium_base64_ENCODED_LEN(len, JWT_B64) > JWT_MAX + 1 - *pos)
                return -E2BIG;
        sodium_bin2base64(out + *pos, JWT_MAX + 1 - *pos, (const unsigned char *) text, len, JWT_B64);
        *pos += strlen(out + *pos);
        return 0;
}

/* Signs the header and payload segments at out and appends ".SIGNATURE". */
static int jwt_put_signature(char *out, size_t *pos, const SigningKey *key) {
        unsigned char sig[crypto_sign_BYTES];
        int r;

        if (1 + sodium_base64_ENCODED_LEN(sizeof sig, JWT_B64) > JWT_MAX + 1 - *pos)
                return -E2BIG;
        r = keys_sign(key, (const unsigned char *) out, *pos, sig);
        if (r < 0)
                return r;
        out[(*pos)++] = '.';
        sodium_bin2base64(out + *pos, JWT_MAX + 1 - *pos, sig, sizeof sig, JWT_B64);
        *pos += strlen(out + *pos);
        return 0;
}

int jwt_sign(const JwtClaims *c, const SigningKey *key, char **ret) {
        _cleanup_json_ json_t *header = NULL, *payload = NULL;
        _cleanup_free_ char *out = NULL;
        size_t pos = 0;
        int r;

        if (!c || !key || !ret)
                return -EINVAL;
        if (!key->secret_key)
                return -ENOKEY;
        r = jwt_claims_check(c);
        if (r < 0)
                return r;
        header = json_pack("{s:s, s:s, s:s}", "alg", JWT_ALG, "typ", JWT_TYP, "kid", key->kid);
        payload = jwt_claims_json(c);
        out = malloc(JWT_MAX + 1);
        if (!header || !out)
                return -ENOMEM;
        if (!payload)
                return -EINVAL; /* a string that is not UTF-8 */

        r = jwt_put_json(out, &pos, header);
        if (r < 0)
                return r;
        out[pos++] = '.';
        r = jwt_put_json(out, &pos, payload);
        if (r < 0)
                return r;
        r = jwt_put_signature(out, &pos, key);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- verification ---- */

typedef struct JwtParts {
        const char *seg[3];
        size_t len[3];
} JwtParts;

static int jwt_split(const char *token, size_t len, JwtParts *ret) {
        const char *p = token, *end = token + len;

        for (size_t i = 0; i < 3; i++) {
                const char *dot = memchr(p, '.', (size_t) (end - p));

                if ((i < 2) != (dot != NULL))
                        return -EBADMSG; /* not exactly three segments */
                ret->seg[i] = p;
                ret->len[i] = (size_t) ((dot ? dot : end) - p);
                if (ret->len[i] == 0)
                        return -EBADMSG;
                p = dot ? dot + 1 : end;
        }
        return 0;
}

/* Decodes one segment (canonical base64url, no padding, nothing after). */
static int jwt_decode(const char *s, size_t len, unsigned char *out, size_t out_size, size_t *ret_len) {
        const char *end = NULL;

        if (sodium_base642bin(out, out_size, s, len, NULL, ret_len, &end, JWT_B64) < 0 || end != s + len)
                return -EBADMSG;
        return 0;
}

static int jwt_parse_json(const char *s, size_t len, json_t **ret) {
        _cleanup_free_ unsigned char *buf = malloc(len);
        json_t *j;
        size_t n;

        if (!buf)
                return -ENOMEM;
        if (jwt_decode(s, len, buf, len, &n) < 0)
                return -EBADMSG;
        /* Without JSON_ALLOW_NUL and JSON_DECODE_ANY: no "\u0000" in strings,
         * and the text must be one object or array, with nothing after it. */
        j = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, NULL);
        if (!j)
                return -EBADMSG;
        if (!json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

/* The kid of an acceptable header; NULL if it is not one. */
static const char *jwt_header_kid(const json_t *h) {
        const char *name, *kid = NULL;
        bool alg = false;
        json_t *v;

        json_object_foreach((json_t *) h, name, v) {
                if (!json_is_string(v))
                        return NULL;
                if (streq(name, "alg"))
                        alg = streq(json_string_value(v), JWT_ALG);
                else if (streq(name, "kid"))
                        kid = json_string_value(v);
                else if (!streq(name, "typ") || !streq(json_string_value(v), JWT_TYP))
                        /* Anything else, "crit" included, we do not understand. */
                        return NULL;
        }
        return alg ? kid : NULL;
}

static int claim_string(const json_t *o, const char *name, bool required, char **ret) {
        const json_t *v = json_object_get(o, name);
        const char *s;

        if (!v || (!required && json_is_null(v)))
                return required ? -EBADMSG : 0;
        if (!json_is_string(v))
                return -EBADMSG;
        s = json_string_value(v);
        if (!*s || json_string_length(v) > JWT_STRING_MAX)
                return -EBADMSG;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int claim_time(const json_t *o, const char *name, uint64_t *ret) {
        const json_t *v = json_object_get(o, name);

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EBADMSG;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int claim_roles(const json_t *o, char ***ret) {
        const json_t *a = json_object_get(o, "auth");
        size_t n = json_array_size(a);
        char **l;

        if (!json_is_array(a) || n > JWT_ROLES_MAX)
                return -EBADMSG;
        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        *ret = l; /* partly filled on failure, freed with the claims */
        for (size_t i = 0; i < n; i++) {
                const json_t *v = json_array_get(a, i);

                if (!json_is_string(v) || !*json_string_value(v) || json_string_length(v) > JWT_STRING_MAX)
                        return -EBADMSG;
                l[i] = strdup(json_string_value(v));
                if (!l[i])
                        return -ENOMEM;
        }
        return 0;
}

static int jwt_claims_parse(const json_t *o, JwtClaims *c) {
        int r = 0;

        if (r >= 0) r = claim_string(o, "iss", true, &c->iss);
        if (r >= 0) r = claim_string(o, "sub", true, &c->sub);
        if (r >= 0) r = claim_string(o, "acc", true, &c->acc);
        if (r >= 0) r = claim_string(o, "jti", true, &c->jti);
        if (r >= 0) r = claim_string(o, "method", true, &c->method);
        if (r >= 0) r = claim_string(o, "identity", false, &c->identity);
        if (r >= 0) r = claim_time(o, "iat", &c->iat);
        if (r >= 0) r = claim_time(o, "exp", &c->exp);
        if (r >= 0) r = claim_roles(o, &c->auth);
        return r;
}

/* Header and signature; the payload is not looked at before this passes. */
static int jwt_check_signature(const char *token, const JwtParts *p, const Keyring *ring, uint64_t now) {
        _cleanup_json_ json_t *header = NULL;
        unsigned char sig[crypto_sign_BYTES];
        const SigningKey *key;
        const char *kid;
        size_t n;
        int r;

        r = jwt_parse_json(p->seg[0], p->len[0], &header);
        if (r < 0)
                return r;
        kid = jwt_header_kid(header);
        if (!kid)
                return -EBADMSG;
        if (p->len[2] != sodium_base64_ENCODED_LEN(sizeof sig, JWT_B64) - 1 ||
            jwt_decode(p->seg[2], p->len[2], sig, sizeof sig, &n) < 0 || n != sizeof sig)
                return -EBADMSG;
        key = keys_find(ring, kid, now);
        if (!key)
                return -ENOKEY;
        /* The signing input is the first two segments and the dot between. */
        if (crypto_sign_verify_detached(sig, (const unsigned char *) token,
                                        (size_t) (p->seg[2] - 1 - token), key->public_key) != 0)
                return -EKEYREJECTED;
        return 0;
}

static inline void jwt_claims_donep(JwtClaims *c) {
        jwt_claims_done(c);
}

int jwt_verify(const char *token, const Keyring *ring, const char *issuer, uint64_t now, JwtClaims *ret) {
        _cleanup_(jwt_claims_donep) JwtClaims c = {};
        _cleanup_json_ json_t *payload = NULL;
        JwtParts p;
        size_t len;
        int r;

        if (!token || !ring || !issuer || !ret)
                return -EINVAL;
        len = strnlen(token, JWT_MAX + 1);
        if (len > JWT_MAX || jwt_split(token, len, &p) < 0)
                return -EBADMSG;
        r = jwt_check_signature(token, &p, ring, now);
        if (r < 0)
                return r;

        r = jwt_parse_json(p.seg[1], p.len[1], &payload);
        if (r >= 0)
                r = jwt_claims_parse(payload, &c);
        if (r < 0)
                return r;
        if (!streq(c.iss, issuer))
                return -EREMOTE;
        if (c.exp <= now)
                return -ETIME;
        *ret = c;
        c = (JwtClaims) {}; /* handed over to *ret */
        return 0;
}
