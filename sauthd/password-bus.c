/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The password area on the bus: ChangePassword, CheckPassword, ForgotPassword,
 * and the *WithLocale variants of the first two, whose messages for people
 * come in the caller's locale (docs/decisions.md, "Localised messages"). */
#include <errno.h>
#include <sodium.h>

#include "i18n.h"
#include "identity.h"
#include "log.h"
#include "mail.h"
#include "manager-bus.h"
#include "manager.h"
#include "password-bus.h"
#include "password.h"

/* What a refused change is told, in the words of a password dialog, in
 * the calling thread's locale. */
static const char *change_message(SauthStatus s) {
        switch (s) {
        case SAUTH_E_INVALID_CREDENTIALS:
                return _("The old password is not correct, or a reset token is required.");
        case SAUTH_E_INVALID_TOKEN:
                return _("The token is not valid for this account.");
        case SAUTH_E_NOT_FOUND:
                return _("No active account for this uid.");
        case SAUTH_E_PASSWORD_MISMATCH:
                return _("The new password and its verification differ.");
        case SAUTH_E_RATE_LIMITED:
                return _("Too many attempts; try again later.");
        default:
                return bus_status_message(s);
        }
}

/* Locales are made once per name and kept until exit: glibc leaks a
 * little with each newlocale() whose messages were looked up (freelocale()
 * does not give it back), so one per call would grow without bound. Loop
 * thread only; the hash workers borrow them. A name beyond LOCALES_MAX
 * different ones gets untranslated messages. */
#define LOCALES_MAX 16
static struct {
        char name[SAUTH_LOCALE_MAX + 1];
        locale_t loc;
} locales[LOCALES_MAX];
static size_t n_locales;

static int locale_get(const char *name, locale_t *ret) {
        locale_t l;
        int r;

        for (size_t i = 0; i < n_locales; i++)
                if (streq(locales[i].name, name)) {
                        *ret = locales[i].loc;
                        return 0;
                }
        if (n_locales == LOCALES_MAX)
                return -ENOSPC;
        r = i18n_locale_new(name, &l);
        if (r < 0)
                return r;
        snprintf(locales[n_locales].name, sizeof locales[n_locales].name, "%s", name);
        locales[n_locales++].loc = l;
        *ret = l;
        return 0;
}

/* The locale argument of a *WithLocale call, borrowed (see locale_get()):
 * "" is none (untranslated); a name that is not a locale name is refused;
 * one the system does not have means untranslated too, as gettext does for
 * a missing catalog. */
static int locale_arg(const char *name, locale_t *ret, sd_bus_error *error) {
        int r;

        *ret = (locale_t) 0;
        if (isempty(name))
                return 0;
        r = locale_get(name, ret);
        if (r == -EINVAL)
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Not a locale name (like de_DE.UTF-8).");
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_debug("locale %s not available: messages untranslated", name);
        return 0;
}

static void change_bus_done(Request *req, void *job) {
        ChangeJob *j = job;
        const char *message = NULL;
        SauthStatus s = change_conclude(j, &message);
        _cleanup_(i18n_scope_end) locale_t old = i18n_scope_begin(j->locale);

        if (s != SAUTH_OK) {
                (void) request_reply_error(req, s, "%s", !isempty(message) ? message : change_message(s));
                change_after_refusal(j);
                return;
        }
        (void) request_reply_return(req, "a{sv}", 3,
                                    "account_id", "s", j->account->id,
                                    "uid", "s", j->account->uid,
                                    "username", "s", j->account->username);
}

static bool secrets_equal(const char *a, const char *b) {
        size_t n = strlen(a);

        return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

static int change_password(sd_bus_message *msg, Manager *m, const Caller *caller, const ChangeArgs *args,
                           sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        _cleanup_free_ char *message = NULL;
        ChangeJob *j = NULL;
        SauthStatus s;
        int r;

        s = change_start(m, caller, args, &j, &message);
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", message ?: change_message(s));
        r = request_new(&m->requests, msg, j, change_job_free, &req);
        if (r < 0)
                return r;
        r = manager_bus_run_hash(m, req, caller, change_work, change_bus_done, error);
        if (r >= 0)
                TAKE_PTR(req); /* the pool has it until change_bus_done() */
        return r;
}

static int change_password_read(sd_bus_message *msg, Manager *m, const Caller *caller, bool with_locale,
                                sd_bus_error *error) {
        locale_t loc = (locale_t) 0;
        ChangeArgs args = {};
        const char *verify, *locale = "";
        int r;

        r = sd_bus_message_read(msg, "sssss", &args.uid, &args.new_password, &args.token,
                                &args.old_password, &verify);
        if (r >= 0 && with_locale)
                r = sd_bus_message_read(msg, "s", &locale);
        if (r < 0)
                return r;
        if (!arg_ok(args.uid, SAUTH_TEXT_MAX, true) || !arg_ok(args.token, SAUTH_TOKEN_MAX, false) ||
            !arg_ok(args.old_password, SAUTH_PASSWORD_BYTES, false) ||
            !arg_ok(args.new_password, SAUTH_PASSWORD_BYTES, false) || !arg_ok(verify, SAUTH_PASSWORD_BYTES, false))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Argument missing or too long.");
        r = locale_arg(locale, &loc, error);
        if (r < 0)
                return r;

        _cleanup_(i18n_scope_end) locale_t old = i18n_scope_begin(loc);
        if (!secrets_equal(args.new_password, verify))
                return bus_error(error, SAUTH_E_PASSWORD_MISMATCH, "%s", change_message(SAUTH_E_PASSWORD_MISMATCH));
        args.locale = loc;
        return change_password(msg, m, caller, &args, error);
}

static int method_change_password(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        return change_password_read(msg, m, caller, false, error);
}

static int method_change_password_with_locale(sd_bus_message *msg, Manager *m, const Caller *caller,
                                              sd_bus_error *error) {
        return change_password_read(msg, m, caller, true, error);
}

static int check_password_read(sd_bus_message *msg, Manager *m, const Caller *caller, bool with_locale,
                               sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(policy_verdict_done) PolicyVerdict v = {};
        locale_t loc = (locale_t) 0;
        const char *username, *password, *locale = "";
        SauthStatus s;
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &password);
        if (r >= 0 && with_locale)
                r = sd_bus_message_read(msg, "s", &locale);
        if (r < 0)
                return r;
        if (!arg_ok(username, SAUTH_NAME_MAX, false) || !arg_ok(password, SAUTH_PASSWORD_BYTES, false))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "Argument too long.");
        r = locale_arg(locale, &loc, error);
        if (r < 0)
                return r;

        /* The verdict's texts, pwquality's included, in the caller's
         * locale; the loop's own comes back when this returns. */
        _cleanup_(i18n_scope_end) locale_t old = i18n_scope_begin(loc);
        s = check_password(m, caller, username, password, &v);
        if (s == SAUTH_E_RATE_LIMITED)
                return bus_error(error, s, "%s", _("Too many password checks; slow down."));
        if (s != SAUTH_OK)
                return bus_error(error, s, "%s", bus_status_message(s));

        r = bus_dict_new(msg, &reply);
        if (r >= 0)
                r = bus_append_b(reply, "ok", v.ok);
        if (r >= 0)
                r = bus_append_u(reply, "score", v.score);
        if (r >= 0)
                r = bus_append_d(reply, "guesses_log10", v.guesses_log10);
        if (r >= 0)
                r = bus_append_strv(reply, "problems", v.problems);
        if (r >= 0)
                r = bus_append_s(reply, "message", v.message);
        if (r < 0)
                return r;
        return bus_dict_send(reply);
}

