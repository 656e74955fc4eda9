/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The password rules against the real libpwquality, cracklib dictionary and
 * zxcvbn. pwquality.conf is an empty temporary file, so the host's
 * /etc/security/pwquality.conf cannot change the verdicts.
 */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"
#include "policy.h"
#include "util.h"

#define CRACKLIB_DICT "/var/cache/cracklib/cracklib_dict.pwd"
#define THREAD_ROUNDS 100

static char tmpdir[] = "/tmp/test-policy-XXXXXX";
static char empty_conf[sizeof tmpdir + 32];

typedef struct Case {
        const char *password;
        bool ok;
        const char *problems[4];        /* exactly these, in this order */
        const char *reason;             /* a piece of the message, or NULL */
} Case;

/* Checked against the real libraries; every refused case is clear-cut. */
static const Case table[] = {
        { "password123",                  false, { "pwquality-dictionary", POLICY_TOO_GUESSABLE }, "dictionary" },
        { "P@ssw0rd2024",                 false, { POLICY_TOO_GUESSABLE },                   "substitutions" },
        { "qwertyuiop",                   false, { "pwquality-dictionary", POLICY_TOO_GUESSABLE }, NULL },
        { "aaaaaaaaaaaa",                 false, { "pwquality-palindrome", POLICY_TOO_GUESSABLE }, "palindrome" },
        { "1234567890",                   false, { "pwquality-dictionary", POLICY_TOO_GUESSABLE }, "sequence" },
        { "iloveyou",                     false, { "pwquality-dictionary", POLICY_TOO_GUESSABLE }, NULL },
        { "monkey12",                     false, { "pwquality-dictionary", POLICY_TOO_GUESSABLE }, NULL },
        { "abc123abc123",                 false, { "pwquality-dictionary", POLICY_TOO_GUESSABLE }, NULL },
        { "letmein",                      false, { "pwquality-min-length", POLICY_TOO_GUESSABLE }, "shorter than 8" },
        { "Summer2024!",                  false, { POLICY_TOO_GUESSABLE },                   "date" },
        { "Monkey123!",                   false, { POLICY_TOO_GUESSABLE },                   "common word" },
        { "correct horse battery staple", true,  {},                                         NULL },
        { "Tr0ub4dor&3",                  true,  {},                                         NULL },
        { "vK7#pQ2m!xR9zL4w",             true,  {},                                         NULL },
        { "zebra-lantern-quartz-97",      true,  {},                                         NULL },
        { "purple-kettle-drums-41",       true,  {},                                         NULL },
};

static int write_file(const char *path, const char *text) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        if (fputs(text, f) < 0)
                return -EIO;
        return fflush(f) == 0 ? 0 : -EIO;
}

static int group_setup(void **state) {
        if (access(CRACKLIB_DICT, R_OK) < 0) {
                print_error("%s missing: install cracklib-runtime, pwquality's dictcheck needs it\n", CRACKLIB_DICT);
                return -1;
        }
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(empty_conf, sizeof empty_conf, "%s/pwquality.conf", tmpdir);
        return write_file(empty_conf, "");
}

static int group_teardown(void **state) {
        char path[sizeof empty_conf + 16];
        const char *names[] = { "pwquality.conf", "minlen.conf", "bad.conf" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
                (void) unlink(path);
        }
        return rmdir(tmpdir);
}

/* A policy with the defaults, changed by the caller through c. */
static Policy *new_policy_with(SauthConfig *c, const char *conf) {
        Policy *p = NULL;

        free(c->pwquality_conf);
        c->pwquality_conf = strdup(conf);
        assert_non_null(c->pwquality_conf);
        assert_int_equal(policy_new(c, &p), 0);
        return p;
}

static Policy *new_policy(void) {
        _cleanup_(config_freep) SauthConfig *c = NULL;

        assert_int_equal(config_new_default(&c), 0);
        return new_policy_with(c, empty_conf);
}

