/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto-loader.h"
#include "idtoken.h"

#define IDTOKEN_PART_MAX (64 * 1024)

typedef enum IdAlg { ALG_RS256, ALG_ES256, ALG_EDDSA } IdAlg;

/* jansson's own json_decrefp() (json_auto_t) takes NULL. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* base64url without padding into a new buffer (NUL added). */
static int b64url_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len) {
        size_t max = len * 3 / 4 + 1, n = 0;
        unsigned char *b;

        if (len == 0 || len > IDTOKEN_PART_MAX)
                return -EBADMSG;
        b = malloc(max + 1);
        if (!b)
                return -ENOMEM;
        if (sodium_base642bin(b, max, s, len, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
                free(b);
                return -EBADMSG;
        }
        b[n] = 0;
        *ret = b;
        *ret_len = n;
        return 0;
}

static int b64url_member(json_t *key, const char *name, unsigned char **ret, size_t *ret_len) {
        const char *s = json_string_value(json_object_get(key, name));

        if (!s)
                return -EBADMSG;
        return b64url_decode(s, strlen(s), ret, ret_len);
}

static int verify_rs256(json_t *key, const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen) {
        _cleanup_free_ unsigned char *nb = NULL, *eb = NULL;
        size_t nl, el;
        BIGNUM *n = NULL, *e = NULL;
        OSSL_PARAM_BLD *bld = NULL;
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        EVP_PKEY *pkey = NULL;
        EVP_MD_CTX *md = NULL;
        int r = -EKEYREJECTED;

        if (b64url_member(key, "n", &nb, &nl) < 0 || b64url_member(key, "e", &eb, &el) < 0)
                return -EBADMSG;
        /* Keys under 2048 bits are refused (RFC 7518 3.3). */
        if (nl < 256 || nl > 1024 || siglen != nl)
                return -EKEYREJECTED;
        n = sym_BN_bin2bn(nb, (int) nl, NULL);
        e = sym_BN_bin2bn(eb, (int) el, NULL);
        bld = sym_OSSL_PARAM_BLD_new();
        if (!n || !e || !bld || !sym_OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !sym_OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(params = sym_OSSL_PARAM_BLD_to_param(bld)))
                goto out;
        pctx = sym_EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (!pctx || sym_EVP_PKEY_fromdata_init(pctx) <= 0 ||
            sym_EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
                goto out;
        md = sym_EVP_MD_CTX_new();
        if (md && sym_EVP_DigestVerifyInit(md, NULL, sym_EVP_sha256(), NULL, pkey) == 1 &&
            sym_EVP_DigestVerify(md, sig, siglen, data, len) == 1)
                r = 0;
out:
        sym_EVP_MD_CTX_free(md);
        sym_EVP_PKEY_free(pkey);
        sym_EVP_PKEY_CTX_free(pctx);
        sym_OSSL_PARAM_free(params);
        sym_OSSL_PARAM_BLD_free(bld);
        sym_BN_free(n);
        sym_BN_free(e);
        return r;
}

static int verify_es256(json_t *key, const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen) {
        _cleanup_free_ unsigned char *xb = NULL, *yb = NULL, *der = NULL;
        unsigned char pub[65];
        size_t xl, yl;
        OSSL_PARAM params[3];
        EVP_PKEY_CTX *pctx = NULL;
        EVP_PKEY *pkey = NULL;
        EVP_MD_CTX *md = NULL;
        ECDSA_SIG *es = NULL;
        BIGNUM *br, *bs;
        int derlen, r = -EKEYREJECTED;

        if (!streq(json_string_value(json_object_get(key, "crv")) ?: "", "P-256") ||
            b64url_member(key, "x", &xb, &xl) < 0 || b64url_member(key, "y", &yb, &yl) < 0 ||
            xl != 32 || yl != 32 || siglen != 64)
                return -EKEYREJECTED;
        pub[0] = 0x04;
        memcpy(pub + 1, xb, 32);
        memcpy(pub + 33, yb, 32);
        params[0] = sym_OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
        params[1] = sym_OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
        params[2] = sym_OSSL_PARAM_construct_end();
        /* JOSE sends r || s; libcrypto wants DER. */
        es = sym_ECDSA_SIG_new();
        br = sym_BN_bin2bn(sig, 32, NULL);
        bs = sym_BN_bin2bn(sig + 32, 32, NULL);
        if (!es || !br || !bs || !sym_ECDSA_SIG_set0(es, br, bs)) {
                sym_BN_free(br);
                sym_BN_free(bs);
                goto out;
        }
        derlen = sym_i2d_ECDSA_SIG(es, &der);
        pctx = sym_EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (derlen <= 0 || !pctx || sym_EVP_PKEY_fromdata_init(pctx) <= 0 ||
            sym_EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
                goto out;
        md = sym_EVP_MD_CTX_new();
        if (md && sym_EVP_DigestVerifyInit(md, NULL, sym_EVP_sha256(), NULL, pkey) == 1 &&
            sym_EVP_DigestVerify(md, der, (size_t) derlen, data, len) == 1)
                r = 0;
out:
        if (der) {
                sym_CRYPTO_free(der, OPENSSL_FILE, OPENSSL_LINE);
                der = NULL;
        }
        sym_ECDSA_SIG_free(es);
        sym_EVP_MD_CTX_free(md);
        sym_EVP_PKEY_free(pkey);
        sym_EVP_PKEY_CTX_free(pctx);
        return r;
}

static int verify_eddsa(json_t *key, const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen) {
        _cleanup_free_ unsigned char *xb = NULL;
        size_t xl;

        if (!streq(json_string_value(json_object_get(key, "crv")) ?: "", "Ed25519") ||
            b64url_member(key, "x", &xb, &xl) < 0 || xl != crypto_sign_PUBLICKEYBYTES ||
            siglen != crypto_sign_BYTES)
                return -EKEYREJECTED;
        return crypto_sign_verify_detached(sig, data, len, xb) == 0 ? 0 : -EKEYREJECTED;
}

static const char *alg_kty(IdAlg a) {
        return a == ALG_RS256 ? "RSA" : a == ALG_ES256 ? "EC" : "OKP";
}

/* The key for kid (or the only key of the right type when there is no
 * kid); keys marked for another use than "sig" are passed over. */
static json_t *jwks_find(json_t *jwks, IdAlg alg, const char *kid) {
        json_t *keys = json_object_get(jwks, "keys"), *k, *found = NULL;
        size_t i;

        if (!json_is_array(keys))
                return NULL;
        json_array_foreach(keys, i, k) {
                const char *use = json_string_value(json_object_get(k, "use"));
                const char *kk = json_string_value(json_object_get(k, "kid"));

                if (!streq(json_string_value(json_object_get(k, "kty")) ?: "", alg_kty(alg)) ||
                    (use && !streq(use, "sig")))
                        continue;
                if (kid ? (kk && streq(kk, kid)) : !found)
                        found = k;
                else if (!kid)
                        return NULL;    /* several candidates and no kid: refuse */
        }
        return found;
}

static int idtoken_check_claims(json_t *p, const IdTokenCheck *chk) {
        json_t *aud = json_object_get(p, "aud"), *v;
        const char *azp = json_string_value(json_object_get(p, "azp"));
        const char *nonce = json_string_value(json_object_get(p, "nonce"));
        bool aud_ok = false;
        size_t i;

        if (!streq(json_string_value(json_object_get(p, "iss")) ?: "", chk->issuer))
                return -EKEYREJECTED;
        if (json_is_string(aud))
                aud_ok = streq(json_string_value(aud), chk->client_id);
        else if (json_is_array(aud)) {
                json_array_foreach(aud, i, v)
                        if (json_is_string(v) && streq(json_string_value(v), chk->client_id))
                                aud_ok = true;
                if (json_array_size(aud) > 1 && !(azp && streq(azp, chk->client_id)))
                        aud_ok = false;
        }
        if (!aud_ok || (azp && !streq(azp, chk->client_id)))
                return -EKEYREJECTED;
        if (!json_is_integer(json_object_get(p, "exp")) ||
            json_integer_value(json_object_get(p, "exp")) + IDTOKEN_LEEWAY_SEC < chk->now)
                return -EKEYREJECTED;
        if (json_is_integer(json_object_get(p, "iat")) &&
            json_integer_value(json_object_get(p, "iat")) > chk->now + IDTOKEN_LEEWAY_SEC)
                return -EKEYREJECTED;
        if (chk->nonce &&
            (!nonce || strlen(nonce) != strlen(chk->nonce) ||
             sodium_memcmp(nonce, chk->nonce, strlen(nonce)) != 0))
                return -EKEYREJECTED;
        return 0;
}

static int idtoken_header(const char *token, size_t len, IdAlg *ret_alg, char **ret_kid) {
        _cleanup_free_ unsigned char *h = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *alg, *kid;
        size_t hl;
        int r;

        r = b64url_decode(token, len, &h, &hl);
        if (r < 0)
                return r;
        j = json_loadb((char *) h, hl, JSON_REJECT_DUPLICATES, NULL);
        alg = json_string_value(json_object_get(j, "alg"));
        if (!alg)
                return -EBADMSG;
        if (streq(alg, "RS256"))
                *ret_alg = ALG_RS256;
        else if (streq(alg, "ES256"))
                *ret_alg = ALG_ES256;
        else if (streq(alg, "EdDSA"))
                *ret_alg = ALG_EDDSA;
        else
                return -EKEYREJECTED;   /* none, HS*, anything else */
        kid = json_string_value(json_object_get(j, "kid"));
        *ret_kid = kid ? strdup(kid) : NULL;
        if (kid && !*ret_kid)
                return -ENOMEM;
        return 0;
}

int idtoken_verify(const char *token, const char *jwks_text, size_t jwks_len, const IdTokenCheck *chk,
                   OAuthClaims *ret) {
        _cleanup_free_ unsigned char *payload = NULL, *sig = NULL;
        _cleanup_free_ char *kid = NULL;
        _cleanup_json_ json_t *jwks = NULL, *p = NULL;
        const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        size_t pl, sl;
        json_t *key;
        IdAlg alg;
        int r;

        if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
                return -EBADMSG;
        r = idtoken_header(token, (size_t) (dot1 - token), &alg, &kid);
        if (r < 0)
                return r;
        r = b64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), &payload, &pl);
        if (r >= 0)
                r = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &sl);
        if (r < 0)
                return r;
        jwks = json_loadb(jwks_text, jwks_len, 0, NULL);
        key = jwks ? jwks_find(jwks, alg, kid) : NULL;
        if (!key)
                return -ENOKEY;
        /* libcrypto is loaded by the first RS256 or ES256 token. */
        if (alg != ALG_EDDSA) {
                r = crypto_loader_load();
                if (r < 0)
                        return r;
        }
        /* The signed text is header.payload as sent. */
        if (alg == ALG_RS256)
                r = verify_rs256(key, (const unsigned char *) token, (size_t) (dot2 - token), sig, sl);
        else if (alg == ALG_ES256)
                r = verify_es256(key, (const unsigned char *) token, (size_t) (dot2 - token), sig, sl);
        else
                r = verify_eddsa(key, (const unsigned char *) token, (size_t) (dot2 - token), sig, sl);
        if (r < 0)
                return r == -EBADMSG ? -EKEYREJECTED : r;
        p = json_loadb((char *) payload, pl, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(p))
                return -EBADMSG;
        r = idtoken_check_claims(p, chk);
        if (r < 0)
                return r;
        return oauth_parse_claims((char *) payload, pl, ret);
}
