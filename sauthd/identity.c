/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "identity.h"
#include "sauth-names.h"
#include "util.h"

static bool identity_chars_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' || *p == ';')
                        return false;
        return true;
}

int identity_normalize(const char *identity, char **ret) {
        _cleanup_free_ char *s = NULL;
        char *at, *plus, *w;
        size_t n;

        if (!identity)
                return -EINVAL;
        n = strlen(identity);
        if (n < 3 || n > SAUTH_TEXT_MAX || !identity_chars_valid(identity))
                return -EINVAL;

        s = strdup(identity);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                *p = (char) tolower((unsigned char) *p);

        at = strchr(s, '@');
        if (!at || at == s || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.'))
                return -EINVAL;

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
                if (w == s)
                        return -EINVAL;
        }

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
