/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * The credential store. sauthd/store/ is the only place that speaks SQL,
 * and its SQL is kept to what PostgreSQL accepts too (TEXT, BIGINT,
 * INTEGER; no SQLite-only functions), so that a fleet can later share one
 * PostgreSQL store with no change outside sauthd/store/ (a driver beside
 * sqlite.c, see driver.h).
 *
 * Every function is one transaction. On SQLite all run on the event-loop
 * thread; on PostgreSQL on the store workers, each with a connection of
 * its own (store_thread_bind(), sauthd/store-work.h), never on the loop.
 * Errors are negative errno: -ENOENT nothing matched, -EEXIST a uniqueness
 * conflict, -EKEYREJECTED a token that is not valid for the request, -EIO
 * anything the database said, a lock held too long by another process
 * included (logged without values).
 */

#define STORE_SCHEMA_VERSION 7

typedef struct Store Store;

typedef struct StoreAccount {
        char *id;
        char *uid;              /* the person */
        char *username;
        char *password_hash;    /* NULL: no password set yet */
        char *status;           /* "active" | "disabled" */
        char *name;             /* the person's display name */
        char *identity;         /* the person's normalised identity (email) */
        bool must_change;
        bool is_admin;
        bool contact_confirmed;
        int64_t failures;       /* failed logins in the current window */
        int64_t first_failure;  /* UNIX time the window began, 0 if none */
        int64_t locked_until;   /* UNIX time, 0 if not locked */
        int64_t last_login;
} StoreAccount;

void store_account_free(StoreAccount *a);
static inline void store_account_freep(StoreAccount **a) {
        store_account_free(*a);
}

/* Opens or creates the database (created mode 0600; an existing file that
 * group or other may write is refused with -EPERM), turns on WAL and foreign
 * keys, and migrates the schema to STORE_SCHEMA_VERSION. */
int store_open(const char *path, Store **ret);

/* Same, but stops migrating at version target (for upgrade tests). */
int store_open_at_version(const char *path, int target, Store **ret);

typedef struct StoreOptions {
        const char *driver;             /* "sqlite" (NULL) or "postgresql" */
        const char *path;               /* sqlite: the database file */
        const char *conninfo_file;      /* postgresql: a file holding the conninfo */
        unsigned timeout_ms;            /* postgresql: every wait on the server */
        unsigned n_workers;             /* postgresql: connections for store workers */
} StoreOptions;

/* Opens the store o describes and migrates it. A PostgreSQL store's
 * migrations run under an advisory lock. -EIO (logged) for a database
 * whose schema is newer than this sauthd. */
int store_open_with(const StoreOptions *o, Store **ret);

/* A PostgreSQL store from a conninfo string (tests), migrated to target. */
int store_open_conninfo_at_version(const char *conninfo, int target, Store **ret);

/* The driver of that name, NULL if there is none. */
const struct StoreDriver *store_driver_by_name(const char *name);

/* Whether the store's database is across the network (its calls may wait). */
bool store_is_remote(Store *s);

/* Store workers: thread i (< the n_workers opened) uses connection i from
 * now on; NULL s unbinds the thread. */
int store_thread_bind(Store *s, unsigned i);
unsigned store_workers(Store *s);

/* From now on a remote store's calls belong on a bound thread: one from
 * an unbound thread (the loop) is a bug, logged — and fatal with
 * SAUTH_STORE_STRICT=1 in the environment (the test suites). */
void store_forbid_unbound(Store *s, bool forbid);

/* Called around every wait of the driver on the network, by the waiting
 * thread: leave() before, enter() after (sauthd lets its lock go). */
void store_set_wait_hooks(void (*leave)(void), void (*enter)(void));

void store_close(Store *s);
static inline void store_closep(Store **s) {
        store_close(*s);
}

int store_schema_version(Store *s);

/* Lookups. -ENOENT if no such account. */
int store_account_by_username(Store *s, const char *username, StoreAccount **ret);
int store_account_by_uid(Store *s, const char *uid, StoreAccount **ret);
/* By normalised identity (people.identity). */
int store_account_by_identity(Store *s, const char *identity, StoreAccount **ret);
/* By a confirmed email contact other than the identity: -ENOENT if no
 * person has it, -ENOTUNIQ if more than one does (which one is meant
 * cannot be told, so none is). */
