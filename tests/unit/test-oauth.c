/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure parts of OAuth logins: provider JSON (oauth-json.c), ID tokens
 * (idtoken.c: EdDSA tokens made here with libsodium, checked for
 * signature, iss, aud/azp, exp and nonce; ES256 tokens made here with a
 * P-256 key from libcrypto; "none" and HMAC refused — RS256 is checked end
 * to end against the test provider in test-oauth.sh), the
 * URL rule of http.c and the QR text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "curl-loader.h"
#include "http.h"
#include "idtoken.h"
#include "oauth-json.h"
#include "qr.h"

#define NOW INT64_C(1700000000)

static void test_discovery(void **state) {
        const char *ok = "{\"issuer\":\"https://idp\",\"token_endpoint\":\"https://idp/t\","
                         "\"device_authorization_endpoint\":\"https://idp/d\",\"jwks_uri\":\"https://idp/k\"}";
        OAuthDiscovery d = {};

        assert_int_equal(oauth_parse_discovery(ok, strlen(ok), &d), 0);
        assert_string_equal(d.issuer, "https://idp");
        assert_string_equal(d.device_authorization_endpoint, "https://idp/d");
        assert_null(d.userinfo_endpoint);
        oauth_discovery_done(&d);
        /* Required members, types, duplicates, control characters, not an object. */
        assert_int_equal(oauth_parse_discovery("{\"issuer\":\"x\"}", 14, &d), -EBADMSG);
        assert_int_equal(oauth_parse_discovery("{\"issuer\":1,\"token_endpoint\":\"t\"}", 33, &d), -EBADMSG);
        const char *dup = "{\"issuer\":\"a\",\"issuer\":\"b\",\"token_endpoint\":\"t\"}";
        assert_int_equal(oauth_parse_discovery(dup, strlen(dup), &d), -EBADMSG);
        const char *ctl = "{\"issuer\":\"a\\nb\",\"token_endpoint\":\"t\"}";
        assert_int_equal(oauth_parse_discovery(ctl, strlen(ctl), &d), -EBADMSG);
        assert_int_equal(oauth_parse_discovery("[]", 2, &d), -EBADMSG);
        assert_int_equal(oauth_parse_discovery("{\"iss", 5, &d), -EBADMSG);
}

static void test_device_auth(void **state) {
        const char *full = "{\"device_code\":\"dc\",\"user_code\":\"ABCD-EFGH\",\"verification_uri\":\"https://x/d\","
                           "\"verification_uri_complete\":\"https://x/d?c\",\"expires_in\":600,\"interval\":2}";
        const char *bare = "{\"device_code\":\"dc\",\"user_code\":\"U\",\"verification_uri\":\"https://x/d\",\"expires_in\":99999}";
        const char *zero = "{\"device_code\":\"dc\",\"user_code\":\"U\",\"verification_uri\":\"https://x/d\",\"expires_in\":600,\"interval\":0}";
        OAuthDeviceAuth a = {};

        assert_int_equal(oauth_parse_device_auth(full, strlen(full), &a), 0);
        assert_int_equal(a.interval, 2);
        assert_int_equal(a.expires_in, 600);
        assert_string_equal(a.verification_uri_complete, "https://x/d?c");
        oauth_device_auth_done(&a);
        /* No interval: 5 s (RFC 8628 3.2); a long life is cut to ours. */
        assert_int_equal(oauth_parse_device_auth(bare, strlen(bare), &a), 0);
        assert_int_equal(a.interval, OAUTH_INTERVAL_DEFAULT);
        assert_int_equal(a.expires_in, OAUTH_EXPIRES_MAX);
        assert_null(a.verification_uri_complete);
        oauth_device_auth_done(&a);
        assert_int_equal(oauth_parse_device_auth(zero, strlen(zero), &a), -EBADMSG);
}

