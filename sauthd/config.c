/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        /* For numbers: the range that makes sense. A value outside is
         * refused at start, naming the key, never wrapped or clamped. */
        uint64_t min, max;
} KeyDef;

static const LoginPolicy internal_values[] = { LOGIN_OPEN, LOGIN_CLOSED, -1 };
static const LoginPolicy register_values[] = { LOGIN_ADMIN, LOGIN_OPEN, -1 };
static const LoginPolicy external_values[] = { LOGIN_CLOSED, LOGIN_AUTO, LOGIN_OPEN, -1 };

#define K(s, k, t, f) { s, k, t, offsetof(SauthConfig, f), NULL, 0, 0 }
#define N(s, k, t, f, lo, hi) { s, k, t, offsetof(SauthConfig, f), NULL, lo, hi }
#define P(s, k, f, a) { s, k, KEY_POLICY, offsetof(SauthConfig, f), a, 0, 0 }

#define DAY (24 * 3600)
#define YEAR (365 * DAY)

static const KeyDef key_table[] = {
        K("daemon",   "admin_group",         KEY_STRING, admin_group),
        N("daemon",   "workers",             KEY_UINT,   workers, 0, 1024),
        N("daemon",   "admin_workers",       KEY_UINT,   admin_workers, 0, 64),
        N("daemon",   "max_queue",           KEY_UINT,   max_queue, 1, 65536),
        N("daemon",   "max_connections_per_uid",  KEY_UINT, max_connections_per_uid, 1, 4096),
        N("daemon",   "max_calls_per_connection", KEY_UINT, max_calls_per_connection, 1, 1024),
        K("daemon",   "audit_unknown_users", KEY_BOOL,   audit_unknown_users),
        K("store",    "path",                KEY_STRING, store_path),
        K("store",    "driver",              KEY_STRING, store_driver),
        K("store",    "conninfo_file",       KEY_STRING, store_conninfo_file),
        N("store",    "pool_size",           KEY_UINT,   store_pool_size, 1, 64),
        N("store",    "timeout",             KEY_UINT,   store_timeout, 1, 600),
        N("password", "hash_ops",            KEY_U64,    hash_ops, 1, 64),
        N("password", "hash_mem_kib",        KEY_U64,    hash_mem_kib, 8, 4 * 1024 * 1024),
        K("password", "pwquality_conf",      KEY_STRING, pwquality_conf),
        N("password", "min_guesses_log10",   KEY_DOUBLE, min_guesses_log10, 0, 100),
        N("password", "history",             KEY_UINT,   history, 0, 100),
        N("password", "max_length",          KEY_UINT,   max_length, 1, SAUTH_PASSWORD_LENGTH_LIMIT),
        K("password", "reset_admin_by_mail", KEY_BOOL,   reset_admin_by_mail),
        N("lockout",  "deny",                KEY_UINT,   deny, 0, 1000),
        N("lockout",  "fail_interval",       KEY_U64,    fail_interval, 1, YEAR),
        N("lockout",  "unlock_time",         KEY_U64,    unlock_time, 1, YEAR),
        N("lockout",  "deny_per_source",     KEY_UINT,   deny_per_source, 0, 1000000),
        N("lockout",  "caller_backoff",      KEY_U64,    caller_backoff, 1, DAY),
        K("tokens",   "issuer",              KEY_STRING, issuer),
        K("tokens",   "key_file",            KEY_STRING, key_file),
        N("tokens",   "session_lifetime",    KEY_U64,    session_lifetime, 1, YEAR),
        N("tokens",   "admin_lifetime",      KEY_U64,    admin_lifetime, 1, YEAR),
        N("tokens",   "confirm_lifetime",    KEY_U64,    confirm_lifetime, 1, 30 * DAY),
        N("tokens",   "reset_lifetime",      KEY_U64,    reset_lifetime, 1, 7 * DAY),
        K("mail",     "sender",              KEY_STRING, mail_sender),
        K("mail",     "from",                KEY_STRING, mail_from),
        K("mail",     "templates",           KEY_STRING, mail_templates),
        K("mail",     "credentials_file",    KEY_STRING, mail_credentials_file),
        K("mail",     "ca_file",             KEY_STRING, mail_ca_file),
        N("mail",     "timeout",             KEY_UINT,   mail_timeout, 1, 600),
        N("mail",     "resets_per_hour",     KEY_UINT,   resets_per_hour, 0, 100),
        K("mail",     "outbox_key_file",     KEY_STRING, mail_outbox_key_file),
        N("mail",     "retry_min",           KEY_UINT,   mail_retry_min, 1, 3600),
        K("roles",    "privacy_levels",      KEY_STRING, privacy_levels),
        K("roles",    "resource",            KEY_STRING, roles_resource),
        P("login",    "internal",            login_internal, internal_values),
        P("login",    "register",            login_register, register_values),
        P("login",    "external",            login_external, external_values),
        K("login",    "settings_id",         KEY_STRING, settings_id),
        N("login",    "registrations_per_hour",   KEY_UINT, registrations_per_hour, 1, 1000000),
        N("login",    "registrations_per_caller", KEY_UINT, registrations_per_caller, 1, 10000),
        K("apikeys",  "pepper_file",         KEY_STRING, apikey_pepper_file),
        K("apikeys",  "scopes",              KEY_STRING, apikey_scopes),
        N("apikeys",  "max_per_user",        KEY_UINT,   apikey_max_per_user, 0, 1000),
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
                .admin_workers = 1,
                .max_queue = 64,
                .hash_ops = 2,
                .hash_mem_kib = 65536,
                .min_guesses_log10 = 8,
                .history = 5,
                .max_length = 256,
                .deny = 5,
                .fail_interval = 900,
                .unlock_time = 600,
                .deny_per_source = 50,
                .caller_backoff = 30,
                .max_connections_per_uid = 16,
                .max_calls_per_connection = 8,
                .session_lifetime = 7200,
                .admin_lifetime = 900,
                .confirm_lifetime = 43200,
                .reset_lifetime = 3600,
                .mail_timeout = 30,
                .resets_per_hour = 3,
                .mail_retry_min = 30,
                .apikey_max_per_user = 2,
                .registrations_per_hour = 100,
                .registrations_per_caller = 5,
                .login_internal = LOGIN_OPEN,
                .login_register = LOGIN_ADMIN,
                .login_external = LOGIN_CLOSED,
                .store_pool_size = 4,
                .store_timeout = 5,
        };

        c->admin_group = strdup("sauth-admin");
        c->store_path = strdup(SAUTH_STATE_DIR "/sauth.db");
        c->store_driver = strdup("sqlite");
        c->pwquality_conf = strdup("/etc/security/pwquality.conf");
        c->issuer = strdup(host);
        c->key_file = strdup(SAUTH_STATE_DIR "/jwt.key");
        c->mail_sender = strdup("/usr/sbin/sendmail -t -i");
        if (asprintf(&c->mail_from, "sauthd@%s", host) < 0)
                c->mail_from = NULL;
        c->mail_templates = strdup(SAUTH_TEMPLATES_DIR);
        c->mail_outbox_key_file = strdup(SAUTH_STATE_DIR "/outbox.key");
        c->privacy_levels = strdup("public invitee member manager secret");
        c->roles_resource = strdup("list");
        c->settings_id = strdup("");
        c->apikey_pepper_file = strdup(SAUTH_STATE_DIR "/apikey.key");
        c->apikey_scopes = strdup("full readonly");

        if (!c->admin_group || !c->store_path || !c->store_driver || !c->pwquality_conf || !c->issuer ||
            !c->key_file || !c->mail_sender || !c->mail_from || !c->mail_templates || !c->mail_outbox_key_file ||
            !c->privacy_levels || !c->roles_resource || !c->settings_id ||
            !c->apikey_pepper_file || !c->apikey_scopes)
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

