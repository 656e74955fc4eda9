/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The building blocks of session tokens and API keys against the real
 * code: EdDSA JWTs signed and verified (and forged, tampered with, expired,
 * for the wrong issuer or key), the key ring file (created 0600, refused when
 * others may read it, reloaded, rotated), API keys with their pepper, and
 * the outbox key that seals queued mail.
 * Keys are random per run and never printed.
 */
#include <errno.h>
#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "apikey.h"
#include "jwt.h"
#include "keys.h"
#include "outbox-key.h"
#include "outbox.h"
#include "secret-file.h"
#include "util.h"

#define NOW 1700000000ULL
#define LIFETIME 7200ULL
#define ISSUER "host.example.test"

static char tmpdir[] = "/tmp/test-tokens-XXXXXX";
static char msg[512];

static void path_in_tmp(char *out, size_t size, const char *name) {
        snprintf(out, size, "%s/%s", tmpdir, name);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int group_setup(void **state) {
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
        return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A fresh ring in its own file. */
static Keyring *ring_new(const char *name, uint64_t now) {
        char path[256];
        Keyring *ring = NULL;

        path_in_tmp(path, sizeof path, name);
        assert_int_equal(keys_load_or_create(path, now, &ring, msg, sizeof msg), 0);
        assert_non_null(ring);
        return ring;
}

static char *roles[] = { "user", "person", "list-x-1234-member", NULL };

static JwtClaims claims_at(uint64_t iat) {
        return (JwtClaims) {
                .iss = ISSUER, .sub = "alice", .acc = "x-0123456789abcdef", .jti = "jti-1",
                .iat = iat, .exp = iat + LIFETIME, .auth = roles, .method = "local",
                .identity = "alice@example.test",
        };
}

static char *sign_at(const Keyring *ring, uint64_t iat) {
        JwtClaims c = claims_at(iat);
        char *token = NULL;

        assert_int_equal(jwt_sign(&c, keys_current(ring), &token), 0);
        return token;
}

/* tmpl with its one "%s" replaced by kid (templates here are tables, and
 * -Wformat-nonliteral rightly refuses them as printf formats). */
static void fill(char *out, size_t size, const char *tmpl, const char *kid) {
        const char *at = strstr(tmpl, "%s");

        assert_non_null(at);
        snprintf(out, size, "%.*s%s%s", (int) (at - tmpl), tmpl, kid, at + 2);
}

static void b64(char *out, size_t size, const void *data, size_t len) {
        sodium_bin2base64(out, size, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A token with any header and payload text, signed by key: what an attacker
 * holding that key, or a buggy issuer, could make. */
static char *forge(const char *header, const char *payload, const SigningKey *key) {
        const size_t size = 2 * JWT_MAX;
        char *out = malloc(size);
        unsigned char sig[crypto_sign_BYTES];
        size_t pos;

        /* Exact room: sodium_bin2base64() fills all that it is given. */
        assert_non_null(out);
        assert_true(strlen(header) + strlen(payload) < JWT_MAX);
        b64(out, size, header, strlen(header));
        pos = strlen(out);
        out[pos++] = '.';
        b64(out + pos, size - pos, payload, strlen(payload));
        pos += strlen(out + pos);
        assert_int_equal(keys_sign(key, (const unsigned char *) out, pos, sig), 0);
        out[pos++] = '.';
        b64(out + pos, size - pos, sig, sizeof sig);
        return out;
}

static const char *good_payload =
        "{\"iss\":\"" ISSUER "\",\"sub\":\"alice\",\"acc\":\"x-1\",\"jti\":\"j\",\"iat\":1700000000,"
        "\"exp\":1700007200,\"auth\":[\"user\"],\"method\":\"local\"}";

static char *header_for(const SigningKey *k, const char *alg) {
        char *h = NULL;

        assert_true(asprintf(&h, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, k->kid) > 0);
        return h;
}

/* ---- JWT ---- */

static void test_jwt_round_trip(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("round-trip.key", NOW);
        _cleanup_free_ char *token = sign_at(ring, NOW);
        JwtClaims c = {};

        assert_true(strlen(token) <= JWT_MAX);
        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW + 1, &c), 0);
        assert_string_equal(c.iss, ISSUER);
        assert_string_equal(c.sub, "alice");
        assert_string_equal(c.acc, "x-0123456789abcdef");
        assert_string_equal(c.jti, "jti-1");
        assert_string_equal(c.method, "local");
        assert_string_equal(c.identity, "alice@example.test");
        assert_int_equal(c.iat, NOW);
        assert_int_equal(c.exp, NOW + LIFETIME);
        for (size_t i = 0; i < ELEMENTSOF(roles); i++)
                assert_true(roles[i] ? c.auth[i] && streq(c.auth[i], roles[i]) : !c.auth[i]);
        jwt_claims_done(&c);
        assert_null(c.sub);
}

static void test_jwt_no_identity_no_roles(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("minimal.key", NOW);
        JwtClaims in = claims_at(NOW), out = {};
        _cleanup_free_ char *token = NULL;
        char jti[JWT_JTI_LEN + 1], jti2[JWT_JTI_LEN + 1];

        jwt_new_jti(jti);
        jwt_new_jti(jti2);
        assert_int_equal(strlen(jti), JWT_JTI_LEN);
        assert_string_not_equal(jti, jti2);
        in.identity = NULL;
        in.auth = NULL;
        in.jti = jti;
        assert_int_equal(jwt_sign(&in, keys_current(ring), &token), 0);
        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW, &out), 0);
        assert_null(out.identity);
        assert_non_null(out.auth);
        assert_null(out.auth[0]);
        assert_string_equal(out.jti, jti);
        jwt_claims_done(&out);
}

