/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "sauth-names.h"
#include "util.h"

#define SENSITIVE SD_BUS_VTABLE_SENSITIVE
/* Every method authorizes its caller itself (see DESIGN.md), so sd-bus's own
 * capability check is turned off for all of them. */
#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable sauth_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Methods",
                SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", result),
                method_methods, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("Register",
                SD_BUS_ARGS("s", identity, "s", username, "s", name, "s", template, "s", picture),
                SD_BUS_RESULT("a{sv}", result),
                method_register, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("AccountAdd",
                SD_BUS_ARGS("s", username, "s", uid), SD_BUS_RESULT("a{sv}", result),
                method_account_add, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("AccountLogin",
                SD_BUS_ARGS("s", username, "s", password, "s", method, "a{sv}", context),
                SD_BUS_RESULT("a{sv}", result),
                method_account_login, UNPRIV | SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ChangePassword",
                SD_BUS_ARGS("s", uid, "s", new_password, "s", reset_token, "s", old_password, "s", verify_password),
                SD_BUS_RESULT("a{sv}", result),
                method_change_password, UNPRIV | SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ForgotPassword",
                SD_BUS_ARGS("s", identity, "s", username, "s", template), SD_BUS_RESULT("a{sv}", result),
                method_forgot_password, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("CheckPassword",
                SD_BUS_ARGS("s", username, "s", password), SD_BUS_RESULT("a{sv}", result),
                method_check_password, UNPRIV | SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("AccountStatus",
                SD_BUS_ARGS("s", username), SD_BUS_RESULT("a{sv}", result),
                method_account_status, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetAccountStatus",
                SD_BUS_ARGS("s", username, "s", status), SD_BUS_NO_RESULT,
                method_set_account_status, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetAccountAdmin",
                SD_BUS_ARGS("s", username, "b", admin), SD_BUS_NO_RESULT,
                method_set_account_admin, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("ExpirePassword",
                SD_BUS_ARGS("s", username), SD_BUS_NO_RESULT,
                method_expire_password, UNPRIV),
        SD_BUS_VTABLE_END,
};

void caller_done(Caller *c) {
        free(c->username);
        c->username = NULL;
}

static bool uid_in_group(uid_t uid, const char *user, gid_t primary, const char *group) {
        struct group *gr;
        gid_t groups[256];
        int n = (int) ELEMENTSOF(groups);

        if (isempty(group) || !user)
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

static bool sender_cache_get(const SenderCache *c, const char *name, uid_t *ret) {
        for (size_t i = 0; i < SENDER_CACHE_SLOTS; i++)
                if (streq(c->slots[i].name, name)) {
                        *ret = c->slots[i].uid;
                        return true;
                }
        return false;
}

static void sender_cache_put(SenderCache *c, const char *name, uid_t uid) {
        if (strlen(name) >= sizeof c->slots[0].name)
                return;
        strcpy(c->slots[c->next].name, name);
        c->slots[c->next].uid = uid;
        c->next = (c->next + 1) % SENDER_CACHE_SLOTS;
}

/* The uid the bus itself vouches for (SO_PEERCRED of the caller's
 * connection). No AUGMENT: nothing read from /proc, where a pid may
 * already belong to another process. */
static int bus_sender_uid(Manager *m, sd_bus_message *msg, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(msg);
        int r;

        if (sender && sender[0] == ':' && sender_cache_get(&m->senders, sender, ret))
                return 0;
        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, ret);
        if (r >= 0 && sender && sender[0] == ':')
                sender_cache_put(&m->senders, sender, *ret);
        return r;
}

int bus_caller(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error) {
        struct passwd *pw;
        uid_t uid;
        int r;

        r = bus_sender_uid(m, msg, &uid);
        if (r < 0)
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Cannot establish the caller's credentials.");

        *ret = (Caller) { .uid = uid };
        pw = getpwuid(uid);
        if (pw) {
                ret->username = strdup(pw->pw_name);
                if (!ret->username)
                        return -ENOMEM;
        }
        ret->is_admin = uid == 0 || (pw && uid_in_group(uid, pw->pw_name, pw->pw_gid, m->config->admin_group));
        return 0;
}

bool caller_is_admin_or_self(const Caller *c, const char *username) {
        return c->is_admin || (c->username && username && streq(c->username, username));
}

__attribute__((format(printf, 3, 0)))
static int bus_error_va(sd_bus_error *error, SauthStatus s, const char *fmt, va_list ap) {
        const char *name = sauth_status_error_name(s);

        if (!name)
                name = sauth_status_error_name(SAUTH_E_INTERNAL);
        return sd_bus_error_setfv(error, name, fmt, ap);
}

int bus_error(sd_bus_error *error, SauthStatus s, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = bus_error_va(error, s, fmt, ap);
        va_end(ap);
        return r;
}

int bus_reply_error(sd_bus_message *call, SauthStatus s, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;

        va_start(ap, fmt);
        bus_error_va(&error, s, fmt, ap);
        va_end(ap);
        return sd_bus_reply_method_error(call, &error);
}

int bus_error_errno(sd_bus_error *error, int r, const char *what) {
        switch (r) {
        case -ENOENT:
                return bus_error(error, SAUTH_E_NOT_FOUND, "No such %s.", what);
        case -EEXIST:
                return bus_error(error, SAUTH_E_ALREADY_REGISTERED, "That %s is already registered.", what);
        case -EKEYREJECTED:
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "The token is not valid.");
        case -EBUSY:
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many requests in progress; try again.");
        case -EINVAL:
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid %s.", what);
        default:
                log_error("%s: internal error: %s", what, strerror(-r));
                return bus_error(error, SAUTH_E_INTERNAL, "Internal error.");
        }
}

int bus_append_s(sd_bus_message *reply, const char *key, const char *value) {
        return sd_bus_message_append(reply, "{sv}", key, "s", value ? value : "");
}

int bus_append_b(sd_bus_message *reply, const char *key, bool value) {
        return sd_bus_message_append(reply, "{sv}", key, "b", (int) value);
}

int bus_append_u(sd_bus_message *reply, const char *key, uint32_t value) {
        return sd_bus_message_append(reply, "{sv}", key, "u", value);
}

int bus_append_t(sd_bus_message *reply, const char *key, uint64_t value) {
        return sd_bus_message_append(reply, "{sv}", key, "t", value);
}

int bus_append_d(sd_bus_message *reply, const char *key, double value) {
        return sd_bus_message_append(reply, "{sv}", key, "d", value);
}

int bus_append_strv(sd_bus_message *reply, const char *key, char **values) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, values);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

bool arg_ok(const char *s, size_t max, bool required) {
        size_t n = strnlen(s, max + 1);

        return n <= max && (!required || n > 0);
}

int bus_queue_hash_job(Manager *m, const Caller *c, HashTicket *ticket,
                       pool_work_fn work, pool_done_fn done, void *job, sd_bus_error *error) {
        if (manager_hash_admit(m, c->uid, c->is_admin, ticket) < 0 ||
            pool_submit(m->hash_pool, work, done, job) < 0) {
                manager_hash_release(m, ticket);
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many requests in progress; try again.");
        }
        return 1;
}

int bus_install(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, &m->vtable_slot, SAUTH_BUS_PATH, SAUTH_BUS_INTERFACE, sauth_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_request_name(m->bus, SAUTH_BUS_NAME, 0);
}
