/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The in-memory halves of session tokens and API keys: the id map under
 * churn, the revoked set and its pruning, sessions against a real store
 * and key ring, API keys' access rules (wrong secret after a success,
 * expiry, disabled owner, scopes) and the batched last_used.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sodium.h>

#include "apikeys.h"
#include "idmap.h"
#include "session.h"
#include "store.h"

#define NOW INT64_C(1700000000)

static char tmpdir[PATH_MAX];

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int group_setup(void **state) {
        const char *base = getenv("BUILD_DIR");

        if (sodium_init() < 0)
                return -1;
        snprintf(tmpdir, sizeof tmpdir, "%s/test-sessions.XXXXXX", base ? base : "/tmp");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
        return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_of(char path[static PATH_MAX], const char *name) {
        assert_true(snprintf(path, PATH_MAX, "%s/%s", tmpdir, name) < PATH_MAX);
}

/* ---- the id map ---- */

static bool odd_value(const char *key, void *value, void *userdata) {
        return *(int *) value % 2 == 1;
}

static void test_idmap_churn(void **state) {
        IdMap *m = NULL;
        char key[32];
        static int values[4000];

        assert_int_equal(idmap_new(&m), 0);
        for (int i = 0; i < 4000; i++) {
                snprintf(key, sizeof key, "k%d", i);
                values[i] = i;
                assert_int_equal(idmap_put(m, key, &values[i]), 0);
        }
        assert_int_equal(idmap_put(m, "k7", &values[0]), -EEXIST);
        assert_int_equal(idmap_size(m), 4000);
        /* Remove every third key; the rest must all still be found (the
         * backward shift keeps probe chains whole). */
        for (int i = 0; i < 4000; i += 3) {
                snprintf(key, sizeof key, "k%d", i);
                assert_ptr_equal(idmap_remove(m, key), &values[i]);
        }
        for (int i = 0; i < 4000; i++) {
                snprintf(key, sizeof key, "k%d", i);
                if (i % 3 == 0)
                        assert_null(idmap_get(m, key));
                else
                        assert_ptr_equal(idmap_get(m, key), &values[i]);
        }
        assert_null(idmap_remove(m, "k0"));
        /* A walk sees each remaining key once. */
        size_t cursor = 0, n = 0;
        const char *k;
        void *v;
        while (idmap_next(m, &cursor, &k, &v)) {
                assert_int_equal(*(int *) v, atoi(k + 1));
                n++;
        }
        assert_int_equal(n, idmap_size(m));
        assert_int_equal(n, 4000 - 1334);
        /* Removing by a predicate leaves exactly the others findable. */
        assert_int_equal(idmap_remove_if(m, odd_value, NULL, NULL), 1333);
        for (int i = 0; i < 4000; i++) {
                snprintf(key, sizeof key, "k%d", i);
                if (i % 3 == 0 || i % 2 == 1)
                        assert_null(idmap_get(m, key));
                else
                        assert_ptr_equal(idmap_get(m, key), &values[i]);
        }
        assert_int_equal(idmap_size(m), 4000 - 1334 - 1333);
        char longkey[IDMAP_KEY_MAX + 2];
        memset(longkey, 'a', sizeof longkey - 1);
        longkey[sizeof longkey - 1] = 0;
        assert_int_equal(idmap_put(m, longkey, NULL), -EINVAL);
        idmap_free(m, NULL);
}

/* ---- sessions ---- */

static void register_alice(Store *s, StoreIds *ids) {
        char t[65];

        snprintf(t, sizeof t, "%064x", 1);
        assert_int_equal(store_register(s, &(StoreRegistration) {
                .identity = "alice@example.org", .username = "alice", .name = "Alice", .picture = "",
                .token_hash = t, .token_expires = NOW + 3600, .now = NOW,
        }, ids), 0);
}

static void test_sessions(void **state) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        _cleanup_free_ char *tok1 = NULL, *tok2 = NULL, *jti1 = NULL;
        char db[PATH_MAX], keyfile[PATH_MAX], msg[256];
        Sessions *ss = NULL;
        StoreAccount *a = NULL;
        Store *s = NULL;
        JwtClaims c = {};
        char *roles[] = { "user", "person", NULL };
        uint64_t exp = 0;

        path_of(db, "sessions.db");
        path_of(keyfile, "jwt.key");
        assert_int_equal(store_open(db, &s), 0);
        register_alice(s, &ids);
        assert_int_equal(store_account_by_username(s, "alice", &a), 0);
        assert_int_equal(sessions_new(keyfile, "test.example", 900, s, NOW, &ss, msg, sizeof msg), 0);

        SessionGrant g = { .account = a, .roles = roles, .method = "local", .lifetime = 100, .service = "login" };
        assert_int_equal(session_issue(ss, s, &g, NOW, &tok1, &exp, &jti1), 0);
        assert_int_equal(exp, NOW + 100);
        assert_int_equal(session_issue(ss, s, &g, NOW, &tok2, NULL, NULL), 0);
        assert_int_equal(session_verify(ss, tok1, NOW + 1, &c), 0);
        assert_string_equal(c.sub, ids.uid);
        assert_string_equal(c.jti, jti1);
        assert_string_equal(c.auth[1], "person");
        jwt_claims_done(&c);
        assert_int_equal(session_verify(ss, tok1, NOW + 100, &c), -ETIME);

        assert_int_equal(session_revoke(ss, s, jti1, exp, NOW + 2), 0);
        assert_int_equal(session_verify(ss, tok1, NOW + 3, &c), -ECANCELED);
        assert_int_equal(session_verify(ss, tok2, NOW + 3, &c), 0);
        jwt_claims_done(&c);

        /* A restart: the revocation is read back from the store. */
        sessions_free(ss);
        ss = NULL;
        assert_int_equal(sessions_new(keyfile, "test.example", 900, s, NOW + 4, &ss, msg, sizeof msg), 0);
        assert_int_equal(session_verify(ss, tok1, NOW + 5, &c), -ECANCELED);
        assert_int_equal(sessions_revoke_uid(ss, s, ids.uid, NOW + 5), 1);
        assert_int_equal(session_verify(ss, tok2, NOW + 6, &c), -ECANCELED);

        /* Pruned once the tokens would have expired anyway. */
        assert_int_equal(idmap_size(ss->revoked), 2);
        sessions_prune(ss, NOW + 99);
        assert_int_equal(idmap_size(ss->revoked), 2);
        sessions_prune(ss, NOW + 100);
        assert_int_equal(idmap_size(ss->revoked), 0);

        /* Another issuer's daemon does not accept our tokens. */
        Sessions *other = NULL;
        assert_int_equal(sessions_new(keyfile, "other.example", 900, s, NOW, &other, msg, sizeof msg), 0);
        assert_int_not_equal(session_verify(other, tok2, NOW + 1, &c), 0);
        sessions_free(other);

        sessions_free(ss);
        store_account_free(a);
        store_close(s);
}

