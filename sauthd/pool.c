/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pool.h"
#include "util.h"

typedef struct PoolJob {
        pool_work_fn work;
        pool_done_fn done;
        void *userdata;
        struct PoolJob *next;
} PoolJob;

typedef struct JobList {
        PoolJob *head;
        PoolJob *tail;
} JobList;

/* The waiting jobs of one key (a caller's uid), in the round. */
typedef struct KeyQueue {
        uint64_t key;
        JobList jobs;
        struct KeyQueue *next;
} KeyQueue;

struct Pool {
        char *name;
        pthread_mutex_t lock;
        pthread_cond_t wake;            /* for every worker */
        pthread_cond_t wake_first;      /* for the workers kept for "first" jobs */
        JobList first;          /* guarded by lock: taken before any other */
        KeyQueue *round;        /* guarded by lock: one queue per key, served in turn */
        KeyQueue *round_tail;
        JobList finished;       /* guarded by lock */
        bool stop;              /* guarded by lock */

        pthread_t *threads;
        unsigned n_threads;
        unsigned n_first_threads;       /* of n_threads, the last ones: "first" jobs only */
        int worker_nice;                /* of the other workers; 0: the process's */

        /* Loop thread only. */
        unsigned pending;
        unsigned max_queue;
        int efd;
        sd_event_source *efd_source;
        void (*idle)(void *userdata);
        void *idle_userdata;
};

static void job_list_push(JobList *l, PoolJob *j) {
        j->next = NULL;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
}

static PoolJob *job_list_pop(JobList *l) {
        PoolJob *j = l->head;

        if (j) {
                l->head = j->next;
                if (!l->head)
                        l->tail = NULL;
        }
        return j;
}

static bool pool_has_waiting(const Pool *p) {
        return p->first.head || p->round;
}

/* The next job: a "first" one if any, else the head of the next key's
 * queue, that key going to the end of the round. Under lock. */
static PoolJob *pool_pop(Pool *p) {
        PoolJob *j = job_list_pop(&p->first);
        KeyQueue *q = p->round;

        if (j || !q)
                return j;
        j = job_list_pop(&q->jobs);
        p->round = q->next;
        if (!p->round)
                p->round_tail = NULL;
        if (q->jobs.head) {
                q->next = NULL;
                if (p->round_tail)
                        p->round_tail->next = q;
                else
                        p->round = q;
                p->round_tail = q;
        } else
                free(q);
        return j;
}

/* Queues j under key; spare is a fresh KeyQueue used if the key has none
 * (set to NULL when used). Under lock. */
static void pool_push_key(Pool *p, uint64_t key, PoolJob *j, KeyQueue **spare) {
        KeyQueue *q;

        for (q = p->round; q; q = q->next)
                if (q->key == key)
                        break;
        if (!q) {
                q = TAKE_PTR(*spare);
                *q = (KeyQueue) { .key = key };
                if (p->round_tail)
                        p->round_tail->next = q;
                else
                        p->round = q;
                p->round_tail = q;
        }
        job_list_push(&q->jobs, j);
}

/* first_only: a worker kept for "first" jobs, idle while only others wait. */
static void pool_work(Pool *p, bool first_only) {
        uint64_t one = 1;

        for (;;) {
                PoolJob *j;

                pthread_mutex_lock(&p->lock);
                if (first_only)
                        while (!p->stop && !p->first.head)
                                pthread_cond_wait(&p->wake_first, &p->lock);
                else
                        while (!p->stop && !pool_has_waiting(p))
                                pthread_cond_wait(&p->wake, &p->lock);
                j = first_only ? job_list_pop(&p->first) : pool_pop(p);
                pthread_mutex_unlock(&p->lock);
                if (!j)
                        return;         /* stopping and nothing left */

                j->work(j->userdata);

                pthread_mutex_lock(&p->lock);
                job_list_push(&p->finished, j);
                pthread_mutex_unlock(&p->lock);

                /* Wakes the loop; a full counter still leaves it readable. */
                (void) !write(p->efd, &one, sizeof one);
        }
}

static void *pool_worker(void *arg) {
        Pool *p = arg;

        /* A thread's own nice value (Linux keeps one per thread). Raising
         * it needs no privilege; failing leaves the process's. */
        if (p->worker_nice > 0)
                (void) setpriority(PRIO_PROCESS, (id_t) gettid(), p->worker_nice);
        pool_work(p, false);
        return NULL;
}

static void *pool_first_worker(void *arg) {
        pool_work(arg, true);
        return NULL;
}

