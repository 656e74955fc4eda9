/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs about logins: login-test, methods. */
#include "call.h"
#include "output.h"
#include "prompt.h"
#include "sauth-names.h"
#include "sauthctl.h"
#include "util.h"

int verb_login_test(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_erase_ char *pw = NULL;
        int r;

        r = ctl_new_call(c, "AccountLogin", &m);
        if (r != EXIT_OK)
                return r;
        r = prompt_secret("Password: ", &pw);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "sssa{sv}", argv[0], pw, SAUTH_METHOD_LOCAL,
                                  1, "service", "s", "sauthctl") < 0)
                return ctl_oom();
        pw = erase_and_free(pw);

        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        /* The reply carries the session token: have sd-bus wipe it. */
        (void) sd_bus_message_sensitive(reply);
        if (c->json)
                return output_reply(c, reply, NULL);
        puts("ok");
        return output_reply(c, reply, c->show_token ?
                (const char *const[]) { "uid", "username", "roles", "expires", "jwt_token", NULL } :
                (const char *const[]) { "uid", "username", "roles", "expires", NULL });
}

int verb_methods(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = ctl_call_noargs(c, "Methods", &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) { "items", "policies", NULL });
}

