/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "hash.h"
#include "policy.h"
#include "pool.h"
#include "ratelimit.h"
#include "store.h"

/*
 * The uids of recent callers, by unique bus name. A unique name is never
 * given to another connection while the bus runs, so an entry cannot go
 * stale; asking the bus costs a round trip on every call otherwise.
 */
#define SENDER_CACHE_SLOTS 128

typedef struct SenderCache {
        struct {
                char name[32];
                uid_t uid;
        } slots[SENDER_CACHE_SLOTS];
        unsigned next;          /* round robin: the oldest entry goes */
} SenderCache;

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
        Policy *policy;
        Pool *hash_pool;        /* Argon2id */
        Pool *mail_pool;        /* sending mail */
        HashCost cost;
        char dummy_hash[HASH_STR_MAX];
        RateLimit check_limit;  /* CheckPassword, per caller uid */
        SenderCache senders;
        Quota hash_quota;       /* hash jobs in flight of non-admin callers */
        unsigned delayed_replies; /* ForgotPassword replies waiting for their time */
        bool stopping;
} Manager;

typedef struct ManagerOptions {
        const char *config_path;
        bool config_required;
        const char *bus_address;        /* NULL: the system bus */
        const char *db_path;            /* overrides [store] path */
        bool verbose;
} ManagerOptions;

/* A hash job's claim on the pool. Non-admin callers hold one unit of
 * hash_quota while their job is queued or running; admins (the PAM stacks
 * of login and sshd) are never held back by them. */
typedef struct HashTicket {
        uint64_t uid;
        bool held;
} HashTicket;

int manager_hash_admit(Manager *m, uint64_t uid, bool admin, HashTicket *ret);
void manager_hash_release(Manager *m, HashTicket *t);

/* Exits the loop once stopping and nothing is left in flight. */
void manager_maybe_exit(Manager *m);

int manager_new(const ManagerOptions *o, Manager **ret);
int manager_run(Manager *m);
void manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

