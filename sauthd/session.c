/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "session.h"
#include "util.h"

/* Tokens remembered as verified, at most; the whole memory is dropped when
 * it is full (verifying again is correct, only slower). */
#define VERIFIED_MAX 4096

static void claims_free(void *p) {
        JwtClaims *c = p;

        if (c) {
                jwt_claims_done(c);
                free(c);
        }
}

static int claims_copy(const JwtClaims *from, JwtClaims *to) {
        size_t n = 0;

        *to = (JwtClaims) { .iat = from->iat, .exp = from->exp };
        to->iss = strdup(from->iss);
        to->sub = strdup(from->sub);
        to->acc = strdup(from->acc);
        to->jti = strdup(from->jti);
        to->method = strdup(from->method);
        to->identity = strdup_or_null(from->identity);
        while (from->auth && from->auth[n])
                n++;
        to->auth = calloc(n + 1, sizeof *to->auth);
        if (!to->iss || !to->sub || !to->acc || !to->jti || !to->method ||
            (from->identity && !to->identity) || !to->auth)
                goto fail;
        for (size_t i = 0; i < n; i++)
                if (!(to->auth[i] = strdup(from->auth[i])))
                        goto fail;
        return 0;
fail:
        jwt_claims_done(to);
        return -ENOMEM;
}

static void token_digest(const char *token, char hex[static 2 * crypto_generichash_BYTES + 1]) {
        unsigned char h[crypto_generichash_BYTES];

        crypto_generichash(h, sizeof h, (const unsigned char *) token, strlen(token), NULL, 0);
        sodium_bin2hex(hex, 2 * crypto_generichash_BYTES + 1, h, sizeof h);
}

static void sessions_remember_verified(Sessions *s, const char *digest, const JwtClaims *c) {
        JwtClaims *copy;

        if (idmap_size(s->verified) >= VERIFIED_MAX) {
                idmap_free(s->verified, claims_free);
                s->verified = NULL;
                if (idmap_new(&s->verified) < 0)
                        return;
        }
        copy = malloc(sizeof *copy);
        if (!copy || claims_copy(c, copy) < 0) {
                free(copy);
                return;
        }
        if (idmap_put(s->verified, digest, copy) < 0)
                claims_free(copy);
}

static int sessions_remember(Sessions *s, const char *jti, uint64_t expires) {
        uint64_t *e;
        int r;

        e = idmap_get(s->revoked, jti);
        if (e)
                return 0;
        e = malloc(sizeof *e);
        if (!e)
                return -ENOMEM;
        *e = expires;
        r = idmap_put(s->revoked, jti, e);
        if (r < 0)
                free(e);
        return r;
}

static int sessions_load_revoked(const StoreSession *x, void *userdata) {
        return sessions_remember(userdata, x->jti, (uint64_t) x->expires);
}