/* Every single-character change anywhere in the token is refused. */
static void test_jwt_tampered(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("tamper.key", NOW);
        _cleanup_free_ char *token = sign_at(ring, NOW);
        size_t len = strlen(token);
        JwtClaims c = {};

        for (size_t i = 0; i < len; i++) {
                char saved = token[i];

                token[i] = saved == 'A' ? 'B' : 'A';
                assert_true(jwt_verify(token, ring, ISSUER, NOW, &c) < 0);
                assert_null(c.sub);
                token[i] = saved;
        }
        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW, &c), 0);
        jwt_claims_done(&c);
}

static void test_jwt_tampered_payload_resigned_elsewhere(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("victim.key", NOW), *evil = ring_new("evil.key", NOW);
        _cleanup_free_ char *header = header_for(keys_current(ring), "EdDSA");
        _cleanup_free_ char *other_kid = sign_at(evil, NOW);
        _cleanup_free_ char *forged = NULL;
        JwtClaims c = {};

        /* Another key under our kid: the signature does not verify. */
        forged = forge(header, good_payload, keys_current(evil));
        assert_int_equal(jwt_verify(forged, ring, ISSUER, NOW, &c), -EKEYREJECTED);
        /* Another key under its own kid: unknown to us. */
        assert_int_equal(jwt_verify(other_kid, ring, ISSUER, NOW, &c), -ENOKEY);
}

static void expect_header(const Keyring *ring, const char *header, int expected) {
        _cleanup_free_ char *token = forge(header, good_payload, keys_current(ring));
        JwtClaims c = {};

        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW, &c), expected);
        jwt_claims_done(&c);
}

static void test_jwt_header(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("header.key", NOW);
        const char *kid = keys_current(ring)->kid;
        const char *bad[] = {
                "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                "{\"alg\":\"eddsa\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                "{\"alg\":\"Ed25519\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                "{\"typ\":\"JWT\",\"kid\":\"%s\"}",
                "{\"alg\":[\"EdDSA\"],\"kid\":\"%s\"}",
                "{\"alg\":\"EdDSA\",\"alg\":\"none\",\"kid\":\"%s\"}",
                "{\"alg\":\"none\",\"alg\":\"EdDSA\",\"kid\":\"%s\"}",
                "{\"alg\":\"EdDSA\",\"typ\":\"JWS\",\"kid\":\"%s\"}",
                "{\"alg\":\"EdDSA\",\"typ\":null,\"kid\":\"%s\"}",
                "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[\"exp\"]}",
                "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"jku\":\"https://evil.test/keys\"}",
                "[\"EdDSA\",\"%s\"]",
                "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}{}",
        };
        char h[256];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                fill(h, sizeof h, bad[i], kid);
                expect_header(ring, h, -EBADMSG);
        }
        expect_header(ring, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", -EBADMSG);
        expect_header(ring, "{\"alg\":\"EdDSA\",\"kid\":7}", -EBADMSG);
        expect_header(ring, "{\"alg\":\"EdDSA\",\"kid\":\"no-such-key\"}", -ENOKEY);

        /* typ is optional, order does not matter, and JSON's own whitespace
         * is JSON (the signature covers those bytes as they are). */
        snprintf(h, sizeof h, "{\"kid\":\"%s\",\"alg\":\"EdDSA\"}", kid);
        expect_header(ring, h, 0);
        snprintf(h, sizeof h, " {\"alg\": \"EdDSA\", \"kid\": \"%s\"}\n", kid);
        expect_header(ring, h, 0);
}

static void test_jwt_alg_none_unsigned(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("none.key", NOW);
        _cleanup_free_ char *h = header_for(keys_current(ring), "none");
        char token[1024], seg[512];
        JwtClaims c = {};

        b64(seg, sizeof seg, h, strlen(h));
        snprintf(token, sizeof token, "%s.", seg);
        b64(seg, sizeof seg, good_payload, strlen(good_payload));
        strcat(token, seg);
        strcat(token, ".");
        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW, &c), -EBADMSG);
}

static void expect_payload(const Keyring *ring, const char *payload, int expected) {
        _cleanup_free_ char *h = header_for(keys_current(ring), "EdDSA");
        _cleanup_free_ char *token = forge(h, payload, keys_current(ring));
        JwtClaims c = {};

        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW, &c), expected);
        jwt_claims_done(&c);
}

