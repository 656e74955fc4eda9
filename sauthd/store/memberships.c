/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "store-internal.h"
#include "util.h"

/*
 * Memberships: which person holds which level in which object of a web
 * application's model (a list, an event, a group). sauthd turns them into
 * roles (sauthd/roles.c); here they are only rows. Every read walks one
 * range of the memberships_roles index.
 */

#define MEMBERSHIP_COLUMNS "uid, member_model, resource, resource_id, level, status, created"
/* What the walks read: the columns of memberships_roles, so that the index
 * alone answers (created is not among them). */
#define MEMBERSHIP_READ "uid, member_model, resource, resource_id, level, status"

int store_membership_set(Store *s, const StoreMembership *m) {
        int r;

        if (!s || !m || isempty(m->uid) || isempty(m->member_model) || isempty(m->resource) ||
            isempty(m->resource_id) || isempty(m->level))
                return -EINVAL;
        /* The standard upsert (SQLite 3.24, PostgreSQL 9.5): one statement,
         * no read-then-write race. The creation time stays the first one. */
        r = store_run(s, "INSERT INTO memberships (" MEMBERSHIP_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?)"
                         " ON CONFLICT (uid, member_model, resource, resource_id)"
                         " DO UPDATE SET level = excluded.level, status = excluded.status",
                      "ssssssi", m->uid, m->member_model, m->resource, m->resource_id, m->level,
                      m->status ?: "active", m->created);
        return r < 0 ? r : 0;
}

int store_membership_remove(Store *s, const char *uid, const char *member_model, const char *resource,
                            const char *resource_id) {
        int r;

        if (!s || isempty(uid) || isempty(member_model) || isempty(resource) || isempty(resource_id))
                return -EINVAL;
        r = store_run(s, "DELETE FROM memberships WHERE uid = ? AND member_model = ? AND resource = ?"
                         " AND resource_id = ?",
                      "ssss", uid, member_model, resource, resource_id);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

static int store_membership_query(Store *s, StoreCursor *q, const char *uid, const char *member_model,
                                  const char *resource, const char *resource_id) {
        if (!member_model)
                return store_query(s, q, "SELECT " MEMBERSHIP_READ " FROM memberships WHERE uid = ?"
                                         " ORDER BY member_model, resource, resource_id", "s", uid);
        if (!resource_id)
                return store_query(s, q, "SELECT " MEMBERSHIP_READ " FROM memberships"
                                         " WHERE uid = ? AND member_model = ? AND resource = ?"
                                         " ORDER BY resource_id", "sss", uid, member_model, resource);
        return store_query(s, q, "SELECT " MEMBERSHIP_READ " FROM memberships"
                                 " WHERE uid = ? AND member_model = ? AND resource = ? AND resource_id = ?",
                           "ssss", uid, member_model, resource, resource_id);
}

int store_memberships_foreach(Store *s, const char *uid, const char *member_model, const char *resource,
                              const char *resource_id, store_membership_fn fn, void *userdata) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || isempty(uid) || !fn || (member_model && isempty(resource)))
                return -EINVAL;
        r = store_membership_query(s, &q, uid, member_model, resource, resource_id);
        if (r < 0)
                return r;
        while ((r = store_step(s, &q)) > 0) {
                StoreMembership m = {};
                const char **text[] = { &m.uid, &m.member_model, &m.resource, &m.resource_id, &m.level,
                                        &m.status };

                for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                        r = store_column_text(&q, (unsigned) i, text[i]);
                        if (r < 0)
                                return r;
                }
                r = fn(&m, userdata);
                if (r < 0)
                        return r;
        }
        return r;
}
