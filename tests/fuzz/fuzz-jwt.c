/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jwt_verify() on the input three ways: as a whole token; as the payload
 * of a token correctly signed by the ring's key (so the claims parser is
 * reached past the signature); and as the header of such a token. A refusal
 * must be one of the documented errors and leave the result untouched; an
 * acceptance must carry every claim, unexpired, for our issuer.
 */
#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "keys.h"
#include "util.h"

#define FUZZ_NOW 1700000000ULL
#define FUZZ_ISSUER "fuzz.example.test"
#define FUZZ_INPUT_MAX (JWT_MAX + 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static Keyring *ring;

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

static void b64(char *out, size_t size, const void *data, size_t len) {
        sodium_bin2base64(out, size, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A fixed ring: the all-zero seed, whose kid is its RFC 7638 thumbprint.
 * Corpus tokens are signed with it (tests/fuzz/corpus/jwt/README). */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        unsigned char seed[crypto_sign_SEEDBYTES] = {}, pk[32], sk[64], h[32];
        char x[64], kid[64], jwk[128], text[256], seed_b64[64];

        if (sodium_init() < 0)
                abort();
        crypto_sign_seed_keypair(pk, sk, seed);
        b64(x, sizeof x, pk, sizeof pk);
        snprintf(jwk, sizeof jwk, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
        crypto_hash_sha256(h, (const unsigned char *) jwk, strlen(jwk));
        b64(kid, sizeof kid, h, sizeof h);
        b64(seed_b64, sizeof seed_b64, seed, sizeof seed);
        snprintf(text, sizeof text, "sauthd-keyring 1\n%s 1 sign 0 %s\n", kid, seed_b64);
        fuzz_check(keys_parse(text, strlen(text), &ring) == 0, "fixed ring parses");
        return 0;
}

static void fuzz_verify(const char *token) {
        JwtClaims c = {};
        int r;

        r = jwt_verify(token, ring, FUZZ_ISSUER, FUZZ_NOW, &c);
        if (r < 0) {
                fuzz_check(r == -EBADMSG || r == -ENOKEY || r == -EKEYREJECTED || r == -ETIME ||
                           r == -EREMOTE || r == -ENOMEM, "documented error");
                fuzz_check(!c.iss && !c.sub && !c.auth, "result untouched on refusal");
                return;
        }
        fuzz_check(strlen(token) <= JWT_MAX, "within the cap");
        fuzz_check(c.iss && streq(c.iss, FUZZ_ISSUER), "our issuer");
        fuzz_check(c.sub && *c.sub && c.acc && *c.acc && c.jti && *c.jti && c.method && *c.method,
                   "required strings present");
        fuzz_check(c.exp > FUZZ_NOW, "not expired");
        fuzz_check(c.auth != NULL, "roles list present");
        for (char **i = c.auth; *i; i++)
                fuzz_check(**i && strlen(*i) <= JWT_STRING_MAX, "roles non-empty and bounded");
        jwt_claims_done(&c);
}

/* b64(header).b64(payload).signature by the ring's key. Sizes passed to
 * sodium_bin2base64() are exact: it fills all of the room it is given. */
static void fuzz_signed(const void *header, size_t header_len, const void *payload, size_t payload_len) {
        size_t size = sodium_base64_ENCODED_LEN(header_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
                      sodium_base64_ENCODED_LEN(payload_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
                      sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        _cleanup_free_ char *t = malloc(size);
        unsigned char sig[crypto_sign_BYTES];
        size_t pos;

        if (!t)
                return;
        b64(t, size, header, header_len);
        pos = strlen(t);
        t[pos++] = '.';
        b64(t + pos, size - pos, payload, payload_len);
        pos += strlen(t + pos);
        fuzz_check(keys_sign(keys_current(ring), (const unsigned char *) t, pos, sig) == 0, "signs");
        t[pos++] = '.';
        b64(t + pos, size - pos, sig, sizeof sig);
        fuzz_verify(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *header = NULL;
        static const char payload[] =
                "{\"iss\":\"" FUZZ_ISSUER "\",\"sub\":\"a\",\"acc\":\"x\",\"jti\":\"j\",\"iat\":1,"
                "\"exp\":1800000000,\"auth\":[\"user\"],\"method\":\"local\"}";

        if (size > FUZZ_INPUT_MAX)
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        fuzz_verify(s);

        if (asprintf(&header, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", keys_current(ring)->kid) < 0)
                return 0;
        fuzz_signed(header, strlen(header), data, size);
        fuzz_signed(data, size, payload, strlen(payload));
        return 0;
}
