/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "sauth-names.h"
#include "store.h"
#include "util.h"

/*
 * The store against real SQLite files in a temporary directory. Hashes
 * here are dummies: the store keeps them as opaque text.
 *
 * With SAUTH_TEST_PG_HOST set (the socket directory of a private
 * PostgreSQL, see run-pg.sh) the same cases run on the PostgreSQL driver:
 * each case's "path" is then a conninfo naming a fresh database, and the
 * raw_* helpers ask the server through libpq. Cases about the SQLite file
 * itself (its mode, WAL, the v1 fixture, query plans) are skipped there.
 */

#define NOW INT64_C(1700000000)
#define FIXTURE_HASH "$argon2id$v=19$m=65536,t=2,p=1$ZHVtbXlzYWx0ZHVtbXlzYWx0$ZHVtbXloYXNoZHVtbXloYXNoZHVtbXloYXNoZHVtbXk"
#define FIXTURE_TOKEN "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char tmpdir[PATH_MAX];
static const char *pg_host;     /* NULL: SQLite */

#define SKIP_ON_PG() do { if (pg_host) skip(); } while (0)

static PGconn *pg_raw_open(const char *conninfo) {
        PGconn *pg = PQconnectdb(conninfo);

        assert_non_null(pg);
        if (PQstatus(pg) != CONNECTION_OK)
                fail_msg("%s", PQerrorMessage(pg));
        return pg;
}

static void quiet_notice(void *arg, const char *message) {
        (void) arg;
        (void) message;
}

/* A fresh database for one case; path gets its conninfo. */
static void pg_new_db(const char *name, char path[static PATH_MAX]) {
        char admin[PATH_MAX], sql[256], db[64];
        PGconn *pg;
        PGresult *res;

        snprintf(db, sizeof db, "t_%s", name);
        for (char *p = db; *p; p++)
                if (*p == '-' || *p == '.')
                        *p = '_';
        snprintf(admin, sizeof admin, "host=%s user=sauth dbname=postgres", pg_host);
        pg = pg_raw_open(admin);
        PQsetNoticeProcessor(pg, quiet_notice, NULL);
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
        res = PQexec(pg, sql);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        res = PQexec(pg, sql);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        PQfinish(pg);
        assert_true(snprintf(path, PATH_MAX, "host=%s user=sauth dbname=%s", pg_host, db) < PATH_MAX);
}

static int t_open_at(const char *path, int target, Store **ret) {
        if (pg_host)
                return store_open_conninfo_at_version(path, target, ret);
        return store_open_at_version(path, target, ret);
}

static int t_open(const char *path, Store **ret) {
        return t_open_at(path, STORE_SCHEMA_VERSION, ret);
}

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int group_setup(void **state) {
        const char *base = getenv("BUILD_DIR");

        pg_host = getenv("SAUTH_TEST_PG_HOST");
        if (pg_host && !*pg_host)
                pg_host = NULL;
        snprintf(tmpdir, sizeof tmpdir, "%s/test-store.XXXXXX", base ? base : "/tmp");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
        return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void db_path(char path[static PATH_MAX], const char *name) {
        assert_true(snprintf(path, PATH_MAX, "%s/%s.db", tmpdir, name) < PATH_MAX);
}

static Store *open_new(const char *name, char path[static PATH_MAX]) {
        Store *s = NULL;

        if (pg_host)
                pg_new_db(name, path);
        else
                db_path(path, name);
        assert_int_equal(t_open(path, &s), 0);
        assert_non_null(s);
        return s;
}

/* A distinct 64-hex-digit dummy token hash per n. */
static const char *tok(char buf[static 65], unsigned n) {
        snprintf(buf, 65, "%064x", n);
        return buf;
}

static void do_register(Store *s, const char *username, const char *identity,
                        const char *token_hash, StoreIds *ids) {
        StoreRegistration reg = {
                .identity = identity,
                .username = username,
                .name = "Test Person",
                .picture = "",
                .token_hash = token_hash,
                .token_expires = NOW + 3600,
                .now = NOW,
        };
        assert_int_equal(store_register(s, &reg, ids), 0);
}

static StoreAccount *by_username(Store *s, const char *username) {
        StoreAccount *a = NULL;

        assert_int_equal(store_account_by_username(s, username, &a), 0);
        assert_non_null(a);
        return a;
}

static void set_pw(Store *s, const char *account_id, const char *hash, unsigned history) {
        StorePasswordChange chg = {
                .account_id = account_id, .new_hash = hash, .history = history, .now = NOW,
        };
        assert_int_equal(store_set_password(s, &chg), 0);
}

/* ---- raw SQLite access, to see what the store wrote ---- */

static sqlite3 *raw_open(const char *path) {
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        return db;
}

static int64_t pg_raw_int(const char *conninfo, const char *sql) {
        PGconn *pg = pg_raw_open(conninfo);
        PGresult *res = PQexec(pg, sql);
        int64_t v;

        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(res), 1);
        v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        PQfinish(pg);
        return v;
}

static void pg_raw_exec(const char *conninfo, const char *sql) {
        PGconn *pg = pg_raw_open(conninfo);
        PGresult *res = PQexec(pg, sql);

        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
        PQfinish(pg);
}

static int64_t raw_int(const char *path, const char *sql) {
        if (pg_host)
                return pg_raw_int(path, sql);
        sqlite3 *db = raw_open(path);
        sqlite3_stmt *stmt = NULL;
        int64_t v;

        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        v = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        sqlite3_close(db);
        return v;
}

