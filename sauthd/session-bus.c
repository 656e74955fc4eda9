/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session area on the bus: VerifyToken, Logout, AuthParams,
 * ListSessions, RevokeSession and RotateKey. Holding a valid token is what
 * lets a caller ask about it or end it; the listing and ending by id go
 * by the authorization table (admin, or the account's own user).
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "manager.h"
#include "session-bus.h"
#include "session.h"

/* Maps session_verify*()'s refusals to the bus errors. */
static int session_bus_refusal(int r, sd_bus_error *error) {
        if (r == -ETIME)
                return bus_error(error, SAUTH_E_EXPIRED_TOKEN, "The session token has expired.");
        if (r == -ECANCELED)
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "The session has ended.");
        return bus_error(error, SAUTH_E_INVALID_TOKEN, "Not a valid session token.");
}

/* Reads the token argument and verifies it; on success *ret is filled. */
static int session_bus_verify(sd_bus_message *msg, Manager *m, JwtClaims *ret, sd_bus_error *error) {
        const char *token;
        int r;

        r = sd_bus_message_read(msg, "s", &token);
        if (r < 0)
                return r;
        r = session_verify(m->sessions, token, (uint64_t) time(NULL), ret);
        return r < 0 ? session_bus_refusal(r, error) : 0;
}

/* The busiest call of a web back end: the remembered claims are read in
 * place, not copied (a dozen allocations per call). */
static int method_verify_token(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(jwt_claims_done) JwtClaims scratch = {};
        const JwtClaims *c;
        const char *token;
        int r;

        r = sd_bus_message_read(msg, "s", &token);
        if (r < 0)
                return r;
        r = session_verify_peek(m->sessions, token, (uint64_t) time(NULL), &scratch, &c);
        if (r < 0)
                return session_bus_refusal(r, error);
        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_s(reply, "uid", c->sub);
        if (r >= 0)
                r = bus_append_s(reply, "account_id", c->acc);
        if (r >= 0)
                r = bus_append_strv(reply, "roles", c->auth);
        if (r >= 0)
                r = bus_append_t(reply, "expires", c->exp);
        if (r >= 0)
                r = bus_append_s(reply, "method", c->method);
        if (r >= 0)
                r = bus_append_t(reply, "issued", c->iat);
        if (r >= 0)
                r = bus_append_s(reply, "jti", c->jti);
        if (r >= 0 && c->identity)
                r = bus_append_s(reply, "identity", c->identity);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

static void session_audit(AuditEvent event, AuditResult result, const Caller *caller, const char *reason) {
        audit_log(&(AuditRecord) {
                .event = event, .result = result, .caller_uid = caller->uid, .reason = reason,
        });
}

static int method_logout(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(jwt_claims_done) JwtClaims c = {};
        const char *token;
        int r;

        r = sd_bus_message_read(msg, "s", &token);
        if (r < 0)
                return r;
        /* Ending a session that ended already, or ran out, is done. */
        r = session_verify(m->sessions, token, (uint64_t) time(NULL), &c);
        if (r == -ECANCELED || r == -ETIME)
                return sd_bus_reply_method_return(msg, NULL);
        if (r < 0)
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "Not a valid session token.");
        r = session_revoke(m->sessions, m->store, c.jti, c.exp, (uint64_t) time(NULL));
        if (r < 0) {
                log_error("session not ended: %s", strerror(-r));
                return bus_error(error, SAUTH_E_INTERNAL, "The session could not be ended.");
        }
        /* Whose session ended: the record names the account, as the
         * login's did. */
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        (void) store_account_by_uid(m->store, c.sub, &a);
        audit_log(&(AuditRecord) {
                .event = AUDIT_LOGOUT, .result = AUDIT_OK, .caller_uid = caller->uid, .method = c.method,
                .user = a ? a->username : NULL,
        });
        return sd_bus_reply_method_return(msg, NULL);
}

/* The keys that verify, as a JWKS document, for a stock JWT library. */
static char *session_jwks_json(const KeysJwk *keys, size_t n) {
        json_t *doc = json_object(), *list = json_array();
        char *text = NULL;

        if (!doc || !list)
                goto out;
        for (size_t i = 0; i < n; i++) {
                json_t *k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519",
                                      "alg", "EdDSA", "use", "sig", "kid", keys[i].kid, "x", keys[i].x);
                if (!k || json_array_append_new(list, k) < 0)
                        goto out;
        }
        if (json_object_set(doc, "keys", list) < 0)
                goto out;
        text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
        json_decref(list);
        json_decref(doc);
        return text;
}