static size_t strv_length(char **l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

static bool has_problem(const PolicyVerdict *v, const char *code) {
        for (size_t i = 0; v->problems && v->problems[i]; i++)
                if (streq(v->problems[i], code))
                        return true;
        return false;
}

static unsigned expected_score(double g) {
        return g < 3 ? 0 : g < 6 ? 1 : g < 8 ? 2 : g < 10 ? 3 : 4;
}

/* What every verdict must satisfy, whatever the password. */
static void assert_verdict_sane(const PolicyVerdict *v, const char *password) {
        assert_non_null(v->problems);
        assert_non_null(v->message);
        assert_true(v->score <= 4);
        assert_int_equal(v->score, expected_score(v->guesses_log10));
        assert_int_equal(v->ok, strv_length(v->problems) == 0);
        assert_int_equal(v->ok, v->message[0] == '\0');
        if (!isempty(password))
                assert_null(strstr(v->message, password));
}

static void assert_problems(const PolicyVerdict *v, const char *const *expected, size_t n_expected) {
        size_t n = 0;

        for (size_t i = 0; i < n_expected && expected[i]; i++, n++) {
                assert_non_null(v->problems[i]);
                assert_string_equal(v->problems[i], expected[i]);
        }
        assert_int_equal(strv_length(v->problems), n);
}

static void check(Policy *p, const char *password, const PolicyUser *u, PolicyVerdict *v) {
        assert_int_equal(policy_check(p, password, u, v), 0);
        assert_verdict_sane(v, password);
}

static void test_table(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        unsigned max_refused = 0, min_accepted = 4;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(policy_verdict_done) PolicyVerdict v = {};

                print_message("case %zu\n", i);
                check(p, table[i].password, NULL, &v);
                assert_int_equal(v.ok, table[i].ok);
                assert_problems(&v, table[i].problems, ELEMENTSOF(table[i].problems));
                if (table[i].reason)
                        assert_non_null(strstr(v.message, table[i].reason));

                /* The floor is 8: refused as guessable means score <= 2,
                 * accepted means >= 3, so the bar and the verdict agree. */
                if (has_problem(&v, POLICY_TOO_GUESSABLE)) {
                        assert_true(v.guesses_log10 < 8);
                        max_refused = v.score > max_refused ? v.score : max_refused;
                }
                if (v.ok) {
                        assert_true(v.guesses_log10 >= 8);
                        min_accepted = v.score < min_accepted ? v.score : min_accepted;
                }
        }
        assert_true(max_refused < min_accepted);
}

static void test_username(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        const PolicyUser alice = { .username = "alice" };
        const PolicyUser al = { .username = "al" };
        _cleanup_(policy_verdict_done) PolicyVerdict v1 = {}, v2 = {}, v3 = {}, v4 = {};

        check(p, "xx-alice-2024-long-enough", &alice, &v1);
        assert_false(v1.ok);
        assert_true(has_problem(&v1, POLICY_CONTAINS_USER));
        assert_non_null(strstr(v1.message, "user name"));

        /* Case does not hide it. */
        check(p, "zebra-ALICE-lantern-97", &alice, &v2);
        assert_true(has_problem(&v2, POLICY_CONTAINS_USER));

        /* Without the name, the same password is fine. */
        check(p, "zebra-ALICE-lantern-97", NULL, &v3);
        assert_true(v3.ok);

        /* Two-letter names would match too much by accident. */
        check(p, "zebra-al-lantern-97", &al, &v4);
        assert_false(has_problem(&v4, POLICY_CONTAINS_USER));
}

static void test_name_and_identity(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        const PolicyUser u = {
                .username = "edurand",
                .name = "Élodie Durand",
                .identity = "carol.smith@example.org",
        };
        const PolicyUser shorty = { .name = "Jo Li", .identity = "cs@example.org" };
        const PolicyUser all = { .username = "zebra", .name = "Lantern Quartz", .identity = "kettle@example.org" };
        const char *const order[] = { POLICY_CONTAINS_USER, POLICY_CONTAINS_NAME, POLICY_CONTAINS_ID };
        _cleanup_(policy_verdict_done) PolicyVerdict v1 = {}, v2 = {}, v3 = {}, v4 = {}, v5 = {};

        /* Folding beyond ASCII: "ÉLODIE" is "élodie". */
        check(p, "quartz-ÉLODIE-lantern-97", &u, &v1);
        assert_problems(&v1, (const char *const[]) { POLICY_CONTAINS_NAME }, 1);

        check(p, "quartz-durand-lantern-97", &u, &v2);
        assert_problems(&v2, (const char *const[]) { POLICY_CONTAINS_NAME }, 1);

        check(p, "Carol.Smith-zebra-lantern", &u, &v3);
        assert_true(has_problem(&v3, POLICY_CONTAINS_ID));
        assert_false(has_problem(&v3, POLICY_CONTAINS_NAME));

        /* Words and local parts shorter than three characters do not count. */
        check(p, "quartz-jo-li-cs-lantern-97", &shorty, &v4);
        assert_true(v4.ok);

        /* All three at once, reported in the documented order. */
        check(p, "zebra-lantern-kettle", &all, &v5);
        assert_int_equal(strv_length(v5.problems) >= 3, true);
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                assert_string_equal(v5.problems[i], order[i]);
}

