/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The small parts of sauthd, each against the real code: the worker pool on
 * a real sd-event loop, Argon2id hashes at the smallest cost, reset tokens
 * and ids, identity and name checks, and the rate limiter on simulated time.
 * Secrets made here are random per run and never printed.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>
#include <systemd/sd-event.h>

#include "failtable.h"
#include "hash.h"
#include "identity.h"
#include "pool.h"
#include "ratelimit.h"
#include "sauth-names.h"
#include "tokens.h"
#include "util.h"

/* A bound on loop iterations and on waits between threads, so a broken
 * pool fails the test instead of hanging it. Not a timing assertion. */
#define LOOP_ROUNDS 600
#define LOOP_WAIT_USEC (50 * 1000)
#define THREAD_WAIT_SEC 30

static pthread_t loop_thread;

/* ---- pool ---- */

/* A gate that jobs wait at until the test opens it, bounded in time. */
typedef struct Gate {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool open;
        unsigned arrived;       /* jobs that reached the gate */
        unsigned needed;        /* with needed > 0: opens itself when that many arrived */
} Gate;

static void gate_init(Gate *g, unsigned needed) {
        *g = (Gate) { .needed = needed };
        assert_int_equal(pthread_mutex_init(&g->lock, NULL), 0);
        assert_int_equal(pthread_cond_init(&g->cond, NULL), 0);
}

static void gate_destroy(Gate *g) {
        pthread_mutex_destroy(&g->lock);
        pthread_cond_destroy(&g->cond);
}

static void gate_open(Gate *g) {
        pthread_mutex_lock(&g->lock);
        g->open = true;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->lock);
}

/* Waits until the gate opens; false if it stayed shut for THREAD_WAIT_SEC. */
static bool gate_pass(Gate *g) {
        struct timespec deadline;
        int r = 0;
        bool ok;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += THREAD_WAIT_SEC;

        pthread_mutex_lock(&g->lock);
        g->arrived++;
        if (g->needed > 0 && g->arrived >= g->needed)
                g->open = true;
        pthread_cond_broadcast(&g->cond);
        while (!g->open && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&g->cond, &g->lock, &deadline);
        ok = g->open;
        pthread_mutex_unlock(&g->lock);
        return ok;
}

/* Waits until N jobs have arrived at the gate (they are running). */
static bool gate_wait_arrived(Gate *g, unsigned n) {
        struct timespec deadline;
        int r = 0;
        bool ok;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += THREAD_WAIT_SEC;

        pthread_mutex_lock(&g->lock);
        while (g->arrived < n && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&g->cond, &g->lock, &deadline);
        ok = g->arrived >= n;
        pthread_mutex_unlock(&g->lock);
        return ok;
}

typedef struct Job {
        unsigned index;
        Gate *gate;             /* NULL: no waiting */
        bool worked;
        bool passed;            /* went through the gate */
        bool work_off_loop;     /* work() ran on another thread than the loop */
        bool done_on_loop;      /* done() ran on the loop thread */
        bool done_after_work;
        int nice;               /* the worker thread's nice value */
        unsigned done_calls;
        unsigned *done_count;   /* shared counter, loop thread only */
} Job;

static void job_work(void *userdata) {
        Job *j = userdata;

        j->work_off_loop = !pthread_equal(pthread_self(), loop_thread);
        j->nice = getpriority(PRIO_PROCESS, (id_t) gettid());
        if (j->gate)
                j->passed = gate_pass(j->gate);
        j->worked = true;
}

static void job_done(void *userdata) {
        Job *j = userdata;

        j->done_on_loop = pthread_equal(pthread_self(), loop_thread);
        j->done_after_work = j->worked;
        j->done_calls++;
        if (j->done_count)
                (*j->done_count)++;
}

/* Runs the loop until *count reaches n, a bounded number of rounds. */
static void loop_until(sd_event *e, const unsigned *count, unsigned n) {
        for (unsigned i = 0; i < LOOP_ROUNDS && *count < n; i++)
                assert_true(sd_event_run(e, LOOP_WAIT_USEC) >= 0);
        assert_int_equal(*count, n);
}

static void check_job(const Job *j) {
        assert_true(j->worked);
        assert_true(j->work_off_loop);
        assert_true(j->done_on_loop);
        assert_true(j->done_after_work);
        assert_int_equal(j->done_calls, 1);
}

static void test_pool_jobs_complete(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(pool_freep) Pool *p = NULL;
        Job jobs[50] = {};
        unsigned done = 0;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 4, ELEMENTSOF(jobs), &p), 0);
        assert_int_equal(pool_workers(p), 4);
        assert_int_equal(pool_pending(p), 0);

        for (unsigned i = 0; i < ELEMENTSOF(jobs); i++) {
                jobs[i] = (Job) { .index = i, .done_count = &done };
                assert_int_equal(pool_submit(p, job_work, job_done, &jobs[i]), 0);
        }
        assert_int_equal(pool_pending(p), ELEMENTSOF(jobs));

        loop_until(e, &done, ELEMENTSOF(jobs));
        for (unsigned i = 0; i < ELEMENTSOF(jobs); i++)
                check_job(&jobs[i]);
        assert_int_equal(pool_pending(p), 0);

        /* No done() runs twice: a few more rounds change nothing. */
        for (unsigned i = 0; i < 3; i++)
                assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(done, ELEMENTSOF(jobs));
}

static void test_pool_default_workers(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(pool_freep) Pool *p = NULL;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 0, 4, &p), 0);
        assert_int_equal(pool_workers(p), cpus > 0 ? (unsigned) cpus : 1);
}