static void raw_exec(const char *path, const char *sql) {
        if (pg_host) {
                pg_raw_exec(path, sql);
                return;
        }
        sqlite3 *db = raw_open(path);

        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

static bool raw_is_wal(const char *path) {
        sqlite3 *db = raw_open(path);
        sqlite3_stmt *stmt = NULL;
        bool wal;

        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        wal = streq((const char *) sqlite3_column_text(stmt, 0), "wal");
        sqlite3_finalize(stmt);
        sqlite3_close(db);
        return wal;
}

/* Whether sql compiles against the database: tells which schema it has. */
static bool raw_compiles(const char *path, const char *sql) {
        if (pg_host) {
                PGconn *pg = pg_raw_open(path);
                PGresult *res = PQprepare(pg, "", sql, 0, NULL);
                bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

                PQclear(res);
                PQfinish(pg);
                return ok;
        }
        sqlite3 *db = raw_open(path);
        sqlite3_stmt *stmt = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
        sqlite3_finalize(stmt);
        sqlite3_close(db);
        return rc == SQLITE_OK;
}

/* Makes a database the way version 1 of the store left it. */
static void raw_load_v1_fixture(const char *path) {
        _cleanup_free_ char *sql = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n;
        int fd;

        f = fopen(TESTS_DIR "/data/schema-v1.sql", "re");
        assert_non_null(f);
        sql = calloc(1, 65536);
        assert_non_null(sql);
        n = fread(sql, 1, 65535, f);
        assert_true(n > 0 && n < 65535);

        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        raw_exec(path, sql);
}

/* ---- opening ---- */

static void test_open_mode(void **state) {
        SKIP_ON_PG();
        _cleanup_(store_closep) Store *s = NULL;
        char path[PATH_MAX], side[PATH_MAX + 8], t[65];
        StoreIds ids = {};
        struct stat st;
        mode_t old;

        /* With no umask to help, the store alone must keep the files private. */
        old = umask(0);
        s = open_new("mode", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        umask(old);

        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        snprintf(side, sizeof side, "%s-wal", path);
        assert_int_equal(stat(side, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);
        snprintf(side, sizeof side, "%s-shm", path);
        assert_int_equal(stat(side, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);

        assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
        assert_true(raw_is_wal(path));
        assert_true(raw_compiles(path, "SELECT version, applied FROM schema_version"));
        store_ids_done(&ids);
}

static void refuse_mode(const char *name, mode_t mode) {
        char path[PATH_MAX];
        Store *s = NULL;
        int fd;

        db_path(path, name);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);

        assert_int_equal(store_open(path, &s), -EPERM);
        assert_null(s);
}

static void test_refuse_writable(void **state) {
        SKIP_ON_PG();
        refuse_mode("group-writable", 0620);
        refuse_mode("other-writable", 0602);
}

static void test_tighten_readable(void **state) {
        SKIP_ON_PG();
        _cleanup_(store_closep) Store *s = NULL;
        char path[PATH_MAX];
        struct stat st;
        int fd;

        db_path(path, "readable");
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, 0644), 0);
        close(fd);

        assert_int_equal(store_open(path, &s), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
}

/* ---- registration and lookups ---- */

static void assert_fresh_account(const StoreAccount *a, const StoreIds *ids) {
        assert_string_equal(a->id, ids->account_id);
        assert_string_equal(a->uid, ids->uid);
        assert_string_equal(a->username, "alice");
        assert_null(a->password_hash);
        assert_string_equal(a->status, SAUTH_STATUS_ACTIVE);
        assert_string_equal(a->name, "Test Person");
        assert_string_equal(a->identity, "alice@example.org");
        assert_true(a->must_change);
        assert_false(a->is_admin);
        assert_false(a->contact_confirmed);
        assert_int_equal(a->failures, 0);
        assert_int_equal(a->first_failure, 0);
        assert_int_equal(a->locked_until, 0);
        assert_int_equal(a->last_login, 0);
}

static void test_register_lookup(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        _cleanup_free_ char *purpose = NULL;
        char path[PATH_MAX], t[65];
        StoreAccount *a = NULL;
        unsigned n = 99;

        s = open_new("register", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        assert_true(strncmp(ids.uid, "x-", 2) == 0 && strlen(ids.uid) == 18);
        assert_string_not_equal(ids.uid, ids.account_id);
        assert_string_not_equal(ids.uid, ids.contact_id);
        assert_string_not_equal(ids.contact_id, ids.account_id);

        a = by_username(s, "alice");
        assert_fresh_account(a, &ids);
        store_account_free(a);
        a = NULL;
        assert_int_equal(store_account_by_uid(s, ids.uid, &a), 0);
        assert_fresh_account(a, &ids);
        store_account_free(a);
        a = NULL;
        assert_int_equal(store_account_by_identity(s, "alice@example.org", &a), 0);
        assert_fresh_account(a, &ids);
        store_account_free(a);
        a = NULL;

        assert_int_equal(store_account_by_username(s, "nobody", &a), -ENOENT);
        assert_int_equal(store_account_by_uid(s, "x-0000000000000000", &a), -ENOENT);
        assert_int_equal(store_account_by_identity(s, "nobody@example.org", &a), -ENOENT);
        assert_null(a);

        assert_int_equal(store_token_check(s, t, ids.uid, NOW, &purpose), 0);
        assert_string_equal(purpose, SAUTH_TOKEN_CONFIRM);
        assert_int_equal(store_token_count_since(s, ids.uid, SAUTH_TOKEN_CONFIRM, NOW, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(store_token_count_since(s, ids.uid, SAUTH_TOKEN_CONFIRM, NOW + 1, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(store_token_count_since(s, ids.uid, SAUTH_TOKEN_RESET, 0, &n), 0);
        assert_int_equal(n, 0);
}

/* A confirmed contact other than the identity finds its person's account;
 * an unconfirmed one does not; one that two people confirmed finds none. */
static void test_account_by_contact(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        char path[PATH_MAX], t[65], sql[256];
        StoreAccount *a = NULL;

        s = open_new("contact", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(t, 2), &bob);
        assert_int_equal(store_account_by_contact(s, "alice.work@example.com", &a), -ENOENT);

        snprintf(sql, sizeof sql, "INSERT INTO contacts (id, uid, type, info, status, created)"
                 " VALUES ('x-00000000000000a1', '%s', 'email', 'alice.work@example.com', 'unconfirmed', 1)",
                 alice.uid);
        raw_exec(path, sql);
        assert_int_equal(store_account_by_contact(s, "alice.work@example.com", &a), -ENOENT);
        raw_exec(path, "UPDATE contacts SET status = 'active' WHERE id = 'x-00000000000000a1'");
        assert_int_equal(store_account_by_contact(s, "alice.work@example.com", &a), 0);
        assert_string_equal(a->username, "alice");
        assert_string_equal(a->identity, "alice@example.org");
        assert_true(a->contact_confirmed);
        store_account_free(a);
        a = NULL;

        snprintf(sql, sizeof sql, "INSERT INTO contacts (id, uid, type, info, status, created)"
                 " VALUES ('x-00000000000000b1', '%s', 'email', 'alice.work@example.com', 'active', 1)",
                 bob.uid);
        raw_exec(path, sql);
        assert_int_equal(store_account_by_contact(s, "alice.work@example.com", &a), -ENOTUNIQ);
        assert_null(a);
}

static void assert_row_counts(const char *path, int64_t n) {
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM people"), n);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM contacts"), n);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM accounts"), n);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM tokens"), n);
}

static void test_register_duplicates(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t1[65], t2[65];
        StoreIds other = {};
        StoreAccount *a = NULL;
        StoreRegistration reg = {
                .name = "Mallory", .picture = "", .token_hash = tok(t2, 2),
                .token_expires = NOW + 3600, .now = NOW,
        };

        s = open_new("duplicates", path);
        do_register(s, "alice", "alice@example.org", tok(t1, 1), &ids);

        /* The person and contact would insert fine; the account fails, and
         * none of the earlier rows may stay behind. */
        reg.username = "alice";
        reg.identity = "other@example.org";
        assert_int_equal(store_register(s, &reg, &other), -EEXIST);
        assert_null(other.uid);
        assert_int_equal(store_account_by_identity(s, "other@example.org", &a), -ENOENT);
        assert_row_counts(path, 1);

        reg.username = "bob";
        reg.identity = "alice@example.org";
        assert_int_equal(store_register(s, &reg, &other), -EEXIST);
        assert_int_equal(store_account_by_username(s, "bob", &a), -ENOENT);
        assert_row_counts(path, 1);

        /* Even the last insert of the four failing undoes the other three. */
        reg.username = "carol";
        reg.identity = "carol@example.org";
        reg.token_hash = t1;
        assert_int_equal(store_register(s, &reg, &other), -EEXIST);
        assert_int_equal(store_account_by_username(s, "carol", &a), -ENOENT);
        assert_row_counts(path, 1);
        assert_null(a);
}

static void test_account_add(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        _cleanup_free_ char *id = NULL, *purpose = NULL;
        char path[PATH_MAX], t[65], tp[65];
        const char *pat = "x-00000000000000f1";
        StoreAccount *a = NULL;

        s = open_new("account-add", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        raw_exec(path, "INSERT INTO people (id, name, identity, picture, created)"
                       " VALUES ('x-00000000000000f1', 'Pat', 'pat@example.org', '', 1)");

        assert_int_equal(store_account_add(s, ids.uid, "alice2", tok(tp, 7), NOW + 60, NOW, &id), -EEXIST);
        assert_int_equal(store_account_add(s, "x-ffffffffffffffff", "zed", tp, NOW + 60, NOW, &id), -ENOENT);
        assert_int_equal(store_account_add(s, pat, "alice", tp, NOW + 60, NOW, &id), -EEXIST);
        assert_null(id);
        assert_int_equal(store_account_by_uid(s, pat, &a), -ENOENT);
        assert_int_equal(store_token_check(s, tp, pat, NOW, NULL), -EKEYREJECTED);

        assert_int_equal(store_account_add(s, pat, "pat", tp, NOW + 60, NOW, &id), 0);
        assert_non_null(id);
        assert_true(strncmp(id, "x-", 2) == 0);
        a = by_username(s, "pat");
        assert_string_equal(a->id, id);
        assert_string_equal(a->uid, pat);
        assert_string_equal(a->name, "Pat");
        assert_null(a->password_hash);
        assert_true(a->must_change);
        store_account_free(a);
        assert_int_equal(store_token_check(s, tp, pat, NOW, &purpose), 0);
        assert_string_equal(purpose, SAUTH_TOKEN_CONFIRM);
}

/* ---- tokens ---- */

static void test_token_check(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        _cleanup_free_ char *purpose = NULL;
        char path[PATH_MAX], ta[65], tb[65], tr[65], tx[65];
        StorePasswordChange chg = { .new_hash = "H1", .history = 5, .now = NOW };
        unsigned n = 0;

        s = open_new("tokens", path);
        do_register(s, "alice", "alice@example.org", tok(ta, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(tb, 2), &bob);

        assert_int_equal(store_token_add(s, tok(tr, 3), alice.uid, SAUTH_TOKEN_RESET, NOW + 100, NOW), 0);
        assert_int_equal(store_token_add(s, tr, bob.uid, SAUTH_TOKEN_RESET, NOW + 100, NOW), -EEXIST);
        assert_int_equal(store_token_add(s, tok(tx, 4), "x-ffffffffffffffff", SAUTH_TOKEN_RESET, NOW + 100, NOW),
                         -ENOENT);

        assert_int_equal(store_token_check(s, tr, alice.uid, NOW, &purpose), 0);
        assert_string_equal(purpose, SAUTH_TOKEN_RESET);
        assert_int_equal(store_token_check(s, tr, alice.uid, NOW + 99, NULL), 0);
        assert_int_equal(store_token_check(s, tr, bob.uid, NOW, NULL), -EKEYREJECTED);
        assert_int_equal(store_token_check(s, tr, alice.uid, NOW + 100, NULL), -EKEYREJECTED);
        assert_int_equal(store_token_check(s, tr, alice.uid, NOW + 5000, NULL), -EKEYREJECTED);
        assert_int_equal(store_token_check(s, tx, alice.uid, NOW, NULL), -EKEYREJECTED);
        assert_int_equal(store_token_check(s, tr, NULL, NOW, NULL), -EKEYREJECTED);

        chg.account_id = alice.account_id;
        chg.uid = alice.uid;
        chg.token_hash = tr;
        assert_int_equal(store_set_password(s, &chg), 0);
        assert_int_equal(store_token_check(s, tr, alice.uid, NOW, NULL), -EKEYREJECTED);

        assert_int_equal(store_token_count_since(s, alice.uid, SAUTH_TOKEN_RESET, NOW, &n), 0);
        assert_int_equal(n, 1);
}

static void test_set_password_token(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        char path[PATH_MAX], ta[65], tb[65], tr[65], to[65];
        StorePasswordChange chg = { .new_hash = "H1", .history = 5, .now = NOW + 10 };
        StoreAccount *a = NULL;

        s = open_new("set-password", path);
        do_register(s, "alice", "alice@example.org", tok(ta, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(tb, 2), &bob);
        chg.account_id = alice.account_id;

        /* Bob's valid token, presented for Alice's account. */
        chg.token_hash = tb;
        chg.uid = bob.uid;
        assert_int_equal(store_set_password(s, &chg), -EKEYREJECTED);
        chg.uid = alice.uid;
        assert_int_equal(store_set_password(s, &chg), -EKEYREJECTED);
        assert_int_equal(store_token_check(s, tb, bob.uid, NOW, NULL), 0);

        /* Alice's own token, too late. */
        chg.token_hash = ta;
        chg.now = NOW + 3600;
        assert_int_equal(store_set_password(s, &chg), -EKEYREJECTED);
        a = by_username(s, "alice");
        assert_null(a->password_hash);
        assert_true(a->must_change);
        store_account_free(a);

        chg.now = NOW + 10;
        assert_int_equal(store_set_password(s, &chg), 0);
        a = by_username(s, "alice");
        assert_string_equal(a->password_hash, "H1");
        assert_false(a->must_change);
        assert_true(a->contact_confirmed);
        store_account_free(a);
        assert_int_equal(raw_int(path, "SELECT used FROM tokens WHERE purpose = 'confirm'"
                                       " AND used IS NOT NULL"), NOW + 10);

        /* Spent: a second use changes nothing. */
        chg.new_hash = "H2";
        assert_int_equal(store_set_password(s, &chg), -EKEYREJECTED);
        a = by_username(s, "alice");
        assert_string_equal(a->password_hash, "H1");
        store_account_free(a);

        /* A reset token sets the password but confirms no contact; a token
         * of any other purpose sets nothing. */
        assert_int_equal(store_token_add(s, tok(to, 4), bob.uid, "other", NOW + 100, NOW), 0);
        chg = (StorePasswordChange) { .account_id = bob.account_id, .uid = bob.uid, .token_hash = to,
                                      .new_hash = "B1", .history = 5, .now = NOW };
        assert_int_equal(store_set_password(s, &chg), -EKEYREJECTED);
        assert_int_equal(store_token_add(s, tok(tr, 3), bob.uid, SAUTH_TOKEN_RESET, NOW + 100, NOW), 0);
        chg.token_hash = tr;
        assert_int_equal(store_set_password(s, &chg), 0);
        a = by_username(s, "bob");
        assert_string_equal(a->password_hash, "B1");
        assert_false(a->contact_confirmed);
        store_account_free(a);
}

/* A password change, by any path, ends every other unused token of the
 * person: a reset mail must not undo a later change. */
static void test_set_password_ends_other_tokens(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        char path[PATH_MAX], ta[65], tb[65], t1[65], t2[65];
        StorePasswordChange chg = { .new_hash = "H1", .history = 5, .now = NOW + 10 };

        s = open_new("other-tokens", path);
        do_register(s, "alice", "alice@example.org", tok(ta, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(tb, 2), &bob);
        assert_int_equal(store_token_add(s, tok(t1, 3), alice.uid, SAUTH_TOKEN_RESET, NOW + 100, NOW), 0);
        assert_int_equal(store_token_add(s, tok(t2, 4), alice.uid, SAUTH_TOKEN_RESET, NOW + 100, NOW), 0);

        chg.account_id = alice.account_id;
        chg.uid = alice.uid;
        chg.token_hash = t1;
        assert_int_equal(store_set_password(s, &chg), 0);
        assert_int_equal(store_token_check(s, t2, alice.uid, NOW + 10, NULL), -EKEYREJECTED);
        assert_int_equal(store_token_check(s, ta, alice.uid, NOW + 10, NULL), -EKEYREJECTED);
        /* Another person's tokens are untouched. */
        assert_int_equal(store_token_check(s, tb, bob.uid, NOW + 10, NULL), 0);

        /* The old-password path (no token) ends them too. */
        assert_int_equal(store_token_add(s, tok(t1, 5), alice.uid, SAUTH_TOKEN_RESET, NOW + 100, NOW + 20), 0);
        chg = (StorePasswordChange) { .account_id = alice.account_id, .new_hash = "H2", .history = 5, .now = NOW + 30 };
        assert_int_equal(store_set_password(s, &chg), 0);
        assert_int_equal(store_token_check(s, t1, alice.uid, NOW + 30, NULL), -EKEYREJECTED);
}

static void assert_history(Store *s, const char *account_id, unsigned max, const char *const *expect) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;

        assert_int_equal(store_password_history(s, account_id, max, &l), 0);
        assert_non_null(l);
        for (i = 0; expect[i]; i++) {
                assert_non_null(l[i]);
                assert_string_equal(l[i], expect[i]);
        }
        assert_null(l[i]);
}

static void test_history(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t[65];
        const char *hashes[] = { "H1", "H2", "H3", "H4", "H5" };

        s = open_new("history", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);

        /* All in the same second: the order must still hold. */
        for (size_t i = 0; i < ELEMENTSOF(hashes); i++)
                set_pw(s, ids.account_id, hashes[i], 3);

        assert_history(s, ids.account_id, 10, (const char *[]) { "H4", "H3", "H2", NULL });
        assert_history(s, ids.account_id, 2, (const char *[]) { "H4", "H3", NULL });
        assert_history(s, ids.account_id, 0, (const char *[]) { NULL });
        assert_history(s, "x-ffffffffffffffff", 10, (const char *[]) { NULL });
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM password_history"), 3);

        set_pw(s, ids.account_id, "H6", 1);
        assert_history(s, ids.account_id, 10, (const char *[]) { "H5", NULL });
        set_pw(s, ids.account_id, "H7", 0);
        assert_history(s, ids.account_id, 10, (const char *[]) { NULL });
}

static void test_rehash(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t[65];
        StoreAccount *a = NULL;

        s = open_new("rehash", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        set_pw(s, ids.account_id, "H1", 5);

        assert_int_equal(store_rehash(s, ids.account_id, "H0", "H1b"), -ENOENT);
        a = by_username(s, "alice");
        assert_string_equal(a->password_hash, "H1");
        store_account_free(a);

        assert_int_equal(store_rehash(s, ids.account_id, "H1", "H1b"), 0);
        a = by_username(s, "alice");
        assert_string_equal(a->password_hash, "H1b");
        store_account_free(a);
        /* Same password, new parameters: not a history entry. */
        assert_history(s, ids.account_id, 10, (const char *[]) { NULL });
        assert_int_equal(store_rehash(s, "x-ffffffffffffffff", "H1b", "H1c"), -ENOENT);
}

/* ---- lockout ---- */

static void assert_lock(Store *s, int64_t failures, int64_t first, int64_t locked) {
        StoreAccount *a = by_username(s, "alice");

        assert_int_equal(a->failures, failures);
        assert_int_equal(a->first_failure, first);
        assert_int_equal(a->locked_until, locked);
        store_account_free(a);
}

static void test_failures(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t[65];
        const char *id;
        StoreAccount *a;

        s = open_new("failures", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        id = ids.account_id;

        assert_int_equal(store_record_failure(s, id, 1000, 3, 900, 600), 1);
        assert_lock(s, 1, 1000, 0);
        assert_int_equal(store_record_failure(s, id, 1010, 3, 900, 600), 2);
        assert_lock(s, 2, 1000, 0);
        assert_int_equal(store_record_failure(s, id, 1020, 3, 900, 600), 3);
        assert_lock(s, 3, 1000, 1620);
        assert_int_equal(store_record_failure(s, id, 1030, 3, 900, 600), 4);
        assert_lock(s, 4, 1000, 1630);

        assert_int_equal(store_record_success(s, id, 1700), 0);
        assert_lock(s, 0, 0, 0);
        a = by_username(s, "alice");
        assert_int_equal(a->last_login, 1700);
        store_account_free(a);

        /* The window runs out: counting starts again. */
        assert_int_equal(store_record_failure(s, id, 2000, 3, 900, 600), 1);
        assert_int_equal(store_record_failure(s, id, 2901, 3, 900, 600), 1);
        assert_lock(s, 1, 2901, 0);

        /* A lock that has run out starts a new window, though the old one
         * would still be open. */
        assert_int_equal(store_record_success(s, id, 2950), 0);
        assert_int_equal(store_record_failure(s, id, 3000, 3, 900, 600), 1);
        assert_int_equal(store_record_failure(s, id, 3001, 3, 900, 600), 2);
        assert_int_equal(store_record_failure(s, id, 3002, 3, 900, 600), 3);
        assert_lock(s, 3, 3000, 3602);
        assert_int_equal(store_record_failure(s, id, 3602, 3, 900, 600), 1);
        assert_lock(s, 1, 3602, 0);

        /* deny = 0: counted, never locked. */
        assert_int_equal(store_record_success(s, id, 4000), 0);
        for (int i = 1; i <= 10; i++)
                assert_int_equal(store_record_failure(s, id, 5000 + i, 0, 900, 600), i);
        assert_lock(s, 10, 5001, 0);

        /* A password change clears the lock too. */
        assert_int_equal(store_record_failure(s, id, 6000, 3, 9000, 600), 11);
        assert_lock(s, 11, 5001, 6600);
        set_pw(s, id, "H1", 5);
        assert_lock(s, 0, 0, 0);

        assert_int_equal(store_record_failure(s, "x-ffffffffffffffff", 1, 3, 900, 600), -ENOENT);
        assert_int_equal(store_record_success(s, "x-ffffffffffffffff", 1), -ENOENT);
}

/* ---- administration ---- */

static void test_flags(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t[65];
        StoreAccount *a;

        s = open_new("flags", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);

        assert_int_equal(store_set_status(s, "alice", SAUTH_STATUS_DISABLED), 0);
        assert_int_equal(store_set_status(s, "alice", "bogus"), -EINVAL);
        assert_int_equal(store_set_status(s, "nobody", SAUTH_STATUS_ACTIVE), -ENOENT);
        assert_int_equal(store_set_admin(s, "alice", true), 0);
        assert_int_equal(store_set_admin(s, "nobody", true), -ENOENT);
        assert_int_equal(store_set_must_change(s, "alice", false), 0);
        assert_int_equal(store_set_must_change(s, "nobody", false), -ENOENT);
        a = by_username(s, "alice");
        assert_string_equal(a->status, SAUTH_STATUS_DISABLED);
        assert_true(a->is_admin);
        assert_false(a->must_change);
        store_account_free(a);

        assert_int_equal(store_set_status(s, "alice", SAUTH_STATUS_ACTIVE), 0);
        assert_int_equal(store_set_admin(s, "alice", false), 0);
        assert_int_equal(store_set_must_change(s, "alice", true), 0);
        a = by_username(s, "alice");
        assert_string_equal(a->status, SAUTH_STATUS_ACTIVE);
        assert_false(a->is_admin);
        assert_true(a->must_change);
        store_account_free(a);
}

static void test_reopen(void **state) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t[65];
        Store *s;
        StoreAccount *a;

        s = open_new("reopen", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        set_pw(s, ids.account_id, "H1", 5);
        set_pw(s, ids.account_id, "H2", 5);
        assert_int_equal(store_record_failure(s, ids.account_id, NOW, 5, 900, 600), 1);
        store_close(s);

        s = NULL;
        assert_int_equal(t_open(path, &s), 0);
        assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
        a = by_username(s, "alice");
        assert_string_equal(a->id, ids.account_id);
        assert_string_equal(a->password_hash, "H2");
        assert_int_equal(a->failures, 1);
        assert_int_equal(a->first_failure, NOW);
        store_account_free(a);
        assert_history(s, ids.account_id, 10, (const char *[]) { "H1", NULL });
        store_close(s);
}

/* ---- schema versions ---- */

static void test_migrate_v1_fixture(void **state) {
        SKIP_ON_PG();
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *purpose = NULL;
        char path[PATH_MAX];
        StorePasswordChange chg = {
                .account_id = "x-00000000000000b1", .uid = "x-00000000000000a1",
                .token_hash = FIXTURE_TOKEN, .new_hash = "N1", .history = 5, .now = NOW,
        };
        StoreAccount *a;

        db_path(path, "fixture-v1");
        raw_load_v1_fixture(path);
        assert_false(raw_compiles(path, "SELECT failures FROM accounts"));

        assert_int_equal(store_open(path, &s), 0);
        assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM schema_version"), STORE_SCHEMA_VERSION);

        a = by_username(s, "olga");
        assert_string_equal(a->id, "x-00000000000000b1");
        assert_string_equal(a->uid, "x-00000000000000a1");
        assert_string_equal(a->password_hash, FIXTURE_HASH);
        assert_string_equal(a->name, "Olga Oldtimer");
        assert_string_equal(a->identity, "olga@example.org");
        assert_string_equal(a->status, SAUTH_STATUS_ACTIVE);
        assert_false(a->must_change);
        assert_true(a->is_admin);
        assert_true(a->contact_confirmed);
        assert_int_equal(a->last_login, 1600000500);
        assert_int_equal(a->failures, 0);
        assert_int_equal(a->first_failure, 0);
        assert_int_equal(a->locked_until, 0);
        store_account_free(a);

        /* The old token still works, and the new tables take rows. */
        assert_int_equal(store_token_check(s, FIXTURE_TOKEN, "x-00000000000000a1", NOW, &purpose), 0);
        assert_string_equal(purpose, SAUTH_TOKEN_RESET);
        assert_int_equal(store_set_password(s, &chg), 0);
        assert_history(s, "x-00000000000000b1", 10, (const char *[]) { FIXTURE_HASH, NULL });
        assert_int_equal(store_record_failure(s, "x-00000000000000b1", NOW, 5, 900, 600), 1);
}

static void test_open_at_version(void **state) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        char path[PATH_MAX], t[65];
        Store *s = NULL;
        StoreAccount *a;

        if (pg_host)
                pg_new_db("at-version", path);
        else
                db_path(path, "at-version");
        assert_int_equal(t_open_at(path, STORE_SCHEMA_VERSION + 1, &s), -EINVAL);
        assert_int_equal(t_open_at(path, -1, &s), -EINVAL);
        assert_null(s);

        assert_int_equal(t_open_at(path, 1, &s), 0);
        assert_int_equal(store_schema_version(s), 1);
        assert_false(raw_compiles(path, "SELECT failures FROM accounts"));
        assert_false(raw_compiles(path, "SELECT hash FROM password_history"));
        do_register(s, "alice", "alice@example.org", tok(t, 1), &ids);
        store_close(s);

        s = NULL;
        assert_int_equal(t_open(path, &s), 0);
        assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
        assert_true(raw_compiles(path, "SELECT failures, first_failure, locked_until FROM accounts"));
        a = by_username(s, "alice");
        assert_string_equal(a->id, ids.account_id);
        assert_int_equal(a->failures, 0);
        assert_int_equal(a->locked_until, 0);
        store_account_free(a);
        store_close(s);

        /* Never downgraded. */
        s = NULL;
        assert_int_equal(t_open_at(path, 1, &s), 0);
        assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
        store_close(s);
}

/* ---- memberships ---- */

typedef struct Members {
        unsigned n;
        char text[16][96];
} Members;

static int seen_membership(const StoreMembership *m, void *userdata) {
        Members *seen = userdata;

        assert_true(seen->n < 16);
        snprintf(seen->text[seen->n++], sizeof seen->text[0], "%s/%s/%s/%s/%s", m->member_model,
                 m->resource, m->resource_id, m->level, m->status);
        return 0;
}

static int stop_at_first(const StoreMembership *m, void *userdata) {
        (*(unsigned *) userdata)++;
        return -E2BIG;
}

/* The query plan of sql, one detail per line. */
static void raw_plan(const char *path, const char *sql, char *out, size_t size) {
        sqlite3 *db = raw_open(path);
        sqlite3_stmt *stmt = NULL;
        char q[512];
        size_t n = 0;

        snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
        assert_int_equal(sqlite3_prepare_v2(db, q, -1, &stmt, NULL), SQLITE_OK);
        out[0] = 0;
        while (sqlite3_step(stmt) == SQLITE_ROW && n < size)
                n += (size_t) snprintf(out + n, size - n, "%s\n", (const char *) sqlite3_column_text(stmt, 3));
        sqlite3_finalize(stmt);
        sqlite3_close(db);
}

static void test_memberships(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        char path[PATH_MAX], t[65], plan[1024];
        Members seen = {};
        unsigned calls = 0;

        s = open_new("memberships", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(t, 2), &bob);
        StoreMembership m = { .uid = alice.uid, .member_model = "list_member", .resource = "list",
                              .resource_id = "42", .level = "manager", .created = NOW };
        assert_int_equal(store_membership_set(s, &m), 0);
        m.resource_id = "a-b-7";
        m.level = "invitee";
        assert_int_equal(store_membership_set(s, &m), 0);
        m.member_model = "event_member";
        m.resource = "event";
        m.resource_id = "e1";
        m.level = "member";
        assert_int_equal(store_membership_set(s, &m), 0);
        StoreMembership b = { .uid = bob.uid, .member_model = "list_member", .resource = "list",
                              .resource_id = "42", .level = "member", .created = NOW };
        assert_int_equal(store_membership_set(s, &b), 0);

        /* An upsert: the same key changes level and status, no second row. */
        StoreMembership up = { .uid = alice.uid, .member_model = "list_member", .resource = "list",
                               .resource_id = "42", .level = "member", .status = "disabled", .created = NOW + 5 };
        assert_int_equal(store_membership_set(s, &up), 0);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM memberships"), 4);
        assert_int_equal(raw_int(path, "SELECT created FROM memberships WHERE resource_id = '42'"
                                       " AND level = 'member' AND status = 'disabled'"), NOW);

        /* Every membership of a uid, ordered by model, resource, id. */
        assert_int_equal(store_memberships_foreach(s, alice.uid, NULL, NULL, NULL, seen_membership, &seen), 0);
        assert_int_equal(seen.n, 3);
        assert_string_equal(seen.text[0], "event_member/event/e1/member/active");
        assert_string_equal(seen.text[1], "list_member/list/42/member/disabled");
        assert_string_equal(seen.text[2], "list_member/list/a-b-7/invitee/active");
        seen = (Members) {};
        assert_int_equal(store_memberships_foreach(s, alice.uid, "list_member", "list", NULL,
                                                   seen_membership, &seen), 0);
        assert_int_equal(seen.n, 2);
        seen = (Members) {};
        assert_int_equal(store_memberships_foreach(s, alice.uid, "list_member", "list", "a-b-7",
                                                   seen_membership, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.text[0], "list_member/list/a-b-7/invitee/active");
        seen = (Members) {};
        assert_int_equal(store_memberships_foreach(s, alice.uid, "list_member", "event", NULL,
                                                   seen_membership, &seen), 0);
        assert_int_equal(seen.n, 0);
        /* The callback stops the walk. */
        assert_int_equal(store_memberships_foreach(s, alice.uid, NULL, NULL, NULL, stop_at_first, &calls), -E2BIG);
        assert_int_equal(calls, 1);
        assert_int_equal(store_memberships_foreach(s, alice.uid, "list_member", NULL, NULL,
                                                   seen_membership, &seen), -EINVAL);

        /* Removal, and what is not there. */
        assert_int_equal(store_membership_remove(s, alice.uid, "list_member", "list", "42"), 0);
        assert_int_equal(store_membership_remove(s, alice.uid, "list_member", "list", "42"), -ENOENT);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM memberships WHERE uid IN"
                                       " (SELECT uid FROM accounts WHERE username = 'bob')"), 1);
        m.uid = "x-ffffffffffffffff";
        assert_int_equal(store_membership_set(s, &m), -ENOENT);
        m.uid = alice.uid;
        m.level = "";
        assert_int_equal(store_membership_set(s, &m), -EINVAL);

        /* GetRoles and logins read one range of the covering index. */
        if (pg_host)
                return;
        raw_plan(path, "SELECT uid, member_model, resource, resource_id, level, status FROM memberships"
                       " WHERE uid = 'x' ORDER BY member_model, resource, resource_id", plan, sizeof plan);
        assert_non_null(strstr(plan, "USING COVERING INDEX memberships_roles"));
        assert_null(strstr(plan, "TEMP B-TREE"));
        raw_plan(path, "SELECT level, status FROM memberships WHERE uid = 'x' AND member_model = 'm'"
                       " AND resource = 'r' ORDER BY resource_id", plan, sizeof plan);
        assert_non_null(strstr(plan, "memberships_roles"));
        assert_null(strstr(plan, "TEMP B-TREE"));
}

/* apicrud's two-step registration: a person and contact without account. */
static void test_register_person_only(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        _cleanup_free_ char *id = NULL;
        char path[PATH_MAX], t[65];
        StoreAccount *a = NULL;

        s = open_new("person-only", path);
        do_register(s, "", "pat@example.org", tok(t, 9), &ids);
        assert_non_null(ids.uid);
        assert_non_null(ids.contact_id);
        assert_null(ids.account_id);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM accounts"), 0);
        assert_int_equal(store_account_by_uid(s, ids.uid, &a), -ENOENT);
        assert_int_equal(store_token_check(s, t, ids.uid, NOW, NULL), 0);

        assert_int_equal(store_account_add(s, ids.uid, "pat", NULL, 0, NOW, &id), 0);
        a = by_username(s, "pat");
        assert_string_equal(a->uid, ids.uid);
        assert_false(a->contact_confirmed);
        store_account_free(a);
        /* The token mailed at registration sets the first password. */
        StorePasswordChange chg = { .account_id = id, .new_hash = FIXTURE_HASH, .token_hash = t,
                                    .uid = ids.uid, .history = 3, .now = NOW };
        assert_int_equal(store_set_password(s, &chg), 0);
        a = by_username(s, "pat");
        assert_true(a->contact_confirmed);
        assert_false(a->must_change);
        store_account_free(a);
}

/* ---- sessions, API keys, pruning ---- */

typedef struct Seen {
        unsigned n;
        char jti[8][32];
        int64_t expires[8];
} Seen;

static int seen_session(const StoreSession *x, void *userdata) {
        Seen *seen = userdata;

        assert_true(seen->n < 8);
        snprintf(seen->jti[seen->n], sizeof seen->jti[0], "%s", x->jti);
        seen->expires[seen->n++] = x->expires;
        return 0;
}

static void test_sessions(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        char path[PATH_MAX], t[65];
        Seen seen = {};

        s = open_new("sessions", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(t, 2), &bob);
        StoreSession a1 = { .jti = "j-a1", .uid = alice.uid, .account_id = alice.account_id, .method = "local",
                            .service = "sshd", .tty = "ssh", .rhost = "192.0.2.1",
                            .issued = NOW, .expires = NOW + 100 };
        StoreSession a2 = { .jti = "j-a2", .uid = alice.uid, .account_id = alice.account_id, .method = "local",
                            .issued = NOW + 1, .expires = NOW + 200 };
        StoreSession b1 = { .jti = "j-b1", .uid = bob.uid, .account_id = bob.account_id, .method = "local",
                            .issued = NOW, .expires = NOW + 50 };
        assert_int_equal(store_session_add(s, &a1), 0);
        assert_int_equal(store_session_add(s, &a2), 0);
        assert_int_equal(store_session_add(s, &b1), 0);
        assert_int_equal(store_session_add(s, &a1), -EEXIST);

        assert_int_equal(store_sessions_foreach(s, STORE_SESSIONS_ACTIVE, alice.uid, NOW, seen_session, &seen), 0);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.jti[0], "j-a1");
        assert_string_equal(seen.jti[1], "j-a2");

        assert_int_equal(store_session_revoke(s, "j-a1", NOW + 5), 1);
        assert_int_equal(store_session_revoke(s, "j-a1", NOW + 6), 0);
        assert_int_equal(store_session_revoke(s, "j-none", NOW + 6), -ENOENT);
        seen = (Seen) {};
        assert_int_equal(store_sessions_foreach(s, STORE_SESSIONS_ACTIVE, alice.uid, NOW, seen_session, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.jti[0], "j-a2");
        seen = (Seen) {};
        assert_int_equal(store_sessions_foreach(s, STORE_SESSIONS_REVOKED, NULL, NOW, seen_session, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.jti[0], "j-a1");
        assert_int_equal(seen.expires[0], NOW + 100);
        /* Past its expiry a revoked session no longer needs remembering. */
        seen = (Seen) {};
        assert_int_equal(store_sessions_foreach(s, STORE_SESSIONS_REVOKED, NULL, NOW + 100, seen_session, &seen), 0);
        assert_int_equal(seen.n, 0);
        /* Expired sessions are not listed as active. */
        seen = (Seen) {};
        assert_int_equal(store_sessions_foreach(s, STORE_SESSIONS_ACTIVE, bob.uid, NOW + 50, seen_session, &seen), 0);
        assert_int_equal(seen.n, 0);

        /* Pruning: sessions past their expiry go, revoked or not. */
        assert_int_equal(store_prune(s, NOW + 150), 2);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM sessions"), 1);
}

static int seen_key(const StoreApiKey *k, void *userdata) {
        Seen *seen = userdata;

        assert_true(seen->n < 8);
        snprintf(seen->jti[seen->n], sizeof seen->jti[0], "%s%s", k->id, k->account_active ? "" : "!");
        seen->expires[seen->n++] = k->last_used;
        return 0;
}

static void test_apikeys(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {};
        char path[PATH_MAX], t[65];
        Seen seen = {};

        s = open_new("apikeys", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &alice);
        do_register(s, "bob", "bob@example.org", tok(t, 2), &bob);
        StoreApiKey k = { .id = "aaaaaaaa", .uid = alice.uid, .name = "ci", .scopes = "full",
                          .hash = "00ff", .created = NOW, .expires = 0 };
        assert_int_equal(store_apikey_add(s, &k, 2, NOW), 0);
        assert_int_equal(store_apikey_add(s, &k, 2, NOW), -EEXIST);
        k.id = "bbbbbbbb", k.expires = NOW + 10, k.created = NOW + 1;
        assert_int_equal(store_apikey_add(s, &k, 2, NOW), 0);
        k.id = "cccccccc";
        assert_int_equal(store_apikey_add(s, &k, 2, NOW), -EDQUOT);
        /* An expired key frees its place. */
        assert_int_equal(store_apikey_add(s, &k, 2, NOW + 10), 0);
        k = (StoreApiKey) { .id = "dddddddd", .uid = bob.uid, .name = "", .scopes = "readonly",
                            .hash = "11ee", .created = NOW };
        assert_int_equal(store_apikey_add(s, &k, 2, NOW), 0);

        assert_int_equal(store_apikeys_foreach(s, alice.uid, NOW, seen_key, &seen), 0);
        assert_int_equal(seen.n, 3);
        assert_string_equal(seen.jti[0], "aaaaaaaa");
        seen = (Seen) {};
        assert_int_equal(store_apikeys_foreach(s, NULL, NOW + 20, seen_key, &seen), 0);
        assert_int_equal(seen.n, 2);

        assert_int_equal(store_apikey_revoke(s, "aaaaaaaa", NOW), 0);
        assert_int_equal(store_apikey_revoke(s, "aaaaaaaa", NOW), -ENOENT);
        assert_int_equal(store_apikey_revoke(s, "zzzzzzzz", NOW), -ENOENT);
        assert_int_equal(store_set_status(s, "bob", SAUTH_STATUS_DISABLED), 0);

        const char *ids[] = { "dddddddd", "cccccccc" };
        int64_t used[] = { NOW + 7, NOW + 8 };
        assert_int_equal(store_apikeys_touch(s, ids, used, 2), 0);
        used[0] = NOW + 1; /* never backwards */
        assert_int_equal(store_apikeys_touch(s, ids, used, 1), 0);
        seen = (Seen) {};
        assert_int_equal(store_apikeys_foreach(s, NULL, NOW, seen_key, &seen), 0);
        assert_int_equal(seen.n, 3);
        assert_string_equal(seen.jti[0], "dddddddd!");
        assert_int_equal(seen.expires[0], NOW + 7);
        assert_string_equal(seen.jti[2], "cccccccc");
        assert_int_equal(seen.expires[2], NOW + 8);

        /* The revoked key and the two expired ones go. */
        assert_int_equal(store_prune(s, NOW + 10), 3);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM api_keys"), 1);
}

static void test_prune_tokens(void **state) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_ids_done) StoreIds alice = {}, bob = {}, carol = {}, bob2 = {};
        char path[PATH_MAX], t[65];

        s = open_new("prune", path);
        do_register(s, "alice", "alice@example.org", tok(t, 1), &alice);     /* expires NOW + 3600 */
        assert_int_equal(store_set_password(s, &(StorePasswordChange) {
                .account_id = alice.account_id, .new_hash = "H", .token_hash = tok(t, 1), .uid = alice.uid,
                .history = 1, .now = NOW,
        }), 0);
        assert_int_equal(store_token_add(s, tok(t, 2), alice.uid, SAUTH_TOKEN_RESET, NOW + 600, NOW), 0);
        do_register(s, "bob", "bob@example.org", tok(t, 3), &bob);
        do_register(s, "carol", "carol@example.org", tok(t, 4), &carol);
        set_pw(s, carol.account_id, "H", 1);    /* an admin set it: carol stays */
        /* Expired, but it still counts for the hourly limit; bob's
         * registration is still open. */
        assert_int_equal(store_prune(s, NOW + 700), 0);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM tokens"), 4);
        /* bob never confirmed: his person, contact, account and token go;
         * alice's spent and expired tokens go, and carol's confirmation
         * token, ended when her password was set. */
        assert_int_equal(store_prune(s, NOW + 3601), 1 + 3);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM people"), 2);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM accounts WHERE username = 'bob'"), 0);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM contacts WHERE info = 'bob@example.org'"), 0);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM tokens"), 0);
        /* The name and the identity are free again. */
        do_register(s, "bob", "bob@example.org", tok(t, 5), &bob2);
}

static char *raw_table_shape(const char *path, const char *table) {
        sqlite3 *db = raw_open(path);
        sqlite3_stmt *stmt = NULL;
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        assert_non_null(f);
        assert_int_equal(sqlite3_prepare_v2(db,
                "SELECT name, type, \"notnull\", COALESCE(dflt_value, '-'), pk FROM pragma_table_info(?)"
                " UNION ALL SELECT name, 'index', \"unique\", origin, partial FROM pragma_index_list(?)"
                " ORDER BY 1", -1, &stmt, NULL), SQLITE_OK);
        sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, table, -1, SQLITE_STATIC);
        while (sqlite3_step(stmt) == SQLITE_ROW)
                for (int i = 0; i < 5; i++)
                        fprintf(f, "%s%c", (const char *) sqlite3_column_text(stmt, i), i == 4 ? '\n' : ' ');
        sqlite3_finalize(stmt);
        sqlite3_close(db);
        fclose(f);
        return out;
}

