/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fsutil.h"
#include "parse-util.h"
#include "sauth-config.h"
#include "sauth-names.h"
#include "util.h"

typedef enum KeyType {
        KEY_STRING,
        KEY_UINT,
        KEY_U64,
        KEY_DOUBLE,
        KEY_BOOL,
        KEY_POLICY,
} KeyType;

typedef struct KeyDef {
        const char *section;
        const char *key;
        KeyType type;
        size_t offset;
        /* For KEY_POLICY: the values this key accepts. */
        const LoginPolicy *allowed;
} KeyDef;

static const LoginPolicy internal_values[] = { LOGIN_OPEN, LOGIN_CLOSED, -1 };
static const LoginPolicy register_values[] = { LOGIN_ADMIN, LOGIN_OPEN, -1 };
static const LoginPolicy external_values[] = { LOGIN_CLOSED, LOGIN_AUTO, LOGIN_OPEN, -1 };

#define K(s, k, t, f) { s, k, t, offsetof(SauthConfig, f), NULL }
#define P(s, k, f, a) { s, k, KEY_POLICY, offsetof(SauthConfig, f), a }

static const KeyDef key_table[] = {
        K("daemon",   "admin_group",         KEY_STRING, admin_group),
        K("daemon",   "workers",             KEY_UINT,   workers),
        K("daemon",   "max_queue",           KEY_UINT,   max_queue),
        K("daemon",   "audit_unknown_users", KEY_BOOL,   audit_unknown_users),
        K("store",    "path",                KEY_STRING, store_path),
        K("password", "hash_ops",            KEY_U64,    hash_ops),
        K("password", "hash_mem_kib",        KEY_U64,    hash_mem_kib),
        K("password", "pwquality_conf",      KEY_STRING, pwquality_conf),
        K("password", "min_guesses_log10",   KEY_DOUBLE, min_guesses_log10),
        K("password", "history",             KEY_UINT,   history),
        K("password", "max_length",          KEY_UINT,   max_length),
        K("password", "reset_admin_by_mail", KEY_BOOL,   reset_admin_by_mail),
        K("lockout",  "deny",                KEY_UINT,   deny),
        K("lockout",  "fail_interval",       KEY_U64,    fail_interval),
        K("lockout",  "unlock_time",         KEY_U64,    unlock_time),
        K("tokens",   "issuer",              KEY_STRING, issuer),
        K("tokens",   "key_file",            KEY_STRING, key_file),
        K("tokens",   "session_lifetime",    KEY_U64,    session_lifetime),
        K("tokens",   "admin_lifetime",      KEY_U64,    admin_lifetime),
        K("tokens",   "confirm_lifetime",    KEY_U64,    confirm_lifetime),
        K("tokens",   "reset_lifetime",      KEY_U64,    reset_lifetime),
        K("mail",     "sender",              KEY_STRING, mail_sender),
        K("mail",     "from",                KEY_STRING, mail_from),
        K("mail",     "templates",           KEY_STRING, mail_templates),
        K("mail",     "credentials_file",    KEY_STRING, mail_credentials_file),
        K("mail",     "timeout",             KEY_UINT,   mail_timeout),
        K("mail",     "resets_per_hour",     KEY_UINT,   resets_per_hour),
        K("roles",    "privacy_levels",      KEY_STRING, privacy_levels),
        K("roles",    "resource",            KEY_STRING, roles_resource),
        P("login",    "internal",            login_internal, internal_values),
        P("login",    "register",            login_register, register_values),
        P("login",    "external",            login_external, external_values),
        K("login",    "settings_id",         KEY_STRING, settings_id),
};

static const char *const policy_names[] = {
        [LOGIN_CLOSED] = "closed",
        [LOGIN_OPEN]   = "open",
        [LOGIN_AUTO]   = "auto",
        [LOGIN_ADMIN]  = "admin",
};

