/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "apikeys.h"
#include "bus-method.h"
#include "config.h"
#include "log.h"
#include "hash.h"
#include "policy.h"
#include "pool.h"
#include "ratelimit.h"
#include "request.h"
#include "session.h"
#include "store.h"

/*
 * The daemon's state. Owned by the event-loop thread: only it touches the
 * bus connection and the store.
 */
typedef struct Manager {
        SauthConfig *config;
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *vtable_slot;
        Store *store;
        Sessions *sessions;     /* the key ring, the revoked session tokens */
        ApiKeys *apikeys;       /* the API keys in use */
        IdMap *held;            /* accounts held while the store cannot write (lockout.c) */
        IdMap *pending;         /* failures of accounts not yet written (lockout.c) */
        IdMap *flushing;        /* the batch of them being written, or NULL */
        uint64_t flush_seq;     /* batches taken so far */
        struct FailTable *fail_pairs;   /* per (account or name, source) */
        struct FailTable *fail_sources; /* per source, over all accounts */
        struct FailTable *fail_unknown; /* per unknown user name */
        sd_event_source *flush_timer;   /* writes failures and runs resets in batches */
        struct ForgotQueued *forgot_head, *forgot_tail; /* resets waiting for the timer */
        unsigned n_forgot;
        sd_event_source *housekeeping; /* last_used flush, pruning */
        uint64_t last_prune;    /* usec, CLOCK_MONOTONIC */
        Policy *policy;
        Pool *hash_pool;        /* Argon2id */
        struct OAuth *oauth;    /* providers, device flows, code states (oauth.c) */
        Pool *mail_pool;        /* sending mail: only what the outbox has in flight */
        struct Outbox *outbox;  /* mail waiting in the store (outbox.c) */
        struct Fleet *fleet;    /* other hosts' changes to a shared store (fleet.c) */
        struct StoreWork *store_work; /* remote store: where store calls run (store-work.h) */
        RequestRound housekeeping_round; /* on a store worker, it may wait */
        RequestRound flush_round;
        HashCost cost;
        char dummy_hash[HASH_STR_MAX];
        RateLimit check_limit;  /* CheckPassword, per caller uid */
        RateLimit register_limit; /* Register by non-admins, per caller uid */
        RateLimit register_total; /* Register by non-admins, all together (key 0) */
        RateLimit update_limit; /* UpdateAuth, per caller uid */
        char **role_levels;     /* [roles] privacy_levels, in order */
        CallerCache callers;    /* who is calling, per bus connection */
        Quota hash_quota;       /* hash jobs in flight of non-admin callers */
        ConnLimit conns;        /* calls held per connection, connections per uid */
        RequestTracker requests;/* calls held for a later reply, and mail */
        const BusMethod **methods; /* every row of the object, in vtable order */
        size_t n_methods;
        const BusMethod **methods_by_name; /* the same rows, sorted by member (bsearch) */
        sd_bus_vtable *vtable;
        bool stopping;
} Manager;

typedef struct ManagerOptions {
        const char *config_path;
        bool config_required;
        const char *bus_address;        /* NULL: the system bus */
        const char *db_path;            /* overrides [store] path */
        bool verbose;
} ManagerOptions;

/* Arms the timer that writes failures and runs password resets in one
 * batch, at the next multiple of its period: whatever was asked, real
 * account or not, the loop then makes a write (rule 11). */
void manager_schedule_flush(Manager *m);

/* Exits the loop once stopping and nothing is left in flight. */
void manager_maybe_exit(Manager *m);

int manager_new(const ManagerOptions *o, Manager **ret);
int manager_run(Manager *m);
void manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

