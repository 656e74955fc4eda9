/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Messages for people, through gettext in the text domain "sessionauth".
 * Shared by sauthd and the PAM module; libc only.
 *
 * Neither program calls setlocale(): the locale a message is for is the
 * caller's (a dialog's, a PAM conversation's), not the process's, and
 * calls for different people interleave. A message is looked up with the
 * caller's locale made the calling thread's own for that moment
 * (uselocale), which changes nothing for other threads or, in the PAM
 * module, for the host program.
 */

#include <libintl.h>
#include <locale.h>
#include <stdbool.h>

#define SAUTH_TEXT_DOMAIN "sessionauth"

/* Longest locale name accepted from a caller ("de_DE.UTF-8@euro" is 16). */
#define SAUTH_LOCALE_MAX 64

/* A translated message of our domain, in the calling thread's locale. */
#define _(s) dgettext(SAUTH_TEXT_DOMAIN, s)
/* Marks a string for xgettext where it cannot be translated at once. */
#define N_(s) (s)

/* Binds the domain to its catalogs, with UTF-8 output whatever the locale's
 * own charset: $SAUTH_LOCALEDIR when set (tests run from the build tree;
 * ignored in set-uid programs, as it would let a user choose the format
 * strings), else the installed locale dir. Safe to call more than once. */
void i18n_bind(void);

/* Whether s is a locale name we accept from a caller: "C", "POSIX", or
 * ll[l][_CC][.codeset][@modifier] with a UTF-8 codeset (UTF-8, utf8) when
 * one is given, at most SAUTH_LOCALE_MAX bytes. */
bool i18n_locale_name_valid(const char *s);

/* A locale object for messages (LC_MESSAGES and LC_CTYPE) named s; a name
 * without a codeset gets ".UTF-8". -EINVAL for a name that is not valid,
 * -ENOENT for one the system does not have (not generated). */
int i18n_locale_new(const char *s, locale_t *ret);

static inline void i18n_locale_freep(locale_t *l) {
        if (*l)
                freelocale(*l);
}

/* Makes loc the calling thread's locale until the returned value is given
 * to i18n_scope_end(); (locale_t) 0 leaves the thread's locale as it is.
 * With _cleanup_(i18n_scope_end) the old one comes back on every path. */
locale_t i18n_scope_begin(locale_t loc);
void i18n_scope_end(locale_t *old);
