/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "login.h"
#include "roles.h"
#include "sauth-names.h"
#include "util.h"

/* The lowest level that yields a role comes after this one. */
#define ROLES_PUBLIC "public"

/* ---- names and levels ---- */

bool roles_name_valid(const char *s) {
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++)
                if (n >= ROLES_NAME_MAX || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
                                             s[n] == '_'))
                        return false;
        return n > 0;
}

bool roles_id_valid(const char *s) {
        size_t n = 0;

        if (!s)
                return false;
        /* No blank: roles are shown space-separated, and a role must be one
         * word of a token's "auth" claim. */
        for (; s[n]; n++)
                if (n >= ROLES_ID_MAX || (unsigned char) s[n] <= ' ' || (unsigned char) s[n] >= 0x7f)
                        return false;
        return n > 0;
}

int roles_levels_parse(const char *text, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        size_t n = 0;
        char *save = NULL;

        copy = strdup(text ?: "");
        l = calloc(strlen(copy) / 2 + 2, sizeof *l);
        if (!copy || !l)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
                if (!roles_name_valid(w) || roles_level_index(l, w) >= 0)
                        return -EINVAL;
                l[n] = strdup(w);
                if (!l[n++])
                        return -ENOMEM;
        }
        if (n == 0)
                return -EINVAL;
        *ret = TAKE_PTR(l);
        return 0;
}

int roles_level_index(char *const *levels, const char *level) {
        for (int i = 0; levels && levels[i]; i++)
                if (streq(levels[i], level))
                        return i;
        return -1;
}

/* The index of the first level that yields a role. */
static int roles_first_index(char *const *levels) {
        return roles_level_index(levels, ROLES_PUBLIC) + 1;
}

const char *roles_first_level(char *const *levels) {
        return levels[roles_first_index(levels)];
}

/* ---- lists of roles ---- */

typedef struct RoleList {
        char **l;
        size_t n, size, max;
        char *const *levels;
} RoleList;

static int role_list_add(RoleList *rl, const char *fmt, ...) _printf_(2, 3);
static int role_list_add(RoleList *rl, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        if (rl->n >= rl->max)
                return -E2BIG;
        if (rl->n + 1 >= rl->size) {
                size_t size = MAX((size_t) 16, rl->size * 2);
                char **l = reallocarray(rl->l, size, sizeof *l);
                if (!l)
                        return -ENOMEM;
                rl->l = l;
                rl->size = size;
        }
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        rl->l[rl->n++] = s;
        rl->l[rl->n] = NULL;
        return 0;
}

static char **role_list_take(RoleList *rl) {
        char **l = rl->l ?: calloc(1, sizeof *l);

        *rl = (RoleList) {};
        return l;
}

