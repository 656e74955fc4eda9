/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret-file.h"

char *secret_alloc(size_t size) {
        char *p;

        if (size >= SIZE_MAX - 1)
                return NULL;
        p = sodium_malloc(size + 1);
        if (p)
                memset(p, 0, size + 1);
        return p;
}

void secret_free(char *s) {
        /* sodium_free() wipes the buffer before it unmaps it. */
        if (s)
                sodium_free(s);
}

static int secret_file_check(int fd, const char *path, size_t max, size_t *ret_size,
                             char *msg, size_t msg_size) {
        struct stat st;

        if (fstat(fd, &st) < 0) {
                snprintf(msg, msg_size, "%s: cannot stat: %m", path);
                return -errno;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(msg, msg_size, "%s: refused, not a regular file", path);
                return -EPERM;
        }
        if (st.st_uid != geteuid()) {
                snprintf(msg, msg_size, "%s: refused, owned by uid %u, not by the daemon's uid %u",
                         path, (unsigned) st.st_uid, (unsigned) geteuid());
                return -EPERM;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                snprintf(msg, msg_size,
                         "%s: refused, it holds a secret and group or other may access it (mode %04o); run chmod 600",
                         path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if ((uint64_t) st.st_size > max) {
                snprintf(msg, msg_size, "%s: refused, larger than %zu bytes", path, max);
                return -EFBIG;
        }
        *ret_size = (size_t) st.st_size;
        return 0;
}

static int secret_fd_read(int fd, char *buf, size_t max, size_t *ret_len) {
        size_t len = 0;

        /* One byte more than allowed, to notice a file that grew since fstat. */
        while (len <= max) {
                ssize_t k = read(fd, buf + len, max + 1 - len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len > max)
                return -EFBIG;
        buf[len] = 0;
        *ret_len = len;
        return 0;
}

int secret_file_read(const char *path, size_t max, char **ret, size_t *ret_len,
                     char *msg, size_t msg_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_secret_ char *buf = NULL;
        size_t size = 0, len = 0;
        int r;

        /* O_NOFOLLOW: a link could be turned to another file between runs;
         * O_NONBLOCK: a FIFO in the file's place must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ELOOP)
                        snprintf(msg, msg_size, "%s: refused, a symbolic link", path);
                else
                        snprintf(msg, msg_size, "%s: %m", path);
                return r == -ELOOP ? -EPERM : r;
        }
        r = secret_file_check(fd, path, max, &size, msg, msg_size);
        if (r < 0)
                return r;

        buf = secret_alloc(max + 1);
        if (!buf)
                return -ENOMEM;
        r = secret_fd_read(fd, buf, max, &len);
        if (r < 0) {
                snprintf(msg, msg_size, "%s: %s", path, r == -EFBIG ? "grew past the limit" : strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(buf); /* the caller frees it with secret_free() */
        *ret_len = len;
        return 0;
}

static int write_all(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t k = write(fd, data, len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                data += k;
                len -= (size_t) k;
        }
        return 0;
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -1;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

/* Puts the finished temporary file in place. */
static int secret_file_commit(const char *tmp, const char *path, bool replace) {
        if (replace)
                return rename(tmp, path) < 0 ? -errno : 0;
        /* link() never replaces: a file created meanwhile wins, and the
         * caller loads that one instead of clobbering it. */
        if (link(tmp, path) < 0)
                return -errno;
        (void) unlink(tmp);
        return 0;
}

int secret_file_write(const char *path, const char *data, size_t len, bool replace,
                      char *msg, size_t msg_size) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                snprintf(msg, msg_size, "%s: cannot create a temporary file: %s", path, strerror(-r));
                return r;
        }
        r = fchmod(fd, 0600) < 0 ? -errno : 0;
        if (r >= 0)
                r = write_all(fd, data, len);
        if (r >= 0)
                r = fsync(fd) < 0 ? -errno : 0;
        if (r >= 0)
                r = close(TAKE_FD(fd)) < 0 ? -errno : 0;
        if (r >= 0)
                r = secret_file_commit(tmp, path, replace);
        if (r < 0) {
                (void) unlink(tmp);
                snprintf(msg, msg_size, "%s: cannot write: %s", path, strerror(-r));
                return r;
        }
        r = fsync_parent_dir(path);
        if (r < 0) {
                snprintf(msg, msg_size, "%s: written, but syncing its directory failed: %s", path, strerror(-r));
                return r;
        }
        return 0;
}
