/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Passwords over the bus: ChangePassword (old password, token, or admin),
 * CheckPassword (live feedback) and ForgotPassword (mailed reset token).
 * The rules are policy_check() for all of them; Argon2id work (the old
 * password, the history, the new hash) runs on a worker.
 */
#include <errno.h>
#include <sodium.h>
#include <time.h>

#include "bus.h"
#include "hash.h"
#include "identity.h"
#include "lockout.h"
#include "mail.h"
#include "policy.h"
#include "register.h"
#include "sauth-names.h"
#include "tokens.h"
#include "util.h"

typedef enum ChangePath {
        CHANGE_OLD_PASSWORD,            /* the user knows the old password */
        CHANGE_TOKEN,                   /* a mailed reset or confirm token */
        CHANGE_ADMIN,                   /* an admin sets it, like passwd as root */
} ChangePath;

typedef struct ChangeJob {
        Manager *m;
        sd_bus_message *call;
        HashTicket ticket;
        StoreAccount *account;
        ChangePath path;
        bool caller_admin;
        bool locked;                    /* old-password path on a locked account */
        char *new_password;             /* secret */
        char *old_password;             /* secret, CHANGE_OLD_PASSWORD only */
        char token_hash[TOKEN_HASH_HEX];
        char **history;                 /* hashes the new password must not match */
        bool old_ok;
        int policy_result;
        PolicyVerdict verdict;          /* the full rules, history included */
        int hash_result;
        char new_hash[HASH_STR_MAX];
} ChangeJob;

static const char *const change_path_name[] = {
        [CHANGE_OLD_PASSWORD] = "old password",
        [CHANGE_TOKEN] = "token",
        [CHANGE_ADMIN] = "admin",
};

static ChangeJob *change_job_free(ChangeJob *j) {
        if (!j)
                return NULL;
        if (j->m)
                manager_hash_release(j->m, &j->ticket);
        sd_bus_message_unref(j->call);
        store_account_free(j->account);
        erase_and_free(j->new_password);
        erase_and_free(j->old_password);
        strv_erase_free(j->history);
        policy_verdict_done(&j->verdict);
        sodium_memzero(j->new_hash, sizeof j->new_hash);
        free(j);
        return NULL;
}
static void change_job_freep(ChangeJob **j) {
        change_job_free(*j);
}

/* Whether the new password may be used: the full rules (the account's
 * names included) and the history. Runs only once the caller proved the
 * right to change it, so a stranger learns nothing about the account. */
static bool change_work_rules(ChangeJob *j) {
        const StoreAccount *a = j->account;
        PolicyUser u = { .username = a->username, .name = a->name, .identity = a->identity };

        j->policy_result = policy_check(j->m->policy, j->new_password, &u, &j->verdict);
        if (j->policy_result < 0 || !j->verdict.ok)
                return false;
        for (char **h = j->history; h && *h; h++)
                if (hash_verify(*h, j->new_password)) {
                        j->policy_result = policy_verdict_add_reused(&j->verdict);
                        return false;
                }
        return true;
}

static void change_work(void *userdata) {
        ChangeJob *j = userdata;

        j->hash_result = -ECANCELED;
        if (j->path == CHANGE_OLD_PASSWORD) {
                /* A locked account is not verified against: no password
                 * oracle while locked; the dummy costs the same. */
                const char *against = j->account->password_hash && !j->locked
                        ? j->account->password_hash : j->m->dummy_hash;

                j->old_ok = hash_verify(against, j->old_password) && !j->locked;
                erase_and_free(TAKE_PTR(j->old_password));
        }
        if ((j->path != CHANGE_OLD_PASSWORD || j->old_ok) && change_work_rules(j))
                j->hash_result = hash_password(j->new_password, j->m->cost, j->new_hash);
        erase_and_free(TAKE_PTR(j->new_password));
}

/* The old password was wrong, or the account is locked: nothing changes.
 * Only admins learn about the lock; a wrong password counts toward it. */
static void change_refuse(ChangeJob *j, int64_t now) {
        if (j->locked) {
                if (j->caller_admin)
                        (void) bus_reply_error(j->call, SAUTH_E_ACCOUNT_LOCKED,
                                               "Account locked after too many failures; try again later.");
                else
                        (void) bus_reply_error(j->call, SAUTH_E_INVALID_CREDENTIALS, "The old password is not correct.");
                return;
        }
        (void) bus_reply_error(j->call, SAUTH_E_INVALID_CREDENTIALS, "The old password is not correct.");
        lockout_record_failure(j->m, j->account, now);
}

