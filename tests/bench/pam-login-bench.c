/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam-login-bench: the cost of a PAM login through pam_sessionauth.so
 * against the cost of one bare Argon2id verify at the same parameters,
 * measured in the same process, interleaved, so that both see the same
 * machine at the same moment.
 *
 *   pam-login-bench --confdir DIR --service NAME --user USER
 *                   --hash-ops T --hash-mem-kib M [--rounds N]
 *
 * The password is the first line of standard input. One round is:
 *   verify   crypto_pwhash_str_verify() of a hash made here with t and m;
 *   auth     pam_start_confdir() + pam_authenticate() + pam_end();
 *   login    pam_start_confdir() + pam_authenticate() + pam_acct_mgmt()
 *            + pam_end(), what a login program asks of the stack.
 * The module connects to the bus anew in every transaction, as it does in
 * a real login; that connection is part of the measured cost.
 *
 * Output: one line of key=value pairs (microseconds). Exit 0 if every PAM
 * call succeeded, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <security/pam_appl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam-answer.h"
#include "util.h"

#define ROUNDS_MAX 100U

typedef struct Options {
        const char *confdir;
        const char *service;
        const char *user;
        unsigned long long ops;
        unsigned long long mem_kib;
        unsigned rounds;
} Options;

/* One PAM transaction; with_account adds the account phase. Returns the
 * microseconds it took, or 0 after printing why it failed. */
static uint64_t bench_pam(const Options *o, const char *password, bool with_account) {
        PamAnswer answer = { .password = password };
        struct pam_conv conv = { pam_answer_conv, &answer };
        pam_handle_t *pamh = NULL;
        uint64_t t0 = now_usec(), t1;
        int r;

        r = pam_start_confdir(o->service, o->user, &conv, o->confdir, &pamh);
        if (r != PAM_SUCCESS) {
                fprintf(stderr, "pam-login-bench: pam_start_confdir: %d\n", r);
                return 0;
        }
        r = pam_authenticate(pamh, 0);
        if (r == PAM_SUCCESS && with_account)
                r = pam_acct_mgmt(pamh, 0);
        if (r != PAM_SUCCESS)
                fprintf(stderr, "pam-login-bench: %s\n", pam_strerror(pamh, r));
        pam_end(pamh, r);
        t1 = now_usec();
        return r == PAM_SUCCESS ? (t1 - t0 > 0 ? t1 - t0 : 1) : 0;
}

static uint64_t bench_verify(const char *hash, const char *password) {
        uint64_t t0 = now_usec();

        if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0) {
                fprintf(stderr, "pam-login-bench: the bare verify failed\n");
                return 0;
        }
        return now_usec() - t0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return (x > y) - (x < y);
}

/* Median of the per-round ratios a[i] / b[i]: each pair was measured
 * back to back, so a slow stretch of the machine cancels out. */
static double median_ratio(const uint64_t *a, const uint64_t *b, size_t n) {
        double r[ROUNDS_MAX], t;

        for (size_t i = 0; i < n; i++)
                r[i] = (double) a[i] / (double) b[i];
        for (size_t i = 1; i < n; i++)          /* insertion sort: n is small */
                for (size_t k = i; k > 0 && r[k - 1] > r[k]; k--) {
                        t = r[k];
                        r[k] = r[k - 1];
                        r[k - 1] = t;
                }
        return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

static void print_stats(const char *name, uint64_t *v, size_t n) {
        uint64_t sum = 0;

        qsort(v, n, sizeof *v, cmp_u64);
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        printf(" %s_median_us=%" PRIu64 " %s_mean_us=%" PRIu64 " %s_min_us=%" PRIu64 " %s_max_us=%" PRIu64,
               name, n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, name, sum / n, name, v[0], name, v[n - 1]);
}

static int parse_args(int argc, char *argv[], Options *o) {
        static const struct option longopts[] = {
                { "confdir", required_argument, NULL, 'c' },
                { "service", required_argument, NULL, 's' },
                { "user", required_argument, NULL, 'u' },
                { "hash-ops", required_argument, NULL, 't' },
                { "hash-mem-kib", required_argument, NULL, 'm' },
                { "rounds", required_argument, NULL, 'n' },
                {}
        };
        int c;

        *o = (Options) { .rounds = 10 };
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        o->confdir = optarg;
                        break;
                case 's':
                        o->service = optarg;
                        break;
                case 'u':
                        o->user = optarg;
                        break;
                case 't':
                        o->ops = strtoull(optarg, NULL, 10);
                        break;
                case 'm':
                        o->mem_kib = strtoull(optarg, NULL, 10);
                        break;
                case 'n':
                        o->rounds = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind != argc || !o->confdir || !o->service || !o->user || o->ops < 1 || o->mem_kib < 8 ||
            o->rounds < 1 || o->rounds > ROUNDS_MAX)
                return -EINVAL;
        return 0;
}