/* The fixture must be what version 1 really made, or the upgrade test
 * proves nothing. */
static void test_fixture_is_v1(void **state) {
        SKIP_ON_PG();
        const char *tables[] = { "schema_version", "people", "contacts", "accounts", "tokens" };
        char made[PATH_MAX], fixture[PATH_MAX];
        Store *s = NULL;

        db_path(made, "made-v1");
        assert_int_equal(store_open_at_version(made, 1, &s), 0);
        store_close(s);
        db_path(fixture, "fixture-shape");
        raw_load_v1_fixture(fixture);

        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                _cleanup_free_ char *a = raw_table_shape(made, tables[i]);
                _cleanup_free_ char *b = raw_table_shape(fixture, tables[i]);

                assert_true(strlen(a) > 0);
                assert_string_equal(a, b);
        }
        assert_int_equal(raw_int(made, "SELECT COUNT(*) FROM sqlite_master"),
                         raw_int(fixture, "SELECT COUNT(*) FROM sqlite_master"));
}

static void test_too_new(void **state) {
        char path[PATH_MAX];
        Store *s;

        s = open_new("too-new", path);
        store_close(s);
        raw_exec(path, "INSERT INTO schema_version (version, applied) VALUES (99, 0)");
        s = NULL;
        assert_int_equal(t_open(path, &s), -EIO);
        assert_null(s);
}

