/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a libFuzzer harness without libFuzzer: every file named on the
 * command line, or every file of a directory named there (in name order),
 * is fed once to LLVMFuzzerTestOneInput(). A crash or a sanitizer report
 * fails the test; so that a fixed bug stays fixed, crashing inputs found by
 * the real fuzzer are kept in the corpus this runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define DRIVER_INPUT_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int driver_read(int fd, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = malloc(DRIVER_INPUT_MAX);
        size_t len = 0;

        if (!buf)
                return -ENOMEM;
        while (len < DRIVER_INPUT_MAX) {
                ssize_t k = read(fd, buf + len, DRIVER_INPUT_MAX - len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                len += k;
        }
        if (len >= DRIVER_INPUT_MAX)
                return -EFBIG;
        *ret = TAKE_PTR(buf);
        *ret_size = len;
        return 0;
}

static int driver_run_file(int dirfd, const char *name) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_close_ int fd = -1;
        size_t size = 0;
        int r;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                fprintf(stderr, "%s: %m\n", name);
                return -errno;
        }
        r = driver_read(fd, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", name, strerror(-r));
                return r;
        }
        /* Flushed first, so a crash report follows the input's name. */
        printf("input %s (%zu bytes)\n", name, size);
        fflush(stdout);
        (void) LLVMFuzzerTestOneInput(data, size);
        return 0;
}

static int driver_name_cmp(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int driver_skip_dots(const struct dirent *de) {
        return de->d_name[0] != '.';
}

static int driver_run_dir(const char *path, unsigned *count) {
        _cleanup_close_ int dfd = -1;
        struct dirent **list = NULL;
        int n, r = 0;

        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        n = scandir(path, &list, driver_skip_dots, driver_name_cmp);
        if (n < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                if (r == 0) {
                        r = driver_run_file(dfd, list[i]->d_name);
                        if (r == 0)
                                (*count)++;
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int main(int argc, char **argv) {
        unsigned count = 0;
        struct stat st;
        int r;

        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR|FILE...\n", argv[0]);
                return 2;
        }
        if (LLVMFuzzerInitialize)
                (void) LLVMFuzzerInitialize(&argc, &argv);

        for (int i = 1; i < argc; i++) {
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        return 1;
                }
                if (S_ISDIR(st.st_mode))
                        r = driver_run_dir(argv[i], &count);
                else {
                        r = driver_run_file(AT_FDCWD, argv[i]);
                        if (r == 0)
                                count++;
                }
                if (r < 0)
                        return 1;
        }
        /* An empty corpus would make this test pass without testing. */
        if (count == 0) {
                fprintf(stderr, "no inputs\n");
                return 1;
        }
        printf("%u inputs, no crash\n", count);
        return 0;
}
