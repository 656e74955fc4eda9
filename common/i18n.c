/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "sauth-config.h"

void i18n_bind(void) {
        const char *dir = secure_getenv("SAUTH_LOCALEDIR");

        (void) bindtextdomain(SAUTH_TEXT_DOMAIN, dir && *dir ? dir : SAUTH_LOCALEDIR);
        (void) bind_textdomain_codeset(SAUTH_TEXT_DOMAIN, "UTF-8");
}

static size_t span_of(const char *s, bool (*ok)(char)) {
        size_t n = 0;

        while (s[n] && ok(s[n]))
                n++;
        return n;
}

static bool is_lower(char c) {
        return c >= 'a' && c <= 'z';
}

static bool is_upper(char c) {
        return c >= 'A' && c <= 'Z';
}

static bool is_modifier(char c) {
        return is_lower(c) || (c >= '0' && c <= '9');
}

/* The part after the language: [_CC][.codeset][@modifier], nothing more. */
static bool locale_tail_valid(const char *s) {
        if (*s == '_') {
                if (span_of(s + 1, is_upper) != 2)
                        return false;
                s += 3;
        }
        if (*s == '.') {
                s++;
                if (strncmp(s, "UTF-8", 5) == 0 || strncmp(s, "utf8", 4) == 0)
                        s += s[0] == 'U' ? 5 : 4;
                else
                        return false;
        }
        if (*s == '@') {
                size_t n = span_of(s + 1, is_modifier);

                if (n < 1 || n > 16)
                        return false;
                s += 1 + n;
        }
        return *s == '\0';
}

bool i18n_locale_name_valid(const char *s) {
        size_t n;

        if (!s || strnlen(s, SAUTH_LOCALE_MAX + 1) > SAUTH_LOCALE_MAX)
                return false;
        if (strcmp(s, "POSIX") == 0)
                return true;
        if (s[0] == 'C')
                return strcmp(s, "C") == 0 || strcmp(s, "C.UTF-8") == 0 || strcmp(s, "C.utf8") == 0;
        n = span_of(s, is_lower);
        return (n == 2 || n == 3) && locale_tail_valid(s + n);
}

int i18n_locale_new(const char *s, locale_t *ret) {
        char name[SAUTH_LOCALE_MAX + sizeof ".UTF-8"];
        const char *at;
        locale_t l;

        if (!i18n_locale_name_valid(s))
                return -EINVAL;
        at = strchr(s, '@');
        if (strcmp(s, "POSIX") == 0 || strchr(s, '.'))
                snprintf(name, sizeof name, "%s", s);
        else
                /* ll_CC@mod becomes ll_CC.UTF-8@mod: the codeset comes
                 * before the modifier. */
                snprintf(name, sizeof name, "%.*s.UTF-8%s", (int) (at ? at - s : (long) strlen(s)), s,
                         at ? at : "");
        l = newlocale(LC_MESSAGES_MASK | LC_CTYPE_MASK, name, (locale_t) 0);
        if (!l)
                return errno == ENOMEM ? -ENOMEM : -ENOENT;
        *ret = l;
        return 0;
}

locale_t i18n_scope_begin(locale_t loc) {
        return loc ? uselocale(loc) : (locale_t) 0;
}

void i18n_scope_end(locale_t *old) {
        if (*old)
                (void) uselocale(*old);
}
