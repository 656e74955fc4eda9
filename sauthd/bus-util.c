/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"

/* ---- callers ---- */

void caller_cache_flush(CallerCache *cache) {
        cache->generation++;
}

/* A busy client sends call after call on one connection: its slot is
 * tried first, before the walk over all 256 (a strcmp each, on every
 * call: 2 % of the loop's time under ApiAccess at 16 in flight). */
static CallerCacheEntry *caller_cache_find(CallerCache *cache, const char *sender) {
        if (streq(cache->slots[cache->last].sender, sender))
                return &cache->slots[cache->last];
        for (size_t i = 0; i < CALLER_CACHE_SLOTS; i++)
                if (streq(cache->slots[i].sender, sender)) {
                        cache->last = (unsigned) i;
                        return &cache->slots[i];
                }
        return NULL;
}

static CallerCacheEntry *caller_cache_add(CallerCache *cache, const char *sender, uid_t uid) {
        CallerCacheEntry *e = &cache->slots[cache->next];

        cache->next = (cache->next + 1) % CALLER_CACHE_SLOTS;
        *e = (CallerCacheEntry) { .caller.uid = uid };
        strcpy(e->sender, sender);
        return e;
}

/* The uid the bus itself vouches for (SO_PEERCRED of the caller's
 * connection). No AUGMENT: nothing read from /proc, where a pid may
 * already belong to another process. */
static int sender_uid(sd_bus_message *msg, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

int caller_get(CallerCache *cache, const char *admin_group, sd_bus_message *msg,
               Caller *ret, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(msg);
        CallerCacheEntry *e = NULL;
        uint64_t now = now_usec();
        uid_t uid;

        /* Unique names only: a well-known name may change hands. */
        bool cacheable = sender && sender[0] == ':' && strlen(sender) < sizeof e->sender;

        if (cacheable)
                e = caller_cache_find(cache, sender);
        if (!e) {
                if (sender_uid(msg, &uid) < 0)
                        return bus_error(error, SAUTH_E_ACCESS_DENIED, "Cannot establish the caller's credentials.");
                if (!cacheable) {
                        caller_resolve(uid, admin_group, ret);
                        cache->nss_lookups++;
                        return 0;
                }
                e = caller_cache_add(cache, sender, uid);
        }
        if (e->resolved_usec == 0 || now - e->resolved_usec >= CALLER_TTL_USEC ||
            e->generation != cache->generation) {
                caller_resolve(e->caller.uid, admin_group, &e->caller);
                log_debug("caller uid %u: name and groups read", (unsigned) e->caller.uid);
                e->resolved_usec = now;
                e->generation = cache->generation;
                cache->nss_lookups++;
        }
        *ret = e->caller;
        return 0;
}

/* ---- errors ---- */

const char *bus_status_message(SauthStatus s) {
        switch (s) {
        case SAUTH_E_INVALID_CREDENTIALS:
                return "Invalid user name or password.";
        case SAUTH_E_ACCOUNT_LOCKED:
                return "Account locked after too many failures; try again later.";
        case SAUTH_E_ACCOUNT_DISABLED:
                return "This account is disabled.";
        case SAUTH_E_INVALID_TOKEN:
                return "The token is not valid.";
        case SAUTH_E_WEAK_PASSWORD:
                return "The password is too weak.";
        case SAUTH_E_ACCESS_DENIED:
                return "Access denied.";
        case SAUTH_E_LIMIT_EXCEEDED:
                return "Too many requests in progress; try again.";
        case SAUTH_E_RATE_LIMITED:
                return "Too many requests; slow down.";
        case SAUTH_E_NOT_FOUND:
                return "Not found.";
        default:
                return "Internal error.";
        }
}

int bus_error(sd_bus_error *error, SauthStatus s, const char *fmt, ...) {
        const char *name = sauth_status_error_name(s);
        va_list ap;
        int r;

        if (!name)
                name = sauth_status_error_name(SAUTH_E_INTERNAL);
        va_start(ap, fmt);
        r = sd_bus_error_setfv(error, name, fmt, ap);
        va_end(ap);
        return r;
}

int bus_error_errno(sd_bus_error *error, int r, const char *what) {
        switch (r) {
        case -ENOENT:
                return bus_error(error, SAUTH_E_NOT_FOUND, "No such %s.", what);
        case -EEXIST:
                return bus_error(error, SAUTH_E_ALREADY_REGISTERED, "That %s is already registered.", what);
        case -EKEYREJECTED:
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "The token is not valid.");
        case -EBUSY:
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many requests in progress; try again.");
        case -EINVAL:
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid %s.", what);
        case -EHOSTDOWN:
                /* The store's driver has logged why. */
                return bus_error(error, SAUTH_E_STORE_UNAVAILABLE, "The credential store cannot be reached.");
        default:
                log_error("%s: internal error: %s", what, strerror(-r));
                return bus_error(error, SAUTH_E_INTERNAL, "Internal error.");
        }
}