static void test_tokens_and_errors(void **state) {
        const char *ok = "{\"access_token\":\"at\",\"token_type\":\"bearer\",\"id_token\":\"h.p.s\"}";
        const char *mac = "{\"access_token\":\"at\",\"token_type\":\"mac\"}";
        const struct { const char *json; OAuthError e; } errors[] = {
                { "{\"error\":\"authorization_pending\"}", OAUTH_ERROR_AUTHORIZATION_PENDING },
                { "{\"error\":\"slow_down\"}", OAUTH_ERROR_SLOW_DOWN },
                { "{\"error\":\"access_denied\"}", OAUTH_ERROR_ACCESS_DENIED },
                { "{\"error\":\"expired_token\"}", OAUTH_ERROR_EXPIRED_TOKEN },
                { "{\"error\":\"invalid_grant\"}", OAUTH_ERROR_INVALID_GRANT },
                { "{\"error\":\"what\"}", OAUTH_ERROR_OTHER },
        };
        OAuthTokens t = {};
        OAuthError e;

        assert_int_equal(oauth_parse_tokens(ok, strlen(ok), &t), 0);
        assert_string_equal(t.id_token, "h.p.s");
        oauth_tokens_done(&t);
        assert_int_equal(oauth_parse_tokens(mac, strlen(mac), &t), -EBADMSG);
        for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
                assert_int_equal(oauth_parse_error(errors[i].json, strlen(errors[i].json), &e), 0);
                assert_int_equal(e, errors[i].e);
        }
        assert_int_equal(oauth_parse_error("{}", 2, &e), -EBADMSG);
}

static void test_claims(void **state) {
        const char *yes = "{\"sub\":\"1\",\"email\":\"a@b.c\",\"email_verified\":true}";
        const char *str = "{\"sub\":\"1\",\"email\":\"a@b.c\",\"email_verified\":\"true\"}";
        const char *no = "{\"sub\":\"1\",\"email\":\"a@b.c\",\"email_verified\":1}";
        OAuthClaims c = {};

        assert_int_equal(oauth_parse_claims(yes, strlen(yes), &c), 0);
        assert_true(c.email_verified);
        oauth_claims_done(&c);
        assert_int_equal(oauth_parse_claims(str, strlen(str), &c), 0);
        assert_true(c.email_verified);
        oauth_claims_done(&c);
        assert_int_equal(oauth_parse_claims(no, strlen(no), &c), 0);
        assert_false(c.email_verified);
        oauth_claims_done(&c);
        assert_int_equal(oauth_parse_claims("{\"email\":\"a@b.c\"}", 17, &c), -EBADMSG);
}

static char *b64(const void *data, size_t len) {
        size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *s = malloc(n);

        assert_non_null(s);
        sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        return s;
}

/* An EdDSA ID token with payload, signed by sk; *jwks gets the key. */
static char *eddsa_token(const char *payload, const unsigned char sk[crypto_sign_SECRETKEYBYTES],
                         const unsigned char pk[crypto_sign_PUBLICKEYBYTES], char **jwks) {
        const char *header = "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}";
        _cleanup_free_ char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload)), *x = b64(pk, 32);
        _cleanup_free_ char *signing = NULL, *s = NULL;
        unsigned char sig[crypto_sign_BYTES];
        char *token = NULL;

        assert_true(asprintf(&signing, "%s.%s", h, p) > 0);
        crypto_sign_detached(sig, NULL, (unsigned char *) signing, strlen(signing), sk);
        s = b64(sig, sizeof sig);
        assert_true(asprintf(&token, "%s.%s", signing, s) > 0);
        assert_true(asprintf(jwks, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k1\",\"x\":\"%s\"}]}", x) > 0);
        return token;
}

