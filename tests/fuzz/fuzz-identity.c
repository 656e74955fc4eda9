/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * identity_normalize(), username_valid() and template_name_valid() on the
 * input as a string (up to its first NUL). A normal form must be a fixed
 * point and say no more than the input did.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "sauth-names.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

static void fuzz_check_identity(const char *in, const char *out) {
        _cleanup_free_ char *again = NULL;
        const char *at = strchr(out, '@');

        fuzz_check(strlen(out) <= strlen(in), "no longer than the input");
        fuzz_check(strlen(out) >= 3, "at least a@b");
        fuzz_check(at && at > out && at[1] && !strchr(at + 1, '@'), "one @, local and domain parts");
        fuzz_check(!memchr(out, '+', at - out), "no +tag left");
        for (const char *p = out; *p; p++)
                fuzz_check(!(*p >= 'A' && *p <= 'Z') && (unsigned char) *p > ' ', "lowercase, no space");
        /* The domain is never changed, only lowercased. */
        fuzz_check(strcasecmp(at, strrchr(in, '@')) == 0, "same domain");

        fuzz_check(identity_normalize(out, &again) == 0, "normal form accepted");
        fuzz_check(streq(out, again), "normal form is a fixed point");
}

static void fuzz_check_name(const char *s, bool valid, size_t max, const char *charset) {
        if (!valid)
                return;
        fuzz_check(strlen(s) >= 1 && strlen(s) <= max, "name length");
        fuzz_check(strspn(s, charset) == strlen(s), "name charset");
        fuzz_check(!strstr(s, "/") && !streq(s, ".") && !streq(s, ".."), "no path");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *out = NULL;

        if (size > 4096)
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                return 0;

        if (identity_normalize(s, &out) == 0)
                fuzz_check_identity(s, out);
        else
                fuzz_check(!out, "no output on failure");

        fuzz_check_name(s, username_valid(s), SAUTH_NAME_MAX, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
        if (username_valid(s))
                fuzz_check(s[0] != '-' && s[0] != '.' && !(s[0] >= '0' && s[0] <= '9'), "username start");
        fuzz_check_name(s, template_name_valid(s), 64, "abcdefghijklmnopqrstuvwxyz0123456789_-");
        return 0;
}