const char *login_policy_to_string(LoginPolicy p) {
        if ((unsigned) p >= ELEMENTSOF(policy_names))
                return "?";
        return policy_names[p];
}

static int set_string(char **field, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static char *default_hostname(void) {
        char buf[HOST_NAME_MAX + 1] = "localhost";

        (void) gethostname(buf, sizeof buf - 1);
        return strdup(buf);
}

int config_new_default(SauthConfig **ret) {
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_free_ char *host = default_hostname();

        c = calloc(1, sizeof *c);
        if (!c || !host)
                return -ENOMEM;

        *c = (SauthConfig) {
                .workers = 0,
                .max_queue = 64,
                .hash_ops = 2,
                .hash_mem_kib = 65536,
                .min_guesses_log10 = 8,
                .history = 5,
                .max_length = 256,
                .deny = 5,
                .fail_interval = 900,
                .unlock_time = 600,
                .session_lifetime = 7200,
                .admin_lifetime = 900,
                .confirm_lifetime = 43200,
                .reset_lifetime = 3600,
                .mail_timeout = 30,
                .resets_per_hour = 3,
                .login_internal = LOGIN_OPEN,
                .login_register = LOGIN_ADMIN,
                .login_external = LOGIN_CLOSED,
        };

        c->admin_group = strdup("sauth-admin");
        c->store_path = strdup("/var/lib/sauthd/sauth.db");
        c->pwquality_conf = strdup("/etc/security/pwquality.conf");
        c->issuer = strdup(host);
        c->key_file = strdup("/var/lib/sauthd/jwt.key");
        c->mail_sender = strdup("/usr/sbin/sendmail -t -i");
        if (asprintf(&c->mail_from, "sauthd@%s", host) < 0)
                c->mail_from = NULL;
        c->mail_templates = strdup(SAUTH_TEMPLATES_DIR);
        c->privacy_levels = strdup("public invitee member manager secret");
        c->roles_resource = strdup("list");
        c->settings_id = strdup("");

        if (!c->admin_group || !c->store_path || !c->pwquality_conf || !c->issuer ||
            !c->key_file || !c->mail_sender || !c->mail_from || !c->mail_templates ||
            !c->privacy_levels || !c->roles_resource || !c->settings_id)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

static int parse_policy(const char *value, const LoginPolicy *allowed, LoginPolicy *ret) {
        for (const LoginPolicy *p = allowed; *p != (LoginPolicy) -1; p++)
                if (streq(value, policy_names[*p])) {
                        *ret = *p;
                        return 0;
                }
        return -EINVAL;
}

static int parse_bool(const char *value, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0)
                        return *ret = true, 0;
                if (strcasecmp(value, no[i]) == 0)
                        return *ret = false, 0;
        }
        return -EINVAL;
}

static int apply_key(SauthConfig *c, const KeyDef *k, const char *value) {
        void *field = (char *) c + k->offset;
        char *end;

        switch (k->type) {
        case KEY_STRING:
                return set_string(field, value);
        case KEY_UINT:
                return parse_uint(value, field);
        case KEY_U64:
                return parse_uint64(value, field);
        case KEY_DOUBLE:
                errno = 0;
                *(double *) field = strtod(value, &end);
                return (errno != 0 || !*value || *end) ? -EINVAL : 0;
        case KEY_BOOL:
                return parse_bool(value, field);
        case KEY_POLICY:
                return parse_policy(value, k->allowed, field);
        }
        return -EINVAL;
}

