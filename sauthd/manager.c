/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "bus-open.h"
#include "daemon-lock.h"
#include "manager-bus.h"
#include "lockout.h"
#include "log.h"
#include "audit.h"
#include "mail.h"
#include "oauth.h"
#include "password.h"
#include "fleet.h"
#include "manager.h"
#include "outbox.h"
#include "roles.h"
#include "sauth-config.h"
#include "sauth-names.h"
#include "store-work.h"
#include "util.h"

/* UpdateAuth signs a token and writes a session row when it refreshes:
 * a web back end refreshes once per membership change, not in a loop. */
#define UPDATE_AUTH_RATE_PER_SEC 5.0
#define UPDATE_AUTH_BURST 30.0

/* API keys' last_used reaches the store at most this late (and at exit);
 * expired sessions, spent tokens and dead keys are pruned this often. */
#define USEC_PER_SEC UINT64_C(1000000)
#define HOUSEKEEPING_USEC (60 * USEC_PER_SEC)
#define PRUNE_USEC (3600 * USEC_PER_SEC)
#define HASH_POOL_WORKER_NICE 5     /* the other hash workers' nice value */
/* Store jobs queued at most (calls held per connection are capped before). */
#define STORE_WORK_QUEUE_MAX 1024

static void manager_prune(Manager *m) {
        int64_t now = time(NULL);
        int r;

        r = store_prune(m->store, now);
        if (r < 0)
                log_warning("pruning the store failed: %s", strerror(-r));
        else if (r > 0)
                log_info("pruned %d expired sessions, spent tokens and dead API keys", r);
        sessions_prune(m->sessions, (uint64_t) now);
        apikeys_prune(m->apikeys, now);
}

static void manager_flush(Manager *m) {
        int r = apikeys_flush(m->apikeys, m->store);

        if (r < 0)
                log_warning("API keys' last use not recorded: %s", strerror(-r));
}

/* Gives the heaps' free pages back to the kernel: glibc returns only the
 * top of a heap by itself, and free chunks below live blocks (start-up
 * parsing, a burst of calls, the workers' arenas) would stay resident.
 * Once at start and once a minute, on the loop. Measured after 32
 * concurrent logins: 64 KiB more than before the burst, 68 KiB of it
 * returned by the next trim — small, because libsodium maps Argon2id's
 * memory itself and unmaps it after each hash. */
static void manager_trim_heap(void) {
        (void) malloc_trim(0);
}

static int manager_defer_request(void (*fn)(void *arg), void *arg, void *userdata) {
        Manager *m = userdata;

        return m->store_work ? store_work_submit(m->store_work, fn, NULL, arg) : -EOPNOTSUPP;
}

/* One round at a time: a round on a store worker that waits on the
 * database may outlast the timer's period. */
static void manager_housekeeping_round(void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_usec();

        manager_flush(m);
        (void) lockout_retry(m, time(NULL));
        if (now - m->last_prune >= PRUNE_USEC) {
                manager_prune(m);
                m->last_prune = now;
        }
        (void) request_round_end(&m->housekeeping_round); /* the timer asks again in a minute */
}

static int manager_on_housekeeping(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (request_round_start(&m->housekeeping_round))
                request_tracker_defer(&m->requests, manager_housekeeping_round, m);
        manager_trim_heap();
        return sd_event_source_set_time(s, usec + HOUSEKEEPING_USEC);
}

/* Failures and resets are written at multiples of this period, never
 * right after the reply that caused them. */
#define FLUSH_PERIOD_USEC (100 * 1000)

static void manager_flush_batch(Manager *m) {
        bool wrote = forgot_password_run_queued(m);

        lockout_flush(m, time(NULL), wrote);
}

/* A batch on a store worker; what was asked meanwhile goes in the next. */
static void manager_flush_round(void *userdata) {
        Manager *m = userdata;

        manager_flush_batch(m);
        if (request_round_end(&m->flush_round))
                manager_schedule_flush(m);
}

static int manager_on_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (request_round_start(&m->flush_round))
                request_tracker_defer(&m->requests, manager_flush_round, m);
        return 0;
}

void manager_schedule_flush(Manager *m) {
        uint64_t next = (now_usec() / FLUSH_PERIOD_USEC + 1) * FLUSH_PERIOD_USEC;
        int enabled = SD_EVENT_OFF;

        if (!m->flush_timer) {
                if (sd_event_add_time(m->event, &m->flush_timer, CLOCK_MONOTONIC, next, 1000,
                                      manager_on_flush, m) < 0)
                        (void) manager_on_flush(NULL, 0, m); /* no timer: now rather than never */
                return;
        }
        (void) sd_event_source_get_enabled(m->flush_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        if (sd_event_source_set_time(m->flush_timer, next) < 0 ||
            sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ONESHOT) < 0)
                (void) manager_on_flush(NULL, 0, m);
}