/* ---- the mail outbox ---- */

typedef struct MailSeen {
        unsigned n;
        char ids[8][32];
        int64_t attempts[8], next_attempt[8];
        char last_error[8][64];
} MailSeen;

static int mail_seen(const StoreMail *m, void *userdata) {
        MailSeen *seen = userdata;

        assert_true(seen->n < 8);
        snprintf(seen->ids[seen->n], sizeof seen->ids[0], "%s", m->id);
        snprintf(seen->last_error[seen->n], sizeof seen->last_error[0], "%s", m->last_error);
        seen->attempts[seen->n] = m->attempts;
        seen->next_attempt[seen->n] = m->next_attempt;
        seen->n++;
        return 0;
}

static StoreMail test_mail(const char *id, int64_t created, int64_t expires) {
        return (StoreMail) {
                .id = id, .template_name = "password_reset", .recipient = "alice@example.org",
                .body = "c2VhbGVk", .created = created, .expires = expires,
        };
}

/* A token and its message are one unit: both written, or neither. */
static void test_outbox_with_tokens(void **state) {
        char path[PATH_MAX], t1[65], t2[65];
        _cleanup_(store_closep) Store *s = open_new("outbox-tokens.db", path);
        _cleanup_(store_ids_done) StoreIds alice = {}, dup = {};
        StoreMail m1 = test_mail("x-0000000000000001", NOW, NOW + 600), m2 = test_mail("x-0000000000000002", NOW, NOW + 600);
        StoreRegistration reg = {
                .uid = "x-00000000000000aa", .identity = "alice@example.org", .username = "alice",
                .name = "Alice", .picture = "", .token_hash = tok(t1, 1), .token_expires = NOW + 600,
                .now = NOW, .mail = &m1,
        };
        MailSeen seen = {};

        assert_int_equal(store_register(s, &reg, &alice), 0);
        assert_string_equal(alice.uid, "x-00000000000000aa");
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM outbox"), 1);

        /* A registration that fails takes its message with it. */
        reg.uid = NULL;
        m1.id = "x-0000000000000003";
        reg.token_hash = tok(t2, 2);
        assert_int_equal(store_register(s, &reg, &dup), -EEXIST);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM outbox"), 1);

        /* A token that fails (its hash is taken) takes its message too. */
        assert_int_equal(store_token_add_mail(s, t1, alice.uid, SAUTH_TOKEN_RESET, NOW + 600, NOW, &m2), -EEXIST);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM outbox"), 1);
        assert_int_equal(store_token_add_mail(s, tok(t2, 3), alice.uid, SAUTH_TOKEN_RESET, NOW + 600, NOW, &m2), 0);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM outbox"), 2);
        /* And a message that cannot be written takes its token. */
        m2 = test_mail("x-0000000000000002", NOW, NOW + 600);
        assert_int_equal(store_token_add_mail(s, tok(t2, 4), alice.uid, SAUTH_TOKEN_RESET, NOW + 600, NOW, &m2), -EEXIST);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM tokens"), 2);

        /* The password change and its notice. */
        m2 = test_mail("x-0000000000000005", NOW, NOW + 86400);
        assert_int_equal(store_set_password(s, &(StorePasswordChange) {
                .account_id = alice.account_id, .new_hash = FIXTURE_HASH, .history = 5, .now = NOW, .mail = &m2,
        }), 0);
        assert_int_equal(store_mail_foreach(s, INT64_MAX, 100, mail_seen, &seen), 0);
        assert_int_equal(seen.n, 3);
}