static int add_resource(SauthConfig *c, const char *name, const char *value) {
        ConfigPair *n = realloc(c->resources, (c->n_resources + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        c->resources = n;
        n[c->n_resources] = (ConfigPair) { strdup(name), strdup(value) };
        if (!n[c->n_resources].name || !n[c->n_resources].value) {
                free(n[c->n_resources].name);
                free(n[c->n_resources].value);
                return -ENOMEM;
        }
        c->n_resources++;
        return 0;
}

static ProviderConfig *provider_get(SauthConfig *c, const char *name) {
        ProviderConfig *n;

        for (size_t i = 0; i < c->n_providers; i++)
                if (streq(c->providers[i].name, name))
                        return &c->providers[i];

        n = realloc(c->providers, (c->n_providers + 1) * sizeof *n);
        if (!n)
                return NULL;
        c->providers = n;
        n[c->n_providers] = (ProviderConfig) { .name = strdup(name) };
        if (!n[c->n_providers].name)
                return NULL;
        return &n[c->n_providers++];
}

static int apply_provider_key(SauthConfig *c, const char *provider, const char *key, const char *value) {
        static const struct { const char *key; size_t offset; } keys[] = {
                { "issuer",             offsetof(ProviderConfig, issuer) },
                { "client_id",          offsetof(ProviderConfig, client_id) },
                { "client_secret_file", offsetof(ProviderConfig, client_secret_file) },
                { "scopes",             offsetof(ProviderConfig, scopes) },
                { "redirect_uri",       offsetof(ProviderConfig, redirect_uri) },
        };
        ProviderConfig *p;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(keys[i].key, key))
                        continue;
                p = provider_get(c, provider);
                if (!p)
                        return -ENOMEM;
                return set_string((char **) ((char *) p + keys[i].offset), value);
        }
        return -ENOKEY;
}

/* Cuts a " # comment" off the end of a value: inih only knows ';'. */
static void strip_inline_comment(char *value) {
        for (char *p = value; *p; p++)
                if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t')) {
                        *p = 0;
                        break;
                }
        for (size_t n = strlen(value); n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'); n--)
                value[n - 1] = 0;
}

typedef struct ParseState {
        SauthConfig *config;
        const char *path;
        int error;
} ParseState;

static int config_ini_handler(void *userdata, const char *section, const char *key, const char *raw) {
        ParseState *st = userdata;
        _cleanup_free_ char *value = strdup(raw);
        int r;

        if (!value) {
                st->error = -ENOMEM;
                return 0;
        }
        strip_inline_comment(value);

        if (streq(section, "resources")) {
                r = add_resource(st->config, key, value);
                goto done;
        }
        if (strncmp(section, "provider ", 9) == 0 && section[9]) {
                r = apply_provider_key(st->config, section + 9, key, value);
                goto done;
        }
        r = -ENOKEY;
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if (streq(key_table[i].section, section) && streq(key_table[i].key, key)) {
                        r = apply_key(st->config, &key_table[i], value);
                        break;
                }

done:
        if (r == -ENOKEY) {
                /* Unknown keys are the admin's typo or a newer config: say so,
                 * keep going with the defaults. */
                fprintf(stderr, "%s: warning: unknown key [%s] %s ignored\n", st->path, section, key);
                return 1;
        }
        if (r == -ENOMEM) {
                st->error = r;
                return 0;
        }
        if (r < 0) {
                fprintf(stderr, "%s: invalid value for [%s] %s\n", st->path, section, key);
                st->error = -EINVAL;
                return 0;
        }
        return 1;
}

static int config_validate(const SauthConfig *c, const char *path) {
        if (c->max_length < 1 || c->max_length > SAUTH_PASSWORD_LENGTH_LIMIT) {
                fprintf(stderr, "%s: [password] max_length must be 1..%d\n", path, SAUTH_PASSWORD_LENGTH_LIMIT);
                return -EINVAL;
        }
        if (c->hash_mem_kib < 8 || c->hash_mem_kib > 4ULL * 1024 * 1024) {
                fprintf(stderr, "%s: [password] hash_mem_kib must be 8..4194304\n", path);
                return -EINVAL;
        }
        if (c->hash_ops < 1 || c->hash_ops > 64) {
                fprintf(stderr, "%s: [password] hash_ops must be 1..64\n", path);
                return -EINVAL;
        }
        if (!(c->min_guesses_log10 >= 0 && c->min_guesses_log10 <= 100)) {
                fprintf(stderr, "%s: [password] min_guesses_log10 must be 0..100\n", path);
                return -EINVAL;
        }
        if (c->workers > 1024) {
                fprintf(stderr, "%s: [daemon] workers must be 0..1024\n", path);
                return -EINVAL;
        }
        if (c->max_queue < 1) {
                fprintf(stderr, "%s: [daemon] max_queue must be at least 1\n", path);
                return -EINVAL;
        }
        return 0;
}

