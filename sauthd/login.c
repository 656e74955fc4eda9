/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AccountLogin, method "local". Every attempt costs one Argon2id verify on a
 * worker: against the account's hash, or against a dummy hash for unknown
 * users, accounts without a password and locked accounts — so the answer
 * does not tell whether an account exists (rule 4), and a locked account
 * cannot be used to test passwords. The reply goes out before a failure is
 * written to the store, so the write's cost does not tell either.
 */
#include <errno.h>
#include <sodium.h>
#include <time.h>

#include "bus.h"
#include "hash.h"
#include "lockout.h"
#include "login.h"
#include "sauth-names.h"
#include "util.h"

typedef struct LoginJob {
        Manager *m;
        sd_bus_message *call;
        HashTicket ticket;
        StoreAccount *account;          /* NULL: unknown user */
        bool caller_admin;
        bool locked;
        char *password;                 /* secret */
        const char *verify_against;     /* account hash or the dummy */
        bool verified;
        bool rehashed;
        char new_hash[HASH_STR_MAX];
} LoginJob;

static LoginJob *login_job_free(LoginJob *j) {
        if (!j)
                return NULL;
        if (j->m)
                manager_hash_release(j->m, &j->ticket);
        sd_bus_message_unref(j->call);
        store_account_free(j->account);
        erase_and_free(j->password);
        sodium_memzero(j->new_hash, sizeof j->new_hash);
        free(j);
        return NULL;
}
static void login_job_freep(LoginJob **j) {
        login_job_free(*j);
}

/* The roles a login grants an account, NULL-terminated. */
static int login_roles(const StoreAccount *a, char ***ret) {
        const char *roles[6];
        size_t n = 0;
        char **l;

        if (a->is_admin)
                roles[n++] = "admin";
        roles[n++] = "user";
        roles[n++] = "person";
        if (a->must_change || !a->password_hash)
                roles[n++] = "pwchange";
        if (!a->contact_confirmed)
                roles[n++] = "pending";

        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = strdup(roles[i]);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *ret = l;
        return 0;
}

static int append_resources(sd_bus_message *reply, const SauthConfig *c) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "resources");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a{ss}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
        for (size_t i = 0; r >= 0 && i < c->n_resources; i++)
                r = sd_bus_message_append(reply, "{ss}", c->resources[i].name, c->resources[i].value);
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(reply);
        return r;
}

int login_reply(Manager *m, sd_bus_message *call, const StoreAccount *a, const char *method) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **roles = NULL;
        uint64_t lifetime = a->is_admin ? m->config->admin_lifetime : m->config->session_lifetime;
        int r;

        r = login_roles(a, &roles);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        /* Signed session tokens come with the sessions work; until then the
         * key is present and empty, as the contract allows. */
        if (r >= 0)
                r = bus_append_s(reply, "jwt_token", "");
        if (r >= 0)
                r = bus_append_s(reply, "account_id", a->id);
        if (r >= 0)
                r = bus_append_s(reply, "uid", a->uid);
        if (r >= 0)
                r = bus_append_s(reply, "username", a->username);
        if (r >= 0)
                r = bus_append_strv(reply, "roles", roles);
        if (r >= 0)
                r = bus_append_t(reply, "expires", (uint64_t) time(NULL) + lifetime);
        if (r >= 0)
                r = bus_append_s(reply, "settings_id", m->config->settings_id);
        if (r >= 0)
                r = bus_append_s(reply, "method", method);
        if (r >= 0)
                r = append_resources(reply, m->config);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void login_work(void *userdata) {
        LoginJob *j = userdata;

        j->verified = hash_verify(j->verify_against, j->password);

        /* Cost parameters changed since this hash was made: make the new one
         * here, while the password is at hand. */
        if (j->verified && j->account && hash_needs_rehash(j->account->password_hash, j->m->cost))
                j->rehashed = hash_password(j->password, j->m->cost, j->new_hash) >= 0;

        erase_and_free(TAKE_PTR(j->password));
}

/* What a failed or refused attempt is told. Only admins (the PAM stacks of
 * login and sshd run as root) learn that an account is locked or disabled;
 * anyone else gets the answer an unknown user gets. */
static int login_refuse(LoginJob *j) {
        const StoreAccount *a = j->account;

        if (a && j->locked && j->caller_admin)
                return bus_reply_error(j->call, SAUTH_E_ACCOUNT_LOCKED, "Account locked after too many failures; try again later.");
        /* Disabled: told to admins, and to whoever gave the right password
         * (who knows the account exists anyway). */
        if (a && (j->verified || j->caller_admin) && streq(a->status, SAUTH_STATUS_DISABLED))
                return bus_reply_error(j->call, SAUTH_E_ACCOUNT_DISABLED, "This account is disabled.");
        return bus_reply_error(j->call, SAUTH_E_INVALID_CREDENTIALS, "Invalid user name or password.");
}