int sessions_new(const char *key_file, const char *issuer, uint64_t keep_verify_for, Store *store,
                 uint64_t now, Sessions **ret, char *msg, size_t msg_size) {
        _cleanup_(sessions_freep) Sessions *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->key_file = strdup(key_file);
        s->issuer = strdup(issuer);
        if (!s->key_file || !s->issuer)
                return -ENOMEM;
        s->keep_verify_for = keep_verify_for;
        r = idmap_new(&s->revoked);
        if (r >= 0)
                r = idmap_new(&s->verified);
        if (r < 0)
                return r;
        r = keys_load_or_create(key_file, now, &s->ring, msg, msg_size);
        if (r < 0)
                return r;
        r = store_sessions_foreach(store, STORE_SESSIONS_REVOKED, NULL, (int64_t) now, sessions_load_revoked, s);
        if (r < 0) {
                snprintf(msg, msg_size, "cannot read the revoked sessions: %s", strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

void sessions_free(Sessions *s) {
        if (!s)
                return;
        keys_free(s->ring);
        for (size_t i = 0; i < s->n_fleet; i++)
                keys_free(s->fleet[i]);
        idmap_free(s->revoked, free);
        idmap_free(s->verified, claims_free);
        free(s->key_file);
        free(s->issuer);
        free(s);
}

int session_issue(Sessions *s, Store *store, const SessionGrant *g, uint64_t now,
                  char **ret_token, uint64_t *ret_expires, char **ret_jti) {
        _cleanup_free_ char *token = NULL, *jti_copy = NULL;
        char jti[JWT_JTI_LEN + 1];
        const StoreAccount *a = g->account;
        uint64_t expires = now + g->lifetime;
        int r;

        jwt_new_jti(jti);
        r = jwt_sign(&(JwtClaims) {
                .iss = s->issuer, .sub = a->uid, .acc = a->id, .jti = jti,
                .iat = now, .exp = expires, .auth = g->roles,
                .method = (char *) g->method, .identity = (char *) g->identity,
        }, keys_current(s->ring), &token);
        if (r < 0)
                return r;
        /* Recorded before it is handed out: what ListSessions shows and
         * what a password change revokes. */
        r = store_session_add(store, &(StoreSession) {
                .jti = jti, .uid = a->uid, .account_id = a->id, .method = g->method,
                .service = g->service, .tty = g->tty, .rhost = g->rhost,
                .issued = (int64_t) now, .expires = (int64_t) expires,
        });
        if (r < 0)
                return r;
        if (ret_jti) {
                jti_copy = strdup(jti);
                if (!jti_copy)
                        return -ENOMEM;
                *ret_jti = TAKE_PTR(jti_copy);
        }
        *ret_token = TAKE_PTR(token);
        if (ret_expires)
                *ret_expires = expires;
        return 0;
}

int session_verify_peek(Sessions *s, const char *token, uint64_t now, JwtClaims *scratch,
                        const JwtClaims **ret) {
        char digest[2 * crypto_generichash_BYTES + 1];
        const JwtClaims *c;
        int r;

        if (!token || strnlen(token, JWT_MAX + 1) > JWT_MAX)
                return -EBADMSG;
        token_digest(token, digest);
        c = s->verified ? idmap_get(s->verified, digest) : NULL;
        if (c) {
                /* Remembered: it may have run out since. */
                if (c->exp <= now)
                        return -ETIME;
        } else {
                r = jwt_verify(token, s->ring, s->issuer, now, scratch);
                /* Not one of ours: perhaps another host's. */
                for (size_t i = 0; r == -ENOKEY && i < s->n_fleet; i++)
                        r = jwt_verify(token, s->fleet[i], s->issuer, now, scratch);
                if (r < 0)
                        return r;
                sessions_remember_verified(s, digest, scratch);
                c = scratch;
        }
        if (idmap_get(s->revoked, c->jti))
                return -ECANCELED;
        *ret = c;
        return 0;
}

int session_verify(Sessions *s, const char *token, uint64_t now, JwtClaims *ret) {
        _cleanup_(jwt_claims_done) JwtClaims scratch = {};
        const JwtClaims *c;
        int r;

        r = session_verify_peek(s, token, now, &scratch, &c);
        if (r < 0)
                return r;
        if (c == &scratch) {
                *ret = scratch;         /* handed over */
                scratch = (JwtClaims) {};
                return 0;
        }
        return claims_copy(c, ret);
}

int session_revoke_once(Sessions *s, Store *store, const char *jti, uint64_t expires, uint64_t now) {
        bool already;
        int r, k;

        /* The store first: a revocation that would not survive a restart
         * is not made. A token with no row (its row pruned, or a store
         * replaced) is still revoked in memory. */
        r = store_session_revoke(store, jti, (int64_t) now);
        if (r < 0 && r != -ENOENT)
                return r;
        /* Revoked before this call: the store says so, or for a token
         * with no row, the memory (looked at after the store's wait). */
        already = r == 0 || (r == -ENOENT && idmap_get(s->revoked, jti));
        k = sessions_remember(s, jti, expires);
        if (k < 0)
                return k;
        return already ? 0 : 1;
}

int session_revoke(Sessions *s, Store *store, const char *jti, uint64_t expires, uint64_t now) {
        int r = session_revoke_once(s, store, jti, expires, now);

        return r < 0 ? r : 0;
}

typedef struct RevokeAll {
        Sessions *sessions;
        char **jtis;
        uint64_t *expires;
        size_t n, size;
} RevokeAll;

static int revoke_all_collect(const StoreSession *x, void *userdata) {
        RevokeAll *all = userdata;

        if (all->n == all->size) {
                size_t size = MAX((size_t) 8, all->size * 2);
                char **j = reallocarray(all->jtis, size, sizeof *j);
                if (!j)
                        return -ENOMEM;
                all->jtis = j;
                uint64_t *e = reallocarray(all->expires, size, sizeof *e);
                if (!e)
                        return -ENOMEM;
                all->expires = e;
                all->size = size;
        }
        all->jtis[all->n] = strdup(x->jti);
        if (!all->jtis[all->n])
                return -ENOMEM;
        all->expires[all->n++] = (uint64_t) x->expires;
        return 0;
}

int sessions_revoke_uid(Sessions *s, Store *store, const char *uid, uint64_t now) {
        RevokeAll all = { .sessions = s };
        int r;

        r = store_sessions_foreach(store, STORE_SESSIONS_ACTIVE, uid, (int64_t) now, revoke_all_collect, &all);
        for (size_t i = 0; i < all.n; i++) {
                if (r >= 0)
                        r = session_revoke(s, store, all.jtis[i], all.expires[i], now);
                free(all.jtis[i]);
        }
        free(all.jtis);
        free(all.expires);
        return r < 0 ? r : (int) all.n;
}

int sessions_reload_revoked(Sessions *s, Store *store, const char *uid, uint64_t now) {
        return store_sessions_foreach(store, STORE_SESSIONS_REVOKED, uid, (int64_t) now, sessions_load_revoked, s);
}

int sessions_rotate_key(Sessions *s, uint64_t now, char *msg, size_t msg_size) {
        int r = keys_rotate(s->ring, s->key_file, now, s->keep_verify_for, msg, msg_size);

        /* What verified under the old ring is verified again under the new. */
        if (r >= 0 && s->verified) {
                idmap_free(s->verified, claims_free);
                s->verified = NULL;
                (void) idmap_new(&s->verified);
        }
        return r;
}

int sessions_publish_keys(Sessions *s, Store *store) {
        struct {
                char kid[KEYS_KID_LEN + 1];
                char public_b64[KEYS_PUBLIC_B64_LEN + 1];
                uint64_t created, not_after;
        } keys[KEYS_MAX];
        size_t n = s->ring->n_keys;
        int r;

        /* Copied first: the daemon lock is let go while the store waits,
         * and a rotation meanwhile replaces the ring's keys in place. */
        for (size_t i = 0; i < n; i++) {
                const SigningKey *k = &s->ring->keys[i];

                memcpy(keys[i].kid, k->kid, sizeof keys[i].kid);
                memcpy(keys[i].public_b64, k->public_b64, sizeof keys[i].public_b64);
                keys[i].created = k->created;
                keys[i].not_after = k->not_after;
        }
        for (size_t i = 0; i < n; i++) {
                r = store_signing_key_put(store, &(StoreSigningKey) {
                        .kid = keys[i].kid,
                        .issuer = s->issuer,
                        .public_key = keys[i].public_b64,
                        .created = (int64_t) keys[i].created,
                        .not_after = (int64_t) keys[i].not_after,
                });
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct FleetLoad {
        const Keyring *own;
        Keyring *rings[SESSIONS_FLEET_RINGS];
        size_t n;
} FleetLoad;

static int fleet_load_one(const StoreSigningKey *k, void *userdata) {
        FleetLoad *f = userdata;
        int r;

        if (keys_find(f->own, k->kid, 0) || k->created < 0 || k->not_after < 0)
                return 0;
        if (f->n == 0 || f->rings[f->n - 1]->n_keys >= KEYS_MAX) {
                if (f->n == SESSIONS_FLEET_RINGS) {
                        log_warning("more than %d signing keys in the store: the rest are not loaded",
                                    SESSIONS_FLEET_RINGS * KEYS_MAX);
                        return -E2BIG;
                }
                r = keys_ring_new_verify_only(&f->rings[f->n]);
                if (r < 0)
                        return r;
                f->n++;
        }
        r = keys_ring_add_public(f->rings[f->n - 1], k->kid, k->public_key, (uint64_t) k->created,
                                 (uint64_t) k->not_after);
        if (r == -EBADMSG)
                log_warning("signing key %s in the store: not the key its kid names, ignored", k->kid);
        return r == -EBADMSG || r == -EEXIST ? 0 : r;
}

int sessions_load_fleet_keys(Sessions *s, Store *store, uint64_t now) {
        FleetLoad f = { .own = s->ring };
        int r;

        r = store_signing_keys_foreach(store, (int64_t) now, fleet_load_one, &f);
        if (r < 0 && r != -E2BIG) {
                for (size_t i = 0; i < f.n; i++)
                        keys_free(f.rings[i]);
                return r;
        }
        for (size_t i = 0; i < s->n_fleet; i++)
                keys_free(s->fleet[i]);
        memcpy(s->fleet, f.rings, sizeof f.rings);
        s->n_fleet = f.n;
        return 0;
}

size_t sessions_jwks(const Sessions *s, uint64_t now, KeysJwk *out, size_t max) {
        KeysJwk ring[KEYS_MAX];
        size_t n = 0;

        for (size_t i = 0; i <= s->n_fleet; i++) {
                size_t k = keys_jwks(i == 0 ? s->ring : s->fleet[i - 1], now, ring);

                for (size_t j = 0; j < k && n < max; j++)
                        out[n++] = ring[j];
        }
        return n;
}

static bool claims_expired(const char *key, void *value, void *userdata) {
        return ((JwtClaims *) value)->exp <= *(uint64_t *) userdata;
}

static bool revocation_expired(const char *key, void *value, void *userdata) {
        return *(uint64_t *) value <= *(uint64_t *) userdata;
}

void sessions_prune(Sessions *s, uint64_t now) {
        /* Tokens past their expiry need not be remembered, verified or
         * revoked. */
        (void) idmap_remove_if(s->verified, claims_expired, &now, claims_free);
        (void) idmap_remove_if(s->revoked, revocation_expired, &now, free);
}