static void test_pool_max_queue(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(pool_freep) Pool *p = NULL;
        Job jobs[3] = {};
        unsigned done = 0;
        Gate g;

        gate_init(&g, 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 1, 2, &p), 0);

        /* One job runs (held at the gate), one waits: the queue is full. */
        for (unsigned i = 0; i < 2; i++) {
                jobs[i] = (Job) { .gate = &g, .done_count = &done };
                assert_int_equal(pool_submit(p, job_work, job_done, &jobs[i]), 0);
        }
        jobs[2] = (Job) { .done_count = &done };
        assert_int_equal(pool_submit(p, job_work, job_done, &jobs[2]), -EBUSY);
        assert_int_equal(pool_pending(p), 2);
        assert_true(gate_wait_arrived(&g, 1));
        assert_int_equal(pool_submit(p, job_work, job_done, &jobs[2]), -EBUSY);

        gate_open(&g);
        loop_until(e, &done, 2);
        assert_true(jobs[0].passed && jobs[1].passed);
        assert_false(jobs[2].worked);
        assert_int_equal(jobs[2].done_calls, 0);

        /* Room again once they are done. */
        assert_int_equal(pool_submit(p, job_work, job_done, &jobs[2]), 0);
        loop_until(e, &done, 3);
        check_job(&jobs[2]);

        pool_free(TAKE_PTR(p));
        gate_destroy(&g);
}

static void test_pool_free_drains(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Job jobs[6] = {};
        unsigned done = 0;
        Gate g;

        gate_init(&g, 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 2, ELEMENTSOF(jobs), &p), 0);

        for (unsigned i = 0; i < ELEMENTSOF(jobs); i++) {
                jobs[i] = (Job) { .gate = &g, .done_count = &done };
                assert_int_equal(pool_submit(p, job_work, job_done, &jobs[i]), 0);
        }
        /* Both workers busy, the rest waiting; the loop never ran. */
        assert_true(gate_wait_arrived(&g, 2));
        gate_open(&g);

        pool_free(p);
        assert_int_equal(done, ELEMENTSOF(jobs));
        for (unsigned i = 0; i < ELEMENTSOF(jobs); i++) {
                check_job(&jobs[i]);
                assert_true(jobs[i].passed);
        }
        gate_destroy(&g);
}

/* A worker kept for "first" jobs takes one while every other worker is
 * busy, and leaves the others' jobs waiting; the others run at the nice
 * value asked for. Without the kept worker, the first job would wait for
 * the gate and the loop would give up. */
static void test_pool_first_worker_kept(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Job busy = {}, other = {}, first = {};
        unsigned done = 0;
        int base = getpriority(PRIO_PROCESS, (id_t) gettid());
        Gate g;

        gate_init(&g, 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new_full(e, "test", 1, 1, 3, 4, &p), 0);
        assert_int_equal(pool_workers(p), 2);

        busy = (Job) { .gate = &g, .done_count = &done };
        assert_int_equal(pool_submit_for(p, false, 1, job_work, job_done, &busy), 0);
        assert_true(gate_wait_arrived(&g, 1));
        other = (Job) { .done_count = &done };
        assert_int_equal(pool_submit_for(p, false, 2, job_work, job_done, &other), 0);
        first = (Job) { .done_count = &done };
        assert_int_equal(pool_submit_for(p, true, 0, job_work, job_done, &first), 0);

        loop_until(e, &done, 1);
        check_job(&first);
        assert_false(other.worked);
        assert_int_equal(first.nice, base);

        gate_open(&g);
        loop_until(e, &done, 3);
        pool_free(p);
        check_job(&busy);
        check_job(&other);
        assert_int_equal(busy.nice, base + 3 > 19 ? 19 : base + 3);
        gate_destroy(&g);
}

/* The order in which a one-worker pool ran its jobs, recorded by work(). */
typedef struct RunOrder {
        pthread_mutex_t lock;
        unsigned n;
        unsigned ran[16];       /* job ids, in the order work() ran */
} RunOrder;

typedef struct OrderJob {
        Job job;                /* gate, done count */
        unsigned id;
        RunOrder *order;
} OrderJob;

static void order_work(void *userdata) {
        OrderJob *o = userdata;

        pthread_mutex_lock(&o->order->lock);
        if (o->order->n < ELEMENTSOF(o->order->ran))
                o->order->ran[o->order->n] = o->id;
        o->order->n++;
        pthread_mutex_unlock(&o->order->lock);
        job_work(&o->job);
}

static void order_done(void *userdata) {
        job_done(&((OrderJob *) userdata)->job);
}

/* One worker, none kept for "first" jobs: while a gated job holds the
 * worker, uid 1000 queues three jobs, then uid 1001 three, then an admin
 * caller one. The admin job runs next, ahead of everything queued before
 * it; then the uids take turns, one job each, each uid's own jobs in the
 * order queued. A FIFO pool would run 1000, 1000, 1000, 1001, ... and the
 * admin job last. */
