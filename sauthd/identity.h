/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * Identities are email addresses, matched in a normal form as apicrud does:
 * lowercase; a "+tag" in the local part dropped; dots in the local part
 * dropped for gmail.com only. -EINVAL for something that is not an address.
 */
int identity_normalize(const char *identity, char **ret);

/* User names: what a Unix login name may be ([a-z_][a-z0-9_.-]*, at most
 * SAUTH_NAME_MAX), since PAM stacks log in with them. */
bool username_valid(const char *username);

/* Template names: [a-z0-9_-]{1,64}; they name files. */
bool template_name_valid(const char *name);

/* apicrud's user name for an identity registered from a provider
 * ([login] external = auto | open): the local part of the (normalised)
 * identity cut to IDENTITY_LOCAL_MAX characters, "-", and
 * IDENTITY_SUFFIX_LEN random characters of an alphabet without look-alikes
 * (no 0 1 i l o). Characters a user name may not hold become "_", and one
 * that may not start it gets an "_" before it, so the result always passes
 * username_valid(). -EINVAL when identity has no "@". */
#define IDENTITY_LOCAL_MAX 15
#define IDENTITY_SUFFIX_LEN 6
#define IDENTITY_USERNAME_MAX (IDENTITY_LOCAL_MAX + 1 + IDENTITY_SUFFIX_LEN + 1)
int identity_external_username(const char *identity, char out[static IDENTITY_USERNAME_MAX]);
