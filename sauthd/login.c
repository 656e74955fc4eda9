/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <time.h>

#include "audit.h"
#include "identity.h"
#include "lockout.h"
#include "log.h"
#include "login.h"
#include "sauth-names.h"
#include "util.h"

void login_job_free(void *job) {
        LoginJob *j = job;

        if (!j)
                return;
        store_account_free(j->account);
        erase_and_free(j->password);
        sodium_memzero(j->new_hash, sizeof j->new_hash);
        free(j);
}

/* By user name, or by a confirmed identity (apicrud's "account name or
 * email"). An unconfirmed identity is no way in: anyone may register an
 * address that is not theirs. Not found is -ENOENT either way, so the
 * caller goes on against the dummy hash at the same cost. */
static int login_find_account(Manager *m, const char *name, StoreAccount **ret) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_free_ char *normal = NULL;
        int r;

        if (!strchr(name, '@'))
                return store_account_by_username(m->store, name, ret);
        if (identity_normalize(name, &normal) < 0)
                return -ENOENT;
        r = store_account_by_identity(m->store, normal, &a);
        if (r < 0)
                return r;
        if (!a->contact_confirmed)
                return -ENOENT;
        *ret = TAKE_PTR(a);
        return 0;
}

int login_job_new(Manager *m, const Caller *caller, const char *username,
                  const char *password, const LoginContext *context, LoginJob **ret) {
        LoginJob *j;
        int r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (LoginJob) { .m = m, .caller_uid = caller->uid, .caller_admin = caller->is_admin };
        if (context)
                j->context = *context;
        log_printable(j->username, sizeof j->username, username);
        j->password = strdup(password);
        if (!j->password) {
                login_job_free(j);
                return -ENOMEM;
        }

        r = login_find_account(m, username, &j->account);
        if (r < 0 && r != -ENOENT) {
                login_job_free(j);
                return r;
        }
        lockout_source(caller, j->context.service, j->context.tty, j->context.rhost, &j->source);
        switch (lockout_check(m, &j->source, j->username, j->account, time(NULL))) {
        case LOCKOUT_LOCKED:
                j->locked = true;
                break;
        case LOCKOUT_RATE_LIMITED:
                j->rate_limited = true;
                break;
        default:
                break;
        }
        j->verify_against = j->account && j->account->password_hash && !j->locked
                ? j->account->password_hash : m->dummy_hash;
        *ret = j;
        return 0;
}

void login_work(void *job) {
        LoginJob *j = job;

        j->verified = hash_verify(j->verify_against, j->password);

        /* Cost parameters changed since this hash was made: make the new one
         * here, while the password is at hand. */
        if (j->verified && j->account && hash_needs_rehash(j->account->password_hash, j->m->cost))
                j->rehashed = hash_password(j->password, j->m->cost, j->new_hash) >= 0;

        erase_and_free(TAKE_PTR(j->password));
}

static void login_audit(const LoginJob *j, AuditResult result, const char *reason) {
        audit_log(&(AuditRecord) {
                .event = AUDIT_LOGIN,
                .result = result,
                .user = j->account ? j->account->username : j->username,
                .user_unknown = !j->account,
                .caller_uid = j->caller_uid,
                .service = j->context.service,
                .tty = j->context.tty,
                .rhost = j->context.rhost,
                .method = SAUTH_METHOD_LOCAL,
                .reason = reason,
        });
}

static SauthStatus login_refusal(LoginJob *j) {
        const StoreAccount *a = j->account;

        if (j->locked) {
                login_audit(j, AUDIT_LOCKED, "account_locked");
                return j->caller_admin ? SAUTH_E_ACCOUNT_LOCKED : SAUTH_E_INVALID_CREDENTIALS;
        }
        /* Disabled: told to admins, and to whoever gave the right password
         * (who knows the account exists anyway). */
        if (a && streq(a->status, SAUTH_STATUS_DISABLED) && (j->verified || j->caller_admin)) {
                login_audit(j, AUDIT_DISABLED, "account_disabled");
                return SAUTH_E_ACCOUNT_DISABLED;
        }
        login_audit(j, AUDIT_FAILED, !a ? "unknown_user" : !a->password_hash ? "no_password_set" :
                    !j->verified ? "wrong_password" : "account_not_active");
        return SAUTH_E_INVALID_CREDENTIALS;
}

SauthStatus login_conclude(LoginJob *j) {
        Manager *m = j->m;
        StoreAccount *a = j->account;
        int64_t now = time(NULL);
        int r;

        /* Attempts run in parallel: a lock may have been set while this one
         * hashed. */
        if (a && j->verified && !j->locked && lockout_locked_now(m, a, now))
                j->locked = true;
        if (!a || j->locked || !a->password_hash || !j->verified || !streq(a->status, SAUTH_STATUS_ACTIVE))
                return login_refusal(j);

        lockout_success(m, &j->source, j->username, a);
        r = store_record_success(m->store, a->id, now);
        if (r < 0) {
                /* Fail closed, and with the answer a wrong password gets
                 * while the account is held (rule 9): a hit must not show. */
                log_error("account %s: login not recorded: %s", a->username, strerror(-r));
                lockout_hold(m, a, false);
                j->locked = true;
                return login_refusal(j);
        }
        if (j->rehashed && store_rehash(m->store, a->id, a->password_hash, j->new_hash) >= 0)
                log_info("account %s: password rehashed with the current cost", a->username);
        login_audit(j, AUDIT_OK, NULL);
        return SAUTH_OK;
}

uint64_t login_after_refusal(LoginJob *j) {
        /* A wrong password counts, for a real account or an unknown name
         * alike; not while locked (that attempt was not verified). */
        if (j->locked || j->verified)
                return 0;
        return lockout_failure(j->m, &j->source, j->username, j->account, time(NULL));
}

void login_audit_rate_limited(const LoginJob *j) {
        login_audit(j, AUDIT_REFUSED, "rate_limited");
}

int login_roles(const StoreAccount *a, char ***ret) {
        const char *roles[6];
        size_t n = 0;
        char **l;

        /* apicrud's base roles: "user" is an admin, or an active account
         * whose contact is confirmed; "person" (with "pwchange") is one that
         * must still set its password; "pending" has not confirmed yet. */
        if (a->is_admin) {
                roles[n++] = "admin";
                roles[n++] = "user";
        } else if (streq(a->status, SAUTH_STATUS_ACTIVE) && a->contact_confirmed)
                roles[n++] = "user";
        if (a->must_change || !a->password_hash) {
                roles[n++] = "person";
                roles[n++] = "pwchange";
        }
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