static void test_pool_admin_first_then_round_robin(void **state) {
        enum { GATED = 0, ADMIN = 99, UID_A = 1000, UID_B = 1001, PER_UID = 3 };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        OrderJob gated, admin, a[PER_UID], b[PER_UID];
        RunOrder order = {};
        unsigned done = 0, n_jobs = 2 + 2 * PER_UID;
        /* Job ids: UID_A * 10 + i and UID_B * 10 + i for the i-th of each. */
        const unsigned want[] = { GATED, ADMIN, UID_A * 10 + 0, UID_B * 10 + 0, UID_A * 10 + 1,
                                  UID_B * 10 + 1, UID_A * 10 + 2, UID_B * 10 + 2 };
        Gate g;

        assert_int_equal(ELEMENTSOF(want), n_jobs);
        assert_int_equal(pthread_mutex_init(&order.lock, NULL), 0);
        gate_init(&g, 0);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new_full(e, "test", 1, 0, 0, n_jobs, &p), 0);
        assert_int_equal(pool_workers(p), 1);

        /* The worker is held at the gate before anything else is queued. */
        gated = (OrderJob) { .job = { .gate = &g, .done_count = &done }, .id = GATED, .order = &order };
        assert_int_equal(pool_submit_for(p, false, 7, order_work, order_done, &gated), 0);
        assert_true(gate_wait_arrived(&g, 1));

        for (unsigned i = 0; i < PER_UID; i++) {
                a[i] = (OrderJob) { .job = { .done_count = &done }, .id = UID_A * 10 + i, .order = &order };
                assert_int_equal(pool_submit_for(p, false, UID_A, order_work, order_done, &a[i]), 0);
        }
        for (unsigned i = 0; i < PER_UID; i++) {
                b[i] = (OrderJob) { .job = { .done_count = &done }, .id = UID_B * 10 + i, .order = &order };
                assert_int_equal(pool_submit_for(p, false, UID_B, order_work, order_done, &b[i]), 0);
        }
        admin = (OrderJob) { .job = { .done_count = &done }, .id = ADMIN, .order = &order };
        assert_int_equal(pool_submit_for(p, true, 0, order_work, order_done, &admin), 0);
        assert_int_equal(pool_pending(p), n_jobs);

        /* Nothing else ran while the worker was held. */
        pthread_mutex_lock(&order.lock);
        assert_int_equal(order.n, 1);
        pthread_mutex_unlock(&order.lock);

        gate_open(&g);
        loop_until(e, &done, n_jobs);
        pool_free(p);

        pthread_mutex_lock(&order.lock);
        assert_int_equal(order.n, n_jobs);
        assert_int_equal(order.ran[0], GATED);
        /* The admin job, queued last, ran right after the gated one. */
        assert_int_equal(order.ran[1], ADMIN);
        /* Then the uids alternated, never one uid twice in a row. */
        for (unsigned i = 3; i < n_jobs; i++)
                assert_int_not_equal(order.ran[i] / 10, order.ran[i - 1] / 10);
        /* Exactly: 1000 first (it queued first), each uid in its own order. */
        for (unsigned i = 0; i < n_jobs; i++)
                assert_int_equal(order.ran[i], want[i]);
        pthread_mutex_unlock(&order.lock);

        assert_true(gated.job.passed);
        check_job(&gated.job);
        check_job(&admin.job);
        for (unsigned i = 0; i < PER_UID; i++) {
                check_job(&a[i].job);
                check_job(&b[i].job);
        }
        pthread_mutex_destroy(&order.lock);
        gate_destroy(&g);
}

typedef struct IdleState {
        Pool *pool;
        unsigned calls;
        unsigned pending_seen;
        bool on_loop;
} IdleState;

static void on_idle(void *userdata) {
        IdleState *s = userdata;

        s->calls++;
        s->pending_seen = pool_pending(s->pool);
        s->on_loop = pthread_equal(pthread_self(), loop_thread);
}

static void test_pool_idle(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(pool_freep) Pool *p = NULL;
        IdleState s = {};
        Job jobs[8] = {};
        unsigned done = 0;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 3, ELEMENTSOF(jobs), &p), 0);
        s.pool = p;
        pool_set_idle_callback(p, on_idle, &s);

        for (unsigned i = 0; i < ELEMENTSOF(jobs); i++) {
                jobs[i] = (Job) { .done_count = &done };
                assert_int_equal(pool_submit(p, job_work, job_done, &jobs[i]), 0);
        }
        loop_until(e, &s.calls, 1);
        assert_int_equal(done, ELEMENTSOF(jobs));
        assert_int_equal(s.pending_seen, 0);
        assert_true(s.on_loop);

        /* Idle again after the next batch. */
        assert_int_equal(pool_submit(p, job_work, job_done, &jobs[0]), 0);
        loop_until(e, &s.calls, 2);
}

/* Two jobs that can only finish together: each waits at a gate that opens
 * when both have arrived. With one worker at a time this fails (after the
 * bounded wait) instead of passing. */
static void test_pool_concurrent(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(pool_freep) Pool *p = NULL;
        Job jobs[2] = {};
        unsigned done = 0;
        Gate g;

        gate_init(&g, 2);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 2, 2, &p), 0);

        for (unsigned i = 0; i < 2; i++) {
                jobs[i] = (Job) { .gate = &g, .done_count = &done };
                assert_int_equal(pool_submit(p, job_work, job_done, &jobs[i]), 0);
        }
        loop_until(e, &done, 2);
        for (unsigned i = 0; i < 2; i++) {
                check_job(&jobs[i]);
                assert_true(jobs[i].passed);
        }
        pool_free(TAKE_PTR(p));
        gate_destroy(&g);
}

/* done() may queue the next job; it must run too. The job whose done() is
 * running no longer counts against max_queue, so a queue of 1 is enough:
 * each done() hands its place to the job it submits. */
typedef struct Chain {
        Pool *pool;
        unsigned left;
        unsigned done;
} Chain;

static void chain_work(void *userdata) {
}

static void chain_done(void *userdata) {
        Chain *c = userdata;

        c->done++;
        if (c->left > 0) {
                c->left--;
                assert_int_equal(pool_submit(c->pool, chain_work, chain_done, c), 0);
        }
}

static void test_pool_submit_from_done(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(pool_freep) Pool *p = NULL;
        Chain c = { .left = 20 };

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 2, 1, &p), 0);
        c.pool = p;
        assert_int_equal(pool_submit(p, chain_work, chain_done, &c), 0);
        loop_until(e, &c.done, 21);
        assert_int_equal(pool_pending(p), 0);
}

/* A done() that runs inside pool_free() may not queue new work: no worker
 * is left to run it, so it is refused instead of leaked. */
typedef struct Late {
        Pool *pool;
        int submit_result;
        unsigned done;
} Late;

static void late_work(void *userdata) {
}

static void late_done(void *userdata) {
        Late *l = userdata;

        l->done++;
        if (l->done == 1)
                l->submit_result = pool_submit(l->pool, late_work, late_done, l);
}

