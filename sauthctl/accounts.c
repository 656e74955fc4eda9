/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs about accounts: status, register, account-add, enable, disable,
 * set-admin, expire, unlock. */
#include "call.h"
#include "output.h"
#include "sauth-names.h"
#include "sauthctl.h"
#include "util.h"

int verb_status(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *user = argc > 0 ? argv[0] : NULL;
        int r;

        if (!user) {
                r = ctl_own_username(&user);
                if (r != EXIT_OK)
                        return r;
        }
        r = ctl_status_reply(c, user, &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) {
                "exists", "status", "locked_until", "failures", "password_must_change", "uid", "admin", NULL });
}

int verb_register(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "Register", &m);
        if (r != EXIT_OK)
                return r;
        /* The daemon wants a display name; the user name is a fair default. */
        if (sd_bus_message_append(m, "sssss", argv[0], argv[1], c->name ?: argv[1],
                                  c->template ?: "", c->picture ?: "") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) {
                "uid", "contact_id", "account_id", NULL });
}

int verb_account_add(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "AccountAdd", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ss", argv[0], argv[1]) < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) { "id", "uid", "username", NULL });
}

int verb_enable(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "SetAccountStatus", "ss", argv[0], SAUTH_STATUS_ACTIVE);
}

int verb_disable(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "SetAccountStatus", "ss", argv[0], SAUTH_STATUS_DISABLED);
}

int verb_set_admin(Ctl *c, int argc, char **argv) {
        const char *v = argv[1];
        int admin;

        if (streq(v, "yes") || streq(v, "true") || streq(v, "1"))
                admin = 1;
        else if (streq(v, "no") || streq(v, "false") || streq(v, "0"))
                admin = 0;
        else
                return ctl_usage_error("set-admin: expected yes or no, got '%s'", v);
        return ctl_simple_call(c, "SetAccountAdmin", "sb", argv[0], admin);
}

int verb_expire(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "ExpirePassword", "s", argv[0]);
}

int verb_unlock(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "UnlockAccount", "s", argv[0]);
}