/* At exit: what waits for the timer is done now. */
static void manager_flush_pending(Manager *m) {
        int enabled = SD_EVENT_OFF;

        if (m->flush_timer)
                (void) sd_event_source_get_enabled(m->flush_timer, &enabled);
        if (enabled != SD_EVENT_OFF) {
                (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_OFF);
                manager_flush_batch(m);
        }
        m->flush_timer = sd_event_source_disable_unref(m->flush_timer);
}

void manager_maybe_exit(Manager *m) {
        if (m->stopping && m->requests.alive == 0)
                (void) sd_event_exit(m->event, 0);
}

static void manager_on_requests_idle(void *userdata) {
        manager_maybe_exit(userdata);
}

static int manager_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (m->stopping)
                return 0;
        m->stopping = true;
        log_info("signal %u: finishing work in progress, then stopping", si->ssi_signo);
        /* Messages in flight finish; the rest waits in the store. */
        outbox_stop(m->outbox);
        /* New callers no longer reach us (without bus activation they get
         * "no such service"; with it, they wait for the next start). */
        (void) sd_bus_release_name(m->bus, SAUTH_BUS_NAME);
        manager_maybe_exit(m);
        return 0;
}

/* Without its bus connection sauthd serves nobody: say so and exit with an
 * error, so that the service manager (Restart=on-failure) starts it again
 * once the bus is back. */
static int manager_on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        log_error("lost the connection to the bus: exiting");
        m->stopping = true;
        outbox_stop(m->outbox);
        return sd_event_exit(m->event, -ECONNRESET);
}

static int manager_connect(Manager *m, const char *address) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sauth_bus_open(address, &bus);
        if (r < 0) {
                log_error("cannot connect to the bus %s: %s", address ? address : "(system)", strerror(-r));
                return r;
        }
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* sd-bus delivers the loss of the connection as a local signal. */
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", manager_on_disconnected, m);
        if (r < 0)
                return r;
        m->bus = TAKE_PTR(bus);
        return 0;
}