#define P_HEAD "\"iss\":\"" ISSUER "\",\"sub\":\"a\",\"acc\":\"x\",\"jti\":\"j\",\"method\":\"local\""

static void test_jwt_payload(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("payload.key", NOW);
        const char *bad[] = {
                "[]",
                "\"a string\"",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000}x",
                "{" P_HEAD ",\"iat\":1,\"exp\":\"1800000000\",\"auth\":[]}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000.5,\"auth\":[]}",
                "{" P_HEAD ",\"iat\":-1,\"exp\":1800000000,\"auth\":[]}",
                "{" P_HEAD ",\"iat\":1,\"auth\":[]}",
                "{" P_HEAD ",\"exp\":1800000000,\"auth\":[]}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":\"admin\"}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":[1]}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":[\"\"]}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":[],\"exp\":1900000000}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":[],\"identity\":5}",
                "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":[\"a\\u0000b\"]}",
                "{\"iss\":\"" ISSUER "\",\"sub\":5,\"acc\":\"x\",\"jti\":\"j\",\"method\":\"local\","
                "\"iat\":1,\"exp\":1800000000,\"auth\":[]}",
                "{\"iss\":\"" ISSUER "\",\"sub\":\"\",\"acc\":\"x\",\"jti\":\"j\",\"method\":\"local\","
                "\"iat\":1,\"exp\":1800000000,\"auth\":[]}",
                "{\"iss\":\"" ISSUER "\",\"acc\":\"x\",\"jti\":\"j\",\"method\":\"local\","
                "\"iat\":1,\"exp\":1800000000,\"auth\":[]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                expect_payload(ring, bad[i], -EBADMSG);
        expect_payload(ring, "{" P_HEAD ",\"iat\":1,\"exp\":1800000000,\"auth\":[],\"identity\":null,\"x\":{}}", 0);
        expect_payload(ring, "{" P_HEAD ",\"iat\":1,\"exp\":1700000000,\"auth\":[]}", -ETIME);
}

static void test_jwt_format(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("format.key", NOW);
        _cleanup_free_ char *token = sign_at(ring, NOW), *t = NULL;
        _cleanup_free_ char *huge = malloc(JWT_MAX + 2);
        const char *bad[] = { "", ".", "..", "...", "a.b", "a.b.c", "a.b.c.d" };
        JwtClaims c = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(jwt_verify(bad[i], ring, ISSUER, NOW, &c), -EBADMSG);

        /* Trailing garbage, padding, whitespace, a fourth segment. */
        const char *suffixes[] = { "=", "==", "\n", " ", ".", ".AAAA", "A" };
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                free(t);
                assert_true(asprintf(&t, "%s%s", token, suffixes[i]) > 0);
                assert_int_equal(jwt_verify(t, ring, ISSUER, NOW, &c), -EBADMSG);
        }
        free(t);
        assert_true(asprintf(&t, " %s", token) > 0);
        assert_int_equal(jwt_verify(t, ring, ISSUER, NOW, &c), -EBADMSG);

        /* Over the cap: refused before anything is decoded. */
        assert_non_null(huge);
        memset(huge, 'A', JWT_MAX + 1);
        huge[JWT_MAX + 1] = 0;
        memcpy(huge, token, strlen(token));
        assert_int_equal(jwt_verify(huge, ring, ISSUER, NOW, &c), -EBADMSG);
        assert_int_equal(jwt_verify(NULL, ring, ISSUER, NOW, &c), -EINVAL);
}

static void test_jwt_expired(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("expired.key", NOW);
        _cleanup_free_ char *token = sign_at(ring, NOW);
        JwtClaims c = {};

        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW + LIFETIME - 1, &c), 0);
        jwt_claims_done(&c);
        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW + LIFETIME, &c), -ETIME);
        assert_int_equal(jwt_verify(token, ring, ISSUER, UINT64_MAX, &c), -ETIME);
        assert_null(c.sub);
}

static void test_jwt_wrong_issuer(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("issuer.key", NOW);
        _cleanup_free_ char *token = sign_at(ring, NOW);
        JwtClaims c = {};

        assert_int_equal(jwt_verify(token, ring, "other.example.test", NOW, &c), -EREMOTE);
        assert_int_equal(jwt_verify(token, ring, ISSUER "x", NOW, &c), -EREMOTE);
        assert_int_equal(jwt_verify(token, ring, "", NOW, &c), -EREMOTE);
}

