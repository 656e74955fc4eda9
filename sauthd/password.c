/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <time.h>

#include "account.h"
#include "audit.h"
#include "i18n.h"
#include "identity.h"
#include "lockout.h"
#include "log.h"
#include "mail.h"
#include "password.h"
#include "sauth-names.h"
#include "util.h"

static const char *const change_path_name[] = {
        [CHANGE_OLD_PASSWORD] = "old_password",
        [CHANGE_TOKEN] = "token",
        [CHANGE_ADMIN] = "admin",
};

void change_job_free(void *job) {
        ChangeJob *j = job;

        if (!j)
                return;
        store_account_free(j->account);
        erase_and_free(j->new_password);
        erase_and_free(j->old_password);
        strv_erase_free(j->history);
        policy_verdict_done(&j->verdict);
        sodium_memzero(j->new_hash, sizeof j->new_hash);
        free(j);
}
static void change_job_freep(ChangeJob **j) {
        change_job_free(*j);
}

static void change_audit(const ChangeJob *j, AuditEvent event, AuditResult result, const char *reason) {
        audit_log(&(AuditRecord) {
                .event = event,
                .result = result,
                .user = j->account ? j->account->username : NULL,
                .caller_uid = j->caller_uid,
                .method = change_path_name[j->path],
                .reason = reason,
        });
}

/* ---- before the work ---- */

/* A first judgement before any credential is checked, with no account
 * data: obviously weak passwords are refused at once, and a stranger who
 * knows only a uid learns nothing about the account's names. The full
 * rules run on the worker once the credentials hold (change_work_rules). */
static SauthStatus change_check_generic(Manager *m, const char *password, char **ret_message) {
        PolicyVerdict v = {};
        SauthStatus s = SAUTH_OK;

        if (policy_check(m->policy, password, &(PolicyUser) {}, &v) < 0)
                return SAUTH_E_INTERNAL;
        if (!v.ok) {
                s = SAUTH_E_WEAK_PASSWORD;
                *ret_message = TAKE_PTR(v.message);
        }
        policy_verdict_done(&v);
        return s;
}

/* The hashes a new password must not match: the current one and the
 * history, when [password] history is on. */
static int change_collect_history(Manager *m, const StoreAccount *a, char ***ret) {
        _cleanup_strv_erase_ char **old = NULL;
        char **l;
        size_t n = 0;
        int r;

        *ret = NULL;
        if (!a || m->config->history == 0 || !a->password_hash)
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

/* Decides the path and checks what can be checked before any hashing. A
 * missing account takes the same steps as a present one: the token lookup
 * fails the same way, the old password is verified against the dummy. */
static SauthStatus change_choose_path(Manager *m, ChangeJob *j, const ChangeArgs *args) {
        const StoreAccount *a = j->account;

        if (!isempty(args->token)) {
                _cleanup_free_ char *purpose = NULL;

                j->path = CHANGE_TOKEN;
                if (token_hash(args->token, j->token_hash) < 0 ||
                    store_token_check(m->store, j->token_hash, args->uid, time(NULL), &purpose) < 0 || !a) {
                        change_audit(j, AUDIT_TOKEN_USE, AUDIT_FAILED, "invalid_token");
                        return SAUTH_E_INVALID_TOKEN;
                }
                /* The admin rule holds when the token is used, not only when
                 * it was mailed: the account may have become an admin since. */
                if (streq(purpose, SAUTH_TOKEN_RESET) && a->is_admin && !m->config->reset_admin_by_mail) {
                        change_audit(j, AUDIT_TOKEN_USE, AUDIT_REFUSED, "admin_account");
                        return SAUTH_E_INVALID_TOKEN;
                }
                return SAUTH_OK;
        }
        if (!isempty(args->old_password)) {
                j->path = CHANGE_OLD_PASSWORD;
                /* Old passwords count like logins (rule 3), per source:
                 * the caller (a uid, or a PAM stack's "local" source). */
                switch (lockout_check(m, &j->source, a ? a->username : j->name, a, time(NULL))) {
                case LOCKOUT_RATE_LIMITED:
                        change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_REFUSED, "rate_limited");
                        return SAUTH_E_RATE_LIMITED;
                case LOCKOUT_LOCKED:
                        j->locked = true;
                        break;
                default:
                        break;
                }
                j->old_password = strdup(args->old_password);
                return j->old_password ? SAUTH_OK : SAUTH_E_INTERNAL;
        }
        if (j->caller_admin && a) {
                j->path = CHANGE_ADMIN;
                return SAUTH_OK;
        }
        return SAUTH_E_INVALID_CREDENTIALS;
}

