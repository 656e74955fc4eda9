/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus object: the areas' method tables assembled into one vtable, and
 * the one dispatcher every call goes through — caller first, the row's
 * access second, the handler last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "account-bus.h"
#include "apikey-bus.h"
#include "audit.h"
#include "log.h"
#include "login-bus.h"
#include "mail-bus.h"
#include "manager-bus.h"
#include "manager.h"
#include "oauth-bus.h"
#include "password-bus.h"
#include "roles-bus.h"
#include "session-bus.h"
#include "sauth-names.h"
#include "store-work.h"

static const BusMethod *const bus_areas[] = {
        login_bus_methods,
        account_bus_methods,
        password_bus_methods,
        session_bus_methods,
        apikey_bus_methods,
        roles_bus_methods,
        oauth_bus_methods,
        mail_bus_methods,
};

static const sd_bus_vtable bus_vtable_start[] = { SD_BUS_VTABLE_START(0) };
static const sd_bus_vtable bus_vtable_end[] = { SD_BUS_VTABLE_END };

static const char *const access_names[_BUS_ACCESS_MAX] = {
        [BUS_ANYONE]   = "anyone",
        [BUS_SELF]     = "admin, self",
        [BUS_SELF_UID] = "admin, self",
        [BUS_SELF_APIKEY] = "admin, self",
        [BUS_ADMIN]    = "admin",
        [BUS_REGISTER] = "admin; anyone with `[login] register = open`",
};

const char *bus_access_to_string(BusAccess a) {
        return a >= 0 && a < _BUS_ACCESS_MAX ? access_names[a] : NULL;
}

int manager_bus_methods(const BusMethod ***ret, size_t *ret_n) {
        const BusMethod **l;
        size_t n = 0, k = 0;

        for (size_t a = 0; a < ELEMENTSOF(bus_areas); a++)
                for (const BusMethod *b = bus_areas[a]; b->handler; b++)
                        n++;
        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t a = 0; a < ELEMENTSOF(bus_areas); a++)
                for (const BusMethod *b = bus_areas[a]; b->handler; b++)
                        l[k++] = b;
        *ret = l;
        *ret_n = n;
        return 0;
}

static const char *bus_method_member(const BusMethod *b) {
        return b->row.x.method.member;
}

static int bus_method_cmp(const void *a, const void *b) {
        return strcmp(bus_method_member(*(const BusMethod *const *) a),
                      bus_method_member(*(const BusMethod *const *) b));
}

static int bus_member_cmp(const void *key, const void *b) {
        return strcmp(key, bus_method_member(*(const BusMethod *const *) b));
}

/* Every call looks its row up: a binary search over the rows sorted by
 * name (6 comparisons for 40 rows, where the walk took 20 on average). */
static const BusMethod *manager_bus_find(Manager *m, const char *member) {
        const BusMethod *const *b;

        if (!member)
                return NULL;
        b = bsearch(member, m->methods_by_name, m->n_methods, sizeof *m->methods_by_name, bus_member_cmp);
        return b ? *b : NULL;
}

/* The first argument, read and put back: the account a "self" row is about. */
static const char *bus_first_arg(sd_bus_message *msg) {
        const char *s = NULL;

        if (sd_bus_message_read(msg, "s", &s) < 0)
                s = NULL;
        (void) sd_bus_message_rewind(msg, true);
        return s;
}

/* Whether uid (a person id) is the caller's own account. */
static bool bus_is_own_uid(Manager *m, const Caller *c, const char *uid) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;

        if (!c->username[0] || !uid)
                return false;
        return store_account_by_username(m->store, c->username, &a) >= 0 && streq(a->uid, uid);
}

static bool bus_access_allowed(Manager *m, const BusMethod *bm, sd_bus_message *msg, const Caller *c) {
        if (c->is_admin || bm->access == BUS_ANYONE)
                return true;
        switch (bm->access) {
        case BUS_SELF:
                return caller_is_admin_or_self(c, bus_first_arg(msg));
        case BUS_SELF_UID:
                return bus_is_own_uid(m, c, bus_first_arg(msg));
        case BUS_SELF_APIKEY: {
                /* An unknown id is denied like another's key: which ids
                 * exist is nobody else's business. The owner is copied:
                 * the key may go while the store is asked (a store
                 * worker lets the daemon run meanwhile). */
                const char *owner = apikeys_owner(m->apikeys, bus_first_arg(msg));
                _cleanup_free_ char *uid = owner ? strdup(owner) : NULL;

                return bus_is_own_uid(m, c, uid);
        }
        case BUS_REGISTER:
                return m->config->login_register == LOGIN_OPEN;
        default:
                return false;
        }
}