int store_account_by_contact(Store *s, const char *info, StoreAccount **ret);

/* ---- the mail outbox (outbox.c) ---- */

/* One message of the outbox. To add one, id, template_name, recipient,
 * body, created, expires are needed (attempts 0, next_attempt = created,
 * no error); reading gives all. body is sealed: the store never sees a
 * message in clear. */
typedef struct StoreMail {
        const char *id;
        const char *template_name;
        const char *recipient;
        const char *body;
        int64_t created;
        int64_t expires;
        int64_t attempts;
        int64_t next_attempt;
        const char *last_error;     /* "" if none */
} StoreMail;

typedef int (*store_mail_fn)(const StoreMail *m, void *userdata);

/* A message on its own (a notice that no other write carries). */
int store_mail_add(Store *s, const StoreMail *m);
/* Up to limit messages with next_attempt <= due, oldest attempt first;
 * due INT64_MAX walks the whole queue. Strings borrowed for the call. */
int store_mail_foreach(Store *s, int64_t due, unsigned limit, store_mail_fn fn, void *userdata);
/* Sent or expired: the row goes. -ENOENT if it is not there. */
int store_mail_delete(Store *s, const char *id);
/* Not sent: attempts + 1, the next attempt and the reason (no secrets). */
int store_mail_retry(Store *s, const char *id, int64_t next_attempt, const char *last_error);
/* Takes a due message for sending until 'until' (capped at its expiry),
 * if its next_attempt is still seen_next_attempt: hosts sharing the store
 * send each message once. -EALREADY if another host took it (or it went). */
int store_mail_claim(Store *s, const char *id, int64_t seen_next_attempt, int64_t until);
/* The earliest next_attempt later than after; -ENOENT if none. */
int store_mail_next(Store *s, int64_t after, int64_t *ret);

typedef struct StoreRegistration {
        const char *uid;            /* the new person's id; NULL: made here */
        const char *identity;       /* normalised */
        const char *username;
        const char *name;
        const char *picture;        /* may be "" */
        const char *token_hash;     /* confirm token, hex BLAKE2b */
        int64_t token_expires;
        int64_t now;
        const StoreMail *mail;      /* the confirmation, or NULL */
        bool confirmed;             /* the contact is confirmed already (an identity
                                     * a provider verified); then no token, no mail */
} StoreRegistration;

typedef struct StoreIds {
        char *uid;
        char *contact_id;
        char *account_id;
} StoreIds;

void store_ids_done(StoreIds *ids);

/* Person + contact + account (no password, must change) + confirmation
 * token, in one transaction. -EEXIST if the username or identity is taken.
 * An empty username: person, contact and token only (ret->account_id NULL). */
int store_register(Store *s, const StoreRegistration *reg, StoreIds *ret);

/* A new account for an existing person, with a confirmation token.
 * -ENOENT if no such person, -EEXIST if the username is taken or the person
 * has an account already. Returns the new account's id. */
int store_account_add(Store *s, const char *uid, const char *username,
                      const char *token_hash, int64_t token_expires, int64_t now,
                      char **ret_account_id);

/* Adds a single-use token (hash only) for uid and purpose. */
int store_token_add(Store *s, const char *token_hash, const char *uid,
                    const char *purpose, int64_t expires, int64_t now);
/* The same, with the message that carries the token, in one transaction:
 * both are written or neither. */
int store_token_add_mail(Store *s, const char *token_hash, const char *uid,
                         const char *purpose, int64_t expires, int64_t now, const StoreMail *mail);

/* 0 if the token hash exists, is bound to uid, unused and unexpired at now;
 * on success ret_purpose (if not NULL) gets its purpose. -EKEYREJECTED else. */
int store_token_check(Store *s, const char *token_hash, const char *uid,
                      int64_t now, char **ret_purpose);

/* Counts tokens of a purpose made for uid since 'since' (rate limits). */
int store_token_count_since(Store *s, const char *uid, const char *purpose,
                            int64_t since, unsigned *ret);