/* The account the change is for, if it may have one: active. Admins are
 * told there is none (NotFound); anyone else goes on as if there were. */
static SauthStatus change_find_account(Manager *m, ChangeJob *j, const char *uid) {
        int r;

        r = store_account_by_uid(m->store, uid, &j->account);
        if (r < 0 && r != -ENOENT)
                return SAUTH_E_INTERNAL;
        if (j->account && !streq(j->account->status, SAUTH_STATUS_ACTIVE)) {
                store_account_free(j->account);
                j->account = NULL;
        }
        if (!j->account && j->caller_admin)
                return SAUTH_E_NOT_FOUND;
        return SAUTH_OK;
}

SauthStatus change_start(Manager *m, const Caller *caller, const ChangeArgs *args,
                         ChangeJob **ret_job, char **ret_message) {
        _cleanup_(change_job_freep) ChangeJob *j = NULL;
        SauthStatus s;

        j = calloc(1, sizeof *j);
        if (!j)
                return SAUTH_E_INTERNAL;
        *j = (ChangeJob) { .m = m, .caller_uid = caller->uid, .caller_admin = caller->is_admin };
        /* The worker judges in the caller's locale too (kept until exit:
         * password-bus.c's locale_get()). */
        j->locale = args->locale;
        lockout_source(caller, "", "", "", &j->source);
        snprintf(j->name, sizeof j->name, "uid-arg:%s", args->uid);

        s = change_find_account(m, j, args->uid);
        if (s == SAUTH_OK) {
                s = change_check_generic(m, args->new_password, ret_message);
                if (s == SAUTH_E_WEAK_PASSWORD)
                        change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_REFUSED, "weak_password");
        }
        if (s == SAUTH_OK)
                s = change_choose_path(m, j, args);
        if (s != SAUTH_OK)
                return s;
        if (change_collect_history(m, j->account, &j->history) < 0)
                return SAUTH_E_INTERNAL;
        j->new_password = strdup(args->new_password);
        if (!j->new_password)
                return SAUTH_E_INTERNAL;
        *ret_job = TAKE_PTR(j);
        return SAUTH_OK;
}

/* ---- the work ---- */

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

void change_work(void *job) {
        ChangeJob *j = job;
        /* Messages in the caller's locale, on this worker thread only. */
        _cleanup_(i18n_scope_end) locale_t old = i18n_scope_begin(j->locale);

        j->hash_result = -ECANCELED;
        if (j->path == CHANGE_OLD_PASSWORD) {
                /* A locked or missing account is not verified against: no
                 * password oracle; the dummy costs the same. */
                bool usable = j->account && j->account->password_hash && !j->locked;

                j->old_ok = hash_verify(usable ? j->account->password_hash : j->m->dummy_hash,
                                        j->old_password) && usable;
                erase_and_free(TAKE_PTR(j->old_password));
        }
        if ((j->path != CHANGE_OLD_PASSWORD || j->old_ok) && change_work_rules(j))
                j->hash_result = hash_password(j->new_password, j->m->cost, j->new_hash);
        erase_and_free(TAKE_PTR(j->new_password));
}

/* ---- after the work ---- */

static SauthStatus change_refuse_old_password(ChangeJob *j) {
        if (j->locked) {
                change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_LOCKED, "account_locked");
                return j->caller_admin ? SAUTH_E_ACCOUNT_LOCKED : SAUTH_E_INVALID_CREDENTIALS;
        }
        change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_FAILED, j->account ? "wrong_old_password" : "no_such_account");
        return SAUTH_E_INVALID_CREDENTIALS;
}

