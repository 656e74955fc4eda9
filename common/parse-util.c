/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "parse-util.h"

static int parse_digits(const char *s, unsigned long long max, unsigned long long *ret) {
        unsigned long long v;
        char *end = NULL;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v > max)
                return -ERANGE;
        if (errno != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_uint(const char *s, unsigned *ret) {
        unsigned long long v;
        int r;

        r = parse_digits(s, UINT_MAX, &v);
        if (r < 0)
                return r;
        *ret = (unsigned) v;
        return 0;
}

int parse_uint64(const char *s, uint64_t *ret) {
        unsigned long long v;
        int r;

        r = parse_digits(s, UINT64_MAX, &v);
        if (r < 0)
                return r;
        *ret = (uint64_t) v;
        return 0;
}