static int read_password(char **ret) {
        _cleanup_erase_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        n = getline(&line, &size, stdin);
        if (n <= 0) {
                explicit_bzero(line, size);
                return -ENODATA;
        }
        if (line[n - 1] == '\n')
                line[n - 1] = '\0';
        *ret = TAKE_PTR(line);
        return 0;
}

static int bench_run(const Options *o, const char *password) {
        uint64_t verify[ROUNDS_MAX], auth[ROUNDS_MAX], login[ROUNDS_MAX];
        char hash[crypto_pwhash_STRBYTES];
        int r = 0;

        if (crypto_pwhash_str_alg(hash, password, strlen(password), o->ops, (size_t) o->mem_kib * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
                fprintf(stderr, "pam-login-bench: cannot hash with m=%llu KiB\n", o->mem_kib);
                return -ENOMEM;
        }

        /* Warm-up, not measured: the first transaction loads the module and
         * its libraries, the first verify faults its pages in. */
        if (bench_verify(hash, password) == 0 || bench_pam(o, password, true) == 0) {
                r = -EIO;
                goto out;
        }

        /* Interleaved, so that a change of clock speed or load during the
         * run falls on all three alike, and in a rotating order, so that
         * whatever the previous measure leaves behind (caches, freed pages)
         * does not always fall on the same one. */
        for (unsigned i = 0; i < o->rounds; i++) {
                for (unsigned k = 0; k < 3; k++)
                        switch ((i + k) % 3) {
                        case 0:
                                verify[i] = bench_verify(hash, password);
                                break;
                        case 1:
                                auth[i] = bench_pam(o, password, false);
                                break;
                        default:
                                login[i] = bench_pam(o, password, true);
                        }
                if (verify[i] == 0 || auth[i] == 0 || login[i] == 0) {
                        r = -EIO;
                        goto out;
                }
        }

        printf("rounds=%u ops=%llu mem_kib=%llu auth_ratio=%.4f login_ratio=%.4f", o->rounds, o->ops, o->mem_kib,
               median_ratio(auth, verify, o->rounds), median_ratio(login, verify, o->rounds));
        print_stats("verify", verify, o->rounds);
        print_stats("auth", auth, o->rounds);
        print_stats("login", login, o->rounds);
        putchar('\n');
out:
        sodium_memzero(hash, sizeof hash);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_erase_ char *password = NULL;
        Options o;

        if (parse_args(argc, argv, &o) < 0) {
                fprintf(stderr, "usage: pam-login-bench --confdir DIR --service NAME --user USER\n"
                                "                       --hash-ops T --hash-mem-kib M [--rounds N]\n"
                                "       (the password is read from stdin)\n");
                return 2;
        }
        if (sodium_init() < 0)
                return 1;
        if (read_password(&password) < 0) {
                fprintf(stderr, "pam-login-bench: no password on stdin\n");
                return 1;
        }
        return bench_run(&o, password) < 0 ? 1 : 0;
}
