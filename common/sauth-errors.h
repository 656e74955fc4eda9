/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One table for every outcome that crosses the bus: the typed D-Bus error
 * the daemon sends and the PAM code the module returns for it. The module
 * never parses error text; it looks the error name up here.
 */

typedef enum SauthStatus {
        SAUTH_OK = 0,
        SAUTH_E_INVALID_CREDENTIALS,
        SAUTH_E_ACCOUNT_LOCKED,
        SAUTH_E_ACCOUNT_DISABLED,
        SAUTH_E_PASSWORD_MISMATCH,
        SAUTH_E_WEAK_PASSWORD,
        SAUTH_E_INVALID_TOKEN,
        SAUTH_E_ALREADY_REGISTERED,
        SAUTH_E_INVALID_ARGUMENT,
        SAUTH_E_ACCESS_DENIED,
        SAUTH_E_NOT_FOUND,
        SAUTH_E_UNSUPPORTED_METHOD,
        SAUTH_E_PROVIDER_ERROR,
        SAUTH_E_AUTHORIZATION_DENIED,
        SAUTH_E_EXPIRED_TOKEN,
        SAUTH_E_RATE_LIMITED,
        SAUTH_E_LIMIT_EXCEEDED,
        SAUTH_E_INTERNAL,
        SAUTH_E_STORE_UNAVAILABLE,    /* the credential store (PostgreSQL) cannot be reached */
        /* Conditions with no error name of ours: the module meets them as
         * D-Bus transport errors or as values in a reply. */
        SAUTH_E_UNREACHABLE,          /* daemon not running, bus gone, timed out */
        SAUTH_E_MUST_CHANGE,          /* AccountStatus: password_must_change */
        SAUTH_E_UNKNOWN,              /* an error name nobody knows */
        _SAUTH_STATUS_MAX,
} SauthStatus;

/* The full D-Bus error name, or NULL for conditions that have none. */
const char *sauth_status_error_name(SauthStatus s);

/* The PAM return code for an outcome. */
int sauth_status_to_pam(SauthStatus s);

/* The same for the session phase: pam_sm_open_session(3) and
 * pam_sm_close_session(3) have one failure code, PAM_SESSION_ERR, and
 * applications expect no other (a login program is not asked to tell a
 * refused token from a locked account there). SAUTH_OK is PAM_SUCCESS. */
int sauth_status_to_pam_session(SauthStatus s);

/* Which outcome a D-Bus error name stands for. NULL means success. */
SauthStatus sauth_status_from_error_name(const char *name);

/* Which outcome a negative errno from connecting to the bus stands for.
 * Only transport failures (no socket, refused, reset, timed out…) are
 * Unreachable; -ENOMEM is Internal; any other errno is Unknown, which fails
 * closed. A value >= 0 is success. */
SauthStatus sauth_status_from_errno(int r);

/* The outcome of sd_bus_call() returning r, with the name of the error it
 * filled in (NULL if none). Our error names and the standard D-Bus ones
 * for "nobody answered" go through the table; a name sd-bus made up from
 * an errno ("System.Error.E…"), or no name, is judged by r as in
 * sauth_status_from_errno(). r >= 0 is success. The module and sauthctl
 * both classify failed calls with this, so they agree. */
SauthStatus sauth_status_from_call(int r, const char *error_name);

/* Short, stable text for logs: "InvalidCredentials", "Unreachable"… */
const char *sauth_status_to_string(SauthStatus s);