/* The row's access, then its handler. */
static int bus_method_run(Manager *m, const BusMethod *bm, sd_bus_message *msg, const Caller *c,
                          sd_bus_error *error) {
        const char *member = bus_method_member(bm);

        if (!bus_access_allowed(m, bm, msg, c)) {
                audit_log(&(AuditRecord) {
                        .event = AUDIT_ACCESS_DENIED, .result = AUDIT_DENIED,
                        .caller_uid = c->uid, .method = member,
                });
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Only %s may call %s.",
                                 bm->access == BUS_ADMIN || bm->access == BUS_REGISTER
                                 ? "an admin" : "an admin or the account's user", member);
        }
        return bm->handler(msg, m, c, error);
}

/* A call on its way to a store worker. */
typedef struct BusCall {
        Manager *m;
        const BusMethod *bm;
        Caller caller;
        Request *req;           /* holds the call and counts it against its connection */
} BusCall;

/* As sd-bus answers a handler's error. */
static void bus_call_reply_error(sd_bus_message *msg, int r, const sd_bus_error *error) {
        if (sd_bus_error_is_set(error))
                (void) sd_bus_reply_method_error(msg, error);
        else
                (void) sd_bus_reply_method_errno(msg, r, NULL);
}

static void bus_call_run(void *userdata) {
        BusCall *bc = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *msg = request_call(bc->req);
        int r;

        /* The handler counts what it holds on to itself. */
        request_release(bc->req);
        r = bus_method_run(bc->m, bc->bm, msg, &bc->caller, &error);
        if (r < 0)
                bus_call_reply_error(msg, r, &error);
        request_free(bc->req);
}

/* Waited in the queue longer than the store's timeout: the workers are all
 * held up by the database. */
static void bus_call_expired(void *userdata) {
        BusCall *bc = userdata;

        (void) request_reply_error(bc->req, SAUTH_E_STORE_UNAVAILABLE, "The credential store did not answer in time.");
        request_free(bc->req);
}

/* Hands the call to a store worker; its reply comes from there. Calls held
 * count against the caller's connection like hash jobs do. */
static int bus_method_defer(Manager *m, const BusMethod *bm, sd_bus_message *msg, const Caller *c,
                            sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        BusCall *bc;
        int r;

        bc = calloc(1, sizeof *bc);
        if (!bc)
                return -ENOMEM;
        *bc = (BusCall) { .m = m, .bm = bm, .caller = *c };
        r = request_new(&m->requests, msg, bc, free, &req);
        if (r < 0)
                return r;
        bc->req = req;
        if (request_admit_connection(req, &m->conns, c->uid, c->is_admin) < 0 ||
            store_work_submit(m->store_work, bus_call_run, bus_call_expired, bc) < 0)
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many requests in progress; try again.");
        TAKE_PTR(req);
        return 1;
}

int bus_method_dispatch(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const BusMethod *bm = manager_bus_find(m, sd_bus_message_get_member(msg));
        Caller caller;
        int r;

        if (!bm)
                return bus_error(error, SAUTH_E_INTERNAL, "No handler for this method.");
        r = caller_get(&m->callers, m->config->admin_group, msg, &caller, error);
        if (r < 0)
                return r;
        if (m->store_work && !bm->from_memory)
                return bus_method_defer(m, bm, msg, &caller, error);
        return bus_method_run(m, bm, msg, &caller, error);
}

int manager_bus_run_hash(Manager *m, Request *req, const Caller *caller,
                         request_work_fn work, request_done_fn done, sd_bus_error *error) {
        if (request_admit_connection(req, &m->conns, caller->uid, caller->is_admin) < 0 ||
            request_admit(req, &m->hash_quota, caller->uid, caller->is_admin) < 0 ||
            request_run(req, m->hash_pool, work, done) < 0)
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many requests in progress; try again.");
        return 1;
}

/* The object's vtable: START, every row of every area, END. */
static int manager_bus_vtable(Manager *m) {
        int r;

        r = manager_bus_methods(&m->methods, &m->n_methods);
        if (r < 0)
                return r;
        m->vtable = calloc(m->n_methods + 2, sizeof *m->vtable);
        if (!m->vtable)
                return -ENOMEM;
        m->vtable[0] = bus_vtable_start[0];
        for (size_t i = 0; i < m->n_methods; i++)
                m->vtable[i + 1] = m->methods[i]->row;
        m->vtable[m->n_methods + 1] = bus_vtable_end[0];
        m->methods_by_name = calloc(m->n_methods, sizeof *m->methods_by_name);
        if (!m->methods_by_name)
                return -ENOMEM;
        memcpy(m->methods_by_name, m->methods, m->n_methods * sizeof *m->methods);
        qsort(m->methods_by_name, m->n_methods, sizeof *m->methods_by_name, bus_method_cmp);
        return 0;
}

int manager_bus_install(Manager *m) {
        int r;

        r = manager_bus_vtable(m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(m->bus, &m->vtable_slot, SAUTH_BUS_PATH, SAUTH_BUS_INTERFACE, m->vtable, m);
        if (r < 0)
                return r;
        return sd_bus_request_name(m->bus, SAUTH_BUS_NAME, 0);
}
