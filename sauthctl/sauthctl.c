/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * sauthctl: the command line of sauthd, a plain D-Bus client. This file is
 * main, the options and the verb table; each verb (one file per area) sends
 * one or two method calls and prints the reply, or with --json the reply
 * dictionary as it came (output.c).
 *
 * Exit codes are part of the interface, scripts test them:
 *   0 done, 1 the daemon said no, 2 usage, 3 the daemon is unreachable.
 *
 * Secrets (passwords, tokens) are never taken from argv, where any user may
 * read them in /proc: they come from a no-echo prompt on a terminal, or one
 * line each from stdin. They live in buffers wiped before they are freed,
 * and travel in messages marked sensitive, so sd-bus wipes those too. The
 * one exception: "token verify" and "logout" take a session token as an
 * argument too, for scripts that already hold it in a variable; the help
 * says it shows in ps, and tokens.c clears it from argv at once.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "parse-util.h"
#include "sauth-config.h"
#include "sauthctl.h"
#include "util.h"

static const char *const ctl_option_names[_OPT_VERB_MAX] = {
        "--name", "--template", "--picture", "--token", "--uid", "--old",
        "--scope", "--expires", "--session",
        "--model", "--resource", "--id", "--method",
};

static int verb_help(Ctl *c, int argc, char **argv);

static const Verb verbs[] = {
        { "status", verb_status, 0, 1, 0,
          "status [USER]",
          "Show whether an account exists, its status, lock, failures and uid (default: your own)." },
        { "register", verb_register, 2, 2, OPT_NAME | OPT_TEMPLATE | OPT_PICTURE,
          "register IDENTITY USERNAME [--name NAME] [--template T] [--picture URL]",
          "Create an account (NAME defaults to USERNAME); a confirmation token is mailed to IDENTITY." },
        { "account-add", verb_account_add, 2, 2, 0,
          "account-add USERNAME UID",
          "Give the person UID, who has no account yet, the account USERNAME." },
        { "passwd", verb_passwd, 0, 1, OPT_TOKEN | OPT_UID | OPT_OLD,
          "passwd [USER] [--token] [--uid UID] [--old]",
          "Change a password, with the current one or a mailed token (--token)." },
        { "login-test", verb_login_test, 1, 1, 0,
          "login-test USER",
          "Try a password login; prints uid, roles and expiry, not the token." },
        { "login", verb_login, 0, 1, OPT_METHOD,
          "login [--method PROVIDER] [USER]",
          "Log in: with a provider's device flow (URL, code and QR code, waits for approval; USER may be left out), "
          "or with a password (--method local, the default; USER needed)." },
        { "login-device", verb_login_device, 1, 2, 0,
          "login-device PROVIDER [USER]",
          "The same as login --method PROVIDER [USER]." },
        { "login-url", verb_login_url, 1, 2, 0,
          "login-url PROVIDER [USER]",
          "Start a provider's authorization code flow: prints the URL to open and its state." },
        { "oauth-callback", verb_oauth_callback, 3, 3, 0,
          "oauth-callback PROVIDER CODE STATE",
          "Finish an authorization code login with the code and state the provider sent back." },
        { "check-password", verb_check_password, 0, 1, 0,
          "check-password [USER]",
          "Rate a password against the rules; exit 0 if it would be accepted." },
        { "forgot", verb_forgot, 1, 1, OPT_TEMPLATE,
          "forgot IDENTITY|USERNAME [--template T]",
          "Ask for a password reset token by mail." },
        { "enable", verb_enable, 1, 1, 0,
          "enable USER",
          "Allow logins to a disabled account again (a lockout stays: see unlock)." },
        { "disable", verb_disable, 1, 1, 0,
          "disable USER",
          "Refuse all logins to an account." },
        { "set-admin", verb_set_admin, 2, 2, 0,
          "set-admin USER yes|no",
          "Grant or take the admin role of session tokens (not Unix authority)." },
        { "expire", verb_expire, 1, 1, 0,
          "expire USER",
          "Force a password change at the next login." },
        { "unlock", verb_unlock, 1, 1, 0,
          "unlock USER",
          "Clear an account's lockout and failure counts, like faillock --reset (admin)." },
        { "roles", verb_roles, 1, 1, OPT_MODEL | OPT_RESOURCE | OPT_ID,
          "roles USER [--model M] [--resource R] [--id ID]",
          "List the roles of USER's memberships (all, or of model M, resource R, id ID)." },
        { "member", verb_member, 4, 5, OPT_RESOURCE,
          "member add USER MODEL ID LEVEL | member remove USER MODEL ID [--resource R]",
          "Give USER a level in object ID of MODEL (resource R, default [roles] resource), or take it." },
        { "methods", verb_methods, 0, 0, 0,
          "methods",
          "List the login methods and policies." },
        { "providers", verb_providers, 0, 0, 0,
          "providers",
          "List the OAuth providers: issuer, client type (public or confidential) and flows (device, code)." },
        { "token verify", verb_token_verify, 0, 1, 0,
          "token verify [TOKEN|-]",
          "Check a session token (read from stdin; an argument shows in ps); print its uid, roles and expiry." },
        { "sessions", verb_sessions, 1, 1, 0,
          "sessions USER",
          "List the sessions of an account that have not ended." },
        { "logout", verb_logout, 0, 1, OPT_SESSION,
          "logout [TOKEN|-] | logout --session JTI USER",
          "End the session of a token (read from stdin; an argument shows in ps), or a listed session of USER." },
        { "key rotate", verb_key_rotate, 0, 0, 0,
          "key rotate",
          "Make a new signing key for session tokens; the old one keeps verifying. Prints the new kid." },
        { "apikey create", verb_apikey_create, 1, 1, OPT_NAME | OPT_SCOPE | OPT_EXPIRES,
          "apikey create USER [--name NAME] [--scope SCOPE]... [--expires UNIX_TIME|0]",
          "Make an API key for USER (scope default: full; expiry default 0, never). The key is shown once." },
        { "apikey list", verb_apikey_list, 1, 1, 0,
          "apikey list USER",
          "List the API keys in use of USER, without their secrets." },
        { "apikey revoke", verb_apikey_revoke, 1, 1, 0,
          "apikey revoke ID",
          "Revoke an API key by its id." },
        { "mail", verb_mail, 0, 0, 0,
          "mail",
          "List the messages waiting in the outbox: recipient, attempts, next attempt, last error (admin)." },
        { "help", verb_help, 0, 2, 0,
          "help [COMMAND]",
          "Show this help, or the help of one command." },
};

