/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The login area on the bus: Methods and AccountLogin. */
#include <errno.h>
#include <time.h>

#include "dict.h"
#include "log.h"
#include "login-bus.h"
#include "login.h"
#include "manager-bus.h"
#include "manager.h"
#include "oauth-bus.h"
#include "oauth.h"
#include "roles.h"
#include "sauth-names.h"

/* Methods' extra key "providers": aa{sv} of name, issuer, client_type
 * (public | confidential), flows as (device, code), discovered b. */
static int methods_append_providers(sd_bus_message *reply, const OAuth *o) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "providers");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < oauth_provider_count(o); i++) {
                OAuthProviderInfo info;
                const char *flows[3] = {};
                size_t n = 0;

                oauth_provider_info(o, i, &info);
                if (info.device)
                        flows[n++] = "device";
                if (info.code)
                        flows[n++] = "code";
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
                if (r >= 0)
                        r = bus_append_s(reply, "name", info.name);
                if (r >= 0)
                        r = bus_append_s(reply, "issuer", info.issuer);
                if (r >= 0)
                        r = bus_append_s(reply, "client_type", info.confidential ? "confidential" : "public");
                if (r >= 0)
                        r = bus_append_strv(reply, "flows", (char **) flows);
                if (r >= 0)
                        r = bus_append_b(reply, "discovered", info.discovered);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_methods(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ const char **items = NULL;
        const SauthConfig *c = m->config;
        size_t n = 0;
        int r;

        /* The login methods a client may offer: local, then the providers. */
        items = calloc(c->n_providers + 2, sizeof *items);
        if (!items)
                return -ENOMEM;
        if (c->login_internal == LOGIN_OPEN)
                items[n++] = SAUTH_METHOD_LOCAL;
        for (size_t i = 0; i < c->n_providers; i++)
                items[n++] = c->providers[i].name;

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_strv(reply, "items", (char **) items);
        if (r >= 0)
                r = bus_append_u(reply, "count", (uint32_t) n);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "policies", "a{ss}", 2,
                                          "login_internal", login_policy_to_string(c->login_internal),
                                          "login_external", login_policy_to_string(c->login_external));
        if (r >= 0)
                r = methods_append_providers(reply, m->oauth);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

int login_bus_reply(Request *req, Manager *m, const StoreAccount *a, const char *method,
                    const LoginContext *context) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **roles = NULL;
        _cleanup_free_ char *token = NULL;
        uint64_t expires = 0;
        int r;

        /* Base and membership roles; too many for a token is the base
         * roles and "roles-omitted", never a failed login. */
        r = roles_session_issue(m, &(SessionGrant) {
                .account = a, .method = method,
                .identity = a->contact_confirmed ? a->identity : NULL,
                .lifetime = a->is_admin ? m->config->admin_lifetime : m->config->session_lifetime,
                .service = context ? context->service : NULL,
                .tty = context ? context->tty : NULL,
                .rhost = context ? context->rhost : NULL,
        }, (uint64_t) time(NULL), &token, &expires, NULL, &roles);
        if (r < 0) {
                log_error("account %s: no session token: %s", a->username, strerror(-r));
                return request_reply_error(req, r == -EHOSTDOWN ? SAUTH_E_STORE_UNAVAILABLE : SAUTH_E_INTERNAL,
                                           "The session could not be recorded.");
        }

        r = bus_dict_new(request_call(req), &reply);
        if (r >= 0)
                r = bus_append_s(reply, "jwt_token", token);
        if (r >= 0)
                r = bus_append_s(reply, "account_id", a->id);
        if (r >= 0)
                r = bus_append_s(reply, "uid", a->uid);
        if (r >= 0)
                r = bus_append_s(reply, "username", a->username);
        if (r >= 0)
                r = bus_append_strv(reply, "roles", roles);
        if (r >= 0)
                r = bus_append_t(reply, "expires", expires);
        if (r >= 0)
                r = bus_append_s(reply, "settings_id", m->config->settings_id);
        if (r >= 0)
                r = bus_append_s(reply, "method", method);
        /* DeviceLoginPoll's "complete"; the same in every login reply. */
        if (r >= 0)
                r = bus_append_s(reply, "status", "complete");
        if (r >= 0)
                r = bus_append_pairs(reply, "resources", m->config->resources, m->config->n_resources);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        /* The token is a secret: marked sensitive, so sd-bus wipes the
         * message's memory when it is freed. */
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        explicit_bzero(token, strlen(token));
        if (r < 0)
                return r;
        return request_reply(req, reply);
}

