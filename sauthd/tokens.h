/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * Single-use reset and confirmation tokens: 32 random bytes from libsodium,
 * base64url without padding for the user; only the hex BLAKE2b-256 of the
 * token text is stored.
 */

#define TOKEN_BYTES 32
#define TOKEN_TEXT_MAX 64       /* base64url of 32 bytes is 43 characters */
#define TOKEN_HASH_HEX (2 * 32 + 1)

/* A new token; text must be wiped by the caller after use. */
void token_new(char text[static TOKEN_TEXT_MAX]);

/* The stored form of a token text. -EINVAL for text that cannot be a token. */
int token_hash(const char *text, char out[static TOKEN_HASH_HEX]);

/* Random object id "x-" + 16 hex digits (people, contacts, accounts). */
void id_new(char out[static 19]);
