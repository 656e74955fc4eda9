/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus side of sauthctl: connecting (within --timeout, through common/'s
 * client library), building and sending calls, and turning a failed call
 * into a message and an exit code with the same classification as the PAM
 * module's.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>

#include "call.h"
#include "client-bus.h"
#include "dict.h"
#include "output.h"
#include "sauth-errors.h"
#include "sauth-names.h"
#include "util.h"

int ctl_usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("sauthctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'sauthctl help'.\n", stderr);
        return EXIT_USAGE;
}

int ctl_oom(void) {
        fputs("sauthctl: out of memory\n", stderr);
        return EXIT_DENIED;
}

int ctl_connect(Ctl *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *address;
        bool from_env = false;
        int r;

        if (c->bus)
                return EXIT_OK;

        /* Like sd_bus_open_system(), the variable names the system bus
         * for this tool (unlike for the PAM module); empty means unset. */
        address = c->address;
        if (!address) {
                address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
                from_env = !isempty(address);
                if (!from_env)
                        address = NULL;
        }
        /* A typo is a configuration error, exit 1, never "unreachable".
         * sd-bus answers EINVAL for keys its transport does not take. */
        r = address && !sauth_bus_address_is_valid(address) ? -EINVAL :
                sauth_client_connect(address, c->timeout_usec, &bus);
        if (r == -EINVAL && address) {
                fprintf(stderr, "sauthctl: not a valid D-Bus address: '%s'%s "
                        "(expected TRANSPORT:KEY=VALUE,..., e.g. unix:path=/run/dbus/system_bus_socket)\n",
                        address, from_env ? " in DBUS_SYSTEM_BUS_ADDRESS" : "");
                return EXIT_DENIED;
        }
        if (r < 0) {
                if (address)
                        fprintf(stderr, "sauthctl: cannot connect to the bus at %s: %s\n", address, strerror(-r));
                else
                        fprintf(stderr, "sauthctl: cannot connect to the system bus: %s\n", strerror(-r));
                /* No bus there is exit 3; a malformed address or a bus
                 * that refused us is not "unreachable". */
                return sauth_status_from_errno(r) == SAUTH_E_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_DENIED;
        }

        c->bus = TAKE_PTR(bus);
        return EXIT_OK;
}

int ctl_new_call(Ctl *c, const char *method, sd_bus_message **ret) {
        int r;

        r = ctl_connect(c);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(c->bus, ret, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                           SAUTH_BUS_INTERFACE, method);
        if (r < 0)
                return ctl_oom();
        return EXIT_OK;
}

/* The text of a failed call for a one-line error: the bus's message up to
 * its first line break (a daemon's message is one sentence, but a foreign
 * one may hold more), or the errno's text. */
static void print_error_text(const sd_bus_error *error, int r) {
        const char *m = sd_bus_error_is_set(error) && !isempty(error->message) ? error->message : NULL;

        if (m)
                fprintf(stderr, "%.*s\n", (int) strcspn(m, "\r\n"), m);
        else
                fprintf(stderr, "%s\n", strerror(-r));
}

/* Sends the call and waits. Errors are printed on one line with the short
 * name from the common table, which scripts and people can both match on;
 * a name outside the table is printed in full. */
int ctl_call(Ctl *c, sd_bus_message *m, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        SauthStatus s;
        int r;

        r = sd_bus_call(c->bus, m, c->timeout_usec, &error, ret_reply);
        if (r >= 0)
                return EXIT_OK;

        /* The same classification as the PAM module's: a dropped connection
         * (for one, dbus-daemon closes on a uid it cannot resolve), nobody
         * answering, or a failed activation is Unreachable, exit 3. The
         * D-Bus error says which (Spawn.ChildExited, NoSuchUnit…). */
        s = sauth_status_from_call(r, error.name);
        if (s == SAUTH_E_UNREACHABLE) {
                fprintf(stderr, "sauthctl: %s: cannot reach sauthd: ", sauth_status_to_string(s));
                if (sd_bus_error_is_set(&error))
                        fprintf(stderr, "%s: ", error.name);
                print_error_text(&error, r);
                return EXIT_UNREACHABLE;
        }
        /* An error name outside our table (a bus policy denial, an unknown
         * method of an older daemon) is shown in full: "Unknown" helps no one. */
        fprintf(stderr, "sauthctl: %s: ",
                s == SAUTH_E_UNKNOWN && error.name ? error.name : sauth_status_to_string(s));
        print_error_text(&error, r);
        return EXIT_DENIED;
}

/* The caller's own Unix user name: the account "self" stands for. */
int ctl_own_username(const char **ret) {
        struct passwd *pw;

        errno = 0;
        pw = getpwuid(getuid());
        if (!pw || isempty(pw->pw_name)) {
                fprintf(stderr, "sauthctl: cannot find the user name of uid %u; name the user\n",
                        (unsigned) getuid());
                return EXIT_DENIED;
        }
        *ret = pw->pw_name;
        return EXIT_OK;
}

int ctl_status_reply(Ctl *c, const char *user, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(c, "AccountStatus", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "s", user) < 0)
                return ctl_oom();
        return ctl_call(c, m, ret);
}

/* The uid (the person's id in the store, not a Unix uid) of an account,
 * from its status. Self may read its own. */
int ctl_lookup_uid(Ctl *c, const char *user, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *uid = NULL;
        int exists = 0;
        const DictField fields[] = {
                { "exists", 'b', &exists },
                { "uid",    's', &uid },
        };
        int r;

        r = ctl_status_reply(c, user, &reply);
        if (r != EXIT_OK)
                return r;
        r = dict_read(reply, fields, ELEMENTSOF(fields));
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        if (!exists || isempty(uid)) {
                fprintf(stderr, "sauthctl: %s: no account named '%s'\n",
                        sauth_status_to_string(SAUTH_E_NOT_FOUND), user);
                return EXIT_DENIED;
        }
        *ret = strdup(uid);
        return *ret ? EXIT_OK : ctl_oom();
}

int ctl_call_noargs(Ctl *c, const char *method, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(c, method, &m);
        if (r != EXIT_OK)
                return r;
        return ctl_call(c, m, ret_reply);
}

/* Calls a method that takes strings only and returns nothing. */
int ctl_simple_call(Ctl *c, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        va_list ap;
        int r;

        r = ctl_new_call(c, method, &m);
        if (r != EXIT_OK)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return output_empty(c);
}