static int verify(const char *payload, const char *nonce, bool tamper) {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        _cleanup_free_ char *jwks = NULL, *token = NULL;
        OAuthClaims c = {};
        int r;

        crypto_sign_keypair(pk, sk);
        token = eddsa_token(payload, sk, pk, &jwks);
        if (tamper) {
                /* Another base64url character, so the signature still
                 * decodes and only fails to verify. */
                char *t = &token[strlen(token) - 2];
                *t = *t == 'A' ? 'B' : 'A';
        }
        r = idtoken_verify(token, jwks, strlen(jwks), &(IdTokenCheck) {
                .issuer = "https://idp", .client_id = "client", .nonce = nonce, .now = NOW,
        }, &c);
        if (r == 0)
                assert_string_equal(c.sub, "alice");
        oauth_claims_done(&c);
        return r;
}

static void test_idtoken(void **state) {
        const char *good = "{\"iss\":\"https://idp\",\"aud\":\"client\",\"sub\":\"alice\",\"exp\":1700000100,"
                           "\"iat\":1700000000,\"nonce\":\"n1\",\"email\":\"alice@example.org\",\"email_verified\":true}";
        const char *aud_list = "{\"iss\":\"https://idp\",\"aud\":[\"client\",\"other\"],\"azp\":\"client\",\"sub\":\"alice\",\"exp\":1700000100}";
        const char *aud_list_no_azp = "{\"iss\":\"https://idp\",\"aud\":[\"client\",\"other\"],\"sub\":\"alice\",\"exp\":1700000100}";
        const char *other_iss = "{\"iss\":\"https://evil\",\"aud\":\"client\",\"sub\":\"alice\",\"exp\":1700000100}";
        const char *other_aud = "{\"iss\":\"https://idp\",\"aud\":\"other\",\"sub\":\"alice\",\"exp\":1700000100}";
        const char *expired = "{\"iss\":\"https://idp\",\"aud\":\"client\",\"sub\":\"alice\",\"exp\":1699999000}";
        const char *no_exp = "{\"iss\":\"https://idp\",\"aud\":\"client\",\"sub\":\"alice\"}";

        assert_int_equal(verify(good, "n1", false), 0);
        assert_int_equal(verify(good, NULL, false), 0);
        assert_int_equal(verify(good, "n2", false), -EKEYREJECTED);
        assert_int_equal(verify(good, "n1", true), -EKEYREJECTED);
        assert_int_equal(verify(aud_list, NULL, false), 0);
        assert_int_equal(verify(aud_list_no_azp, NULL, false), -EKEYREJECTED);
        assert_int_equal(verify(other_iss, NULL, false), -EKEYREJECTED);
        assert_int_equal(verify(other_aud, NULL, false), -EKEYREJECTED);
        assert_int_equal(verify(expired, NULL, false), -EKEYREJECTED);
        assert_int_equal(verify(no_exp, NULL, false), -EKEYREJECTED);
        assert_int_equal(verify(good, "n2", false), -EKEYREJECTED);
}

/* A P-256 key of our own, its JWKS entry (kid k1) with x and y. */
static EVP_PKEY *es256_key(char **ret_jwk) {
        unsigned char pub[65];
        size_t len = 0;
        EVP_PKEY *k = EVP_EC_gen("P-256");
        _cleanup_free_ char *x = NULL, *y = NULL;

        assert_non_null(k);
        assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len), 1);
        assert_int_equal(len, 65);
        assert_int_equal(pub[0], 0x04);
        x = b64(pub + 1, 32);
        y = b64(pub + 33, 32);
        assert_true(asprintf(ret_jwk, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"use\":\"sig\","
                                      "\"x\":\"%s\",\"y\":\"%s\"}", x, y) > 0);
        return k;
}

typedef enum Es256Fault { ES_GOOD, ES_FLIP_SIG, ES_DER_SIG, ES_PAYLOAD_CHANGED } Es256Fault;

/* An ES256 ID token over payload, signed by k: JOSE's r || s (RFC 7518
 * 3.4), or a fault. */