static void test_pool_submit_during_free(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Late l = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(pool_new(e, "test", 1, 4, &l.pool), 0);
        assert_int_equal(pool_submit(l.pool, late_work, late_done, &l), 0);
        pool_free(l.pool);      /* the loop never ran: done() runs in here */
        assert_int_equal(l.done, 1);
        assert_int_equal(l.submit_result, -ESHUTDOWN);
}

/* ---- hash ---- */

static const HashCost cheap = { .ops = 1, .mem_kib = 8 };

static void random_password(char *buf, size_t size) {
        unsigned char raw[16];

        assert_true(size >= 2 * sizeof raw + 1);
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(buf, size, raw, sizeof raw);
        sodium_memzero(raw, sizeof raw);
}

static void test_hash_verify(void **state) {
        char pw[64], other[64], h[HASH_STR_MAX], h2[HASH_STR_MAX];

        random_password(pw, sizeof pw);
        random_password(other, sizeof other);

        assert_int_equal(hash_password(pw, cheap, h), 0);
        assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
        assert_null(strstr(h, pw));
        assert_true(hash_verify(h, pw));
        assert_false(hash_verify(h, other));
        assert_false(hash_verify(h, ""));

        /* One character off, one more, one less. */
        memcpy(other, pw, sizeof other);
        other[0] = other[0] == 'a' ? 'b' : 'a';
        assert_false(hash_verify(h, other));
        memcpy(other, pw, sizeof other);
        strcat(other, "0");
        assert_false(hash_verify(h, other));
        other[strlen(other) - 2] = '\0';
        assert_false(hash_verify(h, other));

        /* Salted: the same password hashes differently. */
        random_password(pw, sizeof pw);
        assert_int_equal(hash_password(pw, cheap, h), 0);
        assert_int_equal(hash_password(pw, cheap, h2), 0);
        assert_string_not_equal(h, h2);
        assert_true(hash_verify(h, pw));
        assert_true(hash_verify(h2, pw));

        /* The empty password is a password like any other here; policy
         * refuses it elsewhere. */
        assert_int_equal(hash_password("", cheap, h), 0);
        assert_true(hash_verify(h, ""));
        assert_false(hash_verify(h, " "));

        sodium_memzero(pw, sizeof pw);
        sodium_memzero(other, sizeof other);
}

static void test_hash_malformed(void **state) {
        char pw[64], h[HASH_STR_MAX], bad[HASH_STR_MAX];
        size_t n;

        random_password(pw, sizeof pw);
        assert_int_equal(hash_password(pw, cheap, h), 0);

        assert_false(hash_verify(NULL, pw));
        assert_false(hash_verify(h, NULL));
        assert_false(hash_verify("", pw));
        assert_false(hash_verify("garbage", pw));
        assert_false(hash_verify("$argon2id$", pw));
        assert_false(hash_verify(pw, pw));

        /* Truncated, and one character of the digest changed. */
        n = strlen(h);
        memcpy(bad, h, n + 1);
        bad[n - 5] = '\0';
        assert_false(hash_verify(bad, pw));
        memcpy(bad, h, n + 1);
        bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
        assert_false(hash_verify(bad, pw));

        /* A hash of another algorithm is not accepted as ours. */
        assert_false(hash_verify("$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", pw));
        sodium_memzero(pw, sizeof pw);
}

static void test_hash_needs_rehash(void **state) {
        const HashCost more_ops = { .ops = 2, .mem_kib = 8 }, more_mem = { .ops = 1, .mem_kib = 16 };
        char pw[64], h[HASH_STR_MAX];

        random_password(pw, sizeof pw);
        assert_int_equal(hash_password(pw, cheap, h), 0);

        assert_false(hash_needs_rehash(h, cheap));
        assert_true(hash_needs_rehash(h, more_ops));
        assert_true(hash_needs_rehash(h, more_mem));
        /* Something unreadable always wants a new hash. */
        assert_true(hash_needs_rehash("garbage", cheap));
        sodium_memzero(pw, sizeof pw);
}

static void test_hash_dummy(void **state) {
        char h[HASH_STR_MAX], h2[HASH_STR_MAX], pw[64];
        /* Forgetting the random bytes would make the secret 48 zeros. */
        static const char *const guesses[] = {
                "", "password", "0", "dummy", "000000000000000000000000000000000000000000000000",
        };

        assert_int_equal(hash_make_dummy(cheap, h), 0);
        assert_int_equal(hash_make_dummy(cheap, h2), 0);
        assert_string_not_equal(h, h2);
        assert_false(hash_needs_rehash(h, cheap));

        for (size_t i = 0; i < ELEMENTSOF(guesses); i++)
                assert_false(hash_verify(h, guesses[i]));
        for (unsigned i = 0; i < 4; i++) {
                random_password(pw, sizeof pw);
                assert_false(hash_verify(h, pw));
        }
        sodium_memzero(pw, sizeof pw);
}

/* ---- tokens ---- */

static bool is_base64url(const char *s) {
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(s);
}

static bool is_hex(const char *s) {
        return strspn(s, "0123456789abcdef") == strlen(s);
}

static void test_token_new(void **state) {
        char a[TOKEN_TEXT_MAX], b[TOKEN_TEXT_MAX];

        token_new(a);
        token_new(b);
        assert_int_equal(strlen(a), 43);
        assert_int_equal(strlen(b), 43);
        assert_true(is_base64url(a));
        assert_true(is_base64url(b));
        assert_int_not_equal(sodium_memcmp(a, b, 43), 0);
        /* Never one a command line would take for an option: without the
         * redraw, 4096 tokens all pass with a chance of (63/64)^4096. */
        for (int i = 0; i < 4096; i++) {
                token_new(a);
                assert_int_not_equal(a[0], '-');
        }
        sodium_memzero(a, sizeof a);
        sodium_memzero(b, sizeof b);
}

