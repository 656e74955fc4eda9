/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * The session token key ring: one current Ed25519 signing key and the
 * public keys of earlier ones, each verifying until its retire time, so a
 * rotation logs nobody out. Kept in [tokens] key_file:
 *
 *     sauthd-keyring 1
 *     KID CREATED sign 0 SEED
 *     KID CREATED verify NOT_AFTER PUBLIC_KEY
 *
 * One key per line, fields separated by one space, every line ending in
 * '\n'. KID is the key's RFC 7638 thumbprint (base64url SHA-256 of its
 * JWK), so a line cannot pair a kid with another key; CREATED and NOT_AFTER
 * are UNIX seconds; SEED (32 bytes) and PUBLIC_KEY (32 bytes) are base64url
 * without padding. Exactly one "sign" line, which must come first.
 *
 * The secret key is held in sodium_malloc() memory with no access but
 * while signing. Only one thread (the event loop) may sign.
 */

#define KEYS_MAX 16
/* base64url of a SHA-256 thumbprint: 43 characters. */
#define KEYS_KID_LEN 43
/* base64url of a 32-byte public key: 43 characters. */
#define KEYS_PUBLIC_B64_LEN 43

typedef struct SigningKey {
        char kid[KEYS_KID_LEN + 1];
        char public_b64[KEYS_PUBLIC_B64_LEN + 1];
        unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
        uint64_t created;
        uint64_t not_after;             /* 0: no retire time (the current key) */
        unsigned char *secret_key;      /* NULL on verify-only keys; guarded, no access at rest */
} SigningKey;

/* Fields are read-only outside keys.c. keys[0] is the current key. */
typedef struct Keyring {
        SigningKey keys[KEYS_MAX];
        size_t n_keys;
} Keyring;

/* Loads PATH, or creates it with one new key if it does not exist.
 * -EPERM if the file is not the daemon's own or others may read it,
 * -EBADMSG if it is not a valid key ring; msg says why (never a key). */
_must_check_ int keys_load_or_create(const char *path, uint64_t now, Keyring **ret,
                                     char *msg, size_t msg_size);

/* Parses key ring text (no file checks): for keys_load_or_create() and
 * the fuzzer. -EBADMSG on anything but a well-formed ring. */
_must_check_ int keys_parse(const char *text, size_t len, Keyring **ret);

/* Makes a new current key. The old current key verifies until
 * now + keep_verify_for (0 retires it at once, for a leaked key); verify
 * keys already retired at now are dropped. PATH is written atomically
 * first; ring changes only if that succeeded. -E2BIG if the ring would
 * hold more than KEYS_MAX keys. */
_must_check_ int keys_rotate(Keyring *ring, const char *path, uint64_t now, uint64_t keep_verify_for,
                             char *msg, size_t msg_size);

/* An empty ring for public keys only (other hosts' keys): no current key,
 * nothing to sign with, never saved. */
_must_check_ int keys_ring_new_verify_only(Keyring **ret);
/* Adds a public key (base64url) that verifies until not_after (0: no
 * retire time). -EBADMSG if kid is not its thumbprint, -EEXIST if the
 * ring has it, -E2BIG if the ring is full. */
_must_check_ int keys_ring_add_public(Keyring *ring, const char *kid, const char *public_b64,
                                      uint64_t created, uint64_t not_after);

/* The current (signing) key. */
const SigningKey *keys_current(const Keyring *ring);

/* The key named kid that verifies at now: NULL if there is none or it
 * retired. */
const SigningKey *keys_find(const Keyring *ring, const char *kid, uint64_t now);

/* Signs msg with key's secret key. -ENOKEY for a verify-only key. */
_must_check_ int keys_sign(const SigningKey *key, const unsigned char *msg, size_t len,
                           unsigned char sig[static crypto_sign_BYTES]);

/* The base64url public key of the current key (AuthParams' public_key). */
const char *keys_current_public_b64(const Keyring *ring);

/* The keys that verify at now, current first, as a JWKS-shaped list for
 * AuthParams (kty "OKP", crv "Ed25519", these two fields). */
typedef struct KeysJwk {
        char kid[KEYS_KID_LEN + 1];
        char x[KEYS_PUBLIC_B64_LEN + 1];
        uint64_t not_after;             /* 0: current */
} KeysJwk;

/* Fills out (room for KEYS_MAX entries); returns how many. */
size_t keys_jwks(const Keyring *ring, uint64_t now, KeysJwk out[static KEYS_MAX]);

/* Wipes and frees. Takes NULL. */
Keyring *keys_free(Keyring *ring);
static inline void keys_freep(Keyring **ring) {
        keys_free(*ring);
}
#define _cleanup_keys_ _cleanup_(keys_freep)