static void change_done(void *userdata) {
        _cleanup_(change_job_freep) ChangeJob *j = userdata;
        Manager *m = j->m;
        StoreAccount *a = j->account;
        int64_t now = time(NULL);
        int r;

        if (j->path == CHANGE_OLD_PASSWORD) {
                if (!j->locked && lockout_locked_now(m, a, now))
                        j->locked = true;
                if (j->locked || !j->old_ok) {
                        change_refuse(j, now);
                        return;
                }
        }
        if (j->policy_result < 0) {
                (void) bus_reply_error(j->call, SAUTH_E_INTERNAL, "Internal error.");
                return;
        }
        if (!j->verdict.ok) {
                (void) bus_reply_error(j->call, SAUTH_E_WEAK_PASSWORD, "%s",
                                       !isempty(j->verdict.message) ? j->verdict.message : "The password is too weak.");
                return;
        }
        if (j->hash_result < 0) {
                (void) bus_reply_error(j->call, SAUTH_E_INTERNAL, "Could not hash the password.");
                return;
        }

        r = store_set_password(m->store, &(StorePasswordChange) {
                .account_id = a->id, .new_hash = j->new_hash,
                .token_hash = j->path == CHANGE_TOKEN ? j->token_hash : NULL, .uid = a->uid,
                .history = m->config->history, .now = now,
        });
        if (r == -EKEYREJECTED) {
                (void) bus_reply_error(j->call, SAUTH_E_INVALID_TOKEN, "The token is not valid for this account.");
                return;
        }
        if (r < 0) {
                (void) bus_reply_error(j->call, SAUTH_E_INTERNAL, "Internal error.");
                return;
        }

        log_notice("account %s: password changed (%s)", a->username, change_path_name[j->path]);
        (void) account_mail(m, "password_changed", a, NULL, 0);
        (void) sd_bus_reply_method_return(j->call, "a{sv}", 3,
                                          "account_id", "s", a->id,
                                          "uid", "s", a->uid,
                                          "username", "s", a->username);
}

/* The hashes a new password must not match: the current one and the
 * history, when [password] history is on. */
