/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the files of sauthctl share: the exit codes (part of the interface:
 * scripts test them), the options of single verbs, the state of one run,
 * and the verbs, one file per area (accounts.c, passwords.c, login.c,
 * tokens.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

enum {
        EXIT_OK = 0,
        EXIT_DENIED = 1,        /* the daemon answered with an error, or a local failure */
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

/* Argon2id at high cost on a busy host can take seconds per hash, and a
 * login may queue behind others: be generous. */
#define CTL_DEFAULT_TIMEOUT_SEC 60
#define CTL_MAX_TIMEOUT_SEC     3600

/* Options that belong to single verbs, as bits so a verb can say which it
 * takes; an option given to a verb that does not take it is a usage error. */
enum {
        OPT_NAME     = 1u << 0,
        OPT_TEMPLATE = 1u << 1,
        OPT_PICTURE  = 1u << 2,
        OPT_TOKEN    = 1u << 3,
        OPT_UID      = 1u << 4,
        OPT_OLD      = 1u << 5,
        OPT_SCOPE    = 1u << 6,
        OPT_EXPIRES  = 1u << 7,
        OPT_SESSION  = 1u << 8,
        OPT_MODEL    = 1u << 9,
        OPT_RESOURCE = 1u << 10,
        OPT_ID       = 1u << 11,
        OPT_METHOD   = 1u << 12,
        _OPT_VERB_MAX = 13,
};

/* More --scope options than any sensible [apikeys] scopes list has. */
#define CTL_MAX_SCOPES 16

typedef struct Ctl {
        const char *address;    /* NULL: the system bus */
        bool json;
        bool show_token;
        uint64_t timeout_usec;
        unsigned seen;          /* OPT_* bits given on the command line */
        const char *name;
        const char *template;
        const char *picture;
        const char *uid;
        const char *scopes[CTL_MAX_SCOPES + 1];  /* NULL-terminated */
        unsigned n_scopes;
        uint64_t expires;       /* 0: never */
        const char *session;    /* a session's jti */
        const char *model;      /* roles: --model, --resource, --id */
        const char *resource;
        const char *id;
        const char *method;     /* login: --method */
        sd_bus *bus;
} Ctl;

/* A verb's name is one word ("status") or two ("apikey create"): the
 * first word names an area, the second what to do in it. */
typedef struct Verb {
        const char *name;
        int (*run)(Ctl *c, int argc, char **argv);
        int min_args;
        int max_args;
        unsigned options;
        const char *usage;
        const char *help;
} Verb;

/* accounts.c */
int verb_status(Ctl *c, int argc, char **argv);
int verb_register(Ctl *c, int argc, char **argv);
int verb_account_add(Ctl *c, int argc, char **argv);
int verb_enable(Ctl *c, int argc, char **argv);
int verb_disable(Ctl *c, int argc, char **argv);
int verb_set_admin(Ctl *c, int argc, char **argv);
int verb_expire(Ctl *c, int argc, char **argv);
int verb_unlock(Ctl *c, int argc, char **argv);

/* passwords.c */
int verb_passwd(Ctl *c, int argc, char **argv);
int verb_check_password(Ctl *c, int argc, char **argv);
int verb_forgot(Ctl *c, int argc, char **argv);

/* roles.c */
int verb_roles(Ctl *c, int argc, char **argv);
int verb_member(Ctl *c, int argc, char **argv);

/* login.c */
int verb_login_test(Ctl *c, int argc, char **argv);
int verb_methods(Ctl *c, int argc, char **argv);

/* mail.c */
int verb_mail(Ctl *c, int argc, char **argv);

/* oauth.c */
int verb_login_device(Ctl *c, int argc, char **argv);
int verb_login_url(Ctl *c, int argc, char **argv);
int verb_oauth_callback(Ctl *c, int argc, char **argv);
int verb_login(Ctl *c, int argc, char **argv);
int verb_providers(Ctl *c, int argc, char **argv);

/* tokens.c */
int verb_apikey_create(Ctl *c, int argc, char **argv);
int verb_apikey_list(Ctl *c, int argc, char **argv);
int verb_apikey_revoke(Ctl *c, int argc, char **argv);
int verb_token_verify(Ctl *c, int argc, char **argv);
int verb_sessions(Ctl *c, int argc, char **argv);
int verb_logout(Ctl *c, int argc, char **argv);
int verb_key_rotate(Ctl *c, int argc, char **argv);