/* inih splits lines longer than its buffer and parses the rest as a new
 * line: refuse them instead of reading a cut value. */
#define CONFIG_LINE_MAX 199
#define CONFIG_FILE_MAX (1024 * 1024)

static int config_read_all(FILE *f, const char *path, char **ret) {
        _cleanup_free_ char *text = malloc(CONFIG_FILE_MAX + 1);
        size_t n;
        unsigned line = 1;
        const char *start;

        if (!text)
                return -ENOMEM;
        n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
        if (ferror(f) || n > CONFIG_FILE_MAX) {
                fprintf(stderr, "%s: unreadable or larger than %d bytes\n", path, CONFIG_FILE_MAX);
                return -EINVAL;
        }
        text[n] = 0;
        if (strlen(text) != n) {
                fprintf(stderr, "%s: contains a NUL byte\n", path);
                return -EINVAL;
        }
        start = text;
        for (const char *p = text;; p++) {
                if (*p != '\n' && *p)
                        continue;
                if (p - start > CONFIG_LINE_MAX) {
                        fprintf(stderr, "%s:%u: line longer than %d bytes\n", path, line, CONFIG_LINE_MAX);
                        return -EINVAL;
                }
                if (!*p)
                        break;
                start = p + 1;
                line++;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

static int config_parse(FILE *f, const char *path, SauthConfig *c) {
        _cleanup_free_ char *text = NULL;
        ParseState st = { .config = c, .path = path };
        int r;

        r = config_read_all(f, path, &text);
        if (r < 0)
                return r;
        r = ini_parse_string(text, config_ini_handler, &st);
        if (st.error < 0)
                return st.error;
        if (r != 0) {
                fprintf(stderr, "%s:%d: syntax error\n", path, r);
                return -EINVAL;
        }
        return 0;
}

int config_load(const char *path, bool required, SauthConfig **ret) {
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char msg[512];
        int r;

        r = config_new_default(&c);
        if (r < 0)
                return r;

        if (path) {
                r = fopen_secure(path, &f, msg, sizeof msg);
                if (r == -ENOENT && !required)
                        f = NULL;
                else if (r < 0) {
                        fprintf(stderr, "%s\n", msg);
                        return r;
                }
        }

        if (f) {
                r = config_parse(f, path, c);
                if (r < 0)
                        return r;
        }

        r = config_validate(c, path ? path : "(defaults)");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

void config_free(SauthConfig *c) {
        if (!c)
                return;

        free(c->admin_group);
        free(c->store_path);
        free(c->pwquality_conf);
        free(c->issuer);
        free(c->key_file);
        free(c->mail_sender);
        free(c->mail_from);
        free(c->mail_templates);
        free(c->mail_credentials_file);
        free(c->privacy_levels);
        free(c->roles_resource);
        free(c->settings_id);
        for (size_t i = 0; i < c->n_resources; i++) {
                free(c->resources[i].name);
                free(c->resources[i].value);
        }
        free(c->resources);
        for (size_t i = 0; i < c->n_providers; i++) {
                ProviderConfig *p = &c->providers[i];
                free(p->name);
                free(p->issuer);
                free(p->client_id);
                free(p->client_secret_file);
                free(p->scopes);
                free(p->redirect_uri);
        }
        free(c->providers);
        free(c);
}
