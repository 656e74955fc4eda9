/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "caller.h"
#include "hash.h"
#include "lockout.h"
#include "manager.h"
#include "sauth-errors.h"
#include "store.h"

/*
 * AccountLogin's logic, method "local". Nothing here knows sd-bus: the bus
 * glue (login-bus.c) reads the call, makes a LoginJob, runs login_work()
 * on a hash worker and, back on the loop, asks login_conclude() what to
 * answer.
 *
 * Every attempt costs one Argon2id verify: against the account's hash, or
 * against the dummy for unknown users, accounts without a password and
 * locked accounts — so the answer does not tell whether an account exists
 * (rule 4), and a locked account cannot be used to test passwords.
 */

/* What a PAM stack tells about a login (the context a{sv}), made printable. */
typedef struct LoginContext {
        char service[64];
        char tty[64];
        char rhost[256];
        char ruser[64];
} LoginContext;

typedef struct LoginJob {
        Manager *m;
        uid_t caller_uid;
        bool caller_admin;
        char username[SAUTH_NAME_MAX + 1];      /* as given, for the audit trail */
        LoginContext context;
        StoreAccount *account;                  /* NULL: unknown user */
        LockoutSource source;                   /* who tried (lockout.h) */
        bool locked;
        bool rate_limited;                      /* answered at once: this source must wait */
        char *password;                         /* secret; gone after the work */
        const char *verify_against;             /* the account's hash or the dummy */
        bool verified;
        bool rehashed;
        char new_hash[HASH_STR_MAX];
} LoginJob;

/* A job for one attempt: looks the account up and chooses what to verify
 * against. Copies the password. */
int login_job_new(Manager *m, const Caller *caller, const char *username,
                  const char *password, const LoginContext *context, LoginJob **ret);
void login_job_free(void *job);

/* On a hash worker: the verify, and a rehash if the cost changed. */
void login_work(void *job);

/* On the loop after the work: SAUTH_OK once the success is recorded, or
 * what the caller is told. Only admins (PAM stacks run as root) learn that
 * an account is locked or disabled; anyone else gets what an unknown user
 * gets. */
SauthStatus login_conclude(LoginJob *j);

/* After a refusal: counts a wrong password toward lockout (in memory; a
 * timer writes it, see lockout.h). Returns how long (µs) the reply should
 * wait: ordinary callers slow down with each failure. */
uint64_t login_after_refusal(LoginJob *j);

/* Refuses an attempt of a source that must wait (RateLimited), before
 * any hashing: the same for every name, real or not. */
void login_audit_rate_limited(const LoginJob *j);

/* The base roles of an account, NULL-terminated: "admin" and "user" for
 * admins, "user" for an active account with a confirmed contact, "person"
 * and "pwchange" when the password must change (or none is set),
 * "pending" for an unconfirmed contact. Membership roles: roles.h. */
int login_roles(const StoreAccount *a, char ***ret);
