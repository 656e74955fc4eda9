/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "util.h"

/*
 * Small files that hold a secret of the daemon's own (the token signing
 * keys, the API key pepper). Read only if they are regular files, not
 * symbolic links, owned by the user the daemon runs as, and readable by
 * nobody else (mode 0600 or stricter); written atomically with mode 0600.
 * Their text lives in libsodium guarded memory, wiped when freed.
 */

/* A generous bound: the key ring is a few lines per key. */
#define SECRET_FILE_MAX (64 * 1024)

/* Reads PATH after the checks. *ret is NUL-terminated, allocated with
 * sodium_malloc() and freed with secret_free(). -ENOENT if PATH does not
 * exist; -EPERM if a check refuses it and -EFBIG if it exceeds max bytes,
 * with msg saying why. */
_must_check_ int secret_file_read(const char *path, size_t max, char **ret, size_t *ret_len,
                                  char *msg, size_t msg_size);

/* Writes data to PATH through a temporary file in the same directory:
 * mode 0600, fsync, rename (or, without replace, a link that fails with
 * -EEXIST if PATH appeared meanwhile), fsync of the directory. A reader
 * sees the old file or the new one, never a part. */
_must_check_ int secret_file_write(const char *path, const char *data, size_t len, bool replace,
                                   char *msg, size_t msg_size);

/* A sodium_malloc() buffer of size bytes plus a NUL, zeroed; NULL on ENOMEM. */
char *secret_alloc(size_t size);

/* Wipes and frees a buffer from secret_file_read() or secret_alloc(). Takes NULL. */
void secret_free(char *s);
static inline void secret_freep(char **s) {
        secret_free(*s);
}
#define _cleanup_secret_ _cleanup_(secret_freep)
