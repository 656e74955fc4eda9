/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small helpers shared by every program: cleanup attributes, hand-over of
 * ownership, wiping of secrets. Nothing here links anything but libc, so
 * the PAM module may use all of it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _must_check_ __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

/* Hands ownership of a pointer over: returns it and clears the variable, so
 * the cleanup attribute on the variable no longer frees it. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _take_ = (p);     \
                (p) = NULL;                     \
                _take_;                         \
        })

#define TAKE_FD(fd)                             \
        ({                                      \
                int _take_fd_ = (fd);           \
                (fd) = -1;                      \
                _take_fd_;                      \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Wipes a NUL-terminated secret and frees it. Takes NULL. */
static inline void *erase_and_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
        return NULL;
}
static inline void erase_and_freep(char **s) {
        erase_and_free(*s);
}
#define _cleanup_erase_ _cleanup_(erase_and_freep)

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* The same for a list of secrets (password hashes): each wiped first. */
static inline void *strv_erase_free(char **l) {
        if (l) {
                for (char **i = l; *i; i++)
                        erase_and_free(*i);
                free(l);
        }
        return NULL;
}
static inline void strv_erase_freep(char ***l) {
        strv_erase_free(*l);
}
#define _cleanup_strv_erase_ _cleanup_(strv_erase_freep)

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* strdup that keeps NULL. */
static inline const char *strempty(const char *s) {
        return s ? s : "";
}

static inline char *strdup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

/* Monotonic microseconds, for rate limits and delays. */
static inline uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