static void test_jwt_sign_refuses(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("refuse.key", NOW);
        const SigningKey *k = keys_current(ring);
        _cleanup_strv_free_ char **many = calloc(JWT_ROLES_MAX + 2, sizeof(char *));
        char long_role[JWT_STRING_MAX + 1];
        char *token = NULL;
        JwtClaims c;

        c = claims_at(NOW), c.sub = NULL;
        assert_int_equal(jwt_sign(&c, k, &token), -EINVAL);
        c = claims_at(NOW), c.method = "";
        assert_int_equal(jwt_sign(&c, k, &token), -EINVAL);
        c = claims_at(NOW), c.exp = c.iat;
        assert_int_equal(jwt_sign(&c, k, &token), -EINVAL);
        c = claims_at(NOW), c.identity = "\xff\xfe";
        assert_int_equal(jwt_sign(&c, k, &token), -EINVAL);

        /* Too many roles; then as many as allowed, but too long together. */
        assert_non_null(many);
        memset(long_role, 'r', JWT_STRING_MAX);
        long_role[JWT_STRING_MAX] = 0;
        for (size_t i = 0; i <= JWT_ROLES_MAX; i++)
                assert_true(asprintf(&many[i], "%s-%zu", "resource-with-a-rather-long-name-x-0123456789abcdef-member", i) > 0);
        c = claims_at(NOW), c.auth = many;
        assert_int_equal(jwt_sign(&c, k, &token), -EINVAL);
        free(many[JWT_ROLES_MAX]);
        many[JWT_ROLES_MAX] = NULL;
        assert_int_equal(jwt_sign(&c, k, &token), -E2BIG);
        /* A role of the longest length is fine; one byte more is not. */
        c.auth = (char *[]) { long_role, NULL };
        assert_int_equal(jwt_sign(&c, k, &token), 0);
        free(token);
        token = NULL;
        c = claims_at(NOW), c.sub = (char[JWT_STRING_MAX + 2]) {};
        memset(c.sub, 's', JWT_STRING_MAX + 1);
        assert_int_equal(jwt_sign(&c, k, &token), -EINVAL);
        assert_null(token);
}

/* ---- key ring ---- */

static void test_keys_file_mode(void **state) {
        _cleanup_keys_ Keyring *ring = NULL, *again = NULL;
        char path[256];
        struct stat st;

        path_in_tmp(path, sizeof path, "mode.key");
        ring = ring_new("mode.key", NOW);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());

        /* Reload: the same key, and it still signs what the first verifies. */
        assert_int_equal(keys_load_or_create(path, NOW + 5, &again, msg, sizeof msg), 0);
        assert_int_equal(again->n_keys, 1);
        assert_string_equal(keys_current(again)->kid, keys_current(ring)->kid);
        assert_memory_equal(keys_current(again)->public_key, keys_current(ring)->public_key, 32);
        assert_string_equal(keys_current_public_b64(again), keys_current_public_b64(ring));
        _cleanup_free_ char *token = sign_at(again, NOW);
        JwtClaims c = {};
        assert_int_equal(jwt_verify(token, ring, ISSUER, NOW, &c), 0);
        jwt_claims_done(&c);
        again = keys_free(again);

        for (mode_t m = 0604; m <= 0644; m += 0040) {
                assert_int_equal(chmod(path, m), 0);
                msg[0] = 0;
                assert_int_equal(keys_load_or_create(path, NOW, &again, msg, sizeof msg), -EPERM);
                assert_null(again);
                assert_non_null(strstr(msg, "chmod 600"));
        }
        assert_int_equal(chmod(path, 0640), 0);
        assert_int_equal(keys_load_or_create(path, NOW, &again, msg, sizeof msg), -EPERM);
        assert_int_equal(chmod(path, 0600), 0);

        /* Not ours: refused even at 0600 (root can hand it to someone else). */
        if (geteuid() == 0) {
                assert_int_equal(chown(path, 4242, 4242), 0);
                assert_int_equal(keys_load_or_create(path, NOW, &again, msg, sizeof msg), -EPERM);
                assert_non_null(strstr(msg, "owned by uid 4242"));
                assert_int_equal(chown(path, 0, 0), 0);
        }

        /* A symbolic link is refused, not followed. */
        char link_path[256];
        path_in_tmp(link_path, sizeof link_path, "link.key");
        assert_int_equal(symlink(path, link_path), 0);
        assert_int_equal(keys_load_or_create(link_path, NOW, &again, msg, sizeof msg), -EPERM);
        assert_non_null(strstr(msg, "symbolic link"));
        assert_int_equal(keys_load_or_create(path, NOW, &again, msg, sizeof msg), 0);
}

