/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <time.h>

#include "account.h"
#include "audit.h"
#include "identity.h"
#include "lockout.h"
#include "log.h"
#include "mail.h"
#include "sauth-names.h"
#include "tokens.h"
#include "util.h"

static void format_expiry(int64_t when, char out[static 64]) {
        time_t t = (time_t) when;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, 64, "%Y-%m-%d %H:%M UTC", &tm) == 0)
                snprintf(out, 64, "%lld", (long long) when);
}

int account_mail_prepare(Manager *m, const char *template_name, const StoreAccount *a,
                         const char *token_text, int64_t now, int64_t expires, OutboxMail *ret) {
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
        /* A token's message lives as long as the token; a notice a day. */
        r = outbox_prepare(m->outbox, template_name, &f, now,
                           expires > 0 ? expires : now + OUTBOX_NOTICE_LIFETIME_SEC, ret);
        if (r < 0)
                log_error("account %s: %s message not rendered: %s", strempty(a->username), template_name,
                          strerror(-r));
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

static const char *register_template(const RegisterArgs *a) {
        return isempty(a->template_name) ? "confirm_new" : a->template_name;
}

static const char *register_check_args(const RegisterArgs *a) {
        if (isempty(a->identity) || strlen(a->identity) > SAUTH_TEXT_MAX || isempty(a->name) ||
            strlen(a->name) > SAUTH_TEXT_MAX || !text_valid(a->name))
                return "Identity and name are required: at most 256 bytes, no control characters.";
        /* No user name: apicrud's two-step registration, the account
         * comes later with AccountAdd. */
        if (!isempty(a->username) && !username_valid(a->username))
                return "A user name is 1-64 characters of a-z 0-9 _ . - and starts with a letter or _.";
        if (!isempty(a->template_name) && !template_name_valid(a->template_name))
                return "Invalid template name.";
        if (strlen(a->picture) > SAUTH_URL_MAX || !text_valid(a->picture))
                return "Picture URL too long.";
        return NULL;
}

static void account_audit(AuditEvent event, AuditResult result, const Caller *caller, const char *user,
                          const char *reason) {
        audit_log(&(AuditRecord) {
                .event = event, .result = result, .user = user,
                .caller_uid = caller->uid, .reason = reason,
        });
}

/* Stores what a new registration needs and mails the confirmation. The
 * token is bound to the person (uid), so with two-step registration it
 * sets the first password of the account AccountAdd makes later. */
static SauthStatus register_store(Manager *m, const Caller *caller, const RegisterArgs *args,
                                  const char *identity, const char *reason, StoreIds *ret) {
        _cleanup_(outbox_mail_done) OutboxMail mail = {};
        char token[TOKEN_TEXT_MAX], token_h[TOKEN_HASH_HEX], uid[19];
        int64_t now = time(NULL), expires = now + (int64_t) m->config->confirm_lifetime;
        /* What the mail needs, made before anything is stored: the
         * confirmation is written with the registration, or neither. */
        const StoreAccount view = {
                .uid = uid, .username = (char *) args->username,
                .name = (char *) args->name, .identity = (char *) identity,
        };
        int r;

        id_new(uid);
        token_new(token);
        r = token_hash(token, token_h);
        if (r >= 0)
                r = account_mail_prepare(m, register_template(args), &view, token, now, expires, &mail);
        sodium_memzero(token, sizeof token);
        if (r >= 0)
                r = store_register(m->store, &(StoreRegistration) {
                        .uid = uid, .identity = identity, .username = args->username, .name = args->name,
                        .picture = args->picture, .token_hash = token_h, .token_expires = expires,
                        .now = now, .mail = &mail.row,
                }, ret);
        if (r >= 0) {
                account_audit(AUDIT_REGISTER, AUDIT_OK, caller, strempty(args->username), reason);
                outbox_kick(m->outbox);
        }
        if (r == -EEXIST) {
                account_audit(AUDIT_REGISTER, AUDIT_REFUSED, caller, args->username, "taken");
                return SAUTH_E_ALREADY_REGISTERED;
        }
        if (r < 0) {
                log_error("registration not stored: %s", strerror(-r));
                return SAUTH_E_INTERNAL;
        }
        return SAUTH_OK;
}

/* Open registration is bounded: per caller, and for all non-admin callers
 * together, so that nobody reserves names and identities by the thousand
 * or mails strangers from this host. The same buckets count Register and
 * the registrations of [login] external. */
static bool register_rate_ok(Manager *m, const Caller *caller) {
        uint64_t now = now_usec();

        if (caller->is_admin)
                return true;
        if (ratelimit_allow(&m->register_limit, caller->uid, now) && ratelimit_allow(&m->register_total, 0, now))
                return true;
        account_audit(AUDIT_REGISTER, AUDIT_REFUSED, caller, NULL, "rate_limit");
        return false;
}

SauthStatus account_register(Manager *m, const Caller *caller, const RegisterArgs *args,
                             StoreIds *ret, const char **ret_message) {
        _cleanup_free_ char *normal = NULL;

        *ret_message = register_check_args(args);
        if (*ret_message)
                return SAUTH_E_INVALID_ARGUMENT;
        if (!register_rate_ok(m, caller)) {
                *ret_message = "Too many registrations; try again later.";
                return SAUTH_E_RATE_LIMITED;
        }
        /* With open registration, a stranger must not claim the name of a
         * Unix user (root…): PAM stacks would then accept the stranger's
         * password for that user. Only admins, or the user themself, may. */
        if (!isempty(args->username) && !caller_is_admin_or_self(caller, args->username) &&
            getpwnam(args->username)) {
                *ret_message = "That user name belongs to a user of this host.";
                account_audit(AUDIT_REGISTER, AUDIT_DENIED, caller, args->username, "name_of_a_host_user");
                return SAUTH_E_ACCESS_DENIED;
        }
        if (identity_normalize(args->identity, &normal) < 0) {
                *ret_message = "The identity must be an email address.";
                return SAUTH_E_INVALID_ARGUMENT;
        }
        /* Before anything is written: an account whose confirmation can
         * never be mailed could never be confirmed. */
        if (mail_template_check(m->config, register_template(args)) < 0) {
                *ret_message = "No such mail template.";
                return SAUTH_E_INVALID_ARGUMENT;
        }
        *ret_message = "That user name or identity is already registered.";
        return register_store(m, caller, args, normal, isempty(args->username) ? "person_only" : NULL, ret);
}

/* A free user name for identity: apicrud's rule (identity.h), never an
 * account's and never a Unix user's (PAM stacks log in with those names). */
static int external_username(Manager *m, const char *identity, char out[static IDENTITY_USERNAME_MAX]) {
        for (unsigned i = 0; i < 8; i++) {
                _cleanup_(store_account_freep) StoreAccount *a = NULL;
                int r;

                r = identity_external_username(identity, out);
                if (r < 0)
                        return r;
                if (getpwnam(out))
                        continue;
                r = store_account_by_username(m->store, out, &a);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
        }
        return -EEXIST;
}

/* The display name: the provider's, when it is fit for mail headers and
 * logs; else the user name. */
static const char *external_display_name(const ExternalRegistration *x, const char *username) {
        if (!isempty(x->name) && strlen(x->name) <= SAUTH_TEXT_MAX && text_valid(x->name))
                return x->name;
        return username;
}

static SauthStatus external_store(Manager *m, const Caller *caller, const ExternalRegistration *x,
                                  const char *username, const char **ret_reason) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        const char *name = external_display_name(x, username);
        SauthStatus st;
        int r;

        if (!x->confirmed) {
                /* open: the path of Register, its template and its mail. */
                st = register_store(m, caller, &(RegisterArgs) {
                        .identity = x->identity, .username = username, .name = name, .template_name = "",
                        .picture = "",
                }, x->identity, "external_open", &ids);
                if (st == SAUTH_E_ALREADY_REGISTERED)
                        *ret_reason = "identity_taken";
                return st;
        }
        r = store_register(m->store, &(StoreRegistration) {
                .identity = x->identity, .username = username, .name = name, .picture = "",
                .now = time(NULL), .confirmed = true,
        }, &ids);
        if (r == -EEXIST) {
                *ret_reason = "identity_taken";
                return SAUTH_E_ALREADY_REGISTERED;
        }
        if (r < 0) {
                log_error("registration from provider %s not stored: %s", x->method, strerror(-r));
                *ret_reason = "store_error";
                return SAUTH_E_INTERNAL;
        }
        audit_log(&(AuditRecord) {
                .event = AUDIT_REGISTER, .result = AUDIT_OK, .user = username,
                .caller_uid = caller->uid, .method = x->method, .reason = "external_auto",
        });
        return SAUTH_OK;
}