typedef struct StorePasswordChange {
        const char *account_id;
        const char *new_hash;
        const char *token_hash;     /* NULL: old-password or admin path */
        const char *uid;            /* the token must be bound to it */
        unsigned history;           /* keep this many old hashes */
        int64_t now;
        const StoreMail *mail;      /* the notice of the change, or NULL */
} StorePasswordChange;

/* Sets the password hash, clears must-change and failures, ends the
 * account's sessions and the person's unused tokens, records the old
 * hash in the history (trimmed to 'history' rows), and — when token_hash is
 * given — checks and consumes the token in the same transaction (-EKEYREJECTED
 * if it is no longer valid) and, for a confirm token, confirms the contact.
 * The notice (chg->mail) is written in the same transaction. */
int store_set_password(Store *s, const StorePasswordChange *chg);

/* Up to max previous password hashes of the account, newest first, NULL
 * terminated (current hash not included). */
int store_password_history(Store *s, const char *account_id, unsigned max, char ***ret);

/* Replaces the hash only if it is still old_hash (rehash after login). */
int store_rehash(Store *s, const char *account_id, const char *old_hash, const char *new_hash);

/* A failed attempt at 'now': starts or extends the failure window
 * (fail_interval seconds), and at 'deny' failures sets locked_until to
 * now + unlock_time. Returns the account's failure count after it. */
int store_record_failure(Store *s, const char *account_id, int64_t now,
                         unsigned deny, int64_t fail_interval, int64_t unlock_time);

/* A write that changes nothing: whether the store takes writes. */
int store_account_touch(Store *s, const char *account_id);

/* Writes a batch of failures in one transaction: counts[i] failures of
 * ids[i]; ret_failures[i] (may be NULL) gets the account's count after,
 * or -ENOENT for an account gone meanwhile. With n == 0 (or only gone
 * accounts) it still makes one write (a row rewritten unchanged), so a
 * batch costs about the same whatever it holds: what a failure for a real
 * account does must not show to other callers (rule 11). */
int store_record_failures(Store *s, char *const *ids, const unsigned *counts, size_t n, int64_t now,
                          unsigned deny, int64_t fail_interval, int64_t unlock_time, int *ret_failures);

/* A successful login: clears failures and lock, sets last_login. */
int store_record_success(Store *s, const char *account_id, int64_t now);

/* An admin's unlock: clears failures and lock, leaves last_login.
 * -ENOENT when no such account. */
int store_clear_failures(Store *s, const char *account_id);

int store_set_status(Store *s, const char *username, const char *status);
int store_set_admin(Store *s, const char *username, bool admin);
int store_set_must_change(Store *s, const char *username, bool must_change);

/* ---- session tokens (sessions.c) ---- */

typedef struct StoreSession {
        const char *jti;
        const char *uid;
        const char *account_id;
        const char *method;
        const char *service;    /* "" when the login had no PAM context */
        const char *tty;
        const char *rhost;
        int64_t issued;
        int64_t expires;
        int64_t revoked;        /* UNIX time, 0 if not revoked */
} StoreSession;

typedef enum StoreSessionFilter {
        STORE_SESSIONS_ACTIVE,  /* of one uid: not revoked, not expired */
        STORE_SESSIONS_REVOKED, /* of uid, or of everyone when uid is NULL:
                                 * revoked, not yet expired */
} StoreSessionFilter;

/* Called with borrowed strings, valid during the call only; a negative
 * return stops the walk and is returned. */
typedef int (*store_session_fn)(const StoreSession *session, void *userdata);

/* -EEXIST if the jti exists already. */
int store_session_add(Store *s, const StoreSession *session);
/* Marks one session revoked at now. 1 if it was active, 0 if it was
 * revoked already, -ENOENT if there is no such session. */
int store_session_revoke(Store *s, const char *jti, int64_t now);
int store_sessions_foreach(Store *s, StoreSessionFilter filter, const char *uid, int64_t now,
                           store_session_fn fn, void *userdata);

/* ---- API keys (apikeys.c) ---- */

typedef struct StoreApiKey {
        const char *id;
        const char *uid;
        const char *name;
        const char *scopes;     /* space-separated */
        const char *hash;       /* hex keyed BLAKE2b of the secret */
        int64_t created;
        int64_t expires;        /* 0: never */
        int64_t last_used;
        bool account_active;    /* the owner's account is active (read only) */
} StoreApiKey;

