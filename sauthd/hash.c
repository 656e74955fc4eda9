/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "hash.h"

static size_t cost_mem_bytes(HashCost cost) {
        return (size_t) cost.mem_kib * 1024;
}

int hash_password(const char *password, HashCost cost, char out[static HASH_STR_MAX]) {
        if (crypto_pwhash_str_alg(out, password, strlen(password), cost.ops, cost_mem_bytes(cost),
                                  crypto_pwhash_ALG_ARGON2ID13) != 0)
                return -ENOMEM;
        return 0;
}

bool hash_verify(const char *hash, const char *password) {
        if (!hash || !password)
                return false;
        /* libsodium compares in constant time and refuses malformed strings. */
        return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool hash_needs_rehash(const char *hash, HashCost cost) {
        return crypto_pwhash_str_needs_rehash(hash, cost.ops, cost_mem_bytes(cost)) != 0;
}

int hash_make_dummy(HashCost cost, char out[static HASH_STR_MAX]) {
        unsigned char raw[24];
        char secret[sizeof raw * 2 + 1];
        int r;

        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(secret, sizeof secret, raw, sizeof raw);
        r = hash_password(secret, cost, out);
        sodium_memzero(raw, sizeof raw);
        sodium_memzero(secret, sizeof secret);
        return r;
}