SauthStatus account_register_external(Manager *m, const Caller *caller, const ExternalRegistration *x,
                                      StoreAccount **ret, const char **ret_reason) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        char username[IDENTITY_USERNAME_MAX];
        SauthStatus st;
        int r;

        *ret = NULL;
        if (!register_rate_ok(m, caller)) {
                *ret_reason = "rate_limit";
                return SAUTH_E_RATE_LIMITED;
        }
        /* Checked before anything is written, as for Register: a
         * registration whose confirmation cannot be mailed is never
         * confirmed. A missing template is the admin's to fix. */
        if (!x->confirmed && mail_template_check(m->config, "confirm_new") < 0) {
                log_error("[login] external = open, but the confirm_new template is missing or broken");
                *ret_reason = "no_template";
                return SAUTH_E_INTERNAL;
        }
        r = external_username(m, x->identity, username);
        if (r < 0) {
                log_error("no free user name for a registration from provider %s: %s", x->method, strerror(-r));
                *ret_reason = "no_username";
                return SAUTH_E_INTERNAL;
        }
        st = external_store(m, caller, x, username, ret_reason);
        if (st != SAUTH_OK || !x->confirmed)
                return st;
        r = store_account_by_username(m->store, username, &a);
        if (r < 0) {
                log_error("account %s registered but not read back: %s", username, strerror(-r));
                *ret_reason = "store_error";
                return SAUTH_E_INTERNAL;
        }
        *ret = TAKE_PTR(a);
        return SAUTH_OK;
}

