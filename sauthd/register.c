/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Register and AccountAdd: a new account has no password and must change
 * it; a single-use confirmation token (hash stored, text only mailed) sets
 * the first one through ChangePassword.
 */
#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <time.h>

#include "bus.h"
#include "identity.h"
#include "mail.h"
#include "register.h"
#include "sauth-names.h"
#include "tokens.h"
#include "util.h"

static void format_expiry(int64_t when, char out[static 64]) {
        time_t t = (time_t) when;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 64, "%Y-%m-%d %H:%M UTC", &tm) == 0)
                snprintf(out, 64, "%lld", (long long) when);
}

int account_mail(Manager *m, const char *template_name, const StoreAccount *a,
                 const char *token_text, int64_t expires) {
        char when[64] = "";
        MailFields f = {
                .to = a->identity,
                .token = token_text ? token_text : "",
                .username = a->username,
                .name = a->name,
                .uid = a->uid,
                .expires = when,
        };
        int r;

        if (expires > 0)
                format_expiry(expires, when);
        r = mail_queue(m->mail_pool, m->config, template_name, &f);
        if (r < 0)
                log_error("account %s: %s message not queued: %s", a->username, template_name, strerror(-r));
        return r;
}

/* Display text: no control characters (they would end up in mail headers
 * and logs). */
static bool text_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < ' ' || *p == 0x7f)
                        return false;
        return true;
}

/* With open registration, a stranger must not claim the name of a Unix
 * user (root…): PAM stacks would then accept the stranger's password for
 * that user. Only admins, or the user themself, may register such a name. */
static bool register_name_allowed(const Caller *caller, const char *username) {
        return caller_is_admin_or_self(caller, username) || !getpwnam(username);
}

static int register_check_args(const char *identity, const char *username, const char *name,
                               const char *template_name, const char *picture, sd_bus_error *error) {
        if (!arg_ok(identity, SAUTH_TEXT_MAX, true) || !arg_ok(name, SAUTH_TEXT_MAX, true) || !text_valid(name))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT,
                                 "Identity and name are required: at most %d bytes, no control characters.", SAUTH_TEXT_MAX);
        if (!username_valid(username))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT,
                                 "A user name is 1-%d characters of a-z 0-9 _ . - and starts with a letter or _.", SAUTH_NAME_MAX);
        if (!isempty(template_name) && !template_name_valid(template_name))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid template name.");
        if (!arg_ok(picture, SAUTH_URL_MAX, false) || !text_valid(picture))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Picture URL too long.");
        return 0;
}

static int register_reply(sd_bus_message *msg, const StoreIds *ids) {
        return sd_bus_reply_method_return(msg, "a{sv}", 3,
                                          "uid", "s", ids->uid,
                                          "contact_id", "s", ids->contact_id,
                                          "account_id", "s", ids->account_id);
}

int method_register(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_(store_ids_done) StoreIds ids = {};
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *normal = NULL;
        Manager *m = userdata;
        const char *identity, *username, *name, *template_name, *picture;
        char token[TOKEN_TEXT_MAX], token_h[TOKEN_HASH_HEX];
        int64_t now = time(NULL);
        int r;

        r = sd_bus_message_read(msg, "sssss", &identity, &username, &name, &template_name, &picture);
        if (r < 0)
                return r;
        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        if (m->config->login_register != LOGIN_OPEN && !caller.is_admin)
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Only an admin may register accounts here.");

        r = register_check_args(identity, username, name, template_name, picture, error);
        if (r < 0)
                return r;
        if (!register_name_allowed(&caller, username))
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "That user name belongs to a user of this host.");
        if (identity_normalize(identity, &normal) < 0)
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "The identity must be an email address.");

        token_new(token);
        r = token_hash(token, token_h);
        if (r >= 0)
                r = store_register(m->store, &(StoreRegistration) {
                        .identity = normal, .username = username, .name = name, .picture = picture,
                        .token_hash = token_h, .token_expires = now + (int64_t) m->config->confirm_lifetime,
                        .now = now,
                }, &ids);
        if (r >= 0)
                r = store_account_by_username(m->store, username, &a);
        if (r < 0) {
                sodium_memzero(token, sizeof token);
                return r == -EEXIST
                        ? bus_error(error, SAUTH_E_ALREADY_REGISTERED, "That user name or identity is already registered.")
                        : bus_error_errno(error, r, "registration");
        }

        log_notice("registered account %s (uid %s)", username, ids.uid);
        (void) account_mail(m, isempty(template_name) ? "confirm_new" : template_name, a, token,
                            now + (int64_t) m->config->confirm_lifetime);
        sodium_memzero(token, sizeof token);
        return register_reply(msg, &ids);
}

int method_account_add(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *account_id = NULL;
        Manager *m = userdata;
        const char *username, *uid;
        char token[TOKEN_TEXT_MAX], token_h[TOKEN_HASH_HEX];
        int64_t now = time(NULL);
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &uid);
        if (r < 0)
                return r;
        r = bus_caller(m, msg, &caller, error);
        if (r < 0)
                return r;
        if (!caller.is_admin)
                return bus_error(error, SAUTH_E_ACCESS_DENIED, "Only an admin may add accounts.");
        if (!username_valid(username) || !arg_ok(uid, SAUTH_TEXT_MAX, true))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Invalid user name or uid.");

        token_new(token);
        r = token_hash(token, token_h);
        if (r >= 0)
                r = store_account_add(m->store, uid, username, token_h,
                                      now + (int64_t) m->config->confirm_lifetime, now, &account_id);
        if (r >= 0)
                r = store_account_by_username(m->store, username, &a);
        if (r < 0) {
                sodium_memzero(token, sizeof token);
                return r == -EEXIST
                        ? bus_error(error, SAUTH_E_ALREADY_REGISTERED, "That user name is taken or the person has an account.")
                        : bus_error_errno(error, r, "person");
        }

        log_notice("added account %s for uid %s", username, uid);
        (void) account_mail(m, "confirm_new", a, token, now + (int64_t) m->config->confirm_lifetime);
        sodium_memzero(token, sizeof token);
        return sd_bus_reply_method_return(msg, "a{sv}", 3,
                                          "id", "s", account_id,
                                          "uid", "s", uid,
                                          "username", "s", username);
}