/* Whether the first word of v's name is area (for two-word names). */
static bool verb_in_area(const Verb *v, const char *area) {
        const char *sp = strchr(v->name, ' ');

        return sp && strlen(area) == (size_t) (sp - v->name) && strncmp(v->name, area, sp - v->name) == 0;
}

/* The verb named by the first one or two words of argv; *ret_words says
 * how many it took. */
static const Verb *verb_find(int argc, char **argv, int *ret_words) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const Verb *v = &verbs[i];

                if (streq(v->name, argv[0])) {
                        *ret_words = 1;
                        return v;
                }
                if (argc >= 2 && verb_in_area(v, argv[0]) && streq(strchr(v->name, ' ') + 1, argv[1])) {
                        *ret_words = 2;
                        return v;
                }
        }
        return NULL;
}

static bool area_exists(const char *area) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (verb_in_area(&verbs[i], area))
                        return true;
        return false;
}

static void help_verb(FILE *f, const Verb *v) {
        fprintf(f, "Usage: sauthctl [OPTIONS] %s\n%s\n", v->usage, v->help);
}

/* The usage of every verb of an area ("apikey"). */
static void help_area(FILE *f, const char *area) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (verb_in_area(&verbs[i], area))
                        help_verb(f, &verbs[i]);
}

/* An unknown command, or an area without (or with an unknown) second word. */
static int unknown_verb(int argc, char **argv) {
        if (area_exists(argv[0])) {
                if (argc < 2)
                        fprintf(stderr, "sauthctl: '%s' needs a command\n", argv[0]);
                else
                        fprintf(stderr, "sauthctl: unknown command '%s %s'\n", argv[0], argv[1]);
                help_area(stderr, argv[0]);
                return EXIT_USAGE;
        }
        return ctl_usage_error("unknown command '%s'", argv[0]);
}

