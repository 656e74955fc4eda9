/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Account administration and status: Methods, AccountStatus,
 * SetAccountStatus, SetAccountAdmin, ExpirePassword. */
#include <errno.h>
#include <time.h>

#include "bus.h"
#include "identity.h"
#include "sauth-names.h"
#include "util.h"

int method_methods(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const SauthConfig *c = m->config;
        unsigned count = 0;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;

        /* items: the login methods a client may offer. */
        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "items");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        if (r >= 0 && c->login_internal == LOGIN_OPEN) {
                r = sd_bus_message_append(reply, "s", SAUTH_METHOD_LOCAL);
                count++;
        }
        for (size_t i = 0; r >= 0 && i < c->n_providers; i++, count++)
                r = sd_bus_message_append(reply, "s", c->providers[i].name);
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = bus_append_u(reply, "count", count);

        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "policies", "a{ss}", 2,
                                          "login_internal", login_policy_to_string(c->login_internal),
                                          "login_external", login_policy_to_string(c->login_external));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int method_account_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_(caller_done) Caller caller = {};
        Manager *m = userdata;
        const char *username;
        int r;

        r = sd_bus_message_read(msg, "s", &username);
        if (r < 0)
                return r;
        if (!arg_ok(username, SAUTH_NAME_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name.");

        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        if (!caller_is_admin_or_self(&caller, username))
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Only an admin or the user may read an account's status.");

        r = store_account_by_username(m->store, username, &a);
        if (r < 0 && r != -ENOENT)
                return bus_error_errno(error, r, "account");

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = bus_append_b(reply, "exists", a != NULL);
        if (r >= 0)
                r = bus_append_s(reply, "status", a ? a->status : "");
        if (r >= 0)
                r = bus_append_t(reply, "locked_until",
                                 a && a->locked_until > time(NULL) ? (uint64_t) a->locked_until : 0);
        if (r >= 0)
                r = bus_append_b(reply, "password_must_change", a && (a->must_change || !a->password_hash));
        if (r >= 0 && a)
                r = bus_append_s(reply, "uid", a->uid);
        if (r >= 0 && a)
                r = bus_append_b(reply, "admin", a->is_admin);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The first steps of the admin-only setters: the caller is an admin, the
 * user name is well formed. */
static int admin_on_account(Manager *m, sd_bus_message *msg, const char *username, sd_bus_error *error) {
        _cleanup_(caller_done) Caller caller = {};
        int r;

        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        if (!caller.is_admin)
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Only an admin may do this.");
        if (!username_valid(username))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name.");
        return 0;
}

int method_set_account_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *username, *status;
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &status);
        if (r < 0)
                return r;
        r = admin_on_account(m, msg, username, error);
        if (r < 0)
                return r;
        if (!streq(status, SAUTH_STATUS_ACTIVE) && !streq(status, SAUTH_STATUS_DISABLED))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Status must be '%s' or '%s'.",
                                 SAUTH_STATUS_ACTIVE, SAUTH_STATUS_DISABLED);

        r = store_set_status(m->store, username, status);
        if (r < 0)
                return bus_error_errno(error, r, "account");
        log_notice("account %s set %s", username, status);
        return sd_bus_reply_method_return(msg, NULL);
}

int method_set_account_admin(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *username;
        int admin, r;

        r = sd_bus_message_read(msg, "sb", &username, &admin);
        if (r < 0)
                return r;
        r = admin_on_account(m, msg, username, error);
        if (r < 0)
                return r;

        r = store_set_admin(m->store, username, admin);
        if (r < 0)
                return bus_error_errno(error, r, "account");
        log_notice("account %s admin role %s", username, admin ? "granted" : "removed");
        return sd_bus_reply_method_return(msg, NULL);
}

int method_expire_password(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *username;
        int r;

        r = sd_bus_message_read(msg, "s", &username);
        if (r < 0)
                return r;
        r = admin_on_account(m, msg, username, error);
        if (r < 0)
                return r;

        r = store_set_must_change(m->store, username, true);
        if (r < 0)
                return bus_error_errno(error, r, "account");
        log_notice("account %s must change its password", username);
        return sd_bus_reply_method_return(msg, NULL);
}
