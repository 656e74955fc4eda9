/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "caller.h"
#include "manager.h"
#include "sauth-errors.h"
#include "session.h"
#include "store.h"

/*
 * Roles (apicrud's get_roles / update_auth). A session token carries the
 * base roles of the account and the roles of its memberships: a membership
 * at level L of resource R, id I yields "R-I-<level>" for every level of
 * [roles] privacy_levels after "public" up to and including L — a manager
 * of list 42 gets list-42-invitee, list-42-member and list-42-manager.
 * Nothing here knows sd-bus (roles-bus.c is the glue); loop thread only.
 */

#define ROLES_NAME_MAX 64       /* member_model, resource, level: [a-z0-9_]+ */
#define ROLES_ID_MAX 120        /* a resource id: printable, no blank; may hold '-' */
/* In place of the membership roles when they do not fit a token: the
 * service then asks GetRoles. */
#define ROLES_OMITTED "roles-omitted"

/* [roles] privacy_levels as a list: words of [a-z0-9_]+, each once. */
int roles_levels_parse(const char *text, char ***ret);

bool roles_name_valid(const char *s);
bool roles_id_valid(const char *s);
/* The level's place in levels, or -1 if it is not one. */
int roles_level_index(char *const *levels, const char *level);
/* The lowest level that yields a role (the first after "public"). */
const char *roles_first_level(char *const *levels);

/* The roles of the memberships of uid: all of them (member_model NULL), or
 * of member_model and resource, and of id when not NULL. More than max
 * roles: -E2BIG. *ret is NULL-terminated, never NULL on success. */
int roles_of_memberships(Manager *m, const char *uid, const char *member_model, const char *resource,
                         const char *id, size_t max, char ***ret);

/* The roles a new session token of account a carries: the base roles
 * (login_roles()) and every membership's. When they would not fit a token,
 * the base roles and ROLES_OMITTED. */
int roles_for_session(Manager *m, const StoreAccount *a, char ***ret);

/* Issues a session token for the grant with the roles of roles_for_session();
 * if the token would still be too big, with the base roles and
 * ROLES_OMITTED. *ret_roles gets the roles the token carries. */
int roles_session_issue(Manager *m, SessionGrant *g, uint64_t now, char **ret_token,
                        uint64_t *ret_expires, char **ret_jti, char ***ret_roles);

typedef struct MembershipArgs {
        const char *member_model;
        const char *resource;           /* "" means [roles] resource */
        const char *id;
        const char *uid;
        const char *level;              /* "" removes the membership */
} MembershipArgs;

/* SetMembership: checks, stores, audits. */
SauthStatus roles_set_membership(Manager *m, const Caller *caller, const MembershipArgs *args,
                                 const char **ret_message);

/* GetRoles: the roles of uid's memberships. An empty member_model means
 * every membership (resource and id must be empty too); an empty resource
 * means [roles] resource; an empty id every id. */
SauthStatus roles_get(Manager *m, const char *uid, const char *member_model, const char *resource,
                      const char *id, char ***ret, const char **ret_message);

typedef struct UpdateAuthArgs {
        const char *token;
        const char *member_model;
        const char *id;
        const char *resource;           /* "" means [roles] resource */
        bool force;
} UpdateAuthArgs;

typedef struct UpdateAuthResult {
        char *token;                    /* secret: wiped when done */
        char **roles;
        uint64_t expires;
        bool refreshed;
} UpdateAuthResult;

void update_auth_result_done(UpdateAuthResult *r);

/* UpdateAuth: rate limited per caller uid. When force, or when the token
 * lacks the lowest role of resource-id, a new token with the roles of now
 * and the same expiry; the old one is revoked. Else the same token. */
SauthStatus roles_update_auth(Manager *m, const Caller *caller, const UpdateAuthArgs *args,
                              UpdateAuthResult *ret, const char **ret_message);
