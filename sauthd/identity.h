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
