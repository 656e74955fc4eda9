/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "identity.h"
#include "sauth-names.h"
#include "util.h"

/* A plain addr-spec, no quoting: a local part of RFC 5322 "atext" and dots
 * (not first, last or doubled), a domain of letters, digits and hyphens in
 * dot-separated labels. What mail can be sent to, and nothing more. */
static bool local_part_valid(const char *s, size_t n) {
        static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    "!#$%&'*+/=?^_`{|}~-";

        if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '.') {
                        if (s[i + 1] == '.')
                                return false;
                } else if (!strchr(atext, s[i]))
                        return false;
        }
        return true;
}

static bool domain_valid(const char *s) {
        size_t label = 0, labels = 0;

        for (const char *p = s;; p++) {
                if (*p == '.' || !*p) {
                        if (label == 0 || p[-1] == '-')
                                return false;
                        labels++;
                        label = 0;
                        if (!*p)
                                break;
                        continue;
                }
                if (!(isalnum((unsigned char) *p) || (*p == '-' && label > 0)) || ++label > 63)
                        return false;
        }
        return labels >= 2;
}

static bool identity_shape_valid(const char *s) {
        const char *at = strchr(s, '@');

        return at && local_part_valid(s, (size_t) (at - s)) && domain_valid(at + 1);
}

int identity_normalize(const char *identity, char **ret) {
        _cleanup_free_ char *s = NULL;
        char *at, *plus, *w;
        size_t n;

        if (!identity)
                return -EINVAL;
        n = strlen(identity);
        if (n < 3 || n > SAUTH_TEXT_MAX || !identity_shape_valid(identity))
                return -EINVAL;

        s = strdup(identity);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                *p = (char) tolower((unsigned char) *p);

        at = strchr(s, '@');    /* one, with a local part: checked above */

        /* The "+tag" of the local part, if any, goes. */
        plus = memchr(s, '+', (size_t) (at - s));
        if (plus) {
                if (plus == s)
                        return -EINVAL;
                memmove(plus, at, strlen(at) + 1);
                at = plus;
        }

        /* Gmail ignores dots in the local part; so do we, there only. */
        if (streq(at + 1, "gmail.com")) {
                w = s;
                for (char *p = s; p < at; p++)
                        if (*p != '.')
                                *w++ = *p;
                memmove(w, at, strlen(at) + 1);
        }

        /* What is left must still be an address ("a.+x@…" is not). */
        if (!identity_shape_valid(s))
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

bool username_valid(const char *u) {
        size_t n = u ? strlen(u) : 0;

        if (n == 0 || n > SAUTH_NAME_MAX)
                return false;
        if (!(islower((unsigned char) u[0]) || u[0] == '_'))
                return false;
        return strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

bool template_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        return n > 0 && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int identity_external_username(const char *identity, char out[static IDENTITY_USERNAME_MAX]) {
        static const char safe[] = "abcdefghjkmnpqrstuvwxyz23456789";
        const char *at = identity ? strchr(identity, '@') : NULL;
        size_t n = 0;

        if (!at || at == identity)
                return -EINVAL;
        /* A user name starts with a-z or "_" (username_valid). */
        if (!islower((unsigned char) identity[0]) && identity[0] != '_')
                out[n++] = '_';
        for (const char *p = identity; p < at && n < IDENTITY_LOCAL_MAX; p++) {
                unsigned char c = (unsigned char) *p;

                out[n++] = strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", c) && c ? (char) c : '_';
        }
        out[n++] = '-';
        for (size_t i = 0; i < IDENTITY_SUFFIX_LEN; i++)
                out[n++] = safe[randombytes_uniform(sizeof safe - 1)];
        out[n] = 0;
        return 0;
}
