/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/*
 * Files that steer authentication (config, keys, database) are refused if
 * someone other than their owner could have written them (doas, signify).
 * Returns 0, or -EPERM with a message naming the file and the problem.
 */
int fd_check_secure(int fd, const char *path, char *msg, size_t msg_size);

/* Opens PATH for reading after the same check. */
int fopen_secure(const char *path, FILE **ret, char *msg, size_t msg_size);

/* The same for a file holding a secret (SMTP credentials): besides, nobody
 * but the owner may read it (mode 0600 or stricter). */
int fopen_secret(const char *path, FILE **ret, char *msg, size_t msg_size);