static char *repeat(const char *unit, size_t times) {
        size_t len = strlen(unit);
        char *s = malloc(len * times + 1);

        assert_non_null(s);
        for (size_t i = 0; i < times; i++)
                memcpy(s + i * len, unit, len);
        s[len * times] = '\0';
        return s;
}

static void test_length_counts_characters(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        _cleanup_free_ char *e256 = repeat("é", 256), *e257 = repeat("é", 257);
        _cleanup_free_ char *a257 = repeat("a", 257), *huge = repeat("ab", 5000);
        _cleanup_(policy_verdict_done) PolicyVerdict v1 = {}, v2 = {}, v3 = {}, v4 = {};

        /* 512 bytes, 256 characters: at the limit, judged on its merits. */
        check(p, e256, NULL, &v1);
        assert_false(has_problem(&v1, POLICY_TOO_LONG));
        assert_false(has_problem(&v1, POLICY_INVALID_UTF8));

        check(p, e257, NULL, &v2);
        assert_problems(&v2, (const char *const[]) { POLICY_TOO_LONG }, 1);
        assert_non_null(strstr(v2.message, "256"));
        assert_int_equal(v2.score, 0);

        check(p, a257, NULL, &v3);
        assert_problems(&v3, (const char *const[]) { POLICY_TOO_LONG }, 1);

        /* Far beyond any limit: refused without being decoded. */
        check(p, huge, NULL, &v4);
        assert_problems(&v4, (const char *const[]) { POLICY_TOO_LONG }, 1);
}

static void test_invalid_utf8(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        static const char *const bad[] = {
                "\xc3\x28",                     /* continuation missing */
                "\xc0\xaf",                     /* overlong '/' */
                "\xe0\x80\xaf",                 /* overlong, three bytes */
                "\xed\xa0\x80",                 /* surrogate U+D800 */
                "\xf4\x90\x80\x80",             /* U+110000 */
                "\xe2\x82",                     /* truncated */
                "\xff",
                "zebra-lantern\x80quartz-97",   /* stray continuation */
        };
        static const char *const good[] = {
                "zebra-lantern-\xf4\x8f\xbf\xbf-97",    /* U+10FFFF */
                "zebra-lantern-\xed\x9f\xbf-97",        /* U+D7FF */
                "zebra-lantern-\xee\x80\x80-97",        /* U+E000 */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(policy_verdict_done) PolicyVerdict v = {};

                print_message("bad %zu\n", i);
                check(p, bad[i], NULL, &v);
                assert_problems(&v, (const char *const[]) { POLICY_INVALID_UTF8 }, 1);
        }
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(policy_verdict_done) PolicyVerdict v = {};

                print_message("good %zu\n", i);
                check(p, good[i], NULL, &v);
                assert_true(v.ok);
        }
}

static void test_control_and_empty(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        static const char *const bad[] = {
                "correct horse\tbattery staple",
                "correct horse\x7f" "battery staple",
                "correct horse\xc2\x85" "battery staple",       /* C1 NEL */
                "\x1b[31mcorrect horse battery staple",
        };
        _cleanup_(policy_verdict_done) PolicyVerdict e = {}, both = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(policy_verdict_done) PolicyVerdict v = {};

                print_message("control %zu\n", i);
                check(p, bad[i], NULL, &v);
                assert_false(v.ok);
                assert_string_equal(v.problems[0], POLICY_CONTROL_CHAR);
        }

        check(p, "", NULL, &e);
        assert_problems(&e, (const char *const[]) { POLICY_EMPTY }, 1);
        assert_int_equal(e.score, 0);

        /* Both problems of an invalid string are reported. */
        check(p, "\x01\xc0\xaf", NULL, &both);
        assert_problems(&both, (const char *const[]) { POLICY_INVALID_UTF8, POLICY_CONTROL_CHAR }, 2);
}

static void test_zxcvbn_floor_off(void **state) {
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_(policy_verdict_done) PolicyVerdict v = {};

        assert_int_equal(config_new_default(&c), 0);
        c->min_guesses_log10 = 0;
        p = new_policy_with(c, empty_conf);

        /* pwquality lets it through; only zxcvbn refused it. */
        check(p, "P@ssw0rd2024", NULL, &v);
        assert_true(v.ok);
        assert_true(v.score <= 2);
}