static void login_bus_done(Request *req, void *job) {
        LoginJob *j = job;
        SauthStatus s = login_conclude(j);
        int r;

        if (s != SAUTH_OK) {
                uint64_t delay = login_after_refusal(j);

                /* The daemon's own delay is a timer, never a sleeping
                 * thread; the module adds pam_fail_delay on top. */
                if (delay == 0 || request_reply_error_at(req, now_usec() + delay, s, "%s",
                                                         bus_status_message(s)) < 0)
                        (void) request_reply_error(req, s, "%s", bus_status_message(s));
                return;
        }
        r = login_bus_reply(req, j->m, j->account, SAUTH_METHOD_LOCAL, &j->context);
        if (r < 0)
                log_error("login reply failed: %s", strerror(-r));
}

/* Reads the context dict: known keys must be strings, others are skipped.
 * Values are kept printable, for the log and the audit trail. */
static int login_read_context(sd_bus_message *msg, LoginContext *ret) {
        const char *service = NULL, *tty = NULL, *rhost = NULL, *ruser = NULL;
        const DictField fields[] = {
                { "service", 's', &service },
                { "tty",     's', &tty },
                { "rhost",   's', &rhost },
                { "ruser",   's', &ruser },
        };
        int r;

        r = dict_read(msg, fields, ELEMENTSOF(fields));
        if (r < 0)
                return r;
        log_printable(ret->service, sizeof ret->service, service ?: "");
        log_printable(ret->tty, sizeof ret->tty, tty ?: "");
        log_printable(ret->rhost, sizeof ret->rhost, rhost ?: "");
        log_printable(ret->ruser, sizeof ret->ruser, ruser ?: "");
        return 0;
}

static int method_account_login(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        const char *username, *password, *method;
        LoginContext context = {};
        LoginJob *j;
        int r;

        r = sd_bus_message_read(msg, "sss", &username, &password, &method);
        if (r < 0)
                return r;
        r = login_read_context(msg, &context);
        if (r == -EBADMSG)
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Login context values must be strings.");
        if (r < 0)
                return r;

        /* A provider's name: the authorization code flow (oauth-bus.c). */
        if (!streq(method, SAUTH_METHOD_LOCAL) && oauth_has_provider(m->oauth, method))
                return oauth_bus_account_login(msg, m, caller, method, username, &context, error);
        if (!streq(method, SAUTH_METHOD_LOCAL))
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Login method not supported.");
        if (m->config->login_internal != LOGIN_OPEN)
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Local logins are closed on this host.");
        /* A user name, or an identity (email), which may be longer. */
        if (!arg_ok(username, strchr(username, '@') ? SAUTH_TEXT_MAX : SAUTH_NAME_MAX, true) ||
            !arg_ok(password, SAUTH_PASSWORD_BYTES, true))
                return bus_error(error, SAUTH_E_INVALID_CREDENTIALS, "Invalid user name or password.");

        log_debug("login attempt, service '%s', rhost '%s'", context.service, context.rhost);
        r = login_job_new(m, caller, username, password, &context, &j);
        if (r < 0)
                return bus_error_errno(error, r, "account");
        r = request_new(&m->requests, msg, j, login_job_free, &req);
        if (r < 0)
                return r;
        if (j->rate_limited) {
                login_audit_rate_limited(j);
                return bus_error(error, SAUTH_E_RATE_LIMITED, "Too many failed attempts; try again later.");
        }
        r = manager_bus_run_hash(m, req, caller, login_work, login_bus_done, error);
        if (r >= 0)
                TAKE_PTR(req); /* the pool has it until login_bus_done() */
        return r;
}

const BusMethod login_bus_methods[] = {
        BUS_METHOD_FROM_MEMORY("Methods", BUS_NO_ARGS, BUS_RESULT("a{sv}", result),
                   method_methods, BUS_ANYONE, 0),
        BUS_METHOD("AccountLogin",
                   BUS_ARGS("s", username, "s", password, "s", method, "a{sv}", context),
                   BUS_RESULT("a{sv}", result),
                   method_account_login, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_END,
};
