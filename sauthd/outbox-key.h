/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "util.h"

/*
 * The outbox key: messages in the outbox hold tokens in clear, so their
 * bodies are sealed with crypto_secretbox under a key of its own, kept in
 * a file beside the database ([mail] outbox_key_file, mode 0600, refused
 * if anyone else may read it; see secret-file.h). A copy of the database
 * alone reveals no token.
 *
 * Key file: "sauthd-outbox-key 1\n" then the 32-byte key in base64url
 * without padding and a newline. A sealed body: base64url (no padding) of
 * a random 24-byte nonce followed by the secretbox of the message.
 */

typedef struct OutboxKey OutboxKey;

/* Loads PATH, or creates it with a new random key. -EPERM if the file
 * fails the checks, -EBADMSG if it is not a key file; msg says why. */
_must_check_ int outbox_key_load_or_create(const char *path, OutboxKey **ret, char *msg, size_t msg_size);

/* Parses key file text (no file checks). */
_must_check_ int outbox_key_parse(const char *text, size_t len, OutboxKey **ret);

OutboxKey *outbox_key_free(OutboxKey *k);
static inline void outbox_key_freep(OutboxKey **k) {
        outbox_key_free(*k);
}

/* Seals MESSAGE: *ret is plain text (no secret in it), free()d. */
_must_check_ int outbox_seal(const OutboxKey *k, const char *message, char **ret);

/* Opens a sealed body: -EBADMSG if it is not one, or not sealed with this
 * key. *ret holds the token: free it with erase_and_free(). */
_must_check_ int outbox_unseal(const OutboxKey *k, const char *body, char **ret);