/* Runs done() of every finished job, on the loop thread. */
static void pool_deliver(Pool *p) {
        JobList done;

        pthread_mutex_lock(&p->lock);
        done = p->finished;
        p->finished = (JobList) {};
        pthread_mutex_unlock(&p->lock);

        for (PoolJob *j = done.head, *next; j; j = next) {
                next = j->next;
                /* No longer pending once done() runs: a follow-up job it
                 * submits gets the place this one held. */
                p->pending--;
                if (j->done)
                        j->done(j->userdata);
                free(j);
        }
        if (p->pending == 0 && p->idle)
                p->idle(p->idle_userdata);
}

static int pool_on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Pool *p = userdata;
        uint64_t n;

        (void) !read(fd, &n, sizeof n);
        pool_deliver(p);
        return 0;
}

static unsigned cpu_count(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        return n > 0 ? (unsigned) n : 1;
}

/* n workers, the last n_first of them for "first" jobs only. */
static int pool_start_threads(Pool *p, unsigned n, unsigned n_first) {
        sigset_t all, old;
        int r = 0;

        p->threads = calloc(n, sizeof *p->threads);
        if (!p->threads)
                return -ENOMEM;

        /* Workers take no signals: sd-event handles them on the loop. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (; p->n_threads < n; p->n_threads++) {
                bool first_only = p->n_threads >= n - n_first;

                r = -pthread_create(&p->threads[p->n_threads], NULL,
                                    first_only ? pool_first_worker : pool_worker, p);
                if (r < 0)
                        break;
                p->n_first_threads += first_only;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        /* At least one worker takes every kind of job. */
        return p->n_threads > p->n_first_threads ? 0 : (r < 0 ? r : -EAGAIN);
}

int pool_new(sd_event *event, const char *name, unsigned n_workers, unsigned max_queue, Pool **ret) {
        return pool_new_full(event, name, n_workers, 0, 0, max_queue, ret);
}

int pool_new_full(sd_event *event, const char *name, unsigned n_workers, unsigned n_first_workers,
                  int worker_nice, unsigned max_queue, Pool **ret) {
        _cleanup_(pool_freep) Pool *p = NULL;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->efd = -1;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->wake, NULL);
        pthread_cond_init(&p->wake_first, NULL);
        p->worker_nice = worker_nice;
        p->max_queue = max_queue ? max_queue : 1;
        p->name = strdup(name);
        if (!p->name)
                return -ENOMEM;

        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->efd_source, p->efd, EPOLLIN, pool_on_eventfd, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->efd_source, p->name);

        n_workers = n_workers ? n_workers : cpu_count();
        r = pool_start_threads(p, n_workers + n_first_workers, n_first_workers);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

int pool_submit_for(Pool *p, bool first, uint64_t key, pool_work_fn work, pool_done_fn done, void *userdata) {
        _cleanup_free_ KeyQueue *spare = NULL;
        PoolJob *j;

        if (p->pending >= p->max_queue)
                return -EBUSY;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (PoolJob) { .work = work, .done = done, .userdata = userdata };
        /* Allocated outside the lock; freed again if the key has a queue. */
        if (!first) {
                spare = calloc(1, sizeof *spare);
                if (!spare) {
                        free(j);
                        return -ENOMEM;
                }
        }

        pthread_mutex_lock(&p->lock);
        if (p->stop) {
                /* pool_free() runs: no worker would take the job. */
                pthread_mutex_unlock(&p->lock);
                free(j);
                return -ESHUTDOWN;
        }
        if (first) {
                job_list_push(&p->first, j);
                pthread_cond_signal(&p->wake_first);
        } else
                pool_push_key(p, key, j, &spare);
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        p->pending++;
        return 0;
}

int pool_submit(Pool *p, pool_work_fn work, pool_done_fn done, void *userdata) {
        return pool_submit_for(p, false, 0, work, done, userdata);
}

unsigned pool_pending(const Pool *p) {
        return p->pending;
}

unsigned pool_workers(const Pool *p) {
        return p->n_threads;
}

void pool_set_idle_callback(Pool *p, void (*idle)(void *userdata), void *userdata) {
        p->idle = idle;
        p->idle_userdata = userdata;
}

void pool_free(Pool *p) {
        if (!p)
                return;

        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_broadcast(&p->wake);
        pthread_cond_broadcast(&p->wake_first);
        pthread_mutex_unlock(&p->lock);

        /* Workers drain the queue before they leave, so every job's done()
         * still runs: no request is left without a reply. */
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        p->idle = NULL;
        pool_deliver(p);

        sd_event_source_disable_unref(p->efd_source);
        closep(&p->efd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->wake);
        pthread_cond_destroy(&p->wake_first);
        free(p->threads);
        free(p->name);
        free(p);
}