static char *es256_token(EVP_PKEY *k, const char *payload, Es256Fault fault) {
        const char *header = "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}";
        _cleanup_free_ char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
        _cleanup_free_ char *signing = NULL, *s = NULL, *p2 = NULL;
        unsigned char der[128], raw[64] = {};
        const unsigned char *q = der;
        size_t derlen = sizeof der;
        const BIGNUM *br, *bs;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ECDSA_SIG *es;
        char *token = NULL;

        assert_true(asprintf(&signing, "%s.%s", h, p) > 0);
        assert_non_null(md);
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
        assert_int_equal(EVP_DigestSign(md, der, &derlen, (unsigned char *) signing, strlen(signing)), 1);
        EVP_MD_CTX_free(md);
        es = d2i_ECDSA_SIG(NULL, &q, (long) derlen);
        assert_non_null(es);
        ECDSA_SIG_get0(es, &br, &bs);
        assert_int_equal(BN_bn2binpad(br, raw, 32), 32);
        assert_int_equal(BN_bn2binpad(bs, raw + 32, 32), 32);
        ECDSA_SIG_free(es);
        if (fault == ES_FLIP_SIG)
                raw[10] ^= 0x01;
        s = fault == ES_DER_SIG ? b64(der, derlen) : b64(raw, sizeof raw);
        if (fault == ES_PAYLOAD_CHANGED) {
                /* The same claims but a later exp: signed text differs. */
                const char *other = "{\"iss\":\"https://idp\",\"aud\":\"client\",\"sub\":\"alice\",\"exp\":1700000200}";
                p2 = b64(other, strlen(other));
                assert_true(asprintf(&token, "%s.%s.%s", h, p2, s) > 0);
        } else
                assert_true(asprintf(&token, "%s.%s", signing, s) > 0);
        return token;
}

static int es256_verify(const char *token, const char *jwk) {
        _cleanup_free_ char *jwks = NULL;
        OAuthClaims c = {};
        int r;

        assert_true(asprintf(&jwks, "{\"keys\":[%s]}", jwk) > 0);
        r = idtoken_verify(token, jwks, strlen(jwks), &(IdTokenCheck) {
                .issuer = "https://idp", .client_id = "client", .nonce = "n1", .now = NOW,
        }, &c);
        if (r == 0) {
                assert_string_equal(c.sub, "alice");
                assert_string_equal(c.email, "alice@example.org");
                assert_true(c.email_verified);
        }
        oauth_claims_done(&c);
        return r;
}

/* ES256, as many providers sign (Apple, some Keycloak realms): a good
 * token verifies; a changed signature, a changed payload, a DER signature
 * (what libcrypto makes, not JOSE's r || s), a token of another key with
 * the same kid, and a key on another curve are refused. */
static void test_idtoken_es256(void **state) {
        const char *good = "{\"iss\":\"https://idp\",\"aud\":\"client\",\"sub\":\"alice\",\"exp\":1700000100,"
                           "\"nonce\":\"n1\",\"email\":\"alice@example.org\",\"email_verified\":true}";
        _cleanup_free_ char *jwk = NULL, *jwk2 = NULL, *t = NULL, *flipped = NULL, *der = NULL, *changed = NULL,
                            *other = NULL, *p384 = NULL, *wrong_nonce = NULL;
        EVP_PKEY *k = es256_key(&jwk), *k2 = es256_key(&jwk2);

        t = es256_token(k, good, ES_GOOD);
        flipped = es256_token(k, good, ES_FLIP_SIG);
        der = es256_token(k, good, ES_DER_SIG);
        changed = es256_token(k, good, ES_PAYLOAD_CHANGED);
        other = es256_token(k2, good, ES_GOOD);
        wrong_nonce = es256_token(k, "{\"iss\":\"https://idp\",\"aud\":\"client\",\"sub\":\"alice\","
                                     "\"exp\":1700000100,\"nonce\":\"n2\"}", ES_GOOD);

        assert_int_equal(es256_verify(t, jwk), 0);
        assert_int_equal(es256_verify(flipped, jwk), -EKEYREJECTED);
        assert_int_equal(es256_verify(der, jwk), -EKEYREJECTED);
        assert_int_equal(es256_verify(changed, jwk), -EKEYREJECTED);
        assert_int_equal(es256_verify(other, jwk), -EKEYREJECTED);
        assert_int_equal(es256_verify(other, jwk2), 0);
        assert_int_equal(es256_verify(wrong_nonce, jwk), -EKEYREJECTED);
        /* The same x and y named as another curve. */
        p384 = strdup(jwk);
        assert_non_null(p384);
        memcpy(strstr(p384, "P-256"), "P-384", 5);
        assert_int_equal(es256_verify(t, p384), -EKEYREJECTED);
        /* An RSA-only JWKS has no key for it. */
        assert_int_equal(es256_verify(t, "{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"), -ENOKEY);
        EVP_PKEY_free(k);
        EVP_PKEY_free(k2);
}

