/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <locale.h>
#include <stdbool.h>
#include <sys/types.h>

#include "caller.h"
#include "lockout.h"
#include "hash.h"
#include "manager.h"
#include "policy.h"
#include "sauth-errors.h"
#include "store.h"
#include "tokens.h"

/*
 * Passwords: ChangePassword (old password, token, or admin),
 * CheckPassword (live feedback) and ForgotPassword (a mailed reset token).
 * The rules are policy_check() for all of them; Argon2id work (the old
 * password, the history, the new hash) runs on a hash worker. Nothing here
 * knows sd-bus: password-bus.c reads the calls and sends the answers.
 */

typedef enum ChangePath {
        CHANGE_OLD_PASSWORD,            /* the user knows the old password */
        CHANGE_TOKEN,                   /* a mailed reset or confirm token */
        CHANGE_ADMIN,                   /* an admin sets it, like passwd as root */
} ChangePath;

typedef struct ChangeArgs {
        const char *uid;
        const char *new_password;
        const char *token;              /* "" if none */
        const char *old_password;       /* "" if none */
        locale_t locale;                /* the caller's, for messages; (locale_t) 0: none */
} ChangeArgs;

typedef struct ChangeJob {
        Manager *m;
        uid_t caller_uid;
        bool caller_admin;
        StoreAccount *account;          /* NULL: no active account (not told to non-admins) */
        ChangePath path;
        bool locked;                    /* old-password path on a locked account */
        LockoutSource source;           /* who tried, for the lockout count */
        char name[SAUTH_NAME_MAX + 1];  /* the uid asked for, when no account matched */
        char *new_password;             /* secret */
        char *old_password;             /* secret, CHANGE_OLD_PASSWORD only */
        char token_hash[TOKEN_HASH_HEX];
        char **history;                 /* hashes the new password must not match */
        bool old_ok;
        int policy_result;
        PolicyVerdict verdict;          /* the full rules, history included */
        int hash_result;
        char new_hash[HASH_STR_MAX];
        locale_t locale;                /* ChangeArgs.locale, borrowed: the worker's messages */
} ChangeJob;

void change_job_free(void *job);

/* Everything that can be decided before any hashing. SAUTH_OK with a job
 * to run, or the refusal (*ret_message, for WeakPassword, is the rules'
 * text, to be freed). An unknown uid, a disabled account, a wrong old
 * password and a bad token cost the same and get the same answers for
 * callers that are not admin. */
SauthStatus change_start(Manager *m, const Caller *caller, const ChangeArgs *args,
                         ChangeJob **ret_job, char **ret_message);

/* On a hash worker. */
void change_work(void *job);

/* On the loop after the work: SAUTH_OK once the new hash is stored, or the
 * refusal; *ret_message (borrowed from the job) for WeakPassword. */
SauthStatus change_conclude(ChangeJob *j, const char **ret_message);

/* After a refusal was sent: a wrong old password counts toward lockout. */
void change_after_refusal(ChangeJob *j);

/* CheckPassword: the rules for a dialog's strength bar. RateLimited per
 * caller uid. */
SauthStatus check_password(Manager *m, const Caller *caller,
                           const char *username, const char *password, PolicyVerdict *ret);

/* ForgotPassword: issues and mails a reset token if an account matches and
 * may have one now. Nothing of what happens here reaches the caller. */
/* A password reset waiting for the flush timer (manager_schedule_flush):
 * what a reset does for a real account happens at the timer's tick, where
 * the loop writes whatever was asked (rule 11). */
typedef struct ForgotQueued {
        struct ForgotQueued *next;
        Caller caller;
        char *identity, *username, *template_name;
} ForgotQueued;

/* Queues a reset for the timer; -ENOMEM, or -EBUSY past FORGOT_QUEUE_MAX. */
int forgot_password_queue(Manager *m, const Caller *caller, const char *identity, const char *username,
                          const char *template_name);
/* Runs the queued resets; true when one wrote to the store. */
bool forgot_password_run_queued(Manager *m);

/* Returns true when it wrote to the store. */
bool forgot_password(Manager *m, const Caller *caller, const char *identity, const char *username,
                     const char *template_name);