static SauthStatus change_store(ChangeJob *j) {
        _cleanup_(outbox_mail_done) OutboxMail notice = {};
        Manager *m = j->m;
        const StoreAccount *a = j->account;
        int64_t now = time(NULL);
        bool noticed;
        int r;

        /* The notice is written with the change. A notice that cannot be
         * rendered (logged there) does not stop the change itself. */
        noticed = account_mail_prepare(m, "password_changed", a, NULL, now, 0, &notice) >= 0;
        r = store_set_password(m->store, &(StorePasswordChange) {
                .account_id = a->id, .new_hash = j->new_hash,
                .token_hash = j->path == CHANGE_TOKEN ? j->token_hash : NULL, .uid = a->uid,
                .history = m->config->history, .now = now, .mail = noticed ? &notice.row : NULL,
        });
        if (r == -EKEYREJECTED) {
                change_audit(j, AUDIT_TOKEN_USE, AUDIT_FAILED, "token_spent_meanwhile");
                return SAUTH_E_INVALID_TOKEN;
        }
        if (r < 0) {
                log_error("account %s: password not stored: %s", a->username, strerror(-r));
                change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_ERROR, "store");
                return SAUTH_E_INTERNAL;
        }
        r = sessions_reload_revoked(m->sessions, m->store, a->uid, (uint64_t) time(NULL));
        if (r < 0)
                log_error("account %s: ended sessions not loaded: %s", a->username, strerror(-r));
        if (j->path == CHANGE_TOKEN)
                change_audit(j, AUDIT_TOKEN_USE, AUDIT_OK, NULL);
        change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_OK, NULL);
        outbox_kick(m->outbox);
        return SAUTH_OK;
}

SauthStatus change_conclude(ChangeJob *j, const char **ret_message) {
        if (j->path == CHANGE_OLD_PASSWORD) {
                /* Attempts run in parallel: a lock may have been set while
                 * this one hashed. */
                if (j->account && !j->locked && lockout_locked_now(j->m, j->account, time(NULL)))
                        j->locked = true;
                if (j->locked || !j->old_ok)
                        return change_refuse_old_password(j);
        }
        if (j->policy_result < 0)
                return SAUTH_E_INTERNAL;
        if (!j->verdict.ok) {
                change_audit(j, AUDIT_PASSWORD_CHANGE, AUDIT_REFUSED, "weak_password");
                *ret_message = j->verdict.message;
                return SAUTH_E_WEAK_PASSWORD;
        }
        if (j->hash_result < 0) {
                log_error("account %s: cannot hash the new password: %s", j->account->username,
                          strerror(-j->hash_result));
                return SAUTH_E_INTERNAL;
        }
        return change_store(j);
}

void change_after_refusal(ChangeJob *j) {
        if (j->path == CHANGE_OLD_PASSWORD && !j->locked && !j->old_ok)
                (void) lockout_failure(j->m, &j->source, j->account ? j->account->username : j->name,
                                       j->account, time(NULL));
}

/* ---- CheckPassword ---- */

SauthStatus check_password(Manager *m, const Caller *caller, const char *username,
                           const char *password, PolicyVerdict *ret) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        PolicyUser u = { .username = username };

        if (!ratelimit_allow(&m->check_limit, caller->uid, now_usec()))
                return SAUTH_E_RATE_LIMITED;

        /* The account's name and identity join the checks only for those
         * allowed to read them; anyone else is judged on the user name given,
         * so the verdict reveals nothing about accounts. */
        if (caller_is_admin_or_self(caller, username) &&
            store_account_by_username(m->store, username, &a) >= 0) {
                u.name = a->name;
                u.identity = a->identity;
        }
        return policy_check(m->policy, password, &u, ret) < 0 ? SAUTH_E_INTERNAL : SAUTH_OK;
}

/* ---- ForgotPassword ---- */