/* ---- API keys ---- */

static void test_apikeys(void **state) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        _cleanup_free_ char *id = NULL;
        char db[PATH_MAX], pepper[PATH_MAX], msg[256];
        char *full = NULL;
        char *full_scopes[] = { "full", NULL }, *readonly[] = { "readonly", NULL }, *bad[] = { "root", NULL };
        const ApiKeyEntry *e = NULL;
        ApiKeys *k = NULL;
        Store *s = NULL;

        path_of(db, "apikeys.db");
        path_of(pepper, "apikey.key");
        assert_int_equal(store_open(db, &s), 0);
        register_alice(s, &ids);
        assert_int_equal(apikeys_new(pepper, "full readonly", 2, s, NOW, &k, msg, sizeof msg), 0);

        assert_int_equal(apikeys_create(k, s, ids.uid, "x", bad, 0, NOW, true, &id, &full), -EINVAL);
        assert_int_equal(apikeys_create(k, s, ids.uid, "x", full_scopes, NOW, NOW, true, &id, &full), -EINVAL);
        assert_int_equal(apikeys_create(k, s, ids.uid, "ci", full_scopes, NOW + 50, NOW, true, &id, &full), 0);
        assert_int_equal(strlen(full), APIKEY_LEN);
        assert_memory_equal(full, id, APIKEY_ID_LEN);

        assert_int_equal(apikeys_access(k, full, NULL, NOW, &e), API_ACCESS_OK);
        assert_string_equal(e->uid, ids.uid);
        assert_int_equal(apikeys_access(k, full, full_scopes, NOW, &e), API_ACCESS_OK);
        assert_int_equal(apikeys_access(k, full, readonly, NOW, &e), API_ACCESS_SCOPE);
        /* A wrong secret, right after a success of the same id. */
        char wrong[APIKEY_LEN + 1];
        memcpy(wrong, full, sizeof wrong);
        wrong[APIKEY_LEN - 1] = wrong[APIKEY_LEN - 1] == 'a' ? 'b' : 'a';
        assert_int_equal(apikeys_access(k, wrong, NULL, NOW, &e), API_ACCESS_REFUSED);
        assert_int_equal(apikeys_access(k, "", NULL, NOW, &e), API_ACCESS_REFUSED);
        /* Disabled owner, expiry. */
        apikeys_set_account_active(k, ids.uid, false);
        assert_int_equal(apikeys_access(k, full, NULL, NOW, &e), API_ACCESS_REFUSED);
        apikeys_set_account_active(k, ids.uid, true);
        assert_int_equal(apikeys_access(k, full, NULL, NOW + 49, &e), API_ACCESS_OK);
        assert_int_equal(apikeys_access(k, full, NULL, NOW + 50, &e), API_ACCESS_REFUSED);

        /* last_used: noted in memory, written by a flush. */
        assert_int_equal(apikeys_flush(k, s), 1);
        assert_int_equal(apikeys_flush(k, s), 0);

        /* A restart reads the key back, with its last use. */
        apikeys_free(k);
        k = NULL;
        assert_int_equal(apikeys_new(pepper, "full readonly", 2, s, NOW, &k, msg, sizeof msg), 0);
        e = idmap_get(k->keys, id);
        assert_non_null(e);
        assert_int_equal(e->last_used, NOW + 49);
        assert_int_equal(apikeys_access(k, full, NULL, NOW + 1, &e), API_ACCESS_OK);
        assert_int_equal(apikeys_revoke(k, s, id, NOW + 2), 0);
        assert_int_equal(apikeys_revoke(k, s, id, NOW + 2), -ENOENT);
        assert_int_equal(apikeys_access(k, full, NULL, NOW + 3, &e), API_ACCESS_REFUSED);

        sodium_memzero(full, strlen(full));
        free(full);
        apikeys_free(k);
        store_close(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_idmap_churn),
                cmocka_unit_test(test_sessions),
                cmocka_unit_test(test_apikeys),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