/* apicrud's account_add: the account only. It mails nothing: the token
 * Register mailed is bound to the person and sets the first password of
 * this account (an expired one is replaced through ForgotPassword). */
SauthStatus account_add(Manager *m, const Caller *caller, const char *username, const char *uid,
                        char **ret_account_id, const char **ret_message) {
        int r;

        *ret_message = "Invalid user name or uid.";
        if (!username_valid(username) || isempty(uid) || strlen(uid) > SAUTH_TEXT_MAX)
                return SAUTH_E_INVALID_ARGUMENT;

        r = store_account_add(m->store, uid, username, NULL, 0, time(NULL), ret_account_id);
        if (r >= 0)
                account_audit(AUDIT_ACCOUNT_ADD, AUDIT_OK, caller, username, NULL);
        switch (r) {
        case -EEXIST:
                *ret_message = "That user name is taken or the person has an account.";
                return SAUTH_E_ALREADY_REGISTERED;
        case -ENOENT:
                *ret_message = "No such person.";
                return SAUTH_E_NOT_FOUND;
        default:
                if (r >= 0)
                        return SAUTH_OK;
                log_error("account not added: %s", strerror(-r));
                *ret_message = "Internal error.";
                return SAUTH_E_INTERNAL;
        }
}

/* The account's API keys follow its status at once; disabling it also
 * ends its sessions, so its tokens no longer verify. The status is the
 * one just read, not the one this call set: the daemon lock is let go
 * while the store waits, and another change may have come in between. */
static void account_status_follow(Manager *m, const char *username) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        bool active;
        int r;

        if (store_account_by_username(m->store, username, &a) < 0)
                return;
        active = streq(a->status, SAUTH_STATUS_ACTIVE);
        apikeys_set_account_active(m->apikeys, a->uid, active);
        if (active)
                return;
        r = sessions_revoke_uid(m->sessions, m->store, a->uid, (uint64_t) time(NULL));
        if (r < 0)
                log_error("account %s: sessions not ended: %s", username, strerror(-r));
}

int account_change(Manager *m, const Caller *caller, const char *username, AccountChange what,
                   const char *value) {
        static const AuditEvent events[] = {
                [ACCOUNT_SET_STATUS] = AUDIT_ACCOUNT_STATUS,
                [ACCOUNT_SET_ADMIN] = AUDIT_ACCOUNT_ADMIN,
                [ACCOUNT_EXPIRE_PASSWORD] = AUDIT_PASSWORD_EXPIRE,
        };
        int r;

        if (!username_valid(username))
                return -EINVAL;
        switch (what) {
        case ACCOUNT_SET_STATUS:
                r = store_set_status(m->store, username, value);
                break;
        case ACCOUNT_SET_ADMIN:
                r = store_set_admin(m->store, username, streq(value, "yes"));
                break;
        case ACCOUNT_EXPIRE_PASSWORD:
                r = store_set_must_change(m->store, username, true);
                break;
        default:
                return -EINVAL;
        }
        if (r >= 0 && what == ACCOUNT_SET_STATUS)
                account_status_follow(m, username);
        audit_log(&(AuditRecord) {
                .event = events[what], .result = r >= 0 ? AUDIT_OK : AUDIT_FAILED,
                .user = username, .user_unknown = r == -ENOENT, .caller_uid = caller->uid,
                .reason = r == -ENOENT ? "no_such_account" : value,
        });
        return r;
}

int account_unlock(Manager *m, const Caller *caller, const char *username) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        int r;

        if (!username_valid(username))
                return -EINVAL;
        r = store_account_by_username(m->store, username, &a);
        if (r >= 0)
                r = lockout_unlock(m, a);
        if (r >= 0)
                log_notice("account %s unlocked by uid %u", username, (unsigned) caller->uid);
        audit_log(&(AuditRecord) {
                .event = AUDIT_ACCOUNT_UNLOCK, .result = r >= 0 ? AUDIT_OK : r == -ENOENT ? AUDIT_FAILED : AUDIT_ERROR,
                .user = username, .user_unknown = r == -ENOENT, .caller_uid = caller->uid,
                .reason = r == -ENOENT ? "no_such_account" : NULL,
        });
        return r;
}
