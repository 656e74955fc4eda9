/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs about passwords: passwd, check-password, forgot. */
#include <errno.h>

#include "call.h"
#include "dict.h"
#include "output.h"
#include "prompt.h"
#include "sauth-errors.h"
#include "sauth-names.h"
#include "sauthctl.h"
#include "util.h"

/* The secrets of a password change. A token replaces the old password;
 * root sets a password without the old one unless --old asks for it. */
typedef struct PasswdSecrets {
        char *token;
        char *old;
        char *new;
        char *verify;
} PasswdSecrets;

static void passwd_secrets_done(PasswdSecrets *s) {
        erase_and_free(s->token);
        erase_and_free(s->old);
        erase_and_free(s->new);
        erase_and_free(s->verify);
        *s = (PasswdSecrets) {};
}

static int passwd_ask(Ctl *c, PasswdSecrets *s) {
        int r = EXIT_OK;

        if (c->seen & OPT_TOKEN)
                r = prompt_secret("Token: ", &s->token);
        else if (getuid() != 0 || (c->seen & OPT_OLD))
                r = prompt_secret("Current password: ", &s->old);
        if (r == EXIT_OK)
                r = prompt_secret("New password: ", &s->new);
        if (r == EXIT_OK)
                r = prompt_secret("Retype new password: ", &s->verify);
        return r;
}

int verb_passwd(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *uid = NULL;
        PasswdSecrets s = {};
        const char *user = argc > 0 ? argv[0] : NULL;
        int r;

        if (user && c->uid)
                return ctl_usage_error("passwd: give USER or --uid, not both");
        if ((c->seen & OPT_TOKEN) && (c->seen & OPT_OLD))
                return ctl_usage_error("passwd: --token and --old exclude each other");

        if (c->uid)
                uid = strdup(c->uid);
        else {
                if (!user) {
                        r = ctl_own_username(&user);
                        if (r != EXIT_OK)
                                return r;
                }
                r = ctl_lookup_uid(c, user, &uid);
                if (r != EXIT_OK)
                        return r;
        }
        if (!uid)
                return ctl_oom();

        r = ctl_new_call(c, "ChangePassword", &m);
        if (r == EXIT_OK)
                r = passwd_ask(c, &s);
        if (r == EXIT_OK) {
                (void) sd_bus_message_sensitive(m);
                if (sd_bus_message_append(m, "sssss", uid, s.new, s.token ?: "", s.old ?: "", s.verify) < 0)
                        r = ctl_oom();
        }
        /* The message holds its own (sensitive) copies now. */
        passwd_secrets_done(&s);
        if (r != EXIT_OK)
                return r;

        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        if (c->json)
                return output_reply(c, reply, NULL);
        puts("Password changed.");
        return output_reply(c, reply, (const char *const[]) { "uid", "username", NULL });
}

static void check_print(const OutputDict *d) {
        const OutputEntry *problems = output_dict_get(d, "problems");

        output_keys(d, (const char *const[]) { "ok", "score", "guesses_log10", NULL });
        if (problems && problems->strv)
                for (char **p = problems->strv; *p; p++)
                        printf("problem: %s\n", *p);
        if (!isempty(output_dict_text(d, "message")))
                printf("message: %s\n", output_dict_text(d, "message"));
}

int verb_check_password(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_erase_ char *pw = NULL;
        const char *user = argc > 0 ? argv[0] : NULL;
        OutputDict d = {};
        int ok = 0;
        const DictField fields[] = {
                { "ok", 'b', &ok },
        };
        int r;

        if (!user) {
                r = ctl_own_username(&user);
                if (r != EXIT_OK)
                        return r;
        }
        r = ctl_new_call(c, "CheckPassword", &m);
        if (r != EXIT_OK)
                return r;
        r = prompt_secret("Password: ", &pw);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "ss", user, pw) < 0)
                return ctl_oom();
        pw = erase_and_free(pw);

        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        r = dict_read(reply, fields, ELEMENTSOF(fields));
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        if (c->json)
                r = output_reply(c, reply, NULL);
        else {
                r = output_dict_read(reply, &d);
                if (r >= 0)
                        check_print(&d);
                output_dict_done(&d);
                if (r < 0) {
                        fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                        return EXIT_DENIED;
                }
                r = EXIT_OK;
        }
        if (r != EXIT_OK)
                return r;
        return ok ? EXIT_OK : EXIT_DENIED;
}

int verb_forgot(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        bool identity = strchr(argv[0], '@');
        int r;

        r = ctl_new_call(c, "ForgotPassword", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "sss", identity ? argv[0] : "", identity ? "" : argv[0],
                                  c->template ?: "") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        if (c->json)
                return output_reply(c, reply, NULL);
        puts("If an account matches, a reset message was sent.");
        return EXIT_OK;
}