static void login_fail(LoginJob *j, int64_t now) {
        const StoreAccount *a = j->account;

        log_debug("login refused for account %s", a ? a->username : "(unknown)");
        (void) login_refuse(j);

        /* A wrong password for a usable account counts toward lockout;
         * persisted, so a restart does not reset it. */
        if (a && !j->locked && !j->verified)
                lockout_record_failure(j->m, a, now);
}

static void login_done(void *userdata) {
        _cleanup_(login_job_freep) LoginJob *j = userdata;
        Manager *m = j->m;
        StoreAccount *a = j->account;
        int64_t now = time(NULL);
        int r;

        if (a && j->verified && !j->locked && lockout_locked_now(m, a, now))
                j->locked = true;
        if (!a || j->locked || !a->password_hash || !j->verified || !streq(a->status, SAUTH_STATUS_ACTIVE)) {
                login_fail(j, now);
                return;
        }

        r = store_record_success(m->store, a->id, now);
        if (r >= 0 && j->rehashed && store_rehash(m->store, a->id, a->password_hash, j->new_hash) >= 0)
                log_info("account %s: password rehashed with the current cost", a->username);
        if (r < 0) {
                (void) bus_reply_error(j->call, SAUTH_E_INTERNAL, "Internal error.");
                return;
        }
        log_info("login ok: account %s, method local", a->username);
        r = login_reply(m, j->call, a, SAUTH_METHOD_LOCAL);
        if (r < 0)
                log_error("login reply failed: %s", strerror(-r));
}

/* Caller-supplied text for a log line: anything but printable ASCII
 * becomes '?', so a value cannot forge lines or escape sequences. */
static void copy_printable(char *out, size_t size, const char *in) {
        size_t i;

        for (i = 0; i + 1 < size && in[i]; i++)
                out[i] = in[i] >= ' ' && in[i] < 0x7f ? in[i] : '?';
        out[i] = 0;
}

/* Reads the context dict; only known string keys are kept, for the log.
 * Both buffers are size bytes. */
static int login_read_context(sd_bus_message *msg, char *service, char *rhost, size_t size) {
        const char *key, *value;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if ((streq(key, "service") || streq(key, "rhost")) &&
                    sd_bus_message_read(msg, "v", "s", &value) >= 0)
                        copy_printable(streq(key, "service") ? service : rhost, size, value);
                else {
                        r = sd_bus_message_skip(msg, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static int login_start(Manager *m, sd_bus_message *msg, LoginJob *j, const Caller *caller,
                       const char *username, sd_bus_error *error) {
        int r;

        r = store_account_by_username(m->store, username, &j->account);
        if (r < 0 && r != -ENOENT)
                return bus_error_errno(error, r, "account");

        j->locked = j->account && j->account->locked_until > time(NULL);
        j->verify_against = j->account && j->account->password_hash && !j->locked
                ? j->account->password_hash : m->dummy_hash;
        j->call = sd_bus_message_ref(msg);  /* held until login_done() replies */
        return bus_queue_hash_job(m, caller, &j->ticket, login_work, login_done, j, error);
}

int method_account_login(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(login_job_freep) LoginJob *j = NULL;
        _cleanup_(caller_done) Caller caller = {};
        Manager *m = userdata;
        const char *username, *password, *method;
        char service[128] = "", rhost[128] = "";
        int r;

        r = sd_bus_message_read(msg, "sss", &username, &password, &method);
        if (r < 0)
                return r;
        r = login_read_context(msg, service, rhost, sizeof service);
        if (r < 0)
                return r;
        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;

        if (!streq(method, SAUTH_METHOD_LOCAL))
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Login method not supported.");
        if (m->config->login_internal != LOGIN_OPEN)
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Local logins are closed on this host.");
        if (!arg_ok(username, SAUTH_NAME_MAX, true) || !arg_ok(password, SAUTH_PASSWORD_BYTES, true))
                return bus_error(error, SAUTH_E_INVALID_CREDENTIALS, "Invalid user name or password.");

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->m = m;
        j->caller_admin = caller.is_admin;
        j->password = strdup(password);
        if (!j->password)
                return -ENOMEM;

        log_debug("login attempt, service '%s', rhost '%s'", service, rhost);
        r = login_start(m, msg, j, &caller, username, error);
        if (r > 0)
                TAKE_PTR(j); /* the pool owns it until login_done() */
        return r;
}
