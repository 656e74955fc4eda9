/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs about roles: roles, member add, member remove. USER is an account's
 * user name; its uid (the person) is asked of AccountStatus first. */
#include "call.h"
#include "output.h"
#include "sauthctl.h"
#include "util.h"

int verb_roles(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_strv_free_ char **roles = NULL;
        _cleanup_free_ char *uid = NULL;
        int r;

        /* Without --model, every membership: GetRoles takes no resource
         * or id then. */
        if (!c->model && (c->resource || c->id))
                return ctl_usage_error("roles: --resource and --id need --model");
        r = ctl_lookup_uid(c, argv[0], &uid);
        if (r != EXIT_OK)
                return r;
        r = ctl_new_call(c, "GetRoles", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ssss", uid, c->model ?: "", c->resource ?: "", c->id ?: "") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_read_strv(reply, &roles) < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply\n");
                return EXIT_DENIED;
        }
        return output_strv(c, "roles", roles, (const char *const[]) {
                "user", argv[0], "uid", uid, NULL });
}

/* member add USER MODEL ID LEVEL | member remove USER MODEL ID */
int verb_member(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *uid = NULL;
        const char *level;
        int r;

        if (streq(argv[0], "add") && argc == 5)
                level = argv[4];
        else if (streq(argv[0], "remove") && argc == 4)
                level = "";     /* an empty level removes */
        else
                return ctl_usage_error("member: expected 'add USER MODEL ID LEVEL' or 'remove USER MODEL ID'");
        if (isempty(level) && streq(argv[0], "add"))
                return ctl_usage_error("member add: LEVEL must not be empty");
        r = ctl_lookup_uid(c, argv[1], &uid);
        if (r != EXIT_OK)
                return r;
        return ctl_simple_call(c, "SetMembership", "sssss", argv[2], c->resource ?: "", argv[3], uid, level);
}
