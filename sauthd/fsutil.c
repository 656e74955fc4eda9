/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

int fd_check_secure(int fd, const char *path, char *msg, size_t msg_size) {
        struct stat st;

        if (fstat(fd, &st) < 0) {
                snprintf(msg, msg_size, "%s: cannot stat: %m", path);
                return -errno;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(msg, msg_size, "%s: not a regular file", path);
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(msg, msg_size,
                         "%s: refused, group or other may write it (mode %04o); run chmod go-w",
                         path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                snprintf(msg, msg_size, "%s: refused, owned by uid %u, not root or us",
                         path, (unsigned) st.st_uid);
                return -EPERM;
        }
        return 0;
}

static int fd_check_private(int fd, const char *path, char *msg, size_t msg_size) {
        struct stat st;

        if (fstat(fd, &st) < 0) {
                snprintf(msg, msg_size, "%s: cannot stat: %m", path);
                return -errno;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                snprintf(msg, msg_size, "%s: refused, it holds a secret and group or other may read it (mode %04o); run chmod 600",
                         path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

static int fopen_checked(const char *path, bool secret, FILE **ret, char *msg, size_t msg_size) {
        _cleanup_close_ int fd = -1;
        FILE *f;
        int r;

        /* O_NONBLOCK: a FIFO put in the file's place must not hang us
         * before fd_check_secure() refuses it. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                snprintf(msg, msg_size, "%s: %m", path);
                return r;
        }
        r = fd_check_secure(fd, path, msg, msg_size);
        if (r >= 0 && secret)
                r = fd_check_private(fd, path, msg, msg_size);
        if (r < 0)
                return r;
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
                r = -errno;
                snprintf(msg, msg_size, "%s: %m", path);
                return r;
        }

        f = fdopen(fd, "re");
        if (!f) {
                r = -errno;
                snprintf(msg, msg_size, "%s: %m", path);
                return r;
        }
        TAKE_FD(fd); /* now owned by f */
        *ret = f;
        return 0;
}

int fopen_secure(const char *path, FILE **ret, char *msg, size_t msg_size) {
        return fopen_checked(path, false, ret, msg, msg_size);
}

int fopen_secret(const char *path, FILE **ret, char *msg, size_t msg_size) {
        return fopen_checked(path, true, ret, msg, msg_size);
}