static int forgot_find(Manager *m, const char *identity, const char *username, StoreAccount **ret) {
        _cleanup_free_ char *normal = NULL;

        if (!isempty(username) && store_account_by_username(m->store, username, ret) >= 0)
                return 0;
        if (!isempty(identity) && identity_normalize(identity, &normal) >= 0 &&
            store_account_by_identity(m->store, normal, ret) >= 0)
                return 0;
        return -ENOENT;
}

static void forgot_audit(const Caller *caller, const StoreAccount *a, AuditResult result, const char *reason) {
        audit_log(&(AuditRecord) {
                .event = AUDIT_RESET_REQUEST,
                .result = result,
                .user = a ? a->username : NULL,
                .caller_uid = caller->uid,
                .reason = reason,
        });
}

/* Whether the account may have a reset token now. */
static const char *forgot_refusal(Manager *m, const StoreAccount *a, int64_t now) {
        unsigned recent = 0;

        if (!streq(a->status, SAUTH_STATUS_ACTIVE))
                return "account_not_active";
        if (a->is_admin && !m->config->reset_admin_by_mail)
                return "admin_account";
        if (store_token_count_since(m->store, a->uid, SAUTH_TOKEN_RESET, now - 3600, &recent) < 0 ||
            recent >= m->config->resets_per_hour)
                return "rate_limit";
        return NULL;
}

bool forgot_password(Manager *m, const Caller *caller, const char *identity, const char *username,
                     const char *template_name) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_(outbox_mail_done) OutboxMail mail = {};
        char token[TOKEN_TEXT_MAX], token_h[TOKEN_HASH_HEX];
        int64_t now = time(NULL), expires = now + (int64_t) m->config->reset_lifetime;
        const char *refusal;

        if (forgot_find(m, identity, username, &a) < 0) {
                forgot_audit(caller, NULL, AUDIT_FAILED, "no_such_account");
                return false;
        }
        refusal = forgot_refusal(m, a, now);
        if (refusal) {
                forgot_audit(caller, a, AUDIT_REFUSED, refusal);
                return false;
        }

        /* The token and its message are written together, or neither:
         * rendered and sealed first, then one transaction. */
        token_new(token);
        if (token_hash(token, token_h) >= 0 &&
            account_mail_prepare(m, template_name, a, token, now, expires, &mail) >= 0 &&
            store_token_add_mail(m->store, token_h, a->uid, SAUTH_TOKEN_RESET, expires, now, &mail.row) >= 0) {
                forgot_audit(caller, a, AUDIT_OK, NULL);
                outbox_kick(m->outbox);
        } else
                forgot_audit(caller, a, AUDIT_ERROR, "store");
        sodium_memzero(token, sizeof token);
        return true;
}

/* Resets queued at once: far above what people ask for; the per-connection
 * cap keeps one caller well below it. */
#define FORGOT_QUEUE_MAX 1024

static void forgot_queued_free(ForgotQueued *q) {
        if (q) {
                free(q->identity);
                free(q->username);
                free(q->template_name);
                free(q);
        }
}

int forgot_password_queue(Manager *m, const Caller *caller, const char *identity, const char *username,
                          const char *template_name) {
        ForgotQueued *q;

        if (m->n_forgot >= FORGOT_QUEUE_MAX)
                return -EBUSY;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->caller = *caller;
        q->identity = strdup(identity);
        q->username = strdup(username);
        q->template_name = strdup(template_name);
        if (!q->identity || !q->username || !q->template_name) {
                forgot_queued_free(q);
                return -ENOMEM;
        }
        if (m->forgot_tail)
                m->forgot_tail->next = q;
        else
                m->forgot_head = q;
        m->forgot_tail = q;
        m->n_forgot++;
        manager_schedule_flush(m);
        return 0;
}

bool forgot_password_run_queued(Manager *m) {
        ForgotQueued *q = m->forgot_head;
        bool wrote = false;

        m->forgot_head = m->forgot_tail = NULL;
        m->n_forgot = 0;
        while (q) {
                ForgotQueued *next = q->next;

                wrote |= forgot_password(m, &q->caller, q->identity, q->username, q->template_name);
                forgot_queued_free(q);
                q = next;
        }
        return wrote;
}
