/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
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

#include "driver.h"
#include "store.h"
#include "util.h"

/*
 * The store's driver seam, used directly as store.c uses it, against real
 * SQLite files in a temporary directory; and the rule that keeps the seam
 * honest: no file but sauthd/store/sqlite.c includes sqlite3.h, and no
 * domain file of the store names anything of SQLite's.
 */

static const StoreDriver *const drv = &store_driver_sqlite;
static char tmpdir[PATH_MAX];

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int group_setup(void **state) {
        const char *base = getenv("BUILD_DIR");

        snprintf(tmpdir, sizeof tmpdir, "%s/test-store-driver.XXXXXX", base ? base : "/tmp");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
        return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void db_path(char path[static PATH_MAX], const char *name) {
        assert_true(snprintf(path, PATH_MAX, "%s/%s.db", tmpdir, name) < PATH_MAX);
}

#define T_CREATE "CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT NOT NULL, v TEXT NULL)"
#define T_INSERT "INSERT INTO t (k, n, v) VALUES (?, ?, ?)"
#define T_COUNT "SELECT COUNT(*) FROM t"

/* A connection to a new database holding table t. */
static StoreConn *open_table(const char *name, char path[static PATH_MAX]) {
        StoreConn *c = NULL;

        db_path(path, name);
        assert_int_equal(drv->open(path, &c), 0);
        assert_non_null(c);
        assert_int_equal(drv->exec(c, T_CREATE), 0);
        return c;
}

/* Inserts (k, n, v); v NULL binds SQL NULL. Returns what the step gave. */
static int insert(StoreConn *c, const char *k, int64_t n, const char *v) {
        StoreStmt *st = NULL;
        int r;

        assert_int_equal(drv->prepare(c, T_INSERT, &st), 0);
        assert_int_equal(drv->bind_text(st, 1, k), 0);
        assert_int_equal(drv->bind_int64(st, 2, n), 0);
        if (v)
                assert_int_equal(drv->bind_text(st, 3, v), 0);
        else
                assert_int_equal(drv->bind_null(st, 3), 0);
        r = drv->step(st);
        drv->reset(st);
        return r;
}

static int64_t count(StoreConn *c) {
        StoreStmt *st = NULL;
        int64_t n;

        assert_int_equal(drv->prepare(c, T_COUNT, &st), 0);
        assert_int_equal(drv->step(st), 1);
        n = drv->column_int64(st, 0);
        assert_int_equal(drv->step(st), 0);
        drv->reset(st);
        return n;
}

static void test_rows(void **state) {
        char path[PATH_MAX];
        StoreConn *c = open_table("rows", path);
        StoreStmt *st = NULL, *again = NULL;
        const char *text;

        assert_int_equal(insert(c, "a", INT64_C(-5000000000), "alpha"), 0);
        assert_int_equal(drv->changes(c), 1);
        assert_int_equal(insert(c, "b", 7, NULL), 0);

        assert_int_equal(drv->prepare(c, "SELECT k, n, v FROM t WHERE n < ? ORDER BY k", &st), 0);
        assert_int_equal(drv->bind_int64(st, 1, 100), 0);

        assert_int_equal(drv->step(st), 1);
        assert_int_equal(drv->column_text(st, 0, &text), 0);
        assert_string_equal(text, "a");
        assert_true(drv->column_int64(st, 1) == INT64_C(-5000000000));
        assert_false(drv->column_is_null(st, 2));
        assert_int_equal(drv->column_text(st, 2, &text), 0);
        assert_string_equal(text, "alpha");

        assert_int_equal(drv->step(st), 1);
        assert_int_equal(drv->column_int64(st, 1), 7);
        assert_true(drv->column_is_null(st, 2));
        text = "not touched";
        assert_int_equal(drv->column_text(st, 2, &text), 0);
        assert_null(text);

        assert_int_equal(drv->step(st), 0);
        drv->reset(st);
        drv->reset(NULL);

        /* The same SQL text is the same cached statement, ready again. */
        assert_int_equal(drv->prepare(c, "SELECT k, n, v FROM t WHERE n < ? ORDER BY k", &again), 0);
        assert_ptr_equal(again, st);
        assert_int_equal(drv->bind_int64(again, 1, 0), 0);
        assert_int_equal(drv->step(again), 1);
        assert_int_equal(drv->column_text(again, 0, &text), 0);
        assert_string_equal(text, "a");
        drv->reset(again);

        drv->close(c);
        drv->close(NULL);
}

static void test_errors(void **state) {
        char path[PATH_MAX];
        StoreConn *c = open_table("errors", path);
        StoreStmt *st = NULL;

        assert_int_equal(insert(c, "a", 1, NULL), 0);
        /* A uniqueness conflict, a NOT NULL column left NULL. */
        assert_int_equal(insert(c, "a", 2, NULL), -EEXIST);
        assert_int_equal(drv->prepare(c, "INSERT INTO t (k, n) VALUES (?, ?)", &st), 0);
        assert_int_equal(drv->bind_text(st, 1, "b"), 0);
        assert_int_equal(drv->bind_null(st, 2), 0);
        assert_int_equal(drv->step(st), -EINVAL);
        drv->reset(st);
        /* SQL the engine cannot read, and a table that is not there. */
        assert_int_equal(drv->exec(c, "THIS IS NOT SQL"), -EIO);
        assert_int_equal(drv->prepare(c, "SELECT * FROM nowhere", &st), -EIO);
        assert_int_equal(count(c), 1);
        drv->close(c);
}

static void test_rollback_leaves_nothing(void **state) {
        char path[PATH_MAX];
        StoreConn *c = open_table("rollback", path);

        /* Nothing open: a no-op, as after an error that ended it. */
        assert_int_equal(drv->rollback(c), 0);

        assert_int_equal(drv->begin(c), 0);
        assert_int_equal(insert(c, "a", 1, "x"), 0);
        assert_int_equal(insert(c, "b", 2, "y"), 0);
        assert_int_equal(count(c), 2);
        assert_int_equal(drv->rollback(c), 0);
        assert_int_equal(count(c), 0);
        drv->close(c);

        /* Nor is anything on disk. */
        assert_int_equal(drv->open(path, &c), 0);
        assert_int_equal(count(c), 0);
        drv->close(c);
}

static void test_commit(void **state) {
        char path[PATH_MAX];
        StoreConn *c = open_table("commit", path), *other = NULL;

        assert_int_equal(drv->open(path, &other), 0);
        assert_int_equal(drv->begin(c), 0);
        assert_int_equal(insert(c, "a", 1, "x"), 0);
        /* Not seen outside before the commit. */
        assert_int_equal(count(other), 0);
        assert_int_equal(drv->commit(c), 0);
        assert_int_equal(count(other), 1);
        drv->close(other);
        drv->close(c);
}

/* A second connection holding the write lock: begin() waits for the busy
 * timeout (5 s), then gives -ETIMEDOUT, and the store's callers see -EIO,
 * as they always did. */
static void test_busy(void **state) {
        char path[PATH_MAX];
        StoreConn *c = open_table("busy", path), *holder = NULL;
        Store *s = NULL;

        assert_int_equal(drv->begin(c), 0);
        assert_int_equal(drv->commit(c), 0);

        assert_int_equal(drv->open(path, &holder), 0);
        assert_int_equal(drv->begin(holder), 0);
        assert_int_equal(drv->begin(c), -ETIMEDOUT);
        assert_int_equal(drv->rollback(c), 0);

        /* Through store.h. store_open() migrates, so it has to come before
         * the lock is taken. */
        assert_int_equal(drv->rollback(holder), 0);
        assert_int_equal(store_open(path, &s), 0);
        assert_int_equal(drv->begin(holder), 0);
        assert_int_equal(store_set_status(s, "nobody", "active"), -EIO);
        assert_int_equal(drv->rollback(holder), 0);
        assert_int_equal(store_set_status(s, "nobody", "active"), -ENOENT);
        store_close(s);

        /* Free again. */
        assert_int_equal(drv->begin(c), 0);
        assert_int_equal(insert(c, "a", 1, NULL), 0);
        assert_int_equal(drv->commit(c), 0);
        assert_int_equal(count(holder), 1);
        drv->close(holder);
        drv->close(c);
}

static void test_schema_version(void **state) {
        char path[PATH_MAX];
        StoreConn *c = NULL;
        int v = -1;

        db_path(path, "version");
        assert_int_equal(drv->open(path, &c), 0);
        assert_int_equal(drv->schema_init(c), 0);
        assert_int_equal(drv->schema_init(c), 0);  /* again: a no-op */
        assert_int_equal(drv->schema_version_get(c, &v), 0);
        assert_int_equal(v, 0);

        assert_int_equal(drv->begin(c), 0);
        assert_int_equal(drv->schema_version_set(c, 1, 1700000000), 0);
        assert_int_equal(drv->rollback(c), 0);
        assert_int_equal(drv->schema_version_get(c, &v), 0);
        assert_int_equal(v, 0);

        assert_int_equal(drv->begin(c), 0);
        assert_int_equal(drv->schema_version_set(c, 1, 1700000000), 0);
        assert_int_equal(drv->schema_version_set(c, 2, 1700000001), 0);
        assert_int_equal(drv->commit(c), 0);
        assert_int_equal(drv->schema_version_get(c, &v), 0);
        assert_int_equal(v, 2);
        /* A version is applied once. */
        assert_int_equal(drv->schema_version_set(c, 2, 1700000002), -EEXIST);
        drv->close(c);
}

/* ---- only sqlite.c speaks SQLite, only postgresql.c libpq ---- */

typedef struct Engine {
        const char *header;     /* its C header */
        const char *name;       /* no other store file may name it */
        const char *driver;     /* the one file that includes it */
} Engine;

static const Engine engines[] = {
        { "sqlite3.h", "sqlite3", "sauthd/store/sqlite.c" },
        { "libpq-fe.h", "libpq", "sauthd/store/postgresql.c" },
};

/* Whether a line is an #include of header, in any spacing or quoting. */
static bool includes_header(const char *line, const char *header) {
        const char *p = line + strspn(line, " \t");
        size_t n = strlen(header);

        if (*p != '#')
                return false;
        p++;
        p += strspn(p, " \t");
        if (strncmp(p, "include", 7) != 0)
                return false;
        p += 7;
        p += strspn(p, " \t");
        if (*p != '<' && *p != '"')
                return false;
        return strncmp(p + 1, header, n) == 0 && p[n + 1] == (*p == '<' ? '>' : '"');
}

static bool includes_sqlite(const char *line) {
        return includes_header(line, "sqlite3.h");
}

/* Counts lines of the file that include the engine's header, or
 * (any_mention) that name it at all. */
static unsigned scan_file(const char *path, const Engine *e, bool any_mention) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[4096];
        unsigned n = 0;

        assert_non_null(f);
        while (fgets(line, sizeof line, f))
                if (includes_header(line, e->header) || (any_mention && strstr(line, e->name)))
                        n++;
        return n;
}

