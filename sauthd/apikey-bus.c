/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The API key area on the bus: CreateApiKey, RevokeApiKey, ListApiKeys
 * (admin, or the key owner's own user) and ApiAccess (anyone holding a
 * key). ApiAccess answers from memory: no SQL, no NSS.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikeys.h"
#include "audit.h"
#include "log.h"
#include "manager.h"
#include "apikey-bus.h"

static void apikey_audit(AuditEvent event, AuditResult result, const Caller *caller, const char *user,
                         const char *reason) {
        audit_log(&(AuditRecord) {
                .event = event, .result = result, .user = user, .caller_uid = caller->uid, .reason = reason,
        });
}

static int method_create_api_key(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_strv_free_ char **scopes = NULL;
        _cleanup_free_ char *id = NULL;
        char *full = NULL;
        const char *uid, *name;
        uint64_t expires;
        int64_t now = time(NULL);
        int r;

        r = sd_bus_message_read(msg, "ss", &uid, &name);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &scopes);
        if (r >= 0)
                r = sd_bus_message_read(msg, "t", &expires);
        if (r < 0)
                return r;
        if (!arg_ok(uid, SAUTH_NAME_MAX, true) || !arg_ok(name, SAUTH_NAME_MAX, false))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "A uid is required; a name is at most %d bytes "
                                 "of printable text.", SAUTH_NAME_MAX);
        if (!apikeys_scopes_valid(m->apikeys, scopes))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Scopes must be one or more of: %s.",
                                 m->config->apikey_scopes);
        if (expires != 0 && (expires > INT64_MAX || (int64_t) expires <= now))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "The expiry must be in the future, or 0 for never.");

        r = store_account_by_uid(m->store, uid, &a);
        if (r == -ENOENT)
                return bus_error(error, SAUTH_E_NOT_FOUND, "No account for that uid.");
        if (r < 0)
                return bus_error_errno(error, r, "account");

        r = apikeys_create(m->apikeys, m->store, uid, name, scopes, (int64_t) expires, now,
                           streq(a->status, SAUTH_STATUS_ACTIVE), &id, &full);
        if (r == -EDQUOT) {
                apikey_audit(AUDIT_APIKEY_CREATE, AUDIT_REFUSED, caller, a->username, "limit");
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "At most %u API keys per user.",
                                 m->config->apikey_max_per_user);
        }
        if (r < 0) {
                log_error("account %s: API key not created: %s", a->username, strerror(-r));
                return bus_error(error, SAUTH_E_INTERNAL, "The API key could not be stored.");
        }
        apikey_audit(AUDIT_APIKEY_CREATE, AUDIT_OK, caller, a->username, NULL);

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_s(reply, "id", id);
        if (r >= 0)
                r = bus_append_s(reply, "apikey", full);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        sodium_memzero(full, strlen(full));
        free(full);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

static int method_revoke_api_key(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        const char *id;
        int r;

        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        if (!apikey_id_valid(id))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Not an API key id.");
        r = apikeys_revoke(m->apikeys, m->store, id, time(NULL));
        if (r == -ENOENT)
                return bus_error(error, SAUTH_E_NOT_FOUND, "No such API key in use.");
        if (r < 0)
                return bus_error_errno(error, r, "API key");
        apikey_audit(AUDIT_APIKEY_REVOKE, AUDIT_OK, caller, NULL, NULL);
        return sd_bus_reply_method_return(msg, NULL);
}

static int apikey_entry_cmp(const void *a, const void *b) {
        const ApiKeyEntry *x = *(const ApiKeyEntry *const *) a, *y = *(const ApiKeyEntry *const *) b;

        if (x->created != y->created)
                return x->created < y->created ? -1 : 1;
        return strcmp(x->id, y->id);
}

static int method_list_api_keys(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ const ApiKeyEntry **list = NULL;
        int64_t now = time(NULL);
        size_t n = 0, cursor = 0;
        const char *uid, *id;
        void *value;
        int r;

        r = sd_bus_message_read(msg, "s", &uid);
        if (r < 0)
                return r;
        if (!arg_ok(uid, SAUTH_NAME_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid uid.");

        /* From memory: it has every key in use, and the newest last_used. */
        list = calloc(idmap_size(m->apikeys->keys) + 1, sizeof *list);
        if (!list)
                return -ENOMEM;
        while (idmap_next(m->apikeys->keys, &cursor, &id, &value)) {
                const ApiKeyEntry *e = value;

                if (streq(e->uid, uid) && (e->expires == 0 || e->expires > now))
                        list[n++] = e;
        }
        qsort(list, n, sizeof *list, apikey_entry_cmp);

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_list_open(reply, "keys", "a{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}{sv}", "id", "s", list[i]->id,
                                                  "name", "s", list[i]->name);
                if (r >= 0)
                        r = bus_append_strv(reply, "scopes", list[i]->scopes);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}{sv}{sv}",
                                                  "created", "t", (uint64_t) list[i]->created,
                                                  "expires", "t", (uint64_t) list[i]->expires,
                                                  "last_used", "t", (uint64_t) list[i]->last_used);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = bus_list_close(reply);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

static int method_api_access(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **required = NULL;
        const ApiKeyEntry *e = NULL;
        const char *key;
        int r;

        r = sd_bus_message_read(msg, "s", &key);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &required);
        if (r < 0)
                return r;

        switch (apikeys_access(m->apikeys, key, required, time(NULL), &e)) {
        case API_ACCESS_OK:
                break;
        case API_ACCESS_SCOPE:
                apikey_audit(AUDIT_APIKEY_USE, AUDIT_DENIED, caller, NULL, "missing_scope");
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "The API key lacks a required scope.");
        default:
                apikey_audit(AUDIT_APIKEY_USE, AUDIT_FAILED, caller, NULL, "invalid_key");
                return bus_error(error, SAUTH_E_INVALID_CREDENTIALS, "Invalid API key.");
        }

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_s(reply, "uid", e->uid);
        if (r >= 0)
                r = bus_append_strv(reply, "scopes", e->scopes);
        if (r >= 0)
                r = bus_append_s(reply, "id", e->id);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

const BusMethod apikey_bus_methods[] = {
        BUS_METHOD("CreateApiKey",
                   BUS_ARGS("s", uid, "s", name, "as", scopes, "t", expires), BUS_RESULT("a{sv}", result),
                   method_create_api_key, BUS_SELF_UID, 0),
        BUS_METHOD("RevokeApiKey", BUS_ARGS("s", id), BUS_NO_RESULT,
                   method_revoke_api_key, BUS_SELF_APIKEY, 0),
        BUS_METHOD("ListApiKeys", BUS_ARGS("s", uid), BUS_RESULT("a{sv}", result),
                   method_list_api_keys, BUS_SELF_UID, 0),
        BUS_METHOD_FROM_MEMORY("ApiAccess", BUS_ARGS("s", apikey, "as", required_scopes), BUS_RESULT("a{sv}", result),
                   method_api_access, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_END,
};