static int manager_setup_event(Manager *m) {
        sigset_t ss;
        int r;

        /* Signals are blocked before any worker starts, so that only the
         * loop's signalfd sees them. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return -errno;
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGTERM, manager_on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, manager_on_signal, m);
        return r;
}

/* The session token keys and the API keys, with what the store remembers
 * of them: revoked sessions, keys in use. */
/* [store] driver picks the engine: the SQLite file at path, or the
 * PostgreSQL database named by the conninfo in conninfo_file. */
static int manager_open_store(Manager *m) {
        const SauthConfig *c = m->config;
        StoreOptions o = {
                .driver = c->store_driver,
                .path = c->store_path,
                .conninfo_file = c->store_conninfo_file,
                .timeout_ms = c->store_timeout * 1000,
                .n_workers = c->store_pool_size,
        };
        int r;

        if (!store_driver_by_name(c->store_driver)) {
                log_error("[store] driver: expected sqlite or postgresql");
                return -EINVAL;
        }
        if (streq(c->store_driver, "postgresql") && !c->store_conninfo_file) {
                log_error("[store] driver = postgresql needs conninfo_file");
                return -EINVAL;
        }
        r = store_open_with(&o, &m->store);
        if (r < 0)
                log_error("cannot open the %s store %s: %s", c->store_driver,
                          streq(c->store_driver, "sqlite") ? c->store_path : c->store_conninfo_file,
                          strerror(-r));
        return r;
}

static int manager_load_tokens(Manager *m) {
        const SauthConfig *c = m->config;
        char msg[512] = "";
        int64_t now = time(NULL);
        int r;

        r = sessions_new(c->key_file, c->issuer, MAX(c->session_lifetime, c->admin_lifetime), m->store,
                         (uint64_t) now, &m->sessions, msg, sizeof msg);
        if (r < 0) {
                log_error("cannot load the session token keys %s: %s", c->key_file, msg[0] ? msg : strerror(-r));
                return r;
        }
        r = apikeys_new(c->apikey_pepper_file, c->apikey_scopes, c->apikey_max_per_user, m->store, now,
                        &m->apikeys, msg, sizeof msg);
        if (r < 0) {
                log_error("cannot load the API keys (%s): %s", c->apikey_pepper_file, msg[0] ? msg : strerror(-r));
                return r;
        }
        return 0;
}

static int manager_load(Manager *m, const ManagerOptions *o) {
        int r;

        r = config_load(o->config_path, o->config_required, &m->config);
        if (r < 0)
                return r;
        if (o->db_path) {
                free(m->config->store_path);
                m->config->store_path = strdup(o->db_path);
                if (!m->config->store_path)
                        return -ENOMEM;
        }
        audit_setup(m->config->audit_unknown_users);
        m->cost = (HashCost) { .ops = m->config->hash_ops, .mem_kib = m->config->hash_mem_kib };
        ratelimit_init(&m->check_limit, CHECK_RATE_PER_SEC, CHECK_BURST);
        /* An hour's allowance at once, refilled over the hour. */
        ratelimit_init(&m->register_limit, m->config->registrations_per_caller / 3600.0,
                       m->config->registrations_per_caller);
        ratelimit_init(&m->register_total, m->config->registrations_per_hour / 3600.0,
                       m->config->registrations_per_hour);
        ratelimit_init(&m->update_limit, UPDATE_AUTH_RATE_PER_SEC, UPDATE_AUTH_BURST);
        r = roles_levels_parse(m->config->privacy_levels, &m->role_levels);
        if (r < 0) {
                log_error("[roles] privacy_levels: expected distinct words of a-z 0-9 _");
                return r;
        }
        if (!roles_name_valid(m->config->roles_resource)) {
                log_error("[roles] resource: expected 1-64 characters of a-z 0-9 _");
                return -EINVAL;
        }
        /* A quarter of the queue for any one user, three quarters for all
         * non-admins together: the rest stays free for admin callers. */
        quota_init(&m->hash_quota, MAX(1u, m->config->max_queue / 4),
                   MAX(1u, m->config->max_queue - MAX(1u, m->config->max_queue / 4)));

        connlimit_init(&m->conns, m->config->max_calls_per_connection, m->config->max_connections_per_uid);
        r = lockout_init(m);
        if (r < 0)
                return r;
        r = manager_open_store(m);
        if (r < 0)
                return r;
        r = manager_load_tokens(m);
        if (r < 0)
                return r;
        r = policy_new(m->config, &m->policy);
        if (r < 0) {
                log_error("cannot load the password rules: %s", strerror(-r));
                return r;
        }
        /* One hash at startup, so that unknown users cost what known ones do. */
        r = hash_make_dummy(m->cost, m->dummy_hash);
        if (r < 0)
                log_error("cannot make an Argon2id hash with m=%llu KiB", (unsigned long long) m->config->hash_mem_kib);
        return r;
}

/* With a remote store, the store workers; from here on the loop thread
 * holds the daemon lock except while it polls (manager_run()). */
static int manager_store_work_start(Manager *m) {
        int r;

        if (!store_is_remote(m->store))
                return 0;
        daemon_lock();
        r = store_work_new(m->event, m->store, STORE_WORK_QUEUE_MAX,
                           (uint64_t) m->config->store_timeout * USEC_PER_SEC, &m->store_work);
        if (r < 0) {
                log_error("cannot start the store workers: %s", strerror(-r));
                return r;
        }
        return 0;
}

static int manager_outbox_new(Manager *m) {
        char msg[512] = "";
        int r;

        r = outbox_new(&(OutboxSetup) {
                .event = m->event, .store = m->store, .mail_pool = m->mail_pool,
                .requests = &m->requests, .config = m->config,
        }, &m->outbox, msg, sizeof msg);
        if (r < 0)
                log_error("cannot load the mail outbox key (%s): %s", m->config->mail_outbox_key_file,
                          msg[0] ? msg : strerror(-r));
        return r;
}

int manager_new(const ManagerOptions *o, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        if (sodium_init() < 0)
                return -EIO;
        r = mail_global_init();
        if (r < 0)
                return r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;

        r = manager_load(m, o);
        if (r < 0)
                return r;
        r = mail_check_ca_file(m->config);
        if (r < 0)
                return r;
        r = manager_setup_event(m);
        if (r < 0)
                return r;
        /* [daemon] admin_workers (1) more workers are kept for admin callers
         * (PAM stacks run as root): with every other worker busy with an
         * ordinary uid's flood, a login at the console starts hashing at
         * once instead of waiting for a hash to end. The other workers run
         * at a higher nice value, so that the loop thread (answering
         * Methods, ApiAccess, VerifyToken) and the kept worker win the CPU
         * from them on a host with as many workers as cores. */
        r = pool_new_full(m->event, "hash-pool", m->config->workers, m->config->admin_workers,
                          HASH_POOL_WORKER_NICE, m->config->max_queue, &m->hash_pool);
        /* The outbox hands the pool at most OUTBOX_IN_FLIGHT_MAX messages;
         * everything else waits in the store, where nothing is dropped. */
        if (r >= 0)
                r = pool_new(m->event, "mail-pool", 1, OUTBOX_IN_FLIGHT_MAX, &m->mail_pool);
        if (r < 0)
                return r;
        r = manager_store_work_start(m);
        if (r < 0)
                return r;
        r = manager_outbox_new(m);
        if (r < 0)
                return r;
        r = fleet_start(m);
        if (r < 0)
                return r;
        r = oauth_new(m, &m->oauth);
        if (r < 0)
                return r;
        manager_prune(m);
        m->last_prune = now_usec();
        r = sd_event_add_time_relative(m->event, &m->housekeeping, CLOCK_MONOTONIC, HOUSEKEEPING_USEC,
                                       USEC_PER_SEC, manager_on_housekeeping, m);
        if (r < 0)
                return r;
        r = manager_connect(m, o->bus_address);
        if (r < 0)
                return r;
        m->requests = (RequestTracker) {
                .event = m->event, .idle = manager_on_requests_idle, .idle_userdata = m,
                .defer = manager_defer_request, .defer_userdata = m,
        };
        r = manager_bus_install(m);
        if (r < 0) {
                log_error("cannot take the bus name %s: %s", SAUTH_BUS_NAME, strerror(-r));
                return r;
        }

        manager_trim_heap();
        log_info("sauthd %s ready: %u hash workers, Argon2id t=%llu m=%llu KiB, store %s %s",
                SAUTH_VERSION, pool_workers(m->hash_pool), m->cost.ops, m->cost.mem_kib, m->config->store_driver,
                streq(m->config->store_driver, "sqlite") ? m->config->store_path : m->config->store_conninfo_file);
        *ret = TAKE_PTR(m);
        return 0;
}

/* The loop with store workers beside it: sd_event_run() taken apart, so
 * that the daemon lock is let go while the loop waits and only then. */
static int manager_run_locked(Manager *m) {
        struct pollfd p = { .fd = sd_event_get_fd(m->event), .events = POLLIN };
        int r, code = 0;

        if (m->store)
                store_forbid_unbound(m->store, true);
        while (sd_event_get_state(m->event) != SD_EVENT_FINISHED) {
                r = sd_event_prepare(m->event);
                if (r == 0) {
                        daemon_unlock();
                        (void) poll(&p, 1, -1);
                        daemon_lock();
                        r = sd_event_wait(m->event, 0);
                }
                if (r > 0)
                        r = sd_event_dispatch(m->event);
                if (r < 0)
                        return r;
        }
        if (m->store)
                store_forbid_unbound(m->store, false);
        r = sd_event_get_exit_code(m->event, &code);
        return r < 0 ? r : code;
}

int manager_run(Manager *m) {
        if (m->store_work)
                return manager_run_locked(m);
        return sd_event_loop(m->event);
}

void manager_free(Manager *m) {
        if (!m)
                return;

        /* Pools first: they finish their jobs and send the last replies
         * while the bus and the store are still there. A message still in
         * flight records its result in the outbox, which goes after. */
        outbox_stop(m->outbox);
        /* What is left of the store's work runs on the store workers,
         * then everything runs here. */
        if (m->store)
                store_forbid_unbound(m->store, false);
        store_work_free(m->store_work);
        m->store_work = NULL;
        fleet_stop(m);
        pool_free(m->hash_pool);
        if (m->store)
                manager_flush_pending(m);
        pool_free(m->mail_pool);
        m->oauth = oauth_free(m->oauth);
        outbox_free(m->outbox);
        if (m->apikeys && m->store)
                manager_flush(m);
        m->housekeeping = sd_event_source_unref(m->housekeeping);
        apikeys_free(m->apikeys);
        sessions_free(m->sessions);
        lockout_done(m);
        mail_global_done();
        m->vtable_slot = sd_bus_slot_unref(m->vtable_slot);
        free(m->vtable);
        free(m->methods);
        free(m->methods_by_name);
        if (m->bus)
                sd_bus_flush_close_unref(m->bus);
        store_close(m->store);
        policy_free(m->policy);
        sodium_memzero(m->dummy_hash, sizeof m->dummy_hash);
        sd_event_unref(m->event);
        strv_free(m->role_levels);
        config_free(m->config);
        if (daemon_lock_held())
                daemon_unlock();
        free(m);
}
