/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "config.h"

/*
 * The password rules, one function for every path: CheckPassword (live
 * feedback) and every password change use policy_check(), so the dialog's
 * bar and the final verdict never disagree. Cheap: no Argon2id here (the
 * history check needs hashes and is done by the caller on a worker).
 */

/* Problem codes, stable strings sent in CheckPassword's `problems`. */
#define POLICY_TOO_LONG        "too-long"
#define POLICY_EMPTY           "empty"
#define POLICY_INVALID_UTF8    "invalid-utf8"
#define POLICY_CONTROL_CHAR    "control-character"
#define POLICY_CONTAINS_USER   "contains-username"
#define POLICY_CONTAINS_NAME   "contains-name"
#define POLICY_CONTAINS_ID     "contains-identity"
#define POLICY_PWQUALITY       "pwquality"
#define POLICY_TOO_GUESSABLE   "too-guessable"
#define POLICY_REUSED          "reused"

typedef struct PolicyUser {
        const char *username;   /* may be NULL or "" */
        const char *name;       /* display name, may be NULL */
        const char *identity;   /* email, may be NULL */
} PolicyUser;

typedef struct PolicyVerdict {
        bool ok;
        unsigned score;         /* 0..4, zxcvbn-style */
        double guesses_log10;
        char **problems;        /* NULL-terminated problem codes */
        char *message;          /* one human sentence or more */
} PolicyVerdict;

typedef struct Policy Policy;

/* Loads pwquality settings from c->pwquality_conf (a missing file means
 * pwquality's defaults). */
int policy_new(const SauthConfig *c, Policy **ret);
void policy_free(Policy *p);
static inline void policy_freep(Policy **p) {
        policy_free(*p);
}

/* Judges a password. Thread-safe. */
int policy_check(Policy *p, const char *password, const PolicyUser *user, PolicyVerdict *ret);

/* Adds the "reused" problem to a verdict (history hit found by a worker). */
int policy_verdict_add_reused(PolicyVerdict *v);

void policy_verdict_done(PolicyVerdict *v);
