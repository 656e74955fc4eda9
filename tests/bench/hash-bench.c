/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hash-bench: throughput of bare Argon2id verifies in one process with T
 * threads, the ceiling of what a pool of T hash workers can reach on this
 * machine. run-bench compares T = 1 with T = nproc, next to the daemon's
 * own workers=1 / workers=nproc figures, so that a machine whose cores do
 * not scale (a VM sharing them, memory bandwidth) is not taken for a fault
 * of the daemon.
 *
 *   hash-bench --hash-ops T --hash-mem-kib M --threads N --count C
 *
 * The password hashed and verified is random, made here. Output: one line
 * of key=value pairs.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

#define THREADS_MAX 64U
#define COUNT_MAX 1000U

typedef struct Shared {
        char hash[crypto_pwhash_STRBYTES];
        char password[33];
        atomic_uint next;               /* verifies handed out */
        unsigned count;
        atomic_uint failures;
} Shared;

static void *hash_worker(void *userdata) {
        Shared *s = userdata;

        while (atomic_fetch_add(&s->next, 1) < s->count)
                if (crypto_pwhash_str_verify(s->hash, s->password, strlen(s->password)) != 0)
                        atomic_fetch_add(&s->failures, 1);
        return NULL;
}

int main(int argc, char *argv[]) {
        static const struct option longopts[] = {
                { "hash-ops", required_argument, NULL, 't' },
                { "hash-mem-kib", required_argument, NULL, 'm' },
                { "threads", required_argument, NULL, 'n' },
                { "count", required_argument, NULL, 'c' },
                {}
        };
        unsigned long long ops = 0, mem_kib = 0;
        unsigned threads = 1, started = 0;
        pthread_t tid[THREADS_MAX];
        unsigned char raw[16];
        Shared s = { .count = 8 };
        uint64_t t0, t1;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case 't':
                        ops = strtoull(optarg, NULL, 10);
                        break;
                case 'm':
                        mem_kib = strtoull(optarg, NULL, 10);
                        break;
                case 'n':
                        threads = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'c':
                        s.count = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        }
        if (optind != argc || ops < 1 || mem_kib < 8 || threads < 1 || threads > THREADS_MAX ||
            s.count < 1 || s.count > COUNT_MAX) {
                fprintf(stderr, "usage: hash-bench --hash-ops T --hash-mem-kib M --threads N --count C\n");
                return 2;
        }
        if (sodium_init() < 0)
                return 1;

        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(s.password, sizeof s.password, raw, sizeof raw);
        sodium_memzero(raw, sizeof raw);
        if (crypto_pwhash_str_alg(s.hash, s.password, strlen(s.password), ops, (size_t) mem_kib * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
                fprintf(stderr, "hash-bench: cannot hash with m=%llu KiB\n", mem_kib);
                return 1;
        }

        t0 = now_usec();
        for (; started < threads; started++) {
                r = -pthread_create(&tid[started], NULL, hash_worker, &s);
                if (r < 0)
                        break;
        }
        for (unsigned i = 0; i < started; i++)
                (void) pthread_join(tid[i], NULL);
        t1 = now_usec();

        sodium_memzero(s.password, sizeof s.password);
        if (r < 0) {
                fprintf(stderr, "hash-bench: cannot start a thread: %s\n", strerror(-r));
                return 1;
        }
        if (atomic_load(&s.failures) > 0) {
                fprintf(stderr, "hash-bench: %u verifies failed\n", atomic_load(&s.failures));
                return 1;
        }
        printf("threads=%u count=%u seconds=%.3f rate=%.2f\n", threads, s.count, (double) (t1 - t0) / 1e6,
               (double) s.count / ((double) (t1 - t0) / 1e6));
        return 0;
}
