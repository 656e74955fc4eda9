/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keys_parse() on any input. An accepted ring has one to KEYS_MAX keys,
 * the first and only the first able to sign, distinct kids that are each
 * key's thumbprint, and its signing key's signatures verify under its
 * public key.
 */
#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (sodium_init() < 0)
                abort();
        return 0;
}

static void fuzz_check_ring(const Keyring *ring) {
        static const unsigned char msg[] = "fuzz";
        unsigned char sig[crypto_sign_BYTES];

        fuzz_check(ring->n_keys >= 1 && ring->n_keys <= KEYS_MAX, "key count");
        for (size_t i = 0; i < ring->n_keys; i++) {
                const SigningKey *k = &ring->keys[i];

                fuzz_check((i == 0) == (k->secret_key != NULL), "only the first key signs");
                fuzz_check((i == 0) == (k->not_after == 0), "only the first key has no retire time");
                fuzz_check(strlen(k->kid) == KEYS_KID_LEN, "kid length");
                fuzz_check(keys_find(ring, k->kid, 0) == k, "kid finds its key");
        }
        fuzz_check(keys_sign(keys_current(ring), msg, sizeof msg, sig) == 0, "signs");
        fuzz_check(crypto_sign_verify_detached(sig, msg, sizeof msg, keys_current(ring)->public_key) == 0,
                   "signature verifies under the public key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_keys_ Keyring *ring = NULL;

        if (size > 16384)
                return 0;
        if (keys_parse((const char *) data, size, &ring) < 0) {
                fuzz_check(!ring, "no ring on refusal");
                return 0;
        }
        fuzz_check_ring(ring);
        return 0;
}