/* ---- a{sv} ---- */

/* The entries are written with sd-bus's typed calls rather than
 * sd_bus_message_append("{sv}", ...), which parses its format string and
 * walks a stack of containers per call: under callgrind that cost a reply
 * of VerifyToken (eight entries) about a quarter of its instructions. */

/* Opens "{sv}" with key and a variant of the given contents. */
static int bus_open_entry(sd_bus_message *reply, const char *key, const char *contents) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 's', key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', contents);
        return r;
}

static int bus_close_entry(sd_bus_message *reply);

/* One entry of a basic type: sig is its one-letter signature. */
static int bus_append_basic_entry(sd_bus_message *reply, const char *key, const char *sig, const void *value) {
        int r = bus_open_entry(reply, key, sig);

        if (r >= 0)
                r = sd_bus_message_append_basic(reply, sig[0], value);
        return r < 0 ? r : bus_close_entry(reply);
}

int bus_append_s(sd_bus_message *reply, const char *key, const char *value) {
        return bus_append_basic_entry(reply, key, "s", value ? value : "");
}

int bus_append_b(sd_bus_message *reply, const char *key, bool value) {
        int v = value;

        return bus_append_basic_entry(reply, key, "b", &v);
}

int bus_append_u(sd_bus_message *reply, const char *key, uint32_t value) {
        return bus_append_basic_entry(reply, key, "u", &value);
}

int bus_append_t(sd_bus_message *reply, const char *key, uint64_t value) {
        return bus_append_basic_entry(reply, key, "t", &value);
}

int bus_append_d(sd_bus_message *reply, const char *key, double value) {
        return bus_append_basic_entry(reply, key, "d", &value);
}

static int bus_close_entry(sd_bus_message *reply) {
        int r = sd_bus_message_close_container(reply);

        return r < 0 ? r : sd_bus_message_close_container(reply);
}

int bus_list_open(sd_bus_message *reply, const char *key, const char *element) {
        char contents[16];
        int r;

        if (snprintf(contents, sizeof contents, "a%s", element) >= (int) sizeof contents)
                return -EINVAL;
        r = bus_open_entry(reply, key, contents);
        return r < 0 ? r : sd_bus_message_open_container(reply, 'a', element);
}

int bus_list_close(sd_bus_message *reply) {
        int r = sd_bus_message_close_container(reply);

        return r < 0 ? r : bus_close_entry(reply);
}

int bus_append_strv(sd_bus_message *reply, const char *key, char **values) {
        int r;

        r = bus_open_entry(reply, key, "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, values);
        return r < 0 ? r : bus_close_entry(reply);
}

int bus_append_pairs(sd_bus_message *reply, const char *key, const ConfigPair *pairs, size_t n) {
        int r;

        r = bus_open_entry(reply, key, "a{ss}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "{ss}", pairs[i].name, pairs[i].value);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : bus_close_entry(reply);
}

int bus_dict_new(sd_bus_message *call, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reply);
        return 0;
}

int bus_dict_send(sd_bus_message *reply) {
        int r = sd_bus_message_close_container(reply);

        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

bool arg_ok(const char *s, size_t max, bool required) {
        size_t n = strnlen(s, max + 1);

        return n <= max && (!required || n > 0);
}