static void test_keys_bad_files(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("bad.key", NOW), *out = NULL;
        const char *kid = keys_current(ring)->kid, *pub = keys_current_public_b64(ring);
        char good_verify[256], text[1024];
        const char *sign_line_fmt = "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
        unsigned char seed[32] = {}, pk[32], sk[64];
        char zkid[KEYS_KID_LEN + 1], x[KEYS_PUBLIC_B64_LEN + 1], jwk[128];
        unsigned char h[32];

        /* The all-zero seed, and its kid computed here as RFC 7638 says,
         * independently of keys.c. */
        crypto_sign_seed_keypair(pk, sk, seed);
        sodium_memzero(sk, sizeof sk);
        b64(x, sizeof x, pk, sizeof pk);
        snprintf(jwk, sizeof jwk, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
        crypto_hash_sha256(h, (unsigned char *) jwk, strlen(jwk));
        b64(zkid, sizeof zkid, h, sizeof h);
        snprintf(good_verify, sizeof good_verify, "%s 1 verify 1800000000 %s\n", kid, pub);

        char sign_line[256];
        fill(sign_line, sizeof sign_line, sign_line_fmt, zkid);

        snprintf(text, sizeof text, "sauthd-keyring 1\n%s%s", sign_line, good_verify);
        assert_int_equal(keys_parse(text, strlen(text), &out), 0);
        assert_int_equal(out->n_keys, 2);
        assert_string_equal(out->keys[0].kid, zkid);
        assert_string_equal(out->keys[1].kid, kid);
        assert_int_equal(out->keys[1].not_after, 1800000000);
        out = keys_free(out);

        const char *bad[][3] = {
                { "sauthd-keyring 2\n", sign_line, "" },
                { "sauthd-keyring 1", " \n", sign_line },
                { "", sign_line, "" },
                { "sauthd-keyring 1\n", "", "" },
                { "sauthd-keyring 1\n", good_verify, sign_line },
                { "sauthd-keyring 1\n", sign_line, sign_line },
                { "sauthd-keyring 1\n", sign_line, good_verify + 1 },
                { "sauthd-keyring 1\n", sign_line, "\n" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(text, sizeof text, "%s%s%s", bad[i][0], bad[i][1], bad[i][2]);
                assert_int_equal(keys_parse(text, strlen(text), &out), -EBADMSG);
                assert_null(out);
        }
        snprintf(text, sizeof text, "sauthd-keyring 1\n%s%s%s", sign_line, good_verify, good_verify);
        assert_int_equal(keys_parse(text, strlen(text), &out), -EBADMSG);

        /* Line-level breakage of the sign line. */
        const char *lines[] = {
                "%s 1 sign 5 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",     /* retire time on the current key */
                "%s 01 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",    /* leading zero */
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \n",    /* trailing space */
                "%s 1  sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",    /* two spaces */
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x\n",   /* sixth field */
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\n",     /* non-canonical */
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",      /* short */
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",    /* padding */
                "%s 18446744073709551616 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                "%s 1 Sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
                "%s 1 sign 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",        /* no newline */
        };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                char line[256];

                fill(line, sizeof line, lines[i], zkid);
                snprintf(text, sizeof text, "sauthd-keyring 1\n%s", line);
                assert_int_equal(keys_parse(text, strlen(text), &out), -EBADMSG);
        }
        /* A kid that is not the key's thumbprint. */
        snprintf(text, sizeof text, "sauthd-keyring 1\n");
        fill(text + strlen(text), sizeof text - strlen(text), sign_line_fmt, kid);
        assert_int_equal(keys_parse(text, strlen(text), &out), -EBADMSG);
        /* A verify key with no retire time. */
        snprintf(text, sizeof text, "sauthd-keyring 1\n%s%s 1 verify 0 %s\n", sign_line, kid, pub);
        assert_int_equal(keys_parse(text, strlen(text), &out), -EBADMSG);

        /* The loader says what is wrong with the file, and never a key. */
        char path[256];
        path_in_tmp(path, sizeof path, "garbage.key");
        snprintf(text, sizeof text, "sauthd-keyring 1\n%s", lines[0]);
        assert_int_equal(secret_file_write(path, text, strlen(text), false, msg, sizeof msg), 0);
        assert_int_equal(keys_load_or_create(path, NOW, &out, msg, sizeof msg), -EBADMSG);
        assert_non_null(strstr(msg, "not a valid key ring"));
        assert_null(strstr(msg, "AAAA"));
}

static void test_keys_rotation(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("rotate.key", NOW), *reloaded = NULL;
        _cleanup_free_ char *old_token = sign_at(ring, NOW), *new_token = NULL;
        char path[256], old_kid[KEYS_KID_LEN + 1];
        KeysJwk jwks[KEYS_MAX];
        JwtClaims c = {};
        uint64_t t = NOW + 100;

        path_in_tmp(path, sizeof path, "rotate.key");
        memcpy(old_kid, keys_current(ring)->kid, sizeof old_kid);
        assert_int_equal(keys_jwks(ring, t, jwks), 1);

        assert_int_equal(keys_rotate(ring, path, t, LIFETIME, msg, sizeof msg), 0);
        assert_int_equal(ring->n_keys, 2);
        assert_string_not_equal(keys_current(ring)->kid, old_kid);
        new_token = sign_at(ring, t);

        /* Both verify until the old key retires; then only the new one. */
        assert_int_equal(jwt_verify(old_token, ring, ISSUER, t + 1, &c), 0);
        jwt_claims_done(&c);
        assert_int_equal(jwt_verify(new_token, ring, ISSUER, t + 1, &c), 0);
        jwt_claims_done(&c);
        assert_int_equal(keys_jwks(ring, t + 1, jwks), 2);
        assert_string_equal(jwks[0].kid, keys_current(ring)->kid);
        assert_string_equal(jwks[0].x, keys_current_public_b64(ring));
        assert_string_equal(jwks[1].kid, old_kid);
        assert_int_equal(jwks[1].not_after, t + LIFETIME);

        assert_int_equal(jwt_verify(old_token, ring, ISSUER, t + LIFETIME - 1, &c), -ETIME);
        assert_int_equal(jwt_verify(old_token, ring, ISSUER, t + LIFETIME, &c), -ENOKEY);
        assert_int_equal(keys_jwks(ring, t + LIFETIME, jwks), 1);

        /* The file has both, and a reload verifies the same way. */
        assert_int_equal(keys_load_or_create(path, t + 2, &reloaded, msg, sizeof msg), 0);
        assert_int_equal(reloaded->n_keys, 2);
        assert_string_equal(keys_current(reloaded)->kid, keys_current(ring)->kid);
        assert_null(reloaded->keys[1].secret_key);
        assert_int_equal(jwt_verify(old_token, reloaded, ISSUER, t + 2, &c), 0);
        jwt_claims_done(&c);
        reloaded = keys_free(reloaded);

        /* A later rotation drops the retired key; keep 0 retires at once. */
        assert_int_equal(keys_rotate(ring, path, t + LIFETIME, LIFETIME, msg, sizeof msg), 0);
        assert_int_equal(ring->n_keys, 2);
        free(new_token);
        new_token = sign_at(ring, t + LIFETIME);
        assert_int_equal(jwt_verify(new_token, ring, ISSUER, t + LIFETIME + 1, &c), 0);
        jwt_claims_done(&c);
        assert_int_equal(keys_rotate(ring, path, t + LIFETIME + 1, 0, msg, sizeof msg), 0);
        assert_int_equal(ring->n_keys, 2);
        assert_int_equal(keys_jwks(ring, t + LIFETIME + 1, jwks), 2);
        assert_int_equal(jwt_verify(new_token, ring, ISSUER, t + LIFETIME + 1, &c), -ENOKEY);
}

static void test_keys_rotation_limit(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("limit.key", NOW), *reloaded = NULL;
        char path[256], kid[KEYS_KID_LEN + 1];

        path_in_tmp(path, sizeof path, "limit.key");
        for (size_t i = 1; i < KEYS_MAX; i++)
                assert_int_equal(keys_rotate(ring, path, NOW + i, 1000000, msg, sizeof msg), 0);
        assert_int_equal(ring->n_keys, KEYS_MAX);
        memcpy(kid, keys_current(ring)->kid, sizeof kid);

        /* Refused, and neither the ring nor the file changed. */
        assert_int_equal(keys_rotate(ring, path, NOW + 100, 1000000, msg, sizeof msg), -E2BIG);
        assert_non_null(strstr(msg, "refused"));
        assert_string_equal(keys_current(ring)->kid, kid);
        assert_int_equal(keys_load_or_create(path, NOW, &reloaded, msg, sizeof msg), 0);
        assert_string_equal(keys_current(reloaded)->kid, kid);
        assert_int_equal(reloaded->n_keys, KEYS_MAX);

        /* A short keep time makes room again. */
        assert_int_equal(keys_rotate(ring, path, NOW + 2000000, 10, msg, sizeof msg), 0);
        assert_int_equal(ring->n_keys, 2);
}

static void test_keys_verify_only_cannot_sign(void **state) {
        _cleanup_keys_ Keyring *ring = ring_new("verify-only.key", NOW);
        char path[256], *token = NULL;
        JwtClaims c = claims_at(NOW);

        path_in_tmp(path, sizeof path, "verify-only.key");
        assert_int_equal(keys_rotate(ring, path, NOW, LIFETIME, msg, sizeof msg), 0);
        assert_int_equal(jwt_sign(&c, &ring->keys[1], &token), -ENOKEY);
        assert_null(token);
}

/* ---- API keys ---- */

static void test_apikey_generate_parse(void **state) {
        char id[APIKEY_ID_LEN + 1], secret[APIKEY_SECRET_LEN + 1], full[APIKEY_LEN + 1];
        char id2[APIKEY_ID_LEN + 1], secret2[APIKEY_SECRET_LEN + 1];
        const char *b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        const char *b32 = "abcdefghijklmnopqrstuvwxyz234567";
        bool seen62[62] = {}, seen32[32] = {};

        for (int round = 0; round < 500; round++) {
                apikey_generate(id, secret, full);
                assert_int_equal(strlen(full), APIKEY_LEN);
                assert_int_equal(full[APIKEY_ID_LEN], '.');
                assert_int_equal(apikey_parse(full, id2, secret2), 0);
                assert_string_equal(id, id2);
                assert_string_equal(secret, secret2);
                assert_true(apikey_id_valid(id));
                for (size_t i = 0; i < APIKEY_SECRET_LEN; i++)
                        seen62[strchr(b62, secret[i]) - b62] = true;
                for (size_t i = 0; i < APIKEY_ID_LEN; i++)
                        seen32[strchr(b32, id[i]) - b32] = true;
        }
        /* 16000 draws: a character never drawn means a broken alphabet. */
        for (size_t i = 0; i < 62; i++)
                assert_true(seen62[i]);
        for (size_t i = 0; i < 32; i++)
                assert_true(seen32[i]);
        sodium_memzero(secret, sizeof secret);
        sodium_memzero(full, sizeof full);
}

static void test_apikey_malformed(void **state) {
        char id[APIKEY_ID_LEN + 1] = "unchang", secret[APIKEY_SECRET_LEN + 1] = "unchanged";
        const char *good = "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTUV";
        const char *bad[] = {
                "",
                "abcdefgh",
                "abcdefgh.",
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTU",     /* short secret */
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTUVW",   /* long secret */
                "abcdefg.0123456789ABCDEFGHIJKLMNOPQRSTUVW",    /* short id */
                "abcdefghi.0123456789ABCDEFGHIJKLMNOPQRSTU",    /* long id */
                "Abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTUV",    /* uppercase id */
                "abcdefg1.0123456789ABCDEFGHIJKLMNOPQRSTUV",    /* 1 is not base32 */
                "abcdefgh_0123456789ABCDEFGHIJKLMNOPQRSTUV",
                "abcdefgh-0123456789ABCDEFGHIJKLMNOPQRSTUV",
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRST-V",
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRST_V",
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTU=",
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTU ",
                " abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTU",
                "abcdefgh.0123456789ABCDEFGHIJKLMNOPQRSTUV\n",
                "abcdefgh.0123456789ABCDEFGHIJ\xc3\xa9MNOPQRSTU",
                "abcdefgh.abcdefgh.0123456789ABCDEFGHIJKLM",
                "sa_abcdefgh_0123456789ABCDEFGHIJKLMNOPQRSTUV",
        };

        assert_int_equal(apikey_parse(good, id, secret), 0);
        strcpy(id, "unchang");
        strcpy(secret, "unchanged");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(apikey_parse(bad[i], id, secret), -EINVAL);
                assert_string_equal(id, "unchang");
                assert_string_equal(secret, "unchanged");
        }
        assert_int_equal(apikey_parse(NULL, id, secret), -EINVAL);
        /* An embedded NUL ends the key early. */
        char nul[APIKEY_LEN + 1];
        memcpy(nul, good, sizeof nul);
        nul[20] = 0;
        assert_int_equal(apikey_parse(nul, id, secret), -EINVAL);
        assert_false(apikey_id_valid("abcdefg"));
        assert_false(apikey_id_valid("abcdefgh1"));
        assert_false(apikey_id_valid(NULL));
}

