/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "idmap.h"
#include "jwt.h"
#include "keys.h"
#include "store.h"

/*
 * Session tokens: issued at every successful login, verified without SQL.
 * The key ring ([tokens] key_file) signs; the jtis revoked and not yet
 * expired are held in memory (loaded from the store at start, added to on
 * Logout, password change and disabling), so VerifyToken is one Ed25519
 * verify and one map lookup. Nothing here knows sd-bus; loop thread only.
 */

#define SESSIONS_FLEET_RINGS 16       /* up to 256 keys of other hosts */

typedef struct Sessions {
        Keyring *ring;
        char *key_file;
        char *issuer;
        uint64_t keep_verify_for;       /* the longest token lifetime */
        IdMap *revoked;                 /* jti -> expiry (uint64_t *) */
        IdMap *verified;                /* BLAKE2b of a token -> its claims (JwtClaims *) */
        /* The public keys of the other hosts sharing the store, in rings
         * of KEYS_MAX, verify only. */
        Keyring *fleet[SESSIONS_FLEET_RINGS];
        size_t n_fleet;
} Sessions;

typedef struct SessionGrant {
        const StoreAccount *account;
        char **roles;
        const char *method;             /* "local", a provider name */
        const char *identity;           /* may be NULL */
        uint64_t lifetime;
        const char *service;            /* the PAM context, may be empty */
        const char *tty;
        const char *rhost;
} SessionGrant;

/* Loads or creates the key ring, loads the revocations still in force.
 * msg says why it failed (never a key). */
int sessions_new(const char *key_file, const char *issuer, uint64_t keep_verify_for, Store *store,
                 uint64_t now, Sessions **ret, char *msg, size_t msg_size);
void sessions_free(Sessions *s);
static inline void sessions_freep(Sessions **s) {
        sessions_free(*s);
}

/* Signs a token for the grant and records the session. *ret_token is to be
 * freed; -E2BIG or -EINVAL when the claims do not fit a token. */
int session_issue(Sessions *s, Store *store, const SessionGrant *g, uint64_t now,
                  char **ret_token, uint64_t *ret_expires, char **ret_jti);

/* Checks signature, issuer, expiry and revocation. A token that verified
 * once is remembered by its BLAKE2b-256 (the exact bytes, signature
 * included), so checking it again costs a hash and two lookups instead of
 * an Ed25519 verify and two JSON parses; expiry and revocation are checked
 * every time. 0 with *ret filled
 * (jwt_claims_done() it); -ETIME expired, -ECANCELED revoked, any other
 * negative errno: not a token of ours. */
int session_verify(Sessions *s, const char *token, uint64_t now, JwtClaims *ret);

/* The same, without a copy: *ret points at the remembered claims, or at
 * scratch when they could not be remembered (jwt_claims_done() scratch in
 * any case). Valid until the next call into s: VerifyToken answers from
 * it at once, on the loop, which no other call can enter meanwhile. */
int session_verify_peek(Sessions *s, const char *token, uint64_t now, JwtClaims *scratch,
                        const JwtClaims **ret);

/* Revokes one session; 0 also if it was revoked already. */
int session_revoke(Sessions *s, Store *store, const char *jti, uint64_t expires, uint64_t now);
/* The same, for a caller that replaces the session: 1 if this call
 * revoked it, 0 if it was revoked already (by another call, here or on
 * another host sharing the store, perhaps while this one waited on it). */
int session_revoke_once(Sessions *s, Store *store, const char *jti, uint64_t expires, uint64_t now);
/* Revokes every session of the person uid. Returns how many. */
int sessions_revoke_uid(Sessions *s, Store *store, const char *uid, uint64_t now);

/* Learns from the store the revocations of uid's sessions made there (a
 * password change ends them in its own transaction). */
int sessions_reload_revoked(Sessions *s, Store *store, const char *uid, uint64_t now);

/* A new current key; the previous one verifies for keep_verify_for more. */
int sessions_rotate_key(Sessions *s, uint64_t now, char *msg, size_t msg_size);

/* Writes this host's public keys to the store, for the other hosts. */
int sessions_publish_keys(Sessions *s, Store *store);
/* Reads the public keys of every host from the store (replacing those
 * read before): a token another host signed verifies here. */
int sessions_load_fleet_keys(Sessions *s, Store *store, uint64_t now);
/* The keys that verify at now, this host's first: up to max. */
size_t sessions_jwks(const Sessions *s, uint64_t now, KeysJwk *out, size_t max);

/* Forgets revocations of tokens that have expired by now. */
void sessions_prune(Sessions *s, uint64_t now);
