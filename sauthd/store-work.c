/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon-lock.h"
#include "log.h"
#include "store-work.h"

typedef struct StoreJob {
        store_work_fn fn;
        store_work_fn expired;
        void *userdata;
        uint64_t queued;        /* usec, CLOCK_MONOTONIC */
        struct StoreJob *next;
} StoreJob;

typedef struct StoreThread {
        StoreWork *work;
        unsigned index;
        pthread_t thread;
} StoreThread;

struct StoreWork {
        Store *store;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        StoreJob *head, *tail;  /* guarded by lock */
        bool stop;              /* guarded by lock */
        unsigned pending;       /* guarded by lock: queued or running */
        unsigned max_queue;
        uint64_t max_wait;

        StoreThread *threads;
        unsigned n_threads;
        int efd;
        sd_event_source *efd_source;
};

static StoreJob *store_work_pop(StoreWork *w) {
        StoreJob *j;

        pthread_mutex_lock(&w->lock);
        while (!w->stop && !w->head)
                pthread_cond_wait(&w->wake, &w->lock);
        j = w->head;
        if (j) {
                w->head = j->next;
                if (!w->head)
                        w->tail = NULL;
        }
        pthread_mutex_unlock(&w->lock);
        return j;
}

static void *store_worker(void *arg) {
        StoreThread *t = arg;
        StoreWork *w = t->work;
        uint64_t one = 1;
        StoreJob *j;

        (void) store_thread_bind(w->store, t->index);
        while ((j = store_work_pop(w))) {
                daemon_lock();
                if (j->expired && now_usec() - j->queued > w->max_wait)
                        j->expired(j->userdata);
                else
                        j->fn(j->userdata);
                daemon_unlock();
                free(j);

                pthread_mutex_lock(&w->lock);
                w->pending--;
                pthread_mutex_unlock(&w->lock);
                /* The loop takes up what the job armed or queued. */
                (void) !write(w->efd, &one, sizeof one);
        }
        (void) store_thread_bind(NULL, 0);
        return NULL;
}

/* The store's wait hooks (store_set_wait_hooks()): a thread that holds the
 * daemon lock lets it go while its store call waits on the network, after
 * waking the loop, which then arms what the thread changed so far (a
 * timer, a reply waiting in the bus's queue). One StoreWork per process. */
static int wake_fd = -1;
static _Thread_local bool wait_released;

static void store_work_wait_leave(void) {
        uint64_t one = 1;

        if (!daemon_lock_held())
                return;
        if (wake_fd >= 0)
                (void) !write(wake_fd, &one, sizeof one);
        daemon_unlock();
        wait_released = true;
}

static void store_work_wait_enter(void) {
        if (!wait_released)
                return;
        wait_released = false;
        daemon_lock();
}

static int store_work_on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t n;

        (void) !read(fd, &n, sizeof n);
        return 0;
}

int store_work_new(sd_event *event, Store *store, unsigned max_queue, uint64_t max_wait_usec, StoreWork **ret) {
        _cleanup_(store_work_freep) StoreWork *w = NULL;
        unsigned n = store_workers(store);
        sigset_t all, old;
        int r = 0;

        if (n == 0)
                return -EINVAL;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->store = store;
        w->efd = -1;
        w->max_queue = MAX(max_queue, 1u);
        w->max_wait = max_wait_usec;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &w->efd_source, w->efd, EPOLLIN, store_work_on_eventfd, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->efd_source, "store-work");
        wake_fd = w->efd;
        store_set_wait_hooks(store_work_wait_leave, store_work_wait_enter);

        w->threads = calloc(n, sizeof *w->threads);
        if (!w->threads)
                return -ENOMEM;
        /* Workers take no signals: sd-event handles them on the loop. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (; w->n_threads < n; w->n_threads++) {
                StoreThread *t = &w->threads[w->n_threads];

                *t = (StoreThread) { .work = w, .index = w->n_threads };
                r = -pthread_create(&t->thread, NULL, store_worker, t);
                if (r < 0)
                        break;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int store_work_submit(StoreWork *w, store_work_fn fn, store_work_fn expired, void *userdata) {
        StoreJob *j;
        int r = 0;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (StoreJob) { .fn = fn, .expired = expired, .userdata = userdata, .queued = now_usec() };

        pthread_mutex_lock(&w->lock);
        if (w->stop)
                r = -ESHUTDOWN;
        else if (expired && w->pending >= w->max_queue)
                r = -EBUSY;
        else {
                if (w->tail)
                        w->tail->next = j;
                else
                        w->head = j;
                w->tail = j;
                w->pending++;
                pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->lock);
        if (r < 0)
                free(j);
        return r;
}

void store_work_free(StoreWork *w) {
        bool held = daemon_lock_held();

        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_broadcast(&w->wake);
        pthread_mutex_unlock(&w->lock);

        /* Workers drain the queue before they leave; they need the lock
         * for each job. */
        if (held)
                daemon_unlock();
        for (unsigned i = 0; i < w->n_threads; i++)
                pthread_join(w->threads[i].thread, NULL);
        if (held)
                daemon_lock();

        if (wake_fd == w->efd)
                wake_fd = -1;
        sd_event_source_disable_unref(w->efd_source);
        closep(&w->efd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w->threads);
        free(w);
}