static void help_all(FILE *f) {
        fputs("Usage: sauthctl [OPTIONS] COMMAND [ARGS]\n"
              "\n"
              "The command line of sauthd, the SessionAuth daemon.\n"
              "\n"
              "Commands:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %s\n      %s\n", verbs[i].usage, verbs[i].help);
        fputs("\n"
              "Options:\n"
              "  --address ADDR  talk to sauthd on this D-Bus address (default: the system bus)\n"
              "  --json          print the daemon's reply as JSON\n"
              "  --show-token    login-test: also print the session token\n"
              "  --timeout SEC   how long to wait for an answer (default 60)\n"
              "  -h, --help      show this help\n"
              "  --version       show the version\n"
              "\n"
              "Passwords and tokens are read from a prompt on a terminal, or one line\n"
              "each from stdin; never from the command line, except that 'token verify'\n"
              "and 'logout' also take a session token as an argument, where any user\n"
              "may see it in ps: prefer stdin.\n"
              "Exit status: 0 done, 1 refused by the daemon, 2 usage, 3 daemon unreachable.\n", f);
}

static int verb_help(Ctl *c, int argc, char **argv) {
        const Verb *v;
        int words;

        if (argc == 0) {
                help_all(stdout);
                return EXIT_OK;
        }
        v = verb_find(argc, argv, &words);
        if (!v && argc == 1 && area_exists(argv[0])) {
                help_area(stdout, argv[0]);
                return EXIT_OK;
        }
        if (!v || words != argc)
                return ctl_usage_error("unknown command '%s%s%s'", argv[0],
                                       argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
        help_verb(stdout, v);
        return EXIT_OK;
}

static int parse_timeout(const char *s, uint64_t *ret) {
        unsigned v;

        if (parse_uint(s, &v) < 0 || v == 0 || v > CTL_MAX_TIMEOUT_SEC)
                return -EINVAL;
        *ret = (uint64_t) v * UINT64_C(1000000);
        return 0;
}

enum {
        ARG_ADDRESS = 0x100,
        ARG_JSON,
        ARG_SHOW_TOKEN,
        ARG_TIMEOUT,
        ARG_VERSION,
        ARG_NAME,
        ARG_TEMPLATE,
        ARG_PICTURE,
        ARG_TOKEN,
        ARG_UID,
        ARG_OLD,
        ARG_SCOPE,
        ARG_EXPIRES,
        ARG_SESSION,
        ARG_MODEL,
        ARG_RESOURCE,
        ARG_ID,
        ARG_METHOD,
};

/* One --scope; the daemon checks the name against [apikeys] scopes. Like
 * parse_argv(): -1 to go on, else an exit code. */
static int parse_scope(Ctl *c, const char *s) {
        if (c->n_scopes >= CTL_MAX_SCOPES)
                return ctl_usage_error("at most %d --scope options", CTL_MAX_SCOPES);
        if (isempty(s))
                return ctl_usage_error("--scope needs a scope name");
        c->scopes[c->n_scopes++] = s;
        return -1;
}

/* Options may come before or after the command; GNU getopt moves the
 * operands to the end. Returns -1 to go on, else an exit code. */
static int parse_argv(Ctl *c, int argc, char **argv, bool *help) {
        static const struct option options[] = {
                { "address",    required_argument, NULL, ARG_ADDRESS },
                { "json",       no_argument,       NULL, ARG_JSON },
                { "show-token", no_argument,       NULL, ARG_SHOW_TOKEN },
                { "timeout",    required_argument, NULL, ARG_TIMEOUT },
                { "help",       no_argument,       NULL, 'h' },
                { "version",    no_argument,       NULL, ARG_VERSION },
                { "name",       required_argument, NULL, ARG_NAME },
                { "template",   required_argument, NULL, ARG_TEMPLATE },
                { "picture",    required_argument, NULL, ARG_PICTURE },
                { "token",      no_argument,       NULL, ARG_TOKEN },
                { "uid",        required_argument, NULL, ARG_UID },
                { "old",        no_argument,       NULL, ARG_OLD },
                { "scope",      required_argument, NULL, ARG_SCOPE },
                { "expires",    required_argument, NULL, ARG_EXPIRES },
                { "session",    required_argument, NULL, ARG_SESSION },
                { "model",      required_argument, NULL, ARG_MODEL },
                { "resource",   required_argument, NULL, ARG_RESOURCE },
                { "id",         required_argument, NULL, ARG_ID },
                { "method",     required_argument, NULL, ARG_METHOD },
                {}
        };
        int opt, r;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case ARG_ADDRESS:    c->address = optarg; break;
                case ARG_JSON:       c->json = true; break;
                case ARG_SHOW_TOKEN: c->show_token = true; break;
                case ARG_TIMEOUT:
                        if (parse_timeout(optarg, &c->timeout_usec) < 0)
                                return ctl_usage_error("invalid --timeout '%s' (seconds, 1-%d)",
                                                       optarg, CTL_MAX_TIMEOUT_SEC);
                        break;
                case 'h':            *help = true; break;
                case ARG_VERSION:    puts("sauthctl " SAUTH_VERSION); return EXIT_OK;
                case ARG_NAME:       c->seen |= OPT_NAME; c->name = optarg; break;
                case ARG_TEMPLATE:   c->seen |= OPT_TEMPLATE; c->template = optarg; break;
                case ARG_PICTURE:    c->seen |= OPT_PICTURE; c->picture = optarg; break;
                case ARG_TOKEN:      c->seen |= OPT_TOKEN; break;
                case ARG_UID:        c->seen |= OPT_UID; c->uid = optarg; break;
                case ARG_OLD:        c->seen |= OPT_OLD; break;
                case ARG_SCOPE:
                        c->seen |= OPT_SCOPE;
                        r = parse_scope(c, optarg);
                        if (r >= 0)
                                return r;
                        break;
                case ARG_EXPIRES:
                        c->seen |= OPT_EXPIRES;
                        if (parse_uint64(optarg, &c->expires) < 0 || c->expires > INT64_MAX)
                                return ctl_usage_error("invalid --expires '%s' (UNIX time, or 0 for never)", optarg);
                        break;
                case ARG_SESSION:    c->seen |= OPT_SESSION; c->session = optarg; break;
                case ARG_MODEL:      c->seen |= OPT_MODEL; c->model = optarg; break;
                case ARG_RESOURCE:   c->seen |= OPT_RESOURCE; c->resource = optarg; break;
                case ARG_ID:         c->seen |= OPT_ID; c->id = optarg; break;
                case ARG_METHOD:     c->seen |= OPT_METHOD; c->method = optarg; break;
                default:
                        /* Unknown, or missing its argument. In a cluster
                         * ("-Xy…") optind may still point at it, so name the
                         * letter getopt stopped at; a long option is the
                         * word before optind. */
                        if (optopt > 0 && optopt < 0x80)
                                return ctl_usage_error("invalid option '-%c' (an argument that begins "
                                                       "with '-' goes after '--')", optopt);
                        return ctl_usage_error("invalid option '%s' (an argument that begins "
                                               "with '-' goes after '--')", argv[optind - 1]);
                }
        return -1;
}

