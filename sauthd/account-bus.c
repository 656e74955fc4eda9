/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The account area on the bus: Register, AccountAdd, AccountStatus and the
 * admin setters. */
#include <errno.h>
#include <time.h>

#include "account-bus.h"
#include "account.h"
#include "lockout.h"
#include "manager.h"
#include "sauth-names.h"

static int method_register(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        const char *message = NULL;
        RegisterArgs args;
        SauthStatus s;
        int r;

        r = sd_bus_message_read(msg, "sssss", &args.identity, &args.username, &args.name,
                                &args.template_name, &args.picture);
        if (r < 0)
                return r;
        s = account_register(m, caller, &args, &ids, &message);
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", message ?: bus_status_message(s));
        return sd_bus_reply_method_return(msg, "a{sv}", 3,
                                          "uid", "s", ids.uid,
                                          "contact_id", "s", ids.contact_id,
                                          "account_id", "s", strempty(ids.account_id));
}

static int method_account_add(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_free_ char *account_id = NULL;
        const char *username, *uid, *message = NULL;
        SauthStatus s;
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &uid);
        if (r < 0)
                return r;
        s = account_add(m, caller, username, uid, &account_id, &message);
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", message ?: bus_status_message(s));
        return sd_bus_reply_method_return(msg, "a{sv}", 3,
                                          "id", "s", account_id,
                                          "uid", "s", uid,
                                          "username", "s", username);
}

static int method_account_status(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        const char *username;
        int64_t now = time(NULL);
        int r;

        r = sd_bus_message_read(msg, "s", &username);
        if (r < 0)
                return r;
        if (!arg_ok(username, SAUTH_NAME_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name.");

        r = store_account_by_username(m->store, username, &a);
        if (r < 0 && r != -ENOENT)
                return bus_error_errno(error, r, "account");

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_b(reply, "exists", a != NULL);
        if (r >= 0)
                r = bus_append_s(reply, "status", a ? a->status : "");
        if (r >= 0)
                r = bus_append_t(reply, "locked_until", a ? (uint64_t) lockout_locked_until(m, a, now) : 0);
        /* Added key: the failures toward the lock, as faillock shows them. */
        if (r >= 0)
                r = bus_append_u(reply, "failures", a ? lockout_failures(m, a, now) : 0);
        if (r >= 0)
                r = bus_append_b(reply, "password_must_change", a && (a->must_change || !a->password_hash));
        if (r >= 0 && a)
                r = bus_append_s(reply, "uid", a->uid);
        if (r >= 0 && a)
                r = bus_append_b(reply, "admin", a->is_admin);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

static int account_bus_change(sd_bus_message *msg, Manager *m, const Caller *caller, const char *username,
                              AccountChange what, const char *value, sd_bus_error *error) {
        int r = account_change(m, caller, username, what, value);

        if (r == -EINVAL)
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name or value.");
        if (r < 0)
                return bus_error_errno(error, r, "account");
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_set_account_status(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        const char *username, *status;
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &status);
        if (r < 0)
                return r;
        if (!streq(status, SAUTH_STATUS_ACTIVE) && !streq(status, SAUTH_STATUS_DISABLED))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Status must be '%s' or '%s'.",
                                 SAUTH_STATUS_ACTIVE, SAUTH_STATUS_DISABLED);
        return account_bus_change(msg, m, caller, username, ACCOUNT_SET_STATUS, status, error);
}

static int method_set_account_admin(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        const char *username;
        int admin, r;

        r = sd_bus_message_read(msg, "sb", &username, &admin);
        if (r < 0)
                return r;
        return account_bus_change(msg, m, caller, username, ACCOUNT_SET_ADMIN, admin ? "yes" : "no", error);
}

static int method_expire_password(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        const char *username;
        int r;

        r = sd_bus_message_read(msg, "s", &username);
        if (r < 0)
                return r;
        return account_bus_change(msg, m, caller, username, ACCOUNT_EXPIRE_PASSWORD, NULL, error);
}

/* Like faillock --reset: the account's lock and failure counts go, from
 * the store and from memory. Admins only, so NotFound reveals nothing. */
static int method_unlock_account(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        const char *username;
        int r;

        r = sd_bus_message_read(msg, "s", &username);
        if (r < 0)
                return r;
        r = account_unlock(m, caller, username);
        if (r == -EINVAL)
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name.");
        if (r < 0)
                return bus_error_errno(error, r, "account");
        return sd_bus_reply_method_return(msg, NULL);
}

const BusMethod account_bus_methods[] = {
        BUS_METHOD("Register",
                   BUS_ARGS("s", identity, "s", username, "s", name, "s", template, "s", picture),
                   BUS_RESULT("a{sv}", result),
                   method_register, BUS_REGISTER, 0),
        BUS_METHOD("AccountAdd",
                   BUS_ARGS("s", username, "s", uid), BUS_RESULT("a{sv}", result),
                   method_account_add, BUS_ADMIN, 0),
        BUS_METHOD("AccountStatus",
                   BUS_ARGS("s", username), BUS_RESULT("a{sv}", result),
                   method_account_status, BUS_SELF, 0),
        BUS_METHOD("SetAccountStatus",
                   BUS_ARGS("s", username, "s", status), BUS_NO_RESULT,
                   method_set_account_status, BUS_ADMIN, 0),
        BUS_METHOD("SetAccountAdmin",
                   BUS_ARGS("s", username, "b", admin), BUS_NO_RESULT,
                   method_set_account_admin, BUS_ADMIN, 0),
        BUS_METHOD("ExpirePassword",
                   BUS_ARGS("s", username), BUS_NO_RESULT,
                   method_expire_password, BUS_ADMIN, 0),
        BUS_METHOD("UnlockAccount",
                   BUS_ARGS("s", username), BUS_NO_RESULT,
                   method_unlock_account, BUS_ADMIN, 0),
        BUS_METHOD_END,
};