static void test_outbox_retry_and_delete(void **state) {
        char path[PATH_MAX];
        _cleanup_(store_closep) Store *s = open_new("outbox-retry.db", path);
        StoreMail a = test_mail("x-000000000000000a", NOW, NOW + 100), b = test_mail("x-000000000000000b", NOW + 1, NOW + 100);
        MailSeen seen = {};
        int64_t next = 0;

        assert_int_equal(store_mail_add(s, &a), 0);
        assert_int_equal(store_mail_add(s, &b), 0);
        assert_int_equal(store_mail_add(s, &a), -EEXIST);
        b.body = "";
        assert_int_equal(store_mail_add(s, &b), -EINVAL);

        /* Due at their creation, oldest first; the limit holds. */
        assert_int_equal(store_mail_foreach(s, NOW - 1, 10, mail_seen, &seen), 0);
        assert_int_equal(seen.n, 0);
        assert_int_equal(store_mail_foreach(s, NOW + 1, 1, mail_seen, &seen), 0);
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.ids[0], "x-000000000000000a");
        assert_int_equal(store_mail_next(s, NOW + 1, &next), -ENOENT);

        /* A failure: attempts + 1, the reason, the next attempt — never
         * later than the expiry. */
        assert_int_equal(store_mail_retry(s, "x-000000000000000a", NOW + 30, "sender exited with status 1"), 0);
        assert_int_equal(store_mail_retry(s, "x-000000000000000b", NOW + 1000, "smtp: down"), 0);
        assert_int_equal(store_mail_retry(s, "x-00000000000000ff", NOW + 30, "x"), -ENOENT);
        seen = (MailSeen) {};
        assert_int_equal(store_mail_foreach(s, INT64_MAX, 10, mail_seen, &seen), 0);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.ids[0], "x-000000000000000a");
        assert_int_equal(seen.attempts[0], 1);
        assert_int_equal(seen.next_attempt[0], NOW + 30);
        assert_string_equal(seen.last_error[0], "sender exited with status 1");
        assert_int_equal(seen.next_attempt[1], NOW + 100);
        assert_int_equal(store_mail_next(s, NOW, &next), 0);
        assert_int_equal(next, NOW + 30);
        assert_int_equal(store_mail_next(s, NOW + 30, &next), 0);
        assert_int_equal(next, NOW + 100);

        assert_int_equal(store_mail_delete(s, "x-000000000000000a"), 0);
        assert_int_equal(store_mail_delete(s, "x-000000000000000a"), -ENOENT);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM outbox"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_mode),
                cmocka_unit_test(test_refuse_writable),
                cmocka_unit_test(test_tighten_readable),
                cmocka_unit_test(test_register_lookup),
                cmocka_unit_test(test_account_by_contact),
                cmocka_unit_test(test_register_duplicates),
                cmocka_unit_test(test_account_add),
                cmocka_unit_test(test_token_check),
                cmocka_unit_test(test_set_password_token),
                cmocka_unit_test(test_set_password_ends_other_tokens),
                cmocka_unit_test(test_history),
                cmocka_unit_test(test_rehash),
                cmocka_unit_test(test_failures),
                cmocka_unit_test(test_flags),
                cmocka_unit_test(test_reopen),
                cmocka_unit_test(test_migrate_v1_fixture),
                cmocka_unit_test(test_open_at_version),
                cmocka_unit_test(test_fixture_is_v1),
                cmocka_unit_test(test_too_new),
                cmocka_unit_test(test_sessions),
                cmocka_unit_test(test_apikeys),
                cmocka_unit_test(test_prune_tokens),
                cmocka_unit_test(test_memberships),
                cmocka_unit_test(test_register_person_only),
                cmocka_unit_test(test_outbox_with_tokens),
                cmocka_unit_test(test_outbox_retry_and_delete),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