static void test_idtoken_refuses_none_and_unknown_keys(void **state) {
        const char *jwks = "{\"keys\":[]}";
        /* {"alg":"none"}.{"sub":"x"}. and {"alg":"HS256"} */
        const char *none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        const char *hs = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA";
        const char *eddsa = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.AAAA";
        IdTokenCheck chk = { .issuer = "i", .client_id = "c", .now = NOW };
        OAuthClaims c = {};

        assert_int_not_equal(idtoken_verify(none, jwks, strlen(jwks), &chk, &c), 0);
        assert_int_equal(idtoken_verify(hs, jwks, strlen(jwks), &chk, &c), -EKEYREJECTED);
        assert_int_equal(idtoken_verify(eddsa, jwks, strlen(jwks), &chk, &c), -ENOKEY);
        assert_int_equal(idtoken_verify("a.b", jwks, strlen(jwks), &chk, &c), -EBADMSG);
        assert_int_equal(idtoken_verify("a.b.c.d", jwks, strlen(jwks), &chk, &c), -EBADMSG);
}

static void test_url_rule(void **state) {
        assert_true(http_url_allowed("https://accounts.example.com/.well-known/openid-configuration"));
        assert_true(http_url_allowed("http://127.0.0.1:8080/token"));
        assert_true(http_url_allowed("http://127.1.2.3/token"));
        assert_true(http_url_allowed("http://[::1]:9/x"));
        assert_false(http_url_allowed("http://localhost/x"));
        assert_false(http_url_allowed("http://example.com/x"));
        assert_false(http_url_allowed("http://128.0.0.1/x"));
        assert_false(http_url_allowed("ftp://127.0.0.1/x"));
        assert_false(http_url_allowed("file:///etc/passwd"));
        assert_false(http_url_allowed("https://user:pw@example.com/"));
        assert_false(http_url_allowed("not a url"));
        assert_false(http_url_allowed(NULL));
}

static void test_form(void **state) {
        const char *pairs[] = { "a", "x y", "b", "&=?", NULL, NULL };
        _cleanup_free_ char *f = http_form(pairs);

        assert_string_equal(f, "a=x%20y&b=%26%3D%3F");
}

static void test_qr(void **state) {
        _cleanup_free_ char *t = NULL;
        size_t lines = 0;

        assert_int_equal(qr_text("https://idp.example/device?user_code=ABCD-EFGH", &t), 0);
        for (const char *p = t; *p; p++)
                lines += *p == '\n';
        /* Version 3 or 4 (29 or 33 modules) and a quiet zone, two rows a line. */
        assert_true(lines >= 16 && lines <= 20);
        assert_non_null(strstr(t, "\u2588"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_discovery),
                cmocka_unit_test(test_device_auth),
                cmocka_unit_test(test_tokens_and_errors),
                cmocka_unit_test(test_claims),
                cmocka_unit_test(test_idtoken),
                cmocka_unit_test(test_idtoken_es256),
                cmocka_unit_test(test_idtoken_refuses_none_and_unknown_keys),
                cmocka_unit_test(test_url_rule),
                cmocka_unit_test(test_form),
                cmocka_unit_test(test_qr),
        };

        /* The URL rule and the form encoding use libcurl, which sauthd
         * loads when a provider is configured. */
        if (sodium_init() < 0 || curl_loader_load() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