static int run_verb(Ctl *c, const Verb *v, int argc, char **argv) {
        unsigned bad = c->seen & ~v->options;

        for (unsigned i = 0; i < _OPT_VERB_MAX; i++)
                if (bad & (1u << i))
                        return ctl_usage_error("%s does not take %s", v->name, ctl_option_names[i]);
        if (argc < v->min_args || argc > v->max_args) {
                fprintf(stderr, "sauthctl: wrong number of arguments\n");
                help_verb(stderr, v);
                return EXIT_USAGE;
        }
        return v->run(c, argc, argv);
}

int main(int argc, char *argv[]) {
        Ctl c = { .timeout_usec = CTL_DEFAULT_TIMEOUT_SEC * UINT64_C(1000000) };
        const Verb *v;
        bool help = false;
        int r, words = 0;

        r = parse_argv(&c, argc, argv, &help);
        if (r >= 0)
                return r;

        if (optind >= argc) {
                if (help) {
                        help_all(stdout);
                        return EXIT_OK;
                }
                help_all(stderr);
                return EXIT_USAGE;
        }
        v = verb_find(argc - optind, argv + optind, &words);
        if (!v && help && optind + 1 == argc && area_exists(argv[optind])) {
                help_area(stdout, argv[optind]);
                return EXIT_OK;
        }
        if (!v)
                return unknown_verb(argc - optind, argv + optind);
        if (help) {
                help_verb(stdout, v);
                return EXIT_OK;
        }

        r = run_verb(&c, v, argc - optind - words, argv + optind + words);
        /* Flush before closing: the daemon may still read our last call. */
        c.bus = sd_bus_flush_close_unref(c.bus);
        if (fflush(stdout) != 0 && r == EXIT_OK)
                r = EXIT_DENIED;
        return r;
}

