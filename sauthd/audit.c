/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "audit.h"
#include "log.h"
#include "sauth-names.h"
#include "util.h"

static bool audit_unknown_users;

static const char *const event_names[_AUDIT_EVENT_MAX] = {
        [AUDIT_LOGIN]           = "login",
        [AUDIT_PASSWORD_CHANGE] = "password_change",
        [AUDIT_RESET_REQUEST]   = "reset_request",
        [AUDIT_TOKEN_USE]       = "token_use",
        [AUDIT_REGISTER]        = "register",
        [AUDIT_ACCOUNT_ADD]     = "account_add",
        [AUDIT_ACCOUNT_STATUS]  = "account_status",
        [AUDIT_ACCOUNT_ADMIN]   = "account_admin",
        [AUDIT_PASSWORD_EXPIRE] = "password_expire",
        [AUDIT_ACCOUNT_UNLOCK]  = "account_unlock",
        [AUDIT_ACCESS_DENIED]   = "access_denied",
        [AUDIT_LOGOUT]          = "logout",
        [AUDIT_SESSION_REVOKE]  = "session_revoke",
        [AUDIT_KEY_ROTATE]      = "key_rotate",
        [AUDIT_APIKEY_CREATE]   = "apikey_create",
        [AUDIT_APIKEY_REVOKE]   = "apikey_revoke",
        [AUDIT_APIKEY_USE]      = "apikey_use",
        [AUDIT_MEMBERSHIP_SET]  = "membership_set",
        [AUDIT_MEMBERSHIP_REMOVE] = "membership_remove",
        [AUDIT_ROLES_REFRESH]   = "roles_refresh",
};

static const char *const result_names[_AUDIT_RESULT_MAX] = {
        [AUDIT_OK]       = "ok",
        [AUDIT_FAILED]   = "failed",
        [AUDIT_LOCKED]   = "locked",
        [AUDIT_DISABLED] = "disabled",
        [AUDIT_REFUSED]  = "refused",
        [AUDIT_DENIED]   = "denied",
        [AUDIT_ERROR]    = "error",
};

void audit_setup(bool record_unknown_users) {
        audit_unknown_users = record_unknown_users;
}

const char *audit_event_to_string(AuditEvent e) {
        return e >= 0 && e < _AUDIT_EVENT_MAX ? event_names[e] : "unknown";
}

const char *audit_result_to_string(AuditResult r) {
        return r >= 0 && r < _AUDIT_RESULT_MAX ? result_names[r] : "unknown";
}

void audit_log(const AuditRecord *r) {
        const char *user = r->user_unknown && !audit_unknown_users ? NULL : r->user;
        char uid[16], user_text[SAUTH_NAME_MAX + 1], message[256];

        if (isempty(user))
                user = NULL;
        snprintf(uid, sizeof uid, "%u", (unsigned) r->caller_uid);
        log_printable(user_text, sizeof user_text, user ?: "");
        snprintf(message, sizeof message, "audit: %s %s%s%s", audit_event_to_string(r->event),
                 audit_result_to_string(r->result), user ? " for " : "", user ? user_text : "");

        LogField fields[] = {
                { "SAUTH_EVENT",      audit_event_to_string(r->event) },
                { "SAUTH_RESULT",     audit_result_to_string(r->result) },
                { "SAUTH_USER",       user },
                { "SAUTH_CALLER_UID", uid },
                { "SAUTH_SERVICE",    isempty(r->service) ? NULL : r->service },
                { "SAUTH_TTY",        isempty(r->tty) ? NULL : r->tty },
                { "SAUTH_RHOST",      isempty(r->rhost) ? NULL : r->rhost },
                { "SAUTH_METHOD",     isempty(r->method) ? NULL : r->method },
                { "SAUTH_REASON",     isempty(r->reason) ? NULL : r->reason },
        };
        log_record(LOG_NOTICE, message, fields, ELEMENTSOF(fields));
}
