/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs about OAuth logins: login (and login-device), login-url,
 * oauth-callback, providers. */
#include <errno.h>
#include <time.h>

#include "call.h"
#include "dict.h"
#include "output.h"
#include "sauth-names.h"
#include "sauthctl.h"
#include "util.h"

#define USEC_PER_SEC 1000000ULL

static void sleep_sec(unsigned sec) {
        struct timespec ts = { .tv_sec = sec };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The login keys of a complete reply, as login-test prints them. */
static int oauth_print_login(Ctl *c, sd_bus_message *reply) {
        (void) sd_bus_message_sensitive(reply);
        if (sd_bus_message_rewind(reply, true) < 0)
                return ctl_oom();
        if (c->json)
                return output_reply(c, reply, NULL);
        puts("ok");
        return output_reply(c, reply, c->show_token ?
                (const char *const[]) { "uid", "username", "roles", "expires", "method", "jwt_token", NULL } :
                (const char *const[]) { "uid", "username", "roles", "expires", "method", NULL });
}

/* DeviceLoginPoll once: 1 pending (interval updated), 0 complete (the
 * login printed), or a failing exit code, negated. */
static int oauth_poll(Ctl *c, const char *handle, uint32_t *interval) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *status = NULL;
        uint32_t iv = 0;
        const DictField keys[] = { { "status", 's', &status }, { "interval", 'u', &iv } };
        int r;

        r = ctl_new_call(c, "DeviceLoginPoll", &m);
        if (r != EXIT_OK)
                return -r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "s", handle) < 0)
                return -ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return -r;
        (void) sd_bus_message_sensitive(reply);
        if (dict_read(reply, keys, ELEMENTSOF(keys)) < 0 || !status) {
                fprintf(stderr, "sauthctl: the reply is not what the contract says\n");
                return -EXIT_DENIED;
        }
        if (streq(status, "pending")) {
                if (iv > 0)
                        *interval = iv;
                return 1;
        }
        r = oauth_print_login(c, reply);
        return r == EXIT_OK ? 0 : -r;
}

int verb_login_device(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *handle = NULL, *code = NULL, *uri = NULL, *complete = NULL, *qr = NULL;
        uint32_t interval = 0, expires_in = 0;
        const DictField keys[] = {
                { "handle", 's', &handle }, { "user_code", 's', &code }, { "verification_uri", 's', &uri },
                { "verification_uri_complete", 's', &complete }, { "qr", 's', &qr },
                { "interval", 'u', &interval }, { "expires_in", 'u', &expires_in },
        };
        uint64_t deadline;
        int r;

        r = ctl_new_call(c, "DeviceLoginStart", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ss", argv[0], argc > 1 ? argv[1] : "") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(reply);
        if (dict_read(reply, keys, ELEMENTSOF(keys)) < 0 || !handle || !code || !uri || !interval) {
                fprintf(stderr, "sauthctl: the reply is not what the contract says\n");
                return EXIT_DENIED;
        }
        /* The instructions go to stderr, so that stdout is the result. */
        fprintf(stderr, "To log in, open %s\nand enter the code %s\n", uri, code);
        if (qr)
                fprintf(stderr, "or scan this code:\n%s", qr);
        fflush(stderr);
        deadline = now_usec() + (uint64_t) expires_in * USEC_PER_SEC;
        while (now_usec() < deadline) {
                sleep_sec(interval);
                r = oauth_poll(c, handle, &interval);
                if (r <= 0)
                        return -r;
        }
        fprintf(stderr, "sauthctl: ExpiredToken: the code expired\n");
        return EXIT_DENIED;
}

int verb_login_url(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "AccountLogin", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "sssa{sv}", argc > 1 ? argv[1] : "", "", argv[0],
                                  1, "service", "s", "sauthctl") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) { "location", "state", NULL });
}

int verb_oauth_callback(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "OAuthCallback", &m);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "sss", argv[0], argv[1], argv[2]) < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return oauth_print_login(c, reply);
}

/* login --method NAME [USER]: a provider's device flow; --method local (the
 * default) is a password login, as login-test. */
int verb_login(Ctl *c, int argc, char **argv) {
        if (isempty(c->method) || streq(c->method, SAUTH_METHOD_LOCAL)) {
                if (argc != 1)
                        return ctl_usage_error("a password login needs USER");
                return verb_login_test(c, argc, argv);
        }
        return verb_login_device(c, argc + 1, (char *[]) { (char *) c->method, argc > 0 ? argv[0] : NULL, NULL });
}

int verb_providers(Ctl *c, int argc, char **argv) {
        static const OutputColumn cols[] = {
                { "NAME",   "name",        false, NULL },
                { "ISSUER", "issuer",      false, NULL },
                { "CLIENT", "client_type", false, NULL },
                { "FLOWS",  "flows",       false, NULL },
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = ctl_call_noargs(c, "Methods", &reply);
        if (r != EXIT_OK)
                return r;
        return output_list(c, reply, "providers", cols, ELEMENTSOF(cols));
}