/* -ERANGE for a number outside the key's range; the field is then unchanged. */
static int apply_key(SauthConfig *c, const KeyDef *k, const char *value) {
        void *field = (char *) c + k->offset;
        uint64_t v;
        unsigned u;
        double d;
        char *end;
        int r;

        switch (k->type) {
        case KEY_STRING:
                return set_string(field, value);
        case KEY_UINT:
                r = parse_uint(value, &u);
                if (r < 0)
                        return r;
                if (u < k->min || u > k->max)
                        return -ERANGE;
                *(unsigned *) field = u;
                return 0;
        case KEY_U64:
                r = parse_uint64(value, &v);
                if (r < 0)
                        return r;
                if (v < k->min || v > k->max)
                        return -ERANGE;
                *(uint64_t *) field = v;
                return 0;
        case KEY_DOUBLE:
                errno = 0;
                d = strtod(value, &end);
                if (errno != 0 || !*value || *end || d != d)
                        return -EINVAL;
                if (d < (double) k->min || d > (double) k->max)
                        return -ERANGE;
                *(double *) field = d;
                return 0;
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
        n[c->n_providers] = (ProviderConfig) { .name = strdup(name), .timeout = 10 };
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

        if (streq(key, "timeout")) {
                unsigned v;

                if (parse_uint(value, &v) < 0 || v < 1 || v > 120)
                        return -EINVAL;
                p = provider_get(c, provider);
                if (!p)
                        return -ENOMEM;
                p->timeout = v;
                return 0;
        }
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

static const KeyDef *config_key_find(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if (streq(key_table[i].section, section) && streq(key_table[i].key, key))
                        return &key_table[i];
        return NULL;
}

static int config_ini_handler(void *userdata, const char *section, const char *key, const char *raw) {
        ParseState *st = userdata;
        const KeyDef *k = NULL;
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
        k = config_key_find(section, key);
        r = k ? apply_key(st->config, k, value) : -ENOKEY;

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
        if (r == -ERANGE && k) {
                fprintf(stderr, "%s: [%s] %s = %s is out of range: %llu..%llu\n", st->path, section, key,
                        value, (unsigned long long) k->min, (unsigned long long) k->max);
                st->error = -EINVAL;
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
        /* Ranges of single keys are in key_table; here what spans keys. */
        if (c->apikey_max_per_user > 0 && isempty(c->apikey_scopes)) {
                fprintf(stderr, "%s: [apikeys] scopes must name at least one scope\n", path);
                return -EINVAL;
        }
        return 0;
}

/* inih splits lines longer than its buffer and parses the rest as a new
 * line: refuse them instead of reading a cut value. */
#define CONFIG_LINE_MAX 199
#define CONFIG_FILE_MAX (1024 * 1024)

/* The buffer is the file's size (plus one byte, to see that it did not
 * grow meanwhile), not CONFIG_FILE_MAX: glibc raises its mmap threshold
 * when a mapped block is freed, and after a freed 1 MiB buffer the
 * failure tables (3 x 160 KiB) came from the brk heap, resident from the
 * start instead of page by page as entries fill. */
static int config_read_all(FILE *f, const char *path, char **ret) {
        _cleanup_free_ char *text = NULL;
        struct stat sb;
        size_t n, cap;
        unsigned line = 1;
        const char *start;

        if (fstat(fileno(f), &sb) < 0)
                return -errno;
        /* Not a regular file (a pipe): its size is unknown. */
        cap = !S_ISREG(sb.st_mode) || sb.st_size > CONFIG_FILE_MAX ? CONFIG_FILE_MAX + 1
                                                                   : (size_t) sb.st_size + 1;
        text = malloc(cap + 1);
        if (!text)
                return -ENOMEM;
        n = fread(text, 1, cap, f);
        if (n == cap && cap <= CONFIG_FILE_MAX) {
                fprintf(stderr, "%s: changed while it was read\n", path);
                return -EINVAL;
        }
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

/* The name of the section a header line opens, as inih reads it (leading
 * blanks skipped, the text up to ']'), or NULL when the line opens none. */
static const char *section_header(const char *line, size_t len, size_t *ret_len) {
        const char *end;

        while (len > 0 && (*line == ' ' || *line == '\t')) {
                line++;
                len--;
        }
        if (len == 0 || *line != '[')
                return NULL;
        end = memchr(line, ']', len);
        if (!end)
                return NULL;
        *ret_len = (size_t) (end - line - 1);
        return line + 1;
}

/* A provider named twice is refused: inih would merge the two sections
 * into one provider, taking keys from both — most likely two providers
 * meant to be different, one of them then silently lost, or its secret
 * file paired with the other's issuer. Other sections may repeat. */
static int config_check_sections(const char *text, const char *path) {
        _cleanup_free_ const char **seen = NULL;
        _cleanup_free_ size_t *seen_len = NULL;
        size_t n_seen = 0, cap = 0;
        unsigned line = 1;

        for (const char *p = text; *p; line++) {
                const char *eol = strchrnul(p, '\n'), *name;
                size_t len = 0;

                name = section_header(p, (size_t) (eol - p), &len);
                p = *eol ? eol + 1 : eol;
                if (!name || len <= 9 || strncmp(name, "provider ", 9) != 0)
                        continue;
                for (size_t i = 0; i < n_seen; i++)
                        if (seen_len[i] == len && memcmp(seen[i], name, len) == 0) {
                                fprintf(stderr, "%s:%u: duplicate section [%.*s]\n", path, line, (int) len, name);
                                return -EINVAL;
                        }
                if (n_seen == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        const char **ns = reallocarray(seen, ncap, sizeof *ns);
                        size_t *nl;

                        if (!ns)
                                return -ENOMEM;
                        seen = ns;
                        nl = reallocarray(seen_len, ncap, sizeof *nl);
                        if (!nl)
                                return -ENOMEM;
                        seen_len = nl;
                        cap = ncap;
                }
                seen[n_seen] = name;
                seen_len[n_seen++] = len;
        }
        return 0;
}

static int config_parse(FILE *f, const char *path, SauthConfig *c) {
        _cleanup_free_ char *text = NULL;
        ParseState st = { .config = c, .path = path };
        int r;

        r = config_read_all(f, path, &text);
        if (r < 0)
                return r;
        r = config_check_sections(text, path);
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
        free(c->store_driver);
        free(c->store_conninfo_file);
        free(c->pwquality_conf);
        free(c->issuer);
        free(c->key_file);
        free(c->mail_sender);
        free(c->mail_from);
        free(c->mail_templates);
        free(c->mail_credentials_file);
        free(c->mail_ca_file);
        free(c->mail_outbox_key_file);
        free(c->privacy_levels);
        free(c->roles_resource);
        free(c->settings_id);
        free(c->apikey_pepper_file);
        free(c->apikey_scopes);
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
