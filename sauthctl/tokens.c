/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Verbs about session tokens and API keys: token verify, sessions, logout,
 * key rotate, apikey create/list/revoke.
 *
 * Two secrets pass through here. A session token to check or end is read
 * from stdin like a password; an argument is taken too (scripts hold
 * tokens in variables), but it is in /proc/PID/cmdline for anyone to read,
 * so it is copied and cleared from argv at once and the help says to
 * prefer stdin. A new API key is printed once, on stdout only: the reply
 * that carries it is marked sensitive, so sd-bus wipes it, and it is
 * printed straight from the message, no copy.
 */
#include <errno.h>

#include "call.h"
#include "dict.h"
#include "output.h"
#include "prompt.h"
#include "sauth-names.h"
#include "sauthctl.h"
#include "util.h"

/* The session token to act on: argv[0] unless absent or "-", else one line
 * from stdin. *ret is freed with erase_and_free(). Returns an exit code. */
static int token_get(int argc, char **argv, char **ret) {
        size_t n;

        if (argc == 0 || streq(argv[0], "-"))
                return prompt_secret_max("Token: ", SAUTH_SESSION_TOKEN_MAX, ret);

        n = strlen(argv[0]);
        if (n > SAUTH_SESSION_TOKEN_MAX) {
                explicit_bzero(argv[0], n);
                return ctl_usage_error("token too long (at most %d bytes)", SAUTH_SESSION_TOKEN_MAX);
        }
        *ret = strdup(argv[0]);
        /* Narrows the time other users can see it in ps; it cannot undo
         * what they read before. */
        explicit_bzero(argv[0], n);
        return *ret ? EXIT_OK : ctl_oom();
}

/* A call whose only argument is a session token, in a sensitive message. */
static int token_call(Ctl *c, const char *method, int argc, char **argv, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_erase_ char *token = NULL;
        int r;

        r = ctl_new_call(c, method, &m);
        if (r != EXIT_OK)
                return r;
        r = token_get(argc, argv, &token);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "s", token) < 0)
                return ctl_oom();
        token = erase_and_free(token);
        return ctl_call(c, m, ret_reply);
}

int verb_token_verify(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = token_call(c, "VerifyToken", argc, argv, &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) {
                "uid", "account_id", "roles", "expires", "method", NULL });
}

static int logout_session(Ctl *c, const char *user) {
        _cleanup_free_ char *uid = NULL;
        int r;

        if (isempty(c->session))
                return ctl_usage_error("logout: --session needs the jti of a session (see 'sauthctl sessions')");
        r = ctl_lookup_uid(c, user, &uid);
        if (r != EXIT_OK)
                return r;
        return ctl_simple_call(c, "RevokeSession", "ss", uid, c->session);
}

int verb_logout(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (c->seen & OPT_SESSION) {
                if (argc != 1)
                        return ctl_usage_error("logout --session JTI needs the USER whose session it is");
                return logout_session(c, argv[0]);
        }
        r = token_call(c, "Logout", argc, argv, &reply);
        if (r != EXIT_OK)
                return r;
        return output_empty(c);
}

/* A listing of one user's objects (METHOD(uid)), as a table or --json. */
static int user_list(Ctl *c, const char *user, const char *method, const char *key,
                     const OutputColumn *cols, size_t n_cols) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *uid = NULL;
        int r;

        r = ctl_lookup_uid(c, user, &uid);
        if (r != EXIT_OK)
                return r;
        r = ctl_new_call(c, method, &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "s", uid) < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return output_list(c, reply, key, cols, n_cols);
}

int verb_sessions(Ctl *c, int argc, char **argv) {
        static const OutputColumn cols[] = {
                { "JTI",       "jti",       false, NULL },
                { "METHOD",    "method",    false, NULL },
                { "SERVICE",   "service",   false, NULL },
                { "TTY",       "tty",       false, NULL },
                { "RHOST",     "rhost",     false, NULL },
                { "ISSUED",    "issued",    true,  NULL },
                { "EXPIRES",   "expires",   true,  NULL },
        };

        return user_list(c, argv[0], "ListSessions", "sessions", cols, ELEMENTSOF(cols));
}

int verb_key_rotate(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "RotateKey", &m);
        if (r != EXIT_OK)
                return r;
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return output_reply(c, reply, (const char *const[]) { "kid", NULL });
}

static int apikey_print(Ctl *c, sd_bus_message *reply) {
        const char *id = NULL, *key = NULL;
        const DictField fields[] = {
                { "id",     's', &id },
                { "apikey", 's', &key },
        };
        int r;

        if (c->json)
                return output_reply(c, reply, NULL);
        r = sd_bus_message_rewind(reply, true);
        if (r >= 0)
                r = dict_read(reply, fields, ELEMENTSOF(fields));
        if (r >= 0 && (isempty(id) || isempty(key)))
                r = -EBADMSG;
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        printf("id: %s\nkey: %s\n", id, key);
        if (isatty(STDOUT_FILENO))
                fputs("The key is shown only this once: store it now.\n", stderr);
        return EXIT_OK;
}

int verb_apikey_create(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *uid = NULL;
        static const char *const default_scopes[] = { "full", NULL };
        int r;

        r = ctl_lookup_uid(c, argv[0], &uid);
        if (r != EXIT_OK)
                return r;
        r = ctl_new_call(c, "CreateApiKey", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ss", uid, c->name ?: "") < 0 ||
            sd_bus_message_append_strv(m, (char **) (c->n_scopes > 0 ? c->scopes : default_scopes)) < 0 ||
            sd_bus_message_append(m, "t", c->expires) < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        /* The reply carries the new key: have sd-bus wipe it. */
        (void) sd_bus_message_sensitive(reply);
        return apikey_print(c, reply);
}

int verb_apikey_list(Ctl *c, int argc, char **argv) {
        static const OutputColumn cols[] = {
                { "ID",        "id",        false, NULL },
                { "NAME",      "name",      false, NULL },
                { "SCOPES",    "scopes",    false, NULL },
                { "CREATED",   "created",   true,  NULL },
                { "EXPIRES",   "expires",   true,  "never" },
                { "LAST_USED", "last_used", true,  "never" },
        };

        return user_list(c, argv[0], "ListApiKeys", "keys", cols, ELEMENTSOF(cols));
}

int verb_apikey_revoke(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "RevokeApiKey", "s", argv[0]);
}