static int method_auth_params(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(jwt_claims_done) JwtClaims c = {};
        _cleanup_free_ char *jwks = NULL;
        KeysJwk keys[KEYS_MAX * (SESSIONS_FLEET_RINGS + 1)];
        size_t n;
        int r;

        r = session_bus_verify(msg, m, &c, error);
        if (r < 0)
                return r;
        /* This host's keys, then those of the hosts sharing its store. */
        n = sessions_jwks(m->sessions, (uint64_t) time(NULL), keys, ELEMENTSOF(keys));
        jwks = session_jwks_json(keys, n);
        if (!jwks)
                return -ENOMEM;

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_pairs(reply, "resources", m->config->resources, m->config->n_resources);
        if (r >= 0)
                r = bus_append_s(reply, "settings_id", m->config->settings_id);
        if (r >= 0)
                r = bus_append_s(reply, "account_id", c.acc);
        if (r >= 0)
                r = bus_append_s(reply, "uid", c.sub);
        if (r >= 0)
                r = bus_append_s(reply, "issuer", m->config->issuer);
        if (r >= 0)
                r = bus_append_s(reply, "public_key", keys_current_public_b64(m->sessions->ring));
        if (r >= 0)
                r = bus_append_s(reply, "jwks", jwks);
        if (r >= 0)
                r = bus_list_open(reply, "keys", "a{ss}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "a{ss}", 4, "kty", "OKP", "crv", "Ed25519",
                                          "kid", keys[i].kid, "x", keys[i].x);
        if (r >= 0)
                r = bus_list_close(reply);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

static int session_list_one(const StoreSession *x, void *userdata) {
        sd_bus_message *reply = userdata;

        return sd_bus_message_append(reply, "a{sv}", 7,
                                     "jti", "s", x->jti,
                                     "method", "s", x->method,
                                     "service", "s", x->service,
                                     "tty", "s", x->tty,
                                     "rhost", "s", x->rhost,
                                     "issued", "t", (uint64_t) x->issued,
                                     "expires", "t", (uint64_t) x->expires);
}

static int method_list_sessions(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *uid;
        int r;

        r = sd_bus_message_read(msg, "s", &uid);
        if (r < 0)
                return r;
        if (!arg_ok(uid, SAUTH_NAME_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid uid.");

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_list_open(reply, "sessions", "a{sv}");
        if (r >= 0) {
                r = store_sessions_foreach(m->store, STORE_SESSIONS_ACTIVE, uid, time(NULL),
                                           session_list_one, reply);
                if (r < 0 && r != -ENOMEM && r != -EINVAL)
                        return bus_error_errno(error, r, "sessions");
        }
        if (r >= 0)
                r = bus_list_close(reply);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

typedef struct SessionFind {
        const char *jti;
        int64_t expires;
} SessionFind;

static int session_find_one(const StoreSession *x, void *userdata) {
        SessionFind *f = userdata;

        if (streq(x->jti, f->jti))
                f->expires = x->expires;
        return 0;
}

static int method_revoke_session(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        const char *uid, *jti;
        SessionFind f = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &uid, &jti);
        if (r < 0)
                return r;
        if (!arg_ok(uid, SAUTH_NAME_MAX, true) || !arg_ok(jti, SAUTH_NAME_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "A uid and a session id are required.");

        /* Only a session of that person: the table let the caller speak
         * for uid, not for anyone's sessions. */
        f.jti = jti;
        r = store_sessions_foreach(m->store, STORE_SESSIONS_ACTIVE, uid, time(NULL), session_find_one, &f);
        if (r < 0)
                return bus_error_errno(error, r, "sessions");
        if (f.expires == 0)
                return bus_error(error, SAUTH_E_NOT_FOUND, "No such session.");
        r = session_revoke(m->sessions, m->store, jti, (uint64_t) f.expires, (uint64_t) time(NULL));
        if (r < 0)
                return bus_error_errno(error, r, "session");
        session_audit(AUDIT_SESSION_REVOKE, AUDIT_OK, caller, NULL);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_rotate_key(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char text[512] = "", kid[KEYS_KID_LEN + 1], public_key[KEYS_PUBLIC_B64_LEN + 1];
        int r;

        r = sessions_rotate_key(m->sessions, (uint64_t) time(NULL), text, sizeof text);
        if (r == -E2BIG)
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED,
                                 "Too many keys still verify; rotate again once older ones have retired.");
        if (r < 0) {
                log_error("key rotation failed: %s", text[0] ? text : strerror(-r));
                session_audit(AUDIT_KEY_ROTATE, AUDIT_ERROR, caller, "write");
                return bus_error(error, SAUTH_E_INTERNAL, "The new key could not be stored.");
        }
        /* The new key, copied: the daemon lock is let go while the store
         * waits below, and another rotation meanwhile replaces the ring. */
        snprintf(kid, sizeof kid, "%s", keys_current(m->sessions->ring)->kid);
        snprintf(public_key, sizeof public_key, "%s", keys_current_public_b64(m->sessions->ring));
        /* The other hosts sharing the store learn the new key from it; the
         * ring file holds it already, and the next start publishes it if
         * this fails. */
        if (store_is_remote(m->store) && sessions_publish_keys(m->sessions, m->store) < 0)
                log_warning("key rotation: the new public key is not in the store yet");
        session_audit(AUDIT_KEY_ROTATE, AUDIT_OK, caller, NULL);
        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_s(reply, "kid", kid);
        if (r >= 0)
                r = bus_append_s(reply, "public_key", public_key);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

const BusMethod session_bus_methods[] = {
        BUS_METHOD_FROM_MEMORY("VerifyToken", BUS_ARGS("s", token), BUS_RESULT("a{sv}", result),
                   method_verify_token, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD("Logout", BUS_ARGS("s", token), BUS_NO_RESULT,
                   method_logout, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_FROM_MEMORY("AuthParams", BUS_ARGS("s", token), BUS_RESULT("a{sv}", result),
                   method_auth_params, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD("ListSessions", BUS_ARGS("s", uid), BUS_RESULT("a{sv}", result),
                   method_list_sessions, BUS_SELF_UID, 0),
        BUS_METHOD("RevokeSession", BUS_ARGS("s", uid, "s", jti), BUS_NO_RESULT,
                   method_revoke_session, BUS_SELF_UID, 0),
        BUS_METHOD("RotateKey", BUS_NO_ARGS, BUS_RESULT("a{sv}", result),
                   method_rotate_key, BUS_ADMIN, 0),
        BUS_METHOD_END,
};
