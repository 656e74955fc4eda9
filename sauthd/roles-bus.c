/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The roles area on the bus: GetRoles (admin, or the person themself),
 * SetMembership (admin), UpdateAuth (whoever holds a valid token; rate
 * limited per caller uid). Parse, call roles.c, reply.
 */
#include <errno.h>
#include <string.h>

#include "manager.h"
#include "roles-bus.h"
#include "roles.h"

static int method_get_roles(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **roles = NULL;
        const char *uid, *member_model, *resource, *id, *message = NULL;
        SauthStatus s;
        int r;

        r = sd_bus_message_read(msg, "ssss", &uid, &member_model, &resource, &id);
        if (r < 0)
                return r;
        s = roles_get(m, uid, member_model, resource, id, &roles, &message);
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", message ?: bus_status_message(s));
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, roles);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_set_membership(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        MembershipArgs args = {};
        const char *message = NULL;
        SauthStatus s;
        int r;

        r = sd_bus_message_read(msg, "sssss", &args.member_model, &args.resource, &args.id, &args.uid,
                                &args.level);
        if (r < 0)
                return r;
        s = roles_set_membership(m, caller, &args, &message);
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", message ?: bus_status_message(s));
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_update_auth(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(update_auth_result_done) UpdateAuthResult res = {};
        UpdateAuthArgs args = {};
        const char *message = NULL;
        int force;
        SauthStatus s;
        int r;

        r = sd_bus_message_read(msg, "ssssb", &args.token, &args.member_model, &args.id, &args.resource, &force);
        if (r < 0)
                return r;
        if (!arg_ok(args.token, JWT_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "Not a valid session token.");
        args.force = force;
        s = roles_update_auth(m, caller, &args, &res, &message);
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", message ?: bus_status_message(s));

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_s(reply, "jwt_token", res.token);
        if (r >= 0)
                r = bus_append_strv(reply, "roles", res.roles);
        if (r >= 0)
                r = bus_append_t(reply, "expires", res.expires);
        if (r >= 0)
                r = bus_append_b(reply, "refreshed", res.refreshed);
        /* The token is a secret: sd-bus wipes a sensitive message. */
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

const BusMethod roles_bus_methods[] = {
        BUS_METHOD("GetRoles",
                   BUS_ARGS("s", uid, "s", member_model, "s", resource, "s", id), BUS_RESULT("as", roles),
                   method_get_roles, BUS_SELF_UID, 0),
        BUS_METHOD("SetMembership",
                   BUS_ARGS("s", member_model, "s", resource, "s", id, "s", uid, "s", level), BUS_NO_RESULT,
                   method_set_membership, BUS_ADMIN, 0),
        BUS_METHOD("UpdateAuth",
                   BUS_ARGS("s", token, "s", member_model, "s", id, "s", resource, "b", force),
                   BUS_RESULT("a{sv}", result),
                   method_update_auth, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_END,
};