static void test_pwquality_conf(void **state) {
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_(policy_freep) Policy *p = NULL, *q = NULL;
        _cleanup_(policy_verdict_done) PolicyVerdict v = {};
        char minlen[sizeof empty_conf + 16], bad[sizeof empty_conf + 16], missing[sizeof empty_conf + 16];
        Policy *r = NULL;

        snprintf(minlen, sizeof minlen, "%s/minlen.conf", tmpdir);
        snprintf(bad, sizeof bad, "%s/bad.conf", tmpdir);
        snprintf(missing, sizeof missing, "%s/missing.conf", tmpdir);
        assert_int_equal(write_file(minlen, "# stricter\nminlen = 20\n"), 0);
        assert_int_equal(write_file(bad, "nosuchsetting = 1\nminlen = 20\n"), 0);
        assert_int_equal(config_new_default(&c), 0);

        p = new_policy_with(c, minlen);
        check(p, "xK9#mW2$vL7q@R8", NULL, &v);
        assert_problems(&v, (const char *const[]) { "pwquality-min-length" }, 1);
        assert_non_null(strstr(v.message, "shorter than 20"));

        /* A missing file is pwquality's defaults. */
        q = new_policy_with(c, missing);

        /* A file pwquality stops reading halfway is refused. */
        free(c->pwquality_conf);
        c->pwquality_conf = strdup(bad);
        assert_non_null(c->pwquality_conf);
        assert_int_equal(policy_new(c, &r), -EINVAL);
        assert_null(r);
}

static void test_reused(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        _cleanup_(policy_verdict_done) PolicyVerdict ok = {}, weak = {};

        check(p, "correct horse battery staple", NULL, &ok);
        assert_true(ok.ok);
        assert_int_equal(policy_verdict_add_reused(&ok), 0);
        assert_false(ok.ok);
        assert_problems(&ok, (const char *const[]) { POLICY_REUSED }, 1);
        assert_string_equal(ok.message, "This password was used recently.");

        /* Added once only. */
        assert_int_equal(policy_verdict_add_reused(&ok), 0);
        assert_int_equal(strv_length(ok.problems), 1);

        check(p, "P@ssw0rd2024", NULL, &weak);
        assert_int_equal(policy_verdict_add_reused(&weak), 0);
        assert_problems(&weak, (const char *const[]) { POLICY_TOO_GUESSABLE, POLICY_REUSED }, 2);
        assert_non_null(strstr(weak.message, ". This password was used recently."));

        policy_verdict_done(&weak);
        assert_null(weak.problems);
        assert_null(weak.message);
        assert_false(weak.ok);
}

static void test_arguments(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        _cleanup_(config_freep) SauthConfig *c = NULL;
        PolicyVerdict v = {};
        Policy *q = NULL;

        assert_int_equal(policy_check(p, NULL, NULL, &v), -EINVAL);
        assert_int_equal(policy_check(NULL, "x", NULL, &v), -EINVAL);
        assert_null(v.problems);
        assert_int_equal(policy_verdict_add_reused(NULL), -EINVAL);
        policy_verdict_done(NULL);
        policy_free(NULL);

        assert_int_equal(config_new_default(&c), 0);
        c->min_guesses_log10 = -1;
        assert_int_equal(policy_new(c, &q), -EINVAL);
        assert_null(q);
}

typedef struct ThreadArg {
        Policy *policy;
        size_t offset;
        int failures;
} ThreadArg;

/* Runs the table from its own offset; counts verdicts that differ. */
static void *thread_main(void *userdata) {
        ThreadArg *a = userdata;

        for (size_t round = 0; round < THREAD_ROUNDS; round++) {
                const Case *t = &table[(round + a->offset) % ELEMENTSOF(table)];
                const PolicyUser u = { .username = "alice", .name = "Alice Liddell" };
                PolicyVerdict v = {};

                if (policy_check(a->policy, t->password, &u, &v) < 0 || v.ok != t->ok)
                        a->failures++;
                policy_verdict_done(&v);
        }
        return NULL;
}

static void test_threads(void **state) {
        _cleanup_(policy_freep) Policy *p = new_policy();
        ThreadArg args[2] = { { .policy = p, .offset = 0 }, { .policy = p, .offset = 7 } };
        pthread_t threads[ELEMENTSOF(args)];

        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                assert_int_equal(pthread_create(&threads[i], NULL, thread_main, &args[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(args); i++) {
                assert_int_equal(pthread_join(threads[i], NULL), 0);
                assert_int_equal(args[i].failures, 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_username),
                cmocka_unit_test(test_name_and_identity),
                cmocka_unit_test(test_length_counts_characters),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_control_and_empty),
                cmocka_unit_test(test_zxcvbn_floor_off),
                cmocka_unit_test(test_pwquality_conf),
                cmocka_unit_test(test_reused),
                cmocka_unit_test(test_arguments),
                cmocka_unit_test(test_threads),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
