/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OAuth area on the bus: DeviceLoginStart, DeviceLoginPoll,
 * OAuthCallback, and AccountLogin for a provider. */
#include <errno.h>

#include "identity.h"
#include "log.h"
#include "login-bus.h"
#include "manager.h"
#include "oauth-bus.h"
#include "oauth.h"
#include "qr.h"

#define OAUTH_CODE_MAX 4096

/* Errors of the oauth_* starters, before any request went out. */
static int oauth_bus_start_error(sd_bus_error *error, int r) {
        switch (r) {
        case -ENOENT:
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Login method not supported.");
        case -EBUSY:
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many OAuth logins in progress; try again later.");
        default:
                return r;
        }
}

/* An error or a login: what every OAuth completion may answer. Returns
 * true when it answered. */
static bool oauth_bus_reply_common(Request *req, Manager *m, OAuthResult *res) {
        int r;

        if (res->status != SAUTH_OK) {
                (void) request_reply_error(req, res->status, "%s", res->message ?: bus_status_message(res->status));
                return true;
        }
        if (!res->account)
                return false;
        r = login_bus_reply(req, m, res->account, res->method, res->context);
        if (r < 0)
                log_error("OAuth login reply failed: %s", strerror(-r));
        return true;
}

static int oauth_bus_device_reply(Request *req, OAuthResult *res) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *qr = NULL;
        int r;

        /* The QR code is a convenience: a login goes on without it. */
        if (qr_text(res->verification_uri_complete, &qr) < 0)
                qr = NULL;
        r = bus_dict_new(request_call(req), &reply);
        if (r >= 0)
                r = bus_append_s(reply, "handle", res->handle);
        if (r >= 0)
                r = bus_append_s(reply, "user_code", res->user_code);
        if (r >= 0)
                r = bus_append_s(reply, "verification_uri", res->verification_uri);
        if (r >= 0)
                r = bus_append_s(reply, "verification_uri_complete", res->verification_uri_complete);
        if (r >= 0)
                r = bus_append_u(reply, "expires_in", res->expires_in);
        if (r >= 0)
                r = bus_append_u(reply, "interval", res->interval);
        if (r >= 0 && qr)
                r = bus_append_s(reply, "qr", qr);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        /* The handle is what lets the caller finish the login. */
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r < 0)
                return r;
        return request_reply(req, reply);
}

static void on_device_started(OAuthResult *res, void *userdata) {
        Request *req = userdata;
        Manager *m = request_job(req);
        int r;

        if (!oauth_bus_reply_common(req, m, res)) {
                r = oauth_bus_device_reply(req, res);
                if (r < 0)
                        log_error("DeviceLoginStart reply failed: %s", strerror(-r));
        }
        request_finish(req, NULL);
}

static int method_device_login_start(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        const char *method, *username;
        int r;

        r = sd_bus_message_read(msg, "ss", &method, &username);
        if (r < 0)
                return r;
        if (!arg_ok(method, SAUTH_NAME_MAX, true) || (!isempty(username) && !username_valid(username)))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid method or user name.");
        if (!oauth_has_provider(m->oauth, method))
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Login method not supported.");
        r = request_new(&m->requests, msg, m, NULL, &req);
        if (r < 0)
                return r;
        r = oauth_device_start(m->oauth, method, username, caller, on_device_started, req);
        if (r < 0)
                return oauth_bus_start_error(error, r);
        TAKE_PTR(req); /* on_device_started() ends it */
        return 1;
}

static void on_device_polled(OAuthResult *res, void *userdata) {
        Request *req = userdata;
        Manager *m = request_job(req);
        int r;

        if (!oauth_bus_reply_common(req, m, res)) {
                r = request_reply_return(req, "a{sv}", 2, "status", "s", "pending", "interval", "u", res->interval);
                if (r < 0)
                        log_error("DeviceLoginPoll reply failed: %s", strerror(-r));
        }
        request_finish(req, NULL);
}

static int method_device_login_poll(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        const char *handle;
        int r;

        r = sd_bus_message_read(msg, "s", &handle);
        if (r < 0)
                return r;
        if (!arg_ok(handle, TOKEN_TEXT_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "No such device login.");
        r = request_new(&m->requests, msg, m, NULL, &req);
        if (r < 0)
                return r;
        r = oauth_device_poll(m->oauth, handle, caller, on_device_polled, req);
        if (r == -ENOENT)
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "No such device login.");
        if (r == -EPERM)
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Only the caller that started a device login may poll it.");
        if (r == -ETIME)
                return bus_error(error, SAUTH_E_EXPIRED_TOKEN, "The device code expired; start again.");
        if (r < 0)
                return r;
        TAKE_PTR(req); /* on_device_polled() ends it */
        return 1;
}

static void on_code_started(OAuthResult *res, void *userdata) {
        Request *req = userdata;
        Manager *m = request_job(req);
        int r;

        if (!oauth_bus_reply_common(req, m, res)) {
                r = request_reply_return(req, "a{sv}", 2, "location", "s", res->location, "state", "s", res->state);
                if (r < 0)
                        log_error("AccountLogin reply failed: %s", strerror(-r));
        }
        request_finish(req, NULL);
}

int oauth_bus_account_login(sd_bus_message *msg, Manager *m, const Caller *caller, const char *method,
                            const char *username, const LoginContext *context, sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        int r;

        if (!isempty(username) && !username_valid(username))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name.");
        r = request_new(&m->requests, msg, m, NULL, &req);
        if (r < 0)
                return r;
        r = oauth_code_start(m->oauth, method, username, caller, context, on_code_started, req);
        if (r < 0)
                return oauth_bus_start_error(error, r);
        TAKE_PTR(req); /* on_code_started() ends it */
        return 1;
}

static void on_callback_done(OAuthResult *res, void *userdata) {
        Request *req = userdata;

        if (!oauth_bus_reply_common(req, request_job(req), res))
                (void) request_reply_error(req, SAUTH_E_INTERNAL, "Internal error.");
        request_finish(req, NULL);
}

static int method_oauth_callback(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        const char *method, *code, *state;
        int r;

        r = sd_bus_message_read(msg, "sss", &method, &code, &state);
        if (r < 0)
                return r;
        if (!oauth_has_provider(m->oauth, method))
                return bus_error(error, SAUTH_E_UNSUPPORTED_METHOD, "Login method not supported.");
        if (!arg_ok(code, OAUTH_CODE_MAX, true) || !arg_ok(state, TOKEN_TEXT_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "Unknown or used state.");
        r = request_new(&m->requests, msg, m, NULL, &req);
        if (r < 0)
                return r;
        r = oauth_code_callback(m->oauth, method, code, state, caller, on_callback_done, req);
        if (r == -EKEYREJECTED)
                return bus_error(error, SAUTH_E_INVALID_TOKEN, "Unknown or used state.");
        if (r < 0)
                return oauth_bus_start_error(error, r);
        TAKE_PTR(req); /* on_callback_done() ends it */
        return 1;
}

const BusMethod oauth_bus_methods[] = {
        BUS_METHOD_FROM_MEMORY("OAuthCallback", BUS_ARGS("s", method, "s", code, "s", state),
                   BUS_RESULT("a{sv}", result),
                   method_oauth_callback, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_FROM_MEMORY("DeviceLoginStart", BUS_ARGS("s", method, "s", username),
                   BUS_RESULT("a{sv}", result),
                   method_device_login_start, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_FROM_MEMORY("DeviceLoginPoll", BUS_ARGS("s", handle),
                   BUS_RESULT("a{sv}", result),
                   method_device_login_poll, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_END,
};
