/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * The audit trail: every decision sauthd takes is one record at NOTICE,
 * with or without --verbose, through log_record(): to the journal with
 * the fields below, or to stderr as one "KEY=value" line.
 *
 *   SAUTH_EVENT       login, password_change, reset_request, token_use,
 *                     register, account_add, account_status, account_admin,
 *                     password_expire, account_unlock, access_denied, logout,
 *                     session_revoke, key_rotate, apikey_create,
 *                     apikey_revoke, apikey_use (refusals only: the hot
 *                     path's successes are counted in last_used),
 *                     membership_set, membership_remove, roles_refresh
 *   SAUTH_RESULT      ok, failed, locked, disabled, refused, denied, error
 *   SAUTH_USER        the account's user name — for a name that matches no
 *                     account only with [daemon] audit_unknown_users = yes
 *                     (such a name is often a mistyped password)
 *   SAUTH_CALLER_UID  the caller's uid, from the bus
 *   SAUTH_SERVICE, SAUTH_TTY, SAUTH_RHOST   a PAM stack's login context
 *   SAUTH_METHOD      the login method, or the bus method denied
 *   SAUTH_REASON      a short, fixed reason ("wrong password", "weak")
 *
 * Never a secret: no password, token, key or hash is ever a field.
 */

typedef enum AuditEvent {
        AUDIT_LOGIN,
        AUDIT_PASSWORD_CHANGE,
        AUDIT_RESET_REQUEST,
        AUDIT_TOKEN_USE,
        AUDIT_REGISTER,
        AUDIT_ACCOUNT_ADD,
        AUDIT_ACCOUNT_STATUS,
        AUDIT_ACCOUNT_ADMIN,
        AUDIT_PASSWORD_EXPIRE,
        AUDIT_ACCOUNT_UNLOCK,
        AUDIT_ACCESS_DENIED,
        AUDIT_LOGOUT,
        AUDIT_SESSION_REVOKE,
        AUDIT_KEY_ROTATE,
        AUDIT_APIKEY_CREATE,
        AUDIT_APIKEY_REVOKE,
        AUDIT_APIKEY_USE,
        AUDIT_MEMBERSHIP_SET,
        AUDIT_MEMBERSHIP_REMOVE,
        AUDIT_ROLES_REFRESH,
        _AUDIT_EVENT_MAX,
} AuditEvent;

typedef enum AuditResult {
        AUDIT_OK,
        AUDIT_FAILED,
        AUDIT_LOCKED,
        AUDIT_DISABLED,
        AUDIT_REFUSED,
        AUDIT_DENIED,
        AUDIT_ERROR,
        _AUDIT_RESULT_MAX,
} AuditResult;

typedef struct AuditRecord {
        AuditEvent event;
        AuditResult result;
        const char *user;               /* account user name, or caller text */
        bool user_unknown;              /* user names no account */
        uid_t caller_uid;
        const char *service;
        const char *tty;
        const char *rhost;
        const char *method;
        const char *reason;
} AuditRecord;

/* Once at start: whether names of unknown users may be recorded. */
void audit_setup(bool record_unknown_users);

void audit_log(const AuditRecord *r);

const char *audit_event_to_string(AuditEvent e);
const char *audit_result_to_string(AuditResult r);