typedef int (*store_apikey_fn)(const StoreApiKey *key, void *userdata);

/* Adds a key unless uid has max_per_user keys in use already (-EDQUOT),
 * counted in the same transaction. -EEXIST if the id is taken. */
int store_apikey_add(Store *s, const StoreApiKey *key, unsigned max_per_user, int64_t now);
/* -ENOENT if there is no such key in use. */
int store_apikey_revoke(Store *s, const char *id, int64_t now);
/* Keys in use (not revoked, not expired at now) of uid, or of everyone
 * when uid is NULL. */
int store_apikeys_foreach(Store *s, const char *uid, int64_t now, store_apikey_fn fn, void *userdata);
/* Records last_used of n keys in one transaction. */
int store_apikeys_touch(Store *s, const char *const *ids, const int64_t *last_used, size_t n);

/* ---- memberships (memberships.c) ---- */

typedef struct StoreMembership {
        const char *uid;                /* the person */
        const char *member_model;       /* the caller's model, e.g. "list_member" */
        const char *resource;           /* e.g. "list" */
        const char *resource_id;        /* e.g. "42" */
        const char *level;              /* one of [roles] privacy_levels */
        const char *status;             /* "active" | "disabled" */
        int64_t created;                /* written by set; not read back (0) */
} StoreMembership;

/* Called with borrowed strings, valid during the call only; a negative
 * return stops the walk and is returned. */
typedef int (*store_membership_fn)(const StoreMembership *m, void *userdata);

/* Adds the membership, or changes the level (and status, "active" when
 * NULL) of the one with the same uid, member_model, resource and
 * resource_id. -ENOENT if there is no such person. */
int store_membership_set(Store *s, const StoreMembership *m);
/* -ENOENT if there is no such membership. */
int store_membership_remove(Store *s, const char *uid, const char *member_model, const char *resource,
                            const char *resource_id);
/* The memberships of uid — of every model when member_model is NULL;
 * else of that model and resource, and of that resource_id when it is
 * not NULL — ordered by member_model, resource, resource_id. One query. */
int store_memberships_foreach(Store *s, const char *uid, const char *member_model, const char *resource,
                              const char *resource_id, store_membership_fn fn, void *userdata);

/* ---- signing keys of the hosts sharing the store (signing-keys.c) ---- */

typedef struct StoreSigningKey {
        const char *kid;
        const char *issuer;
        const char *public_key;         /* base64url, 32 bytes */
        int64_t created;
        int64_t not_after;              /* 0: a host's current key */
} StoreSigningKey;

typedef int (*store_signing_key_fn)(const StoreSigningKey *k, void *userdata);

/* Adds the key, or sets the not_after of the one with its kid. */
int store_signing_key_put(Store *s, const StoreSigningKey *k);
/* The keys that verify at now (not_after 0 or later than now). */
int store_signing_keys_foreach(Store *s, int64_t now, store_signing_key_fn fn, void *userdata);

/* ---- the change feed (a store several hosts share) ---- */

/* What another host changed, as kind and id: "sessions" uid (sessions of
 * the person revoked), "apikeys" uid (keys of the person added or
 * revoked), "account" username (status or admin flag), "keys" "" (a host
 * published a signing key). Strings borrowed for the call. */
typedef void (*store_change_fn)(const char *kind, const char *id, void *userdata);

typedef struct StoreFeed StoreFeed;

/* A connection that listens for changes. -EOPNOTSUPP on a store only one
 * host uses (SQLite). */
int store_feed_open(Store *s, StoreFeed **ret);
/* Readable when changes came. */
int store_feed_fd(StoreFeed *f);
/* Hands every change that came to fn, without waiting. -EIO once the
 * connection is lost: close, reopen, and reload whatever is cached, as
 * changes made meanwhile were not seen. */
int store_feed_dispatch(StoreFeed *f, store_change_fn fn, void *userdata);
void store_feed_close(StoreFeed *f);

/* ---- housekeeping ---- */

/* Deletes what can no longer matter at now: sessions past their expiry
 * (revoked or not), spent or expired single-use tokens once they no longer
 * count for the hourly limits, API keys revoked or expired. Returns the
 * number of rows deleted. */
int store_prune(Store *s, int64_t now);
