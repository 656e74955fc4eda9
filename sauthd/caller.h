/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "sauth-names.h"

/* Who sent a call, as the bus vouches for it (never from arguments). The
 * bus glue fills it in (bus-util.h: caller_get); the logic only reads it. */
typedef struct Caller {
        uid_t uid;
        bool is_admin;                          /* root or in [daemon] admin_group */
        char username[SAUTH_NAME_MAX + 1];      /* "" if the uid has no name we accept */
} Caller;

/* Resolves a uid through NSS: its name (if short enough to be an
 * account's) and whether it is root or a member of admin_group. */
void caller_resolve(uid_t uid, const char *admin_group, Caller *ret);

/* true if the caller is admin or is the Unix user named username. */
bool caller_is_admin_or_self(const Caller *c, const char *username);