static int change_collect_history(Manager *m, const StoreAccount *a, char ***ret) {
        _cleanup_strv_erase_ char **old = NULL;
        char **l;
        size_t n = 0;
        int r;

        *ret = NULL;
        if (m->config->history == 0 || !a->password_hash)
                return 0;
        r = store_password_history(m->store, a->id, m->config->history, &old);
        if (r < 0)
                return r;
        while (old && old[n])
                n++;

        l = calloc(n + 2, sizeof *l);
        if (!l)
                return -ENOMEM;
        l[0] = strdup(a->password_hash);
        if (!l[0]) {
                free(l);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                l[i + 1] = TAKE_PTR(old[i]);
        *ret = l;
        return 0;
}

static bool secrets_equal(const char *a, const char *b) {
        size_t n = strlen(a);

        return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

/* A first judgement before any credential is checked, with no account
 * data: obviously weak passwords are refused at once, and a stranger who
 * knows only a uid learns nothing about the account's names. The full
 * rules run on the worker once the credentials hold (change_work_rules). */
static int change_check_generic(Manager *m, const char *password, sd_bus_error *error) {
        PolicyVerdict v = {};
        int r;

        r = policy_check(m->policy, password, &(PolicyUser) {}, &v);
        if (r < 0)
                return bus_error_errno(error, r, "password check");
        if (!v.ok)
                r = bus_error(error, SAUTH_E_WEAK_PASSWORD, "%s", !isempty(v.message) ? v.message : "The password is too weak.");
        policy_verdict_done(&v);
        return r;
}

/* Decides the path and checks what can be checked before any hashing. */
static int change_choose_path(Manager *m, ChangeJob *j, const Caller *caller, const char *token,
                              const char *old_password, sd_bus_error *error) {
        const StoreAccount *a = j->account;

        if (!isempty(token)) {
                j->path = CHANGE_TOKEN;
                if (token_hash(token, j->token_hash) < 0 ||
                    store_token_check(m->store, j->token_hash, a->uid, time(NULL), NULL) < 0)
                        return bus_error(error, SAUTH_E_INVALID_TOKEN, "The token is not valid for this account.");
                return 0;
        }
        if (!isempty(old_password)) {
                j->path = CHANGE_OLD_PASSWORD;
                j->locked = a->locked_until > time(NULL);
                j->old_password = strdup(old_password);
                return j->old_password ? 0 : -ENOMEM;
        }
        if (caller->is_admin) {
                j->path = CHANGE_ADMIN;
                return 0;
        }
        return bus_error(error, SAUTH_E_INVALID_CREDENTIALS, "The old password or a reset token is required.");
}

static int change_start(Manager *m, sd_bus_message *msg, ChangeJob *j, const Caller *caller, sd_bus_error *error) {
        int r;

        r = change_collect_history(m, j->account, &j->history);
        if (r < 0)
                return bus_error_errno(error, r, "password history");

        j->call = sd_bus_message_ref(msg);  /* held until change_done() replies */
        return bus_queue_hash_job(m, caller, &j->ticket, change_work, change_done, j, error);
}

int method_change_password(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(change_job_freep) ChangeJob *j = NULL;
        _cleanup_(caller_done) Caller caller = {};
        Manager *m = userdata;
        const char *uid, *new_password, *token, *old_password, *verify;
        int r;

        r = sd_bus_message_read(msg, "sssss", &uid, &new_password, &token, &old_password, &verify);
        if (r < 0)
                return r;
        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;

        if (!arg_ok(uid, SAUTH_TEXT_MAX, true) || !arg_ok(token, SAUTH_TOKEN_MAX, false) ||
            !arg_ok(old_password, SAUTH_PASSWORD_BYTES, false) || !arg_ok(new_password, SAUTH_PASSWORD_BYTES, false) ||
            !arg_ok(verify, SAUTH_PASSWORD_BYTES, false))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Argument missing or too long.");
        if (!secrets_equal(new_password, verify))
                return bus_error(error, SAUTH_E_PASSWORD_MISMATCH, "The new password and its verification differ.");

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->m = m;
        j->caller_admin = caller.is_admin;
        r = store_account_by_uid(m->store, uid, &j->account);
        if (r == -ENOENT || (r >= 0 && !streq(j->account->status, SAUTH_STATUS_ACTIVE)))
                return bus_error(error, SAUTH_E_NOT_FOUND, "No active account for this uid.");
        if (r < 0)
                return bus_error_errno(error, r, "account");

        r = change_check_generic(m, new_password, error);
        if (r < 0)
                return r;
        r = change_choose_path(m, j, &caller, token, old_password, error);
        if (r < 0)
                return r;
        j->new_password = strdup(new_password);
        if (!j->new_password)
                return -ENOMEM;

        r = change_start(m, msg, j, &caller, error);
        if (r > 0)
                TAKE_PTR(j); /* the pool owns it until change_done() */
        return r;
}

/* ---- CheckPassword ---------------------------------------------------- */

static int check_reply(sd_bus_message *msg, const PolicyVerdict *v) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = bus_append_b(reply, "ok", v->ok);
        if (r >= 0)
                r = bus_append_u(reply, "score", v->score);
        if (r >= 0)
                r = bus_append_d(reply, "guesses_log10", v->guesses_log10);
        if (r >= 0)
                r = bus_append_strv(reply, "problems", v->problems);
        if (r >= 0)
                r = bus_append_s(reply, "message", v->message);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int method_check_password(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_(caller_done) Caller caller = {};
        Manager *m = userdata;
        const char *username, *password;
        PolicyVerdict v = {};
        PolicyUser u = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &password);
        if (r < 0)
                return r;
        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        if (!ratelimit_allow(&m->check_limit, caller.uid, (uint64_t) now_usec()))
                return bus_error(error, SAUTH_E_RATE_LIMITED, "Too many password checks; slow down.");
        if (!arg_ok(username, SAUTH_NAME_MAX, false) || !arg_ok(password, SAUTH_PASSWORD_BYTES, false))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Argument too long.");

        /* The account's name and identity join the checks only for those
         * allowed to read them; anyone else is judged on the user name given,
         * so the verdict reveals nothing about accounts. */
        u.username = username;
        if (caller_is_admin_or_self(&caller, username) &&
            store_account_by_username(m->store, username, &a) >= 0) {
                u.name = a->name;
                u.identity = a->identity;
        }

        r = policy_check(m->policy, password, &u, &v);
        if (r < 0)
                return bus_error_errno(error, r, "password check");
        r = check_reply(msg, &v);
        policy_verdict_done(&v);
        return r;
}

/* ---- ForgotPassword --------------------------------------------------- */

static int forgot_find(Manager *m, const char *identity, const char *username, StoreAccount **ret) {
        _cleanup_free_ char *normal = NULL;

        if (!isempty(username) && store_account_by_username(m->store, username, ret) >= 0)
                return 0;
        if (!isempty(identity) && identity_normalize(identity, &normal) >= 0 &&
            store_account_by_identity(m->store, normal, ret) >= 0)
                return 0;
        return -ENOENT;
}

/* Issues and mails a reset token, unless the account may not have one now.
 * Nothing of what happens here reaches the caller. */
static void forgot_issue(Manager *m, const StoreAccount *a, const char *template_name) {
        char token[TOKEN_TEXT_MAX], token_h[TOKEN_HASH_HEX];
        int64_t now = time(NULL), expires = now + (int64_t) m->config->reset_lifetime;
        unsigned recent = 0;

        if (!streq(a->status, SAUTH_STATUS_ACTIVE))
                return;
        if (a->is_admin && !m->config->reset_admin_by_mail) {
                log_notice("account %s: reset by mail refused for an admin account", a->username);
                return;
        }
        if (store_token_count_since(m->store, a->uid, SAUTH_TOKEN_RESET, now - 3600, &recent) < 0 ||
            recent >= m->config->resets_per_hour) {
                log_notice("account %s: reset request dropped (rate limit)", a->username);
                return;
        }

        token_new(token);
        if (token_hash(token, token_h) >= 0 &&
            store_token_add(m->store, token_h, a->uid, SAUTH_TOKEN_RESET, expires, now) >= 0) {
                log_notice("account %s: reset token issued", a->username);
                (void) account_mail(m, template_name, a, token, expires);
        }
        sodium_memzero(token, sizeof token);
}

/* ForgotPassword answers after the same fixed delay whatever it did, so its
 * timing says nothing about a match either (the store write and the mail
 * rendering happen only on a match). */
#define FORGOT_REPLY_DELAY_USEC (150 * 1000)

typedef struct DelayedReply {
        Manager *m;
        sd_bus_message *call;
        sd_event_source *timer;
} DelayedReply;

static int forgot_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        DelayedReply *d = userdata;
        Manager *m = d->m;

        (void) sd_bus_reply_method_return(d->call, "a{sv}", 0);
        sd_bus_message_unref(d->call);
        sd_event_source_unref(d->timer);
        free(d);
        m->delayed_replies--;
        manager_maybe_exit(m);
        return 0;
}