static const char *src_root;
static unsigned seen_sources, seen_store, offenders;

static bool is_source(const char *p) {
        size_t n = strlen(p);

        return n > 2 && p[n - 2] == '.' && (p[n - 1] == 'c' || p[n - 1] == 'h');
}

static void check_engine(const char *p, const char *rel, const Engine *e) {
        bool in_store = strncmp(rel, "sauthd/store/", 13) == 0;

        if (streq(rel, e->driver)) {
                /* The positive case: the scanner does see an include. */
                if (scan_file(p, e, false) != 1) {
                        print_error("%s: expected one #include <%s>\n", rel, e->header);
                        offenders++;
                }
                return;
        }
        if (scan_file(p, e, in_store) > 0) {
                print_error("%s: %s %s\n", rel, in_store ? "names" : "includes", e->name);
                offenders++;
        }
}

static int check_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        const char *rel = p + strlen(src_root) + 1;

        if (flag != FTW_F || !is_source(p))
                return 0;
        seen_sources++;
        if (strncmp(rel, "sauthd/store/", 13) == 0)
                seen_store++;
        for (size_t i = 0; i < ELEMENTSOF(engines); i++)
                check_engine(p, rel, &engines[i]);
        return 0;
}

static void test_only_driver_includes_sqlite(void **state) {
        static const char *const dirs[] = { "common", "sauthd", "sauthctl", "pam_sessionauth" };
        char root[PATH_MAX], dir[PATH_MAX];
        struct stat st;

        assert_non_null(realpath(TESTS_DIR "/..", root));
        src_root = root;
        seen_sources = seen_store = offenders = 0;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                assert_true(snprintf(dir, sizeof dir, "%s/%s", root, dirs[i]) < (int) sizeof dir);
                if (stat(dir, &st) < 0)
                        continue;
                assert_int_equal(nftw(dir, check_entry, 16, FTW_PHYS), 0);
        }
        /* The walk found the code, the driver and the domain files (store.c,
         * store-internal.h, driver.h, store.h, accounts.c, passwords.c,
         * tokens.c, lockout.c): an empty walk must not pass. */
        assert_true(seen_sources > 20);
        assert_true(seen_store >= 8);
        assert_int_equal(offenders, 0);
}

/* The scanner itself tells an include from what is not one. */
static void test_include_scanner(void **state) {
        assert_true(includes_sqlite("#include <sqlite3.h>\n"));
        assert_true(includes_sqlite("  #  include\t\"sqlite3.h\"\n"));
        assert_false(includes_sqlite("#include <sqlite3ext.h>\n"));
        assert_false(includes_sqlite("/* #include <sqlite3.h> */\n"));
        assert_false(includes_sqlite("#include \"store.h\"\n"));
        assert_false(includes_sqlite("#include <sqlite3.h\"\n"));
        assert_true(includes_header("#include <libpq-fe.h>\n", "libpq-fe.h"));
        assert_false(includes_header("#include <libpq-fe.h>\n", "sqlite3.h"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_rollback_leaves_nothing),
                cmocka_unit_test(test_commit),
                cmocka_unit_test(test_busy),
                cmocka_unit_test(test_schema_version),
                cmocka_unit_test(test_include_scanner),
                cmocka_unit_test(test_only_driver_includes_sqlite),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
