/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "caller.h"
#include "util.h"

static bool uid_in_group(const char *user, gid_t primary, const char *group) {
        struct group *gr;
        gid_t groups[256];
        int n = (int) ELEMENTSOF(groups);

        if (isempty(group))
                return false;
        gr = getgrnam(group);
        if (!gr)
                return false;
        if (primary == gr->gr_gid)
                return true;
        /* A user in more groups than we look at is simply not matched:
         * failing closed. */
        if (getgrouplist(user, primary, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == gr->gr_gid)
                        return true;
        return false;
}

void caller_resolve(uid_t uid, const char *admin_group, Caller *ret) {
        struct passwd *pw = getpwuid(uid);

        *ret = (Caller) { .uid = uid, .is_admin = uid == 0 };
        if (!pw)
                return;
        /* A name longer than any account's can be nobody's "self". */
        if (strlen(pw->pw_name) < sizeof ret->username)
                strcpy(ret->username, pw->pw_name);
        if (!ret->is_admin)
                ret->is_admin = uid_in_group(pw->pw_name, pw->pw_gid, admin_group);
}

bool caller_is_admin_or_self(const Caller *c, const char *username) {
        return c->is_admin || (c->username[0] && username && streq(c->username, username));
}