static void test_token_hash(void **state) {
        char t[TOKEN_TEXT_MAX], t2[TOKEN_TEXT_MAX], h1[TOKEN_HASH_HEX], h2[TOKEN_HASH_HEX], h3[TOKEN_HASH_HEX];

        token_new(t);
        token_new(t2);
        assert_int_equal(token_hash(t, h1), 0);
        assert_int_equal(token_hash(t, h2), 0);
        assert_int_equal(token_hash(t2, h3), 0);
        assert_int_equal(strlen(h1), 64);
        assert_true(is_hex(h1));
        assert_string_equal(h1, h2);
        assert_string_not_equal(h1, h3);
        /* The stored form does not contain the token. */
        assert_null(strstr(h1, t));

        /* A fixed input has a fixed hash: BLAKE2b-256 of 43 'A's, so the
         * stored form cannot change between versions unnoticed. */
        memset(t, 'A', 43);
        t[43] = '\0';
        assert_int_equal(token_hash(t, h1), 0);
        {
                unsigned char want[32];
                char want_hex[TOKEN_HASH_HEX];

                crypto_generichash(want, sizeof want, (const unsigned char *) t, 43, NULL, 0);
                sodium_bin2hex(want_hex, sizeof want_hex, want, sizeof want);
                assert_string_equal(h1, want_hex);
        }
        sodium_memzero(t, sizeof t);
        sodium_memzero(t2, sizeof t2);
}

static void test_token_hash_refuses(void **state) {
        char t[TOKEN_TEXT_MAX], bad[TOKEN_TEXT_MAX + 8], h[TOKEN_HASH_HEX];
        static const char forbidden[] = "+/=. \t\n\xc3";

        token_new(t);
        assert_int_equal(token_hash(NULL, h), -EINVAL);
        assert_int_equal(token_hash("", h), -EINVAL);

        /* One short, one long. */
        memcpy(bad, t, 42);
        bad[42] = '\0';
        assert_int_equal(token_hash(bad, h), -EINVAL);
        memcpy(bad, t, 43);
        bad[43] = 'A';
        bad[44] = '\0';
        assert_int_equal(token_hash(bad, h), -EINVAL);

        /* Right length, a character base64url does not have. */
        for (size_t i = 0; i < sizeof forbidden - 1; i++) {
                memcpy(bad, t, 44);
                bad[17] = forbidden[i];
                assert_int_equal(token_hash(bad, h), -EINVAL);
        }
        sodium_memzero(t, sizeof t);
        sodium_memzero(bad, sizeof bad);
}

static void test_id_new(void **state) {
        char a[19], b[19];

        memset(a, '#', sizeof a);
        id_new(a);
        id_new(b);
        assert_int_equal(strlen(a), 18);
        assert_int_equal(strncmp(a, "x-", 2), 0);
        assert_true(is_hex(a + 2));
        assert_int_equal(strlen(a + 2), 16);
        assert_string_not_equal(a, b);
}

/* ---- identity ---- */

static void check_normalize(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;

        print_message("identity \"%s\"\n", in);
        assert_int_equal(identity_normalize(in, &out), 0);
        assert_string_equal(out, want);
}

static void check_refused(const char *in) {
        char *out = NULL;

        print_message("identity refused \"%s\"\n", in);
        assert_int_equal(identity_normalize(in, &out), -EINVAL);
        assert_null(out);
}

static void test_identity_normalize(void **state) {
        check_normalize("alice@example.org", "alice@example.org");
        check_normalize("Alice@Example.ORG", "alice@example.org");
        check_normalize("alice+news@example.org", "alice@example.org");
        check_normalize("alice+a+b@example.org", "alice@example.org");
        check_normalize("a.l.i.c.e@example.org", "a.l.i.c.e@example.org");
        check_normalize("A.Lice+tag@GMail.com", "alice@gmail.com");
        check_normalize("a.l.i.c.e@gmail.com", "alice@gmail.com");
        check_normalize("al.ice@gmail.com.evil.org", "al.ice@gmail.com.evil.org");
        check_normalize("al.ice@notgmail.com", "al.ice@notgmail.com");
        check_normalize("x@y.z", "x@y.z");
        /* A '+' in the domain is not a tag. */
        check_normalize("o'brien@example.org", "o'brien@example.org");
        check_normalize("x@y.z", "x@y.z");
        /* Normal forms are fixed points. */
        check_normalize("alice@gmail.com", "alice@gmail.com");
}

static void test_identity_refused(void **state) {
        char longest[SAUTH_TEXT_MAX + 2];

        check_refused("");
        check_refused("alice");
        check_refused("alice.example.org");
        check_refused("alice@@example.org");
        check_refused("alice@ex@ample.org");
        check_refused("@example.org");
        check_refused("alice@");
        check_refused("alice@localhost");
        check_refused("+tag@example.org");
        check_refused("...@gmail.com");
        check_refused("+x@gmail.com");
        check_refused("al ice@example.org");
        check_refused(" alice@example.org");
        check_refused("alice@example.org ");
        check_refused("alice@example.org\n");
        check_refused("alice\r@example.org");
        check_refused("ali\tce@example.org");
        check_refused("ali\x7f" "ce@example.org");
        check_refused("ali\x01" "ce@example.org");
        check_refused("<alice@example.org>");
        check_refused("alice@example.org,bob@example.org");
        /* One '@', yet a list of recipients to a mailer. */
        check_refused("bob,alice@example.org");
        check_refused("bob;alice@example.org");
        /* Domains: labels of letters, digits and inner hyphens. */
        check_refused("bob@ex+ample.org");
        check_refused("a@.");
        check_refused("a@b.");
        check_refused("a@.com");
        check_refused("a@b..com");
        check_refused("a@-b.com");
        check_refused("a@b-.com");
        /* Local parts: no quoting, no specials, dots only inside. */
        check_refused("\"a b\"@example.org");
        check_refused("a(b)@example.org");
        check_refused("a\\b@example.org");
        check_refused("a:b@example.org");
        check_refused("a[b]@example.org");
        check_refused(".alice@example.org");
        check_refused("alice.@example.org");
        check_refused("al..ice@example.org");
        check_refused("alice.+tag@example.org");

        assert_int_equal(identity_normalize(NULL, &(char *) { NULL }), -EINVAL);

        /* Longest allowed (a 64-character local part, labels of 60), then
         * one more character. */
        memset(longest, 0, sizeof longest);
        memset(longest, 'a', 64);
        strcat(longest, "@");
        for (int i = 0; i < 3; i++) {
                memset(longest + strlen(longest), 'b' + i, 60);
                strcat(longest, ".");
        }
        strcat(longest, "eeee.org");
        assert_int_equal(strlen(longest), SAUTH_TEXT_MAX);
        {
                _cleanup_free_ char *out = NULL;

                assert_int_equal(identity_normalize(longest, &out), 0);
                assert_string_equal(out, longest);
        }
        memmove(longest + SAUTH_TEXT_MAX - 7, longest + SAUTH_TEXT_MAX - 8, 9);
        assert_int_equal(strlen(longest), SAUTH_TEXT_MAX + 1);
        check_refused(longest);
        /* A local part of 65 characters. */
        check_refused("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org");
}

