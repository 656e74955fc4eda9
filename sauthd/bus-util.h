/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "caller.h"
#include "config.h"
#include "sauth-errors.h"
#include "sauth-names.h"
#include "util.h"

/*
 * What every bus handler shares: the caller's identity from the bus, typed
 * errors, a{sv} builders and argument bounds. Nothing here knows the
 * daemon's state: callers pass what is needed (the cache, the admin group),
 * so any *-bus.c may include this without a circle.
 */

/*
 * Callers by bus connection: the uid of a unique name never changes while
 * the bus runs, so it is asked of the bus once per connection; the name
 * and the admin flag come from NSS and are re-read after CALLER_TTL_USEC or
 * when caller_cache_flush() says the user or group files changed. A slow
 * NSS (LDAP, SSSD) is then met once per connection and TTL, not per call.
 */
#define CALLER_CACHE_SLOTS 256
#define CALLER_TTL_USEC (30ULL * 1000000ULL)

typedef struct CallerCacheEntry {
        char sender[32];        /* unique name ":1.42"; "" = free slot */
        Caller caller;
        uint64_t resolved_usec; /* when name and admin flag were read */
        unsigned generation;
} CallerCacheEntry;

typedef struct CallerCache {
        CallerCacheEntry slots[CALLER_CACHE_SLOTS];
        unsigned next;          /* round robin: the oldest entry goes */
        unsigned last;          /* the slot found last: looked at first */
        unsigned generation;    /* bumped by caller_cache_flush() */
        uint64_t nss_lookups;   /* for tests and the benchmark */
} CallerCache;

/* Forgets every name and admin flag (the uids stay: they cannot change). */
void caller_cache_flush(CallerCache *cache);

/* The caller of msg. Sets AccessDenied when the bus cannot tell. */
int caller_get(CallerCache *cache, const char *admin_group, sd_bus_message *msg,
               Caller *ret, sd_bus_error *error);

/* Sets a typed error; returns a negative value for the handler to return. */
int bus_error(sd_bus_error *error, SauthStatus s, const char *fmt, ...) _printf_(3, 4);

/* The message a status gets when the code has nothing more precise. */
const char *bus_status_message(SauthStatus s);

/* Maps an errno from the store or elsewhere to a typed error, logging
 * unexpected ones (what names the object, never a value). */
int bus_error_errno(sd_bus_error *error, int r, const char *what);

/* a{sv} entries. */
int bus_append_s(sd_bus_message *reply, const char *key, const char *value);
int bus_append_b(sd_bus_message *reply, const char *key, bool value);
int bus_append_u(sd_bus_message *reply, const char *key, uint32_t value);
int bus_append_t(sd_bus_message *reply, const char *key, uint64_t value);
int bus_append_d(sd_bus_message *reply, const char *key, double value);
int bus_append_strv(sd_bus_message *reply, const char *key, char **values);
/* A list under key: opens "{sv}" holding a variant "a<element>" and the
 * array itself; the caller appends elements, then bus_list_close(). */
int bus_list_open(sd_bus_message *reply, const char *key, const char *element);
int bus_list_close(sd_bus_message *reply);
/* An a{ss} entry from name = value pairs (the [resources] section). */
int bus_append_pairs(sd_bus_message *reply, const char *key, const ConfigPair *pairs, size_t n);

/* A new method return with an open a{sv}, to be closed and sent with
 * bus_dict_send(). */
int bus_dict_new(sd_bus_message *call, sd_bus_message **ret);
int bus_dict_send(sd_bus_message *reply);

/* Argument checks: non-empty (if required) and at most max bytes. */
bool arg_ok(const char *s, size_t max, bool required);