static int method_check_password(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        return check_password_read(msg, m, caller, false, error);
}

static int method_check_password_with_locale(sd_bus_message *msg, Manager *m, const Caller *caller,
                                             sd_bus_error *error) {
        return check_password_read(msg, m, caller, true, error);
}

/* ForgotPassword answers after the same fixed delay whatever it did, so its
 * timing says nothing about a match either (the store write and the mail
 * rendering happen only on a match). */
#define FORGOT_REPLY_DELAY_USEC (150 * 1000)

static int method_forgot_password(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error) {
        uint64_t start = now_usec();
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(request_freep) Request *req = NULL;
        const char *identity, *username, *template_name;
        int r;

        r = sd_bus_message_read(msg, "sss", &identity, &username, &template_name);
        if (r < 0)
                return r;
        if (!arg_ok(identity, SAUTH_TEXT_MAX, false) || !arg_ok(username, SAUTH_NAME_MAX, false) ||
            (isempty(identity) && isempty(username)))
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "An identity or a user name is required.");
        if (isempty(template_name))
                template_name = "password_reset";
        /* Checked for every caller alike, account or not: it tells nothing
         * about accounts, and nothing is spent on a mail that cannot go. */
        if (mail_template_check(m->config, template_name) < 0)
                return bus_error(error, SAUTH_E_INVALID_ARGUMENT, "No such mail template.");

        r = request_new(&m->requests, msg, NULL, NULL, &req);
        if (r < 0)
                return r;
        /* A reply held for the delay is a call held: capped like hashes. */
        if (request_admit_connection(req, &m->conns, caller->uid, caller->is_admin) < 0)
                return bus_error(error, SAUTH_E_LIMIT_EXCEEDED, "Too many requests in progress; try again.");
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "a{sv}", 0);
        if (r < 0)
                return r;

        log_debug("password reset requested");
        /* The work waits for the flush timer, with failed logins: there the
         * loop writes whether or not an account matched (rule 11). A full
         * queue does it now rather than lose the request. */
        if (forgot_password_queue(m, caller, identity, username, template_name) < 0)
                (void) forgot_password(m, caller, identity, username, template_name);

        /* The same empty answer whether or not anything matched (rule 4);
         * the mail itself is sent by a worker, off this reply's path. */
        r = request_reply_at(req, reply, start + FORGOT_REPLY_DELAY_USEC);
        if (r < 0)
                return r;
        TAKE_PTR(req); /* the timer has it until it replies */
        return 1;
}

const BusMethod password_bus_methods[] = {
        BUS_METHOD("ChangePassword",
                   BUS_ARGS("s", uid, "s", new_password, "s", reset_token, "s", old_password, "s", verify_password),
                   BUS_RESULT("a{sv}", result),
                   method_change_password, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD("ForgotPassword",
                   BUS_ARGS("s", identity, "s", username, "s", template), BUS_RESULT("a{sv}", result),
                   method_forgot_password, BUS_ANYONE, 0),
        BUS_METHOD("CheckPassword",
                   BUS_ARGS("s", username, "s", password), BUS_RESULT("a{sv}", result),
                   method_check_password, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD("ChangePasswordWithLocale",
                   BUS_ARGS("s", uid, "s", new_password, "s", reset_token, "s", old_password, "s", verify_password,
                            "s", locale),
                   BUS_RESULT("a{sv}", result),
                   method_change_password_with_locale, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD("CheckPasswordWithLocale",
                   BUS_ARGS("s", username, "s", password, "s", locale), BUS_RESULT("a{sv}", result),
                   method_check_password_with_locale, BUS_ANYONE, SD_BUS_VTABLE_SENSITIVE),
        BUS_METHOD_END,
};