static void test_apikey_pepper_and_hash(void **state) {
        _cleanup_pepper_ ApikeyPepper *pepper = NULL, *again = NULL, *other = NULL;
        char id[APIKEY_ID_LEN + 1], secret[APIKEY_SECRET_LEN + 1], full[APIKEY_LEN + 1];
        unsigned char h[APIKEY_HASH_BYTES], h2[APIKEY_HASH_BYTES];
        char path[256], other_path[256];
        struct stat st;

        path_in_tmp(path, sizeof path, "pepper");
        path_in_tmp(other_path, sizeof other_path, "pepper-other");
        assert_int_equal(apikey_pepper_load_or_create(path, &pepper, msg, sizeof msg), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(apikey_pepper_load_or_create(other_path, &other, msg, sizeof msg), 0);

        apikey_generate(id, secret, full);
        assert_int_equal(apikey_hash(pepper, secret, h), 0);
        assert_true(apikey_verify(pepper, secret, h));
        char hex[APIKEY_HASH_HEX], bad_hex[APIKEY_HASH_HEX];
        assert_int_equal(apikey_hash_hex(pepper, secret, hex), 0);
        assert_int_equal(strlen(hex), 64);
        assert_true(apikey_verify_hex(pepper, secret, hex));
        memcpy(bad_hex, hex, sizeof hex);
        bad_hex[63] = bad_hex[63] == '0' ? '1' : '0';
        assert_false(apikey_verify_hex(pepper, secret, bad_hex));
        bad_hex[63] = 'g';
        assert_false(apikey_verify_hex(pepper, secret, bad_hex));
        assert_false(apikey_verify_hex(pepper, secret, ""));
        assert_false(apikey_verify_hex(pepper, secret, NULL));

        /* Reloaded pepper: same hash. Another pepper: another hash. */
        assert_int_equal(apikey_pepper_load_or_create(path, &again, msg, sizeof msg), 0);
        assert_int_equal(apikey_hash(again, secret, h2), 0);
        assert_memory_equal(h, h2, sizeof h);
        assert_false(apikey_verify(other, secret, h));

        /* A secret off by one character does not verify. */
        secret[5] = secret[5] == 'a' ? 'b' : 'a';
        assert_false(apikey_verify(pepper, secret, h));
        assert_false(apikey_verify(pepper, "short", h));
        assert_int_equal(apikey_hash(pepper, "short", h2), -EINVAL);
        sodium_memzero(secret, sizeof secret);
        sodium_memzero(full, sizeof full);

        /* File checks as for the key ring. */
        again = apikey_pepper_free(again);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(apikey_pepper_load_or_create(path, &again, msg, sizeof msg), -EPERM);
        assert_null(again);
        assert_int_equal(chmod(path, 0600), 0);

        const char *bad[] = {
                "",
                "sauthd-apikey-pepper 1\n",
                "sauthd-apikey-pepper 2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                "sauthd-apikey-pepper 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "sauthd-apikey-pepper 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                "sauthd-apikey-pepper 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                "sauthd-apikey-pepper 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\n",
                "sauthd-apikey-pepper 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(apikey_pepper_parse(bad[i], strlen(bad[i]), &again), -EBADMSG);
                assert_null(again);
        }
        const char *ok = "sauthd-apikey-pepper 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
        assert_int_equal(apikey_pepper_parse(ok, strlen(ok), &again), 0);
}

/* ---- the outbox key: sealed messages ---- */

static void test_outbox_seal(void **state) {
        _cleanup_(outbox_key_freep) OutboxKey *k = NULL, *again = NULL, *other = NULL;
        const char *message = "To: a@example.org\nSubject: x\n\n    TOKEN-abcdefghijklmnopqrstuvwxyz0123456789\n";
        _cleanup_free_ char *body = NULL, *body2 = NULL;
        char *open = NULL, path[256], other_path[256];
        struct stat st;

        path_in_tmp(path, sizeof path, "outbox.key");
        path_in_tmp(other_path, sizeof other_path, "outbox-other.key");
        assert_int_equal(outbox_key_load_or_create(path, &k, msg, sizeof msg), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(outbox_key_load_or_create(other_path, &other, msg, sizeof msg), 0);

        /* Sealed: the token is not in the body; each seal differs (nonce). */
        assert_int_equal(outbox_seal(k, message, &body), 0);
        assert_null(strstr(body, "TOKEN"));
        assert_int_equal(outbox_seal(k, message, &body2), 0);
        assert_string_not_equal(body, body2);

        /* Opened with the same key, reloaded from its file. */
        assert_int_equal(outbox_key_load_or_create(path, &again, msg, sizeof msg), 0);
        assert_int_equal(outbox_unseal(again, body, &open), 0);
        assert_string_equal(open, message);
        open = erase_and_free(open);

        /* Another key, a changed byte, a cut body, garbage: refused. */
        assert_int_equal(outbox_unseal(other, body, &open), -EBADMSG);
        body[10] = body[10] == 'A' ? 'B' : 'A';
        assert_int_equal(outbox_unseal(k, body, &open), -EBADMSG);
        body2[20] = '\0';
        assert_int_equal(outbox_unseal(k, body2, &open), -EBADMSG);
        assert_int_equal(outbox_unseal(k, "not base64 !", &open), -EBADMSG);
        assert_int_equal(outbox_unseal(k, "", &open), -EBADMSG);
        assert_null(open);

        /* File checks as for the other secret files. */
        again = outbox_key_free(again);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(outbox_key_load_or_create(path, &again, msg, sizeof msg), -EPERM);
        assert_null(again);
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(outbox_key_parse("sauthd-apikey-pepper 1\nAAAA\n", 27, &again), -EBADMSG);
        assert_int_equal(outbox_key_parse("sauthd-outbox-key 1\nAAAA\n", 25, &again), -EBADMSG);
        assert_null(again);
}

static void test_outbox_backoff(void **state) {
        assert_int_equal(outbox_backoff(30, 1), 30);
        assert_int_equal(outbox_backoff(30, 2), 60);
        assert_int_equal(outbox_backoff(30, 3), 120);
        assert_int_equal(outbox_backoff(30, 7), 1920);
        assert_int_equal(outbox_backoff(30, 8), OUTBOX_RETRY_MAX_SEC);
        assert_int_equal(outbox_backoff(30, INT64_MAX), OUTBOX_RETRY_MAX_SEC);
        assert_int_equal(outbox_backoff(1, 1), 1);
        assert_int_equal(outbox_backoff(3600, 1), 3600);
        assert_int_equal(outbox_backoff(3600, 5), 3600);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_jwt_round_trip),
                cmocka_unit_test(test_jwt_no_identity_no_roles),
                cmocka_unit_test(test_jwt_tampered),
                cmocka_unit_test(test_jwt_tampered_payload_resigned_elsewhere),
                cmocka_unit_test(test_jwt_header),
                cmocka_unit_test(test_jwt_alg_none_unsigned),
                cmocka_unit_test(test_jwt_payload),
                cmocka_unit_test(test_jwt_format),
                cmocka_unit_test(test_jwt_expired),
                cmocka_unit_test(test_jwt_wrong_issuer),
                cmocka_unit_test(test_jwt_sign_refuses),
                cmocka_unit_test(test_keys_file_mode),
                cmocka_unit_test(test_keys_bad_files),
                cmocka_unit_test(test_keys_rotation),
                cmocka_unit_test(test_keys_rotation_limit),
                cmocka_unit_test(test_keys_verify_only_cannot_sign),
                cmocka_unit_test(test_apikey_generate_parse),
                cmocka_unit_test(test_apikey_malformed),
                cmocka_unit_test(test_apikey_pepper_and_hash),
                cmocka_unit_test(test_outbox_seal),
                cmocka_unit_test(test_outbox_backoff),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