static void test_username_valid(void **state) {
        static const char *const good[] = {
                "root", "alice", "_svc", "a", "a-b", "a.b", "a_b", "user42", "x-",
        };
        static const char *const bad[] = {
                "", "Alice", "ALICE", "1alice", "-alice", ".alice", "al ice", "alice\n",
                "al/ice", "al:ice", "al@ice", "../etc", "al\xc3\xa9", "a$", "alice ",
        };
        char name[SAUTH_NAME_MAX + 2];

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(username_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                print_message("username \"%s\"\n", bad[i]);
                assert_false(username_valid(bad[i]));
        }
        assert_false(username_valid(NULL));

        memset(name, 'a', sizeof name);
        name[SAUTH_NAME_MAX] = '\0';
        assert_true(username_valid(name));
        name[SAUTH_NAME_MAX] = 'a';
        name[SAUTH_NAME_MAX + 1] = '\0';
        assert_false(username_valid(name));
}

/* apicrud's rule for the user name of an identity registered from a
 * provider: the local part cut to 15, "-", 6 random characters. */
static void test_identity_external_username(void **state) {
        static const struct { const char *identity, *prefix; } cases[] = {
                { "alice@example.org", "alice-" },
                { "averyveryverylongname@example.org", "averyveryverylo-" },
                { "o'brien@example.org", "o_brien-" },
                { "1234@example.org", "_1234-" },
                { "-x@example.org", "_-x-" },
                { "123456789012345678@example.org", "_12345678901234-" },
        };
        char a[IDENTITY_USERNAME_MAX], b[IDENTITY_USERNAME_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = strlen(cases[i].prefix);

                assert_int_equal(identity_external_username(cases[i].identity, a), 0);
                print_message("%s -> %s\n", cases[i].identity, a);
                assert_int_equal(strlen(a), n + IDENTITY_SUFFIX_LEN);
                assert_memory_equal(a, cases[i].prefix, n);
                assert_int_equal(strspn(a + n, "abcdefghjkmnpqrstuvwxyz23456789"), IDENTITY_SUFFIX_LEN);
                assert_true(username_valid(a));
        }
        /* Random: two names for one identity differ (31^6 choices). */
        assert_int_equal(identity_external_username("alice@example.org", a), 0);
        assert_int_equal(identity_external_username("alice@example.org", b), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(identity_external_username("no-at-sign", a), -EINVAL);
        assert_int_equal(identity_external_username("@example.org", a), -EINVAL);
}

static void test_template_name_valid(void **state) {
        static const char *const good[] = { "confirm_new", "password_reset", "a", "x-1", "0" };
        static const char *const bad[] = {
                "", "../etc/passwd", "a/b", "Confirm", "a.tmpl", "a b", ".", "..", "a\n", "é",
        };
        char name[66];

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(template_name_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(template_name_valid(bad[i]));
        assert_false(template_name_valid(NULL));

        memset(name, 'a', sizeof name);
        name[64] = '\0';
        assert_true(template_name_valid(name));
        name[64] = 'a';
        name[65] = '\0';
        assert_false(template_name_valid(name));
}

/* ---- failtable ---- */

/* Counts one failure at t, as lockout_count() does. */
static void ft_fail(FailEntry *e, int64_t t) {
        assert_non_null(e);
        e->failures++;
        e->last = t;
}

/* How many of names[0..n) the table holds (a lookup that creates nothing),
 * each a distinct entry of its set. */
static unsigned ft_held(FailTable *t, char names[][16], unsigned n, int64_t now, int64_t window) {
        FailEntry *seen[FAILTABLE_WAYS + 1];
        unsigned held = 0;

        for (unsigned i = 0; i < n; i++) {
                FailEntry *e = failtable_get(t, names[i], "", now, window, false);

                if (!e)
                        continue;
                for (unsigned j = 0; j < held && j < ELEMENTSOF(seen); j++)
                        assert_ptr_not_equal(seen[j], e);
                if (held < ELEMENTSOF(seen))
                        seen[held] = e;
                held++;
        }
        return held;
}

/* The table of unknown user names is bounded: with room for one set of
 * FAILTABLE_WAYS entries, every name lands in that set. Filling it past
 * that never holds more than FAILTABLE_WAYS names; a new name takes the
 * least recently failed entry, or before that one whose window ran out;
 * the names it did not take keep their counts. */
static void test_failtable_bounded(void **state) {
        enum { N = 64 };
        const int64_t window = 900, t0 = 1700000000;
        FailTable *t = NULL;
        static char names[N][16];
        int64_t model_last[N] = {};     /* last failure of the names held; 0: not held */
        int64_t now = t0;
        FailEntry *e;

        for (unsigned i = 0; i < N; i++)
                snprintf(names[i], sizeof names[i], "nouser%u", i);

        /* Sizes round up to whole sets. */
        assert_int_equal(failtable_new(1, &t), 0);
        assert_int_equal(failtable_size(t), FAILTABLE_WAYS);
        failtable_free(t);
        assert_int_equal(failtable_new(FAILTABLE_WAYS + 1, &t), 0);
        assert_int_equal(failtable_size(t), 2 * FAILTABLE_WAYS);
        failtable_free(t);

        assert_int_equal(failtable_new(FAILTABLE_WAYS, &t), 0);
        assert_int_equal(failtable_size(t), FAILTABLE_WAYS);

        /* Fill the set: name i fails i + 1 times, at t0 + i. */
        for (unsigned i = 0; i < FAILTABLE_WAYS; i++) {
                now = t0 + i;
                assert_null(failtable_get(t, names[i], "", now, window, false));
                for (unsigned k = 0; k <= i; k++)
                        ft_fail(failtable_get(t, names[i], "", now, window, true), now);
        }
        assert_int_equal(ft_held(t, names, FAILTABLE_WAYS, now, window), FAILTABLE_WAYS);

        /* Name 0 fails again: now name 1 is the least recently failed. */
        now++;
        ft_fail(failtable_get(t, names[0], "", now, window, true), now);

        /* A new name takes name 1's entry, and only that one. */
        now++;
        e = failtable_get(t, names[FAILTABLE_WAYS], "", now, window, true);
        assert_non_null(e);
        assert_int_equal(e->failures, 0);
        ft_fail(e, now);
        assert_null(failtable_get(t, names[1], "", now, window, false));
        assert_int_equal(ft_held(t, names, FAILTABLE_WAYS + 1, now, window), FAILTABLE_WAYS);
        /* The others kept their counts. */
        e = failtable_get(t, names[0], "", now, window, false);
        assert_non_null(e);
        assert_int_equal(e->failures, 2);
        for (unsigned i = 2; i < FAILTABLE_WAYS; i++) {
                e = failtable_get(t, names[i], "", now, window, false);
                assert_non_null(e);
                assert_int_equal(e->failures, i + 1);
        }
        assert_int_equal(failtable_get(t, names[FAILTABLE_WAYS], "", now, window, false)->failures, 1);

        /* Many more names, one failure a second: never more than the bound
         * held, and each new name takes the entry of the least recently
         * failed one, checked against a model of the set. */
        for (unsigned i = 0; i <= FAILTABLE_WAYS; i++)
                model_last[i] = i == 1 ? 0 : failtable_get(t, names[i], "", now, window, false)->last;
        for (unsigned i = FAILTABLE_WAYS + 1; i < N; i++) {
                unsigned oldest = N;

                for (unsigned j = 0; j < i; j++)
                        if (model_last[j] != 0 && (oldest == N || model_last[j] < model_last[oldest]))
                                oldest = j;
                assert_true(oldest < N);
                model_last[oldest] = 0;
                now++;
                ft_fail(failtable_get(t, names[i], "", now, window, true), now);
                model_last[i] = now;
                assert_int_equal(ft_held(t, names, N, now, window), FAILTABLE_WAYS);
                for (unsigned j = 0; j < N; j++)
                        assert_true((failtable_get(t, names[j], "", now, window, false) != NULL) ==
                                    (model_last[j] != 0));
        }
        /* The last names held: name 0 went in its turn, after name 7. */
        assert_null(failtable_get(t, names[0], "", now, window, false));
        assert_non_null(failtable_get(t, names[N - 1], "", now, window, false));
        failtable_free(t);

        /* A name whose window ran out (and not blocked) goes before the
         * least recently failed one: name 0's window began at t0, its last
         * failure was late in it; names 1.. began later, name 1 failed
         * least recently. Name 1 is entered first, so that it holds the
         * set's first entry and name 0 does not. */
        assert_int_equal(failtable_new(FAILTABLE_WAYS, &t), 0);
        ft_fail(failtable_get(t, names[1], "", t0 + 1, window, true), t0 + 1);
        ft_fail(failtable_get(t, names[0], "", t0, window, true), t0);
        for (unsigned i = 2; i < FAILTABLE_WAYS; i++)
                ft_fail(failtable_get(t, names[i], "", t0 + i, window, true), t0 + i);
        ft_fail(failtable_get(t, names[0], "", t0 + window - 1, window, true), t0 + window - 1);
        now = t0 + window + 1;
        e = failtable_get(t, names[FAILTABLE_WAYS], "", now, window, true);
        assert_non_null(e);
        ft_fail(e, now);
        assert_null(failtable_get(t, names[0], "", now, window, false));
        for (unsigned i = 1; i < FAILTABLE_WAYS; i++) {
                e = failtable_get(t, names[i], "", now, window, false);
                assert_non_null(e);
                assert_int_equal(e->failures, 1);
        }
        assert_int_equal(ft_held(t, names, FAILTABLE_WAYS + 1, now, window), FAILTABLE_WAYS);
        failtable_free(t);
}

/* ---- ratelimit ---- */

#define SEC 1000000ULL

static void test_ratelimit_burst(void **state) {
        RateLimit rl;
        uint64_t t = 1000 * SEC;

        ratelimit_init(&rl, 1.0, 5);
        for (unsigned i = 0; i < 5; i++)
                assert_true(ratelimit_allow(&rl, 42, t));
        assert_false(ratelimit_allow(&rl, 42, t));
        assert_false(ratelimit_allow(&rl, 42, t));

        /* Another key has its own bucket. */
        assert_true(ratelimit_allow(&rl, 43, t));

        /* Refill: one token per second, never more than the burst. */
        assert_false(ratelimit_allow(&rl, 42, t + SEC / 2));
        assert_true(ratelimit_allow(&rl, 42, t + SEC + SEC / 10));
        assert_false(ratelimit_allow(&rl, 42, t + SEC + SEC / 10));
        t += 1000 * SEC;
        for (unsigned i = 0; i < 5; i++)
                assert_true(ratelimit_allow(&rl, 42, t));
        assert_false(ratelimit_allow(&rl, 42, t));

        /* Key 0 (root's uid) at time 0 in a fresh table: a free slot is
         * not a bucket of key 0, so it gets the burst like anyone. */
        ratelimit_init(&rl, 1.0, 5);
        for (unsigned i = 0; i < 5; i++)
                assert_true(ratelimit_allow(&rl, 0, 0));
        assert_false(ratelimit_allow(&rl, 0, 0));
        t = 1000 * SEC;
        for (unsigned i = 0; i < 5; i++)
                assert_true(ratelimit_allow(&rl, 42, t));

        /* Time going backwards refills nothing. */
        assert_false(ratelimit_allow(&rl, 42, t - 500 * SEC));
        assert_false(ratelimit_allow(&rl, 42, t));
}

/* CheckPassword's limit, with its real parameters and an injected clock: a
 * password dialog that checks on every keystroke of a person typing 10
 * keys a second (and bursts of 15) for two minutes is never refused; a
 * script asking as fast as it can gets no more than the burst and the
 * sustained rate, 20 a second. */
static void test_ratelimit_check_password_dialog(void **state) {
        RateLimit rl;
        uint64_t t = 1000 * SEC;
        unsigned allowed = 0;

        ratelimit_init(&rl, CHECK_RATE_PER_SEC, CHECK_BURST);
        for (unsigned i = 0; i < 1200; i++, t += SEC / 10)
                assert_true(ratelimit_allow(&rl, 4242, t));
        /* Then a quicker burst: 15 keys a second for 10 seconds. */
        for (unsigned i = 0; i < 150; i++, t += SEC / 15)
                assert_true(ratelimit_allow(&rl, 4242, t));

        /* A script: 1000 calls a second for 10 seconds. */
        ratelimit_init(&rl, CHECK_RATE_PER_SEC, CHECK_BURST);
        t = 1000 * SEC;
        for (unsigned i = 0; i < 10000; i++, t += SEC / 1000)
                allowed += ratelimit_allow(&rl, 4243, t);
        assert_true(allowed <= (unsigned) (CHECK_BURST + 10 * 20 + 1));
        assert_true(CHECK_RATE_PER_SEC <= 20.0);
        assert_true(allowed >= (unsigned) (10 * CHECK_RATE_PER_SEC));
}

static void test_ratelimit_steady(void **state) {
        RateLimit rl;
        uint64_t t = 5 * SEC;
        unsigned allowed = 0;

        /* 10 calls a second for 10 simulated seconds at 2/s with a burst
         * of 3: the burst, then the rate. */
        ratelimit_init(&rl, 2.0, 3);
        for (unsigned i = 0; i < 100; i++, t += SEC / 10)
                if (ratelimit_allow(&rl, 7, t))
                        allowed++;
        assert_true(allowed >= 3 + 19 && allowed <= 3 + 20);
}

static void test_ratelimit_many_keys(void **state) {
        RateLimit rl;
        uint64_t t = SEC;

        ratelimit_init(&rl, 1.0, 1);

        /* Key 1 spends its token first, so its bucket is the oldest. */
        assert_true(ratelimit_allow(&rl, 1, t));
        assert_false(ratelimit_allow(&rl, 1, t));
        for (uint64_t k = 2; k <= RATELIMIT_SLOTS; k++)
                assert_true(ratelimit_allow(&rl, k, t + k));
        /* The table is full; a new key takes key 1's slot. */
        assert_true(ratelimit_allow(&rl, 1000, t + 1000));
        /* Key 2 kept its bucket: still empty. */
        assert_false(ratelimit_allow(&rl, 2, t + 1001));

        /* Thousands of keys cycle through the table without trouble. */
        for (uint64_t k = 0; k < 10 * RATELIMIT_SLOTS; k++, t += 10)
                (void) ratelimit_allow(&rl, 5000 + k, t);
        for (size_t i = 0; i < RATELIMIT_SLOTS; i++)
                assert_true(rl.slots[i].used);
        /* The last RATELIMIT_SLOTS keys are the ones in the table. */
        for (size_t i = 0; i < RATELIMIT_SLOTS; i++)
                assert_true(rl.slots[i].key >= 5000 + 9 * RATELIMIT_SLOTS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pool_jobs_complete),
                cmocka_unit_test(test_pool_default_workers),
                cmocka_unit_test(test_pool_max_queue),
                cmocka_unit_test(test_pool_free_drains),
                cmocka_unit_test(test_pool_idle),
                cmocka_unit_test(test_pool_first_worker_kept),
                cmocka_unit_test(test_pool_admin_first_then_round_robin),
                cmocka_unit_test(test_pool_concurrent),
                cmocka_unit_test(test_pool_submit_from_done),
                cmocka_unit_test(test_pool_submit_during_free),
                cmocka_unit_test(test_hash_verify),
                cmocka_unit_test(test_hash_malformed),
                cmocka_unit_test(test_hash_needs_rehash),
                cmocka_unit_test(test_hash_dummy),
                cmocka_unit_test(test_token_new),
                cmocka_unit_test(test_token_hash),
                cmocka_unit_test(test_token_hash_refuses),
                cmocka_unit_test(test_id_new),
                cmocka_unit_test(test_identity_normalize),
                cmocka_unit_test(test_identity_refused),
                cmocka_unit_test(test_username_valid),
                cmocka_unit_test(test_identity_external_username),
                cmocka_unit_test(test_template_name_valid),
                cmocka_unit_test(test_ratelimit_check_password_dialog),
                cmocka_unit_test(test_ratelimit_burst),
                cmocka_unit_test(test_ratelimit_steady),
                cmocka_unit_test(test_ratelimit_many_keys),
                cmocka_unit_test(test_failtable_bounded),
        };

        if (sodium_init() < 0)
                return 1;
        loop_thread = pthread_self();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
