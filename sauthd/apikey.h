/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/*
 * API keys as DESIGN.md has them: "<id>.<secret>", the id 8 characters of
 * lowercase base32 (40 random bits, the public half, the row's key), the
 * secret 32 characters of base62 (about 190 random bits). The store keeps
 * only apikey_hash() of the secret: BLAKE2b-256 keyed with a pepper that
 * lives in its own file, not in the database, so a copy of the database
 * alone does not allow testing guesses.
 *
 * Pepper file: "sauthd-apikey-pepper 1\n" then the 32-byte key in base64url
 * without padding and '\n'; created at first start with mode 0600, refused
 * like the key ring if it is not the daemon's own or others may read it.
 */

#define APIKEY_ID_LEN 8
#define APIKEY_SECRET_LEN 32
#define APIKEY_SEPARATOR '.'
#define APIKEY_LEN (APIKEY_ID_LEN + 1 + APIKEY_SECRET_LEN)
#define APIKEY_HASH_BYTES 32

typedef struct ApikeyPepper ApikeyPepper;

/* Loads PATH, or creates it with a new random pepper. -EPERM if the file
 * is not the daemon's own or others may read it, -EBADMSG if malformed;
 * msg says why. */
_must_check_ int apikey_pepper_load_or_create(const char *path, ApikeyPepper **ret, char *msg, size_t msg_size);

/* Parses pepper file text (no file checks): for the loader and the fuzzer. */
_must_check_ int apikey_pepper_parse(const char *text, size_t len, ApikeyPepper **ret);

/* Wipes and frees. Takes NULL. */
ApikeyPepper *apikey_pepper_free(ApikeyPepper *p);
static inline void apikey_pepper_freep(ApikeyPepper **p) {
        apikey_pepper_free(*p);
}
#define _cleanup_pepper_ _cleanup_(apikey_pepper_freep)

/* A new key. full is shown once to the user; id is stored, secret only
 * hashed. Wipe secret and full after use (sodium_memzero). */
void apikey_generate(char id[static APIKEY_ID_LEN + 1], char secret[static APIKEY_SECRET_LEN + 1],
                     char full[static APIKEY_LEN + 1]);

/* Splits a key as the caller gave it. -EINVAL unless it is exactly
 * APIKEY_LEN characters of the right alphabets with the separator in its
 * place; nothing is written then. */
_must_check_ int apikey_parse(const char *full, char id[static APIKEY_ID_LEN + 1],
                              char secret[static APIKEY_SECRET_LEN + 1]);

/* Whether id could be an API key id (for ids that come without a secret,
 * as in RevokeApiKey). */
bool apikey_id_valid(const char *id);

/* The stored form of secret. -EINVAL if secret is not a well-formed secret. */
_must_check_ int apikey_hash(const ApikeyPepper *pepper, const char *secret,
                             unsigned char out[static APIKEY_HASH_BYTES]);

/* The same as the store keeps it: 64 lowercase hex digits. */
#define APIKEY_HASH_HEX (2 * APIKEY_HASH_BYTES + 1)
_must_check_ int apikey_hash_hex(const ApikeyPepper *pepper, const char *secret, char out[static APIKEY_HASH_HEX]);

/* Whether secret matches the stored hash, compared in constant time. */
_must_check_ bool apikey_verify(const ApikeyPepper *pepper, const char *secret,
                                const unsigned char stored[static APIKEY_HASH_BYTES]);

/* The same against the hex form; false for stored text that is not one. */
_must_check_ bool apikey_verify_hex(const ApikeyPepper *pepper, const char *secret, const char *stored_hex);