static int forgot_reply_at(Manager *m, sd_bus_message *msg, uint64_t when) {
        DelayedReply *d = calloc(1, sizeof *d);
        int r;

        if (!d)
                return -ENOMEM;
        r = sd_event_add_time(m->event, &d->timer, CLOCK_MONOTONIC, when, 0, forgot_on_timer, d);
        if (r < 0) {
                free(d);
                return r;
        }
        d->m = m;
        d->call = sd_bus_message_ref(msg);  /* held until the timer replies */
        m->delayed_replies++;               /* shutdown waits for it */
        return 1;
}

int method_forgot_password(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint64_t start = now_usec();
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        Manager *m = userdata;
        const char *identity, *username, *template_name;
        int r;

        r = sd_bus_message_read(msg, "sss", &identity, &username, &template_name);
        if (r < 0)
                return r;
        if (!arg_ok(identity, SAUTH_TEXT_MAX, false) || !arg_ok(username, SAUTH_NAME_MAX, false) ||
            (isempty(identity) && isempty(username)))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "An identity or a user name is required.");
        if (!isempty(template_name) && !template_name_valid(template_name))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid template name.");

        log_debug("password reset requested");
        if (forgot_find(m, identity, username, &a) >= 0)
                forgot_issue(m, a, isempty(template_name) ? "password_reset" : template_name);

        /* The same empty answer whether or not anything matched (rule 4);
         * the mail itself is sent by a worker, off this reply's path. */
        return forgot_reply_at(m, msg, start + FORGOT_REPLY_DELAY_USEC);
}