/* Cumulative: every level from the first after "public" up to this one. */
static int roles_add_membership(const StoreMembership *x, void *userdata) {
        RoleList *rl = userdata;
        int top = roles_level_index(rl->levels, x->level);

        if (!streq(x->status, "active"))
                return 0;
        if (top < 0) {
                /* Stored under levels the config no longer has: no role. */
                log_debug("membership level '%s' is not in [roles] privacy_levels", x->level);
                return 0;
        }
        for (int i = roles_first_index(rl->levels); i <= top; i++) {
                int r = role_list_add(rl, "%s-%s-%s", x->resource, x->resource_id, rl->levels[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int roles_of_memberships(Manager *m, const char *uid, const char *member_model, const char *resource,
                         const char *id, size_t max, char ***ret) {
        RoleList rl = { .max = max, .levels = m->role_levels };
        char **l;
        int r;

        r = store_memberships_foreach(m->store, uid, member_model, resource, id, roles_add_membership, &rl);
        if (r < 0) {
                strv_free(rl.l);
                return r;
        }
        l = role_list_take(&rl);
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

/* base + extra (both NULL-terminated) as one new list. */
static int roles_join(char **base, char **extra, const char *marker, char ***ret) {
        RoleList rl = { .max = SIZE_MAX };
        int r = 0;

        for (char **p = base; r >= 0 && p && *p; p++)
                r = role_list_add(&rl, "%s", *p);
        for (char **p = extra; r >= 0 && p && *p; p++)
                r = role_list_add(&rl, "%s", *p);
        if (r >= 0 && marker)
                r = role_list_add(&rl, "%s", marker);
        if (r < 0) {
                strv_free(rl.l);
                return r;
        }
        *ret = role_list_take(&rl);
        return *ret ? 0 : -ENOMEM;
}

int roles_for_session(Manager *m, const StoreAccount *a, char ***ret) {
        _cleanup_strv_free_ char **base = NULL, **members = NULL;
        size_t n = 0;
        int r;

        r = login_roles(a, &base);
        if (r < 0)
                return r;
        while (base[n])
                n++;
        r = roles_of_memberships(m, a->uid, NULL, NULL, NULL, JWT_ROLES_MAX - n, &members);
        if (r == -E2BIG)
                return roles_join(base, NULL, ROLES_OMITTED, ret);
        if (r < 0)
                return r;
        return roles_join(base, members, NULL, ret);
}

int roles_session_issue(Manager *m, SessionGrant *g, uint64_t now, char **ret_token,
                        uint64_t *ret_expires, char **ret_jti, char ***ret_roles) {
        _cleanup_strv_free_ char **roles = NULL, **base = NULL;
        int r;

        r = roles_for_session(m, g->account, &roles);
        if (r < 0)
                return r;
        g->roles = roles;
        r = session_issue(m->sessions, m->store, g, now, ret_token, ret_expires, ret_jti);
        if (r == -E2BIG) {
                /* Few roles, but long ones: a login must not fail for them
                 * (PAM stacks log in with these tokens). */
                strv_free(TAKE_PTR(roles));
                r = login_roles(g->account, &base);
                if (r >= 0)
                        r = roles_join(base, NULL, ROLES_OMITTED, &roles);
                if (r < 0)
                        return r;
                g->roles = roles;
                r = session_issue(m->sessions, m->store, g, now, ret_token, ret_expires, ret_jti);
        }
        g->roles = NULL;
        if (r < 0)
                return r;
        *ret_roles = TAKE_PTR(roles);
        return 0;
}

/* ---- SetMembership, GetRoles ---- */

static void roles_audit(AuditEvent event, AuditResult result, const Caller *caller, const char *user,
                        const char *reason) {
        audit_log(&(AuditRecord) {
                .event = event, .result = result, .user = user, .caller_uid = caller->uid, .reason = reason,
        });
}

SauthStatus roles_set_membership(Manager *m, const Caller *caller, const MembershipArgs *args,
                                 const char **ret_message) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        const char *resource = isempty(args->resource) ? m->config->roles_resource : args->resource;
        bool remove = isempty(args->level);
        int r;

        *ret_message = "member_model and resource are 1-64 characters of a-z 0-9 _; the id is "
                       "1-120 printable characters without blanks.";
        if (!roles_name_valid(args->member_model) || !roles_name_valid(resource) || !roles_id_valid(args->id))
                return SAUTH_E_INVALID_ARGUMENT;
        *ret_message = "Invalid uid.";
        if (isempty(args->uid) || strlen(args->uid) > SAUTH_TEXT_MAX)
                return SAUTH_E_INVALID_ARGUMENT;
        *ret_message = "The level is not one of [roles] privacy_levels.";
        if (!remove && roles_level_index(m->role_levels, args->level) < 0)
                return SAUTH_E_INVALID_ARGUMENT;

        r = store_account_by_uid(m->store, args->uid, &a);
        if (r == -ENOENT) {
                *ret_message = "No account for this uid.";
                return SAUTH_E_NOT_FOUND;
        }
        if (r >= 0 && remove)
                r = store_membership_remove(m->store, args->uid, args->member_model, resource, args->id);
        else if (r >= 0)
                r = store_membership_set(m->store, &(StoreMembership) {
                        .uid = args->uid, .member_model = args->member_model, .resource = resource,
                        .resource_id = args->id, .level = args->level, .created = time(NULL),
                });
        roles_audit(remove ? AUDIT_MEMBERSHIP_REMOVE : AUDIT_MEMBERSHIP_SET, r >= 0 ? AUDIT_OK : AUDIT_FAILED,
                    caller, a ? a->username : NULL, r == -ENOENT ? "no_such_membership" : args->level);
        if (r == -ENOENT) {
                *ret_message = "No such membership.";
                return SAUTH_E_NOT_FOUND;
        }
        if (r < 0) {
                log_error("membership not stored: %s", strerror(-r));
                *ret_message = NULL;
                return SAUTH_E_INTERNAL;
        }
        return SAUTH_OK;
}

SauthStatus roles_get(Manager *m, const char *uid, const char *member_model, const char *resource,
                      const char *id, char ***ret, const char **ret_message) {
        bool all = isempty(member_model);
        int r;

        if (isempty(resource))
                resource = m->config->roles_resource;
        *ret_message = "Invalid uid, member_model, resource or id.";
        if (isempty(uid) || strlen(uid) > SAUTH_TEXT_MAX)
                return SAUTH_E_INVALID_ARGUMENT;
        if (all && !isempty(id))
                return SAUTH_E_INVALID_ARGUMENT;
        if (!all && (!roles_name_valid(member_model) || !roles_name_valid(resource) ||
                     (!isempty(id) && !roles_id_valid(id))))
                return SAUTH_E_INVALID_ARGUMENT;
        r = roles_of_memberships(m, uid, all ? NULL : member_model, all ? NULL : resource,
                                 isempty(id) ? NULL : id, SIZE_MAX, ret);
        if (r < 0) {
                log_error("roles not read: %s", strerror(-r));
                *ret_message = NULL;
                return SAUTH_E_INTERNAL;
        }
        return SAUTH_OK;
}

/* ---- UpdateAuth ---- */

void update_auth_result_done(UpdateAuthResult *r) {
        if (!r)
                return;
        erase_and_free(r->token);
        strv_free(r->roles);
        *r = (UpdateAuthResult) {};
}

static bool strv_contains(char **l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

/* The PAM context of the session being replaced, so that ListSessions
 * shows the new one as the same login. */
typedef struct SessionContext {
        const char *jti;
        char *service, *tty, *rhost;
} SessionContext;

static int session_context_find(const StoreSession *x, void *userdata) {
        SessionContext *c = userdata;

        if (!streq(x->jti, c->jti) || c->service)
                return 0;
        c->service = strdup(x->service);
        c->tty = strdup(x->tty);
        c->rhost = strdup(x->rhost);
        return c->service && c->tty && c->rhost ? 0 : -ENOMEM;
}

static void session_context_done(SessionContext *c) {
        free(c->service);
        free(c->tty);
        free(c->rhost);
}

/* A new token like the old one (same uid, method, expiry), with the roles
 * of now; then the old one is revoked. */
static SauthStatus roles_refresh(Manager *m, const Caller *caller, const JwtClaims *old, uint64_t now,
                                 UpdateAuthResult *ret, const char **ret_message) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_(session_context_done) SessionContext ctx = { .jti = old->jti };
        _cleanup_free_ char *jti = NULL;
        bool ended = false;
        int r;

        r = store_account_by_uid(m->store, old->sub, &a);
        if (r == -ENOENT || (r >= 0 && (!streq(a->id, old->acc) || !streq(a->status, SAUTH_STATUS_ACTIVE)))) {
                *ret_message = "The session has ended.";
                return SAUTH_E_INVALID_TOKEN;
        }
        if (r >= 0)
                r = store_sessions_foreach(m->store, STORE_SESSIONS_ACTIVE, a->uid, (int64_t) now,
                                           session_context_find, &ctx);
        if (r >= 0)
                r = roles_session_issue(m, &(SessionGrant) {
                        .account = a, .method = old->method,
                        .identity = a->contact_confirmed ? a->identity : NULL,
                        .lifetime = old->exp - now,
                        .service = ctx.service, .tty = ctx.tty, .rhost = ctx.rhost,
                }, now, &ret->token, &ret->expires, &jti, &ret->roles);
        if (r >= 0) {
                /* 0: the old token was revoked already. The daemon lock is
                 * let go while the store waits, so a Logout or another
                 * UpdateAuth of the same token (here, or on another host)
                 * may have ended it since it was verified: then the new
                 * one ends too, as if the old had been revoked before. */
                r = session_revoke_once(m->sessions, m->store, old->jti, old->exp, now);
                ended = r == 0;
                /* Never two live tokens where the caller asked for one. */
                if (r <= 0 && session_revoke(m->sessions, m->store, jti, ret->expires, now) < 0)
                        log_error("account %s: new session %s not revoked", a->username, jti);
        }
        roles_audit(AUDIT_ROLES_REFRESH, r > 0 ? AUDIT_OK : ended ? AUDIT_FAILED : AUDIT_ERROR, caller,
                    a ? a->username : NULL, r > 0 ? NULL : ended ? "revoked" : "store");
        if (ended) {
                update_auth_result_done(ret);
                *ret_message = "The session has ended.";
                return SAUTH_E_INVALID_TOKEN;
        }
        if (r < 0) {
                log_error("roles not refreshed: %s", strerror(-r));
                update_auth_result_done(ret);
                *ret_message = NULL;
                return SAUTH_E_INTERNAL;
        }
        ret->refreshed = true;
        return SAUTH_OK;
}

SauthStatus roles_update_auth(Manager *m, const Caller *caller, const UpdateAuthArgs *args,
                              UpdateAuthResult *ret, const char **ret_message) {
        _cleanup_(jwt_claims_done) JwtClaims c = {};
        _cleanup_free_ char *lowest = NULL;
        const char *resource = isempty(args->resource) ? m->config->roles_resource : args->resource;
        uint64_t now = (uint64_t) time(NULL);
        const char *first = roles_first_level(m->role_levels);
        int r;

        *ret = (UpdateAuthResult) {};
        *ret_message = "Too many role updates; slow down.";
        if (!ratelimit_allow(&m->update_limit, caller->uid, now_usec()))
                return SAUTH_E_RATE_LIMITED;
        *ret_message = "Invalid member_model, resource or id.";
        if ((!isempty(args->member_model) && !roles_name_valid(args->member_model)) ||
            !roles_name_valid(resource) || (!isempty(args->id) && !roles_id_valid(args->id)) ||
            (isempty(args->id) && !args->force))
                return SAUTH_E_INVALID_ARGUMENT;

        r = session_verify(m->sessions, args->token, now, &c);
        *ret_message = r == -ETIME ? "The session token has expired." :
                       r == -ECANCELED ? "The session has ended." : "Not a valid session token.";
        if (r < 0)
                return r == -ETIME ? SAUTH_E_EXPIRED_TOKEN : SAUTH_E_INVALID_TOKEN;

        if (!isempty(args->id) && first) {
                char *t;

                if (asprintf(&t, "%s-%s-%s", resource, args->id, first) < 0)
                        return SAUTH_E_INTERNAL;
                lowest = t;
        }
        if (args->force || (lowest && !strv_contains(c.auth, lowest)))
                return roles_refresh(m, caller, &c, now, ret, ret_message);

        ret->token = strdup(args->token);
        r = roles_join(c.auth, NULL, NULL, &ret->roles);
        if (!ret->token || r < 0) {
                update_auth_result_done(ret);
                return SAUTH_E_INTERNAL;
        }
        ret->expires = c.exp;
        return SAUTH_OK;
}
