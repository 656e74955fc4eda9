/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * sauthd.conf: defaults first, then the file. Keys are those of DESIGN.md;
 * unknown keys and sections are warned about and ignored.
 */

typedef enum LoginPolicy {
        LOGIN_CLOSED,
        LOGIN_OPEN,
        LOGIN_AUTO,     /* only for [login] external */
        LOGIN_ADMIN,    /* only for [login] register */
} LoginPolicy;

typedef struct ConfigPair {
        char *name;
        char *value;
} ConfigPair;

typedef struct ProviderConfig {
        char *name;
        char *issuer;
        char *client_id;
        char *client_secret_file;
        char *scopes;
        char *redirect_uri;
        unsigned timeout;               /* seconds for one HTTP request to it, 1..120 */
} ProviderConfig;

typedef struct SauthConfig {
        /* [daemon] */
        char *admin_group;
        unsigned workers;               /* 0 = number of CPUs */
        unsigned admin_workers;         /* more, kept for admin callers */
        unsigned max_queue;             /* hash jobs queued or running at most */
        unsigned max_connections_per_uid;  /* of one non-admin uid with calls held */
        unsigned max_calls_per_connection; /* held (hashing or delayed) per non-admin connection */
        bool audit_unknown_users;       /* audit records may name unknown users */

        /* [store] */
        char *store_path;               /* sqlite */
        char *store_driver;             /* "sqlite" | "postgresql" */
        char *store_conninfo_file;      /* postgresql: libpq conninfo, mode 0600 */
        unsigned store_pool_size;       /* postgresql: connections off the loop */
        unsigned store_timeout;         /* postgresql: seconds for any wait on the server */

        /* [password] */
        uint64_t hash_ops;
        uint64_t hash_mem_kib;
        char *pwquality_conf;
        double min_guesses_log10;
        unsigned history;
        unsigned max_length;
        bool reset_admin_by_mail;       /* admins may reset by mail */

        /* [lockout] */
        unsigned deny;
        uint64_t fail_interval;
        uint64_t unlock_time;
        unsigned deny_per_source;       /* failures of one source over all accounts; 0 = off */
        uint64_t caller_backoff;        /* seconds an ordinary caller first waits, doubling */

        /* [tokens] */
        char *issuer;
        char *key_file;
        uint64_t session_lifetime;
        uint64_t admin_lifetime;
        uint64_t confirm_lifetime;
        uint64_t reset_lifetime;

        /* [mail] */
        char *mail_sender;
        char *mail_from;
        char *mail_templates;
        char *mail_credentials_file;    /* SMTP "user:password", mode 0600 */
        char *mail_ca_file;             /* PEM CA certificates of the SMTP relay; NULL: the system store */
        unsigned mail_timeout;          /* seconds for one message */
        unsigned resets_per_hour;       /* per account; more are dropped */
        char *mail_outbox_key_file;     /* seals the outbox's messages, mode 0600 */
        unsigned mail_retry_min;        /* seconds before the first retry, doubling */

        /* [roles] */
        char *privacy_levels;
        char *roles_resource;

        /* [login] */
        LoginPolicy login_internal;     /* open | closed */
        LoginPolicy login_register;     /* admin | open */
        LoginPolicy login_external;     /* closed | auto | open */
        char *settings_id;
        unsigned registrations_per_hour;   /* Register by non-admins, all together */
        unsigned registrations_per_caller; /* Register by one non-admin uid */

        /* [apikeys] */
        char *apikey_pepper_file;       /* the key of the secrets' hashes, mode 0600 */
        char *apikey_scopes;            /* the scopes a key may have, space-separated */
        unsigned apikey_max_per_user;   /* keys in use per person */

        /* [resources] */
        ConfigPair *resources;
        size_t n_resources;

        /* [provider NAME] */
        ProviderConfig *providers;
        size_t n_providers;
} SauthConfig;

/* A configuration holding only the defaults. */
int config_new_default(SauthConfig **ret);

/* Defaults, then FILE. A missing file is an error only if required is
 * true. A file group or other can write, or owned by another user than
 * root or us, is refused with -EPERM. Problems are written to stderr. */
int config_load(const char *path, bool required, SauthConfig **ret);

void config_free(SauthConfig *c);
static inline void config_freep(SauthConfig **c) {
        config_free(*c);
}

const char *login_policy_to_string(LoginPolicy p);
