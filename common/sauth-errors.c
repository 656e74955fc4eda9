/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <security/_pam_types.h>
#include <stddef.h>
#include <string.h>

#include "sauth-errors.h"
#include "sauth-names.h"
#include "util.h"

struct status_row {
        const char *name;       /* short name, the suffix of the error name */
        const char *error;      /* full D-Bus error name, NULL if none */
        int pam;
};

#define ROW(n, p) { n, SAUTH_ERROR_PREFIX n, p }

static const struct status_row status_table[_SAUTH_STATUS_MAX] = {
        [SAUTH_OK]                     = { "Ok", NULL, PAM_SUCCESS },
        [SAUTH_E_INVALID_CREDENTIALS]  = ROW("InvalidCredentials",  PAM_AUTH_ERR),
        [SAUTH_E_ACCOUNT_LOCKED]       = ROW("AccountLocked",       PAM_MAXTRIES),
        [SAUTH_E_ACCOUNT_DISABLED]     = ROW("AccountDisabled",     PAM_ACCT_EXPIRED),
        [SAUTH_E_PASSWORD_MISMATCH]    = ROW("PasswordMismatch",    PAM_AUTHTOK_ERR),
        [SAUTH_E_WEAK_PASSWORD]        = ROW("WeakPassword",        PAM_AUTHTOK_ERR),
        [SAUTH_E_INVALID_TOKEN]        = ROW("InvalidToken",        PAM_AUTHTOK_ERR),
        [SAUTH_E_ALREADY_REGISTERED]   = ROW("AlreadyRegistered",   PAM_SERVICE_ERR),
        [SAUTH_E_INVALID_ARGUMENT]     = ROW("InvalidArgument",     PAM_SERVICE_ERR),
        [SAUTH_E_ACCESS_DENIED]        = ROW("AccessDenied",        PAM_PERM_DENIED),
        [SAUTH_E_NOT_FOUND]            = ROW("NotFound",            PAM_USER_UNKNOWN),
        [SAUTH_E_UNSUPPORTED_METHOD]   = ROW("UnsupportedMethod",   PAM_SERVICE_ERR),
        [SAUTH_E_PROVIDER_ERROR]       = ROW("ProviderError",       PAM_AUTHINFO_UNAVAIL),
        [SAUTH_E_AUTHORIZATION_DENIED] = ROW("AuthorizationDenied", PAM_AUTH_ERR),
        [SAUTH_E_EXPIRED_TOKEN]        = ROW("ExpiredToken",        PAM_AUTH_ERR),
        [SAUTH_E_RATE_LIMITED]         = ROW("RateLimited",         PAM_MAXTRIES),
        [SAUTH_E_LIMIT_EXCEEDED]       = ROW("LimitExceeded",       PAM_SERVICE_ERR),
        [SAUTH_E_INTERNAL]             = ROW("Internal",            PAM_SYSTEM_ERR),
        /* The daemon answered, but its store did not: for PAM the same
         * as a daemon that is not there, so unavail= applies. */
        [SAUTH_E_STORE_UNAVAILABLE]    = ROW("StoreUnavailable",    PAM_AUTHINFO_UNAVAIL),
        [SAUTH_E_UNREACHABLE]          = { "Unreachable", NULL, PAM_AUTHINFO_UNAVAIL },
        [SAUTH_E_MUST_CHANGE]          = { "MustChange",  NULL, PAM_NEW_AUTHTOK_REQD },
        [SAUTH_E_UNKNOWN]              = { "Unknown",     NULL, PAM_SERVICE_ERR },
};

/* The error names that mean "sauthd did not answer": the daemon is not
 * running and could not be started, or the call got no reply. Only names
 * a client can actually receive belong here, each with who sends it:
 *
 * - dbus-daemon (bus/dispatch.c, bus/activation.c, bus/connection.c) and
 *   dbus-broker: no owner and no activation file (ServiceUnknown), no
 *   owner with auto-start off, or dbus-broker's failed activation
 *   (NameHasNoOwner), activation timed out (TimedOut), the peer left or
 *   did not reply in time (NoReply), too many pending activations or
 *   replies (LimitsExceeded), and every failure to spawn the service
 *   without systemd (the Spawn.* family, matched by prefix below:
 *   ChildExited for an Exec= that fails, ExecFailed, ServiceNotFound…);
 * - systemd, through dbus-daemon, when it cannot start the unit of an
 *   activation request (ActivationFailure in src/core/dbus.c: the unit's
 *   load state, bus_unit_validate_load_state(), and manager_add_job());
 * - sd-bus itself, for a local failure of the call: ETIMEDOUT is Timeout,
 *   ECONNRESET and ECONNABORTED are Disconnected, ENOENT is FileNotFound
 *   (the errnos errno_is_transport() counts as transport failures too);
 * - NoServer, which sd-bus reads as EHOSTDOWN, a transport errno: a
 *   proxy speaking libdbus's client names may send it.
 *
 * Left out on purpose: NoNetwork (libdbus's client side only, never on the
 * wire) and "SpawnFailed" (no such name; dbus-daemon sends Spawn.Failed).
 * A unit that failed to load with an errno of its own arrives as
 * "System.Error.E…" and is judged by that errno like any other. */
static const char *const unreachable_errors[] = {
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply",
        "org.freedesktop.DBus.Error.TimedOut",
        "org.freedesktop.DBus.Error.LimitsExceeded",
        "org.freedesktop.DBus.Error.Timeout",
        "org.freedesktop.DBus.Error.Disconnected",
        "org.freedesktop.DBus.Error.FileNotFound",
        "org.freedesktop.DBus.Error.NoServer",
        "org.freedesktop.systemd1.NoSuchUnit",
        "org.freedesktop.systemd1.LoadFailed",
        "org.freedesktop.systemd1.BadUnitSetting",
        "org.freedesktop.systemd1.UnitMasked",
        "org.freedesktop.systemd1.OnlyByDependency",
        "org.freedesktop.systemd1.JobTypeNotApplicable",
        "org.freedesktop.systemd1.TransactionIsDestructive",
        "org.freedesktop.systemd1.TransactionJobsConflicting",
        "org.freedesktop.systemd1.TransactionOrderIsCyclic",
        "org.freedesktop.systemd1.ShuttingDown",
};

/* dbus-daemon's failures to start an activatable service without systemd
 * (dbus-protocol.h's DBUS_ERROR_SPAWN_*). */
#define DBUS_SPAWN_ERROR_PREFIX "org.freedesktop.DBus.Error.Spawn."

static bool error_name_is_unreachable(const char *name) {
        size_t n = strlen(DBUS_SPAWN_ERROR_PREFIX);

        /* The prefix alone is no error name. */
        if (strncmp(name, DBUS_SPAWN_ERROR_PREFIX, n) == 0 && name[n] != '\0')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(unreachable_errors); i++)
                if (strcmp(unreachable_errors[i], name) == 0)
                        return true;
        return false;
}

const char *sauth_status_error_name(SauthStatus s) {
        if ((unsigned) s >= _SAUTH_STATUS_MAX)
                return NULL;
        return status_table[s].error;
}

int sauth_status_to_pam(SauthStatus s) {
        if ((unsigned) s >= _SAUTH_STATUS_MAX)
                return PAM_SERVICE_ERR;
        return status_table[s].pam;
}

int sauth_status_to_pam_session(SauthStatus s) {
        return s == SAUTH_OK ? PAM_SUCCESS : PAM_SESSION_ERR;
}

const char *sauth_status_to_string(SauthStatus s) {
        if ((unsigned) s >= _SAUTH_STATUS_MAX)
                return "Unknown";
        return status_table[s].name;
}

SauthStatus sauth_status_from_error_name(const char *name) {
        if (!name)
                return SAUTH_OK;

        for (size_t i = 0; i < _SAUTH_STATUS_MAX; i++)
                if (status_table[i].error && strcmp(status_table[i].error, name) == 0)
                        return (SauthStatus) i;

        if (error_name_is_unreachable(name))
                return SAUTH_E_UNREACHABLE;
        return SAUTH_E_UNKNOWN;
}

/* The errnos that say the connection, not the daemon, failed: there was
 * no bus or no daemon to talk to, or the peer went away or did not answer
 * in time. Only these become Unreachable, which unavail=ignore turns into
 * PAM_IGNORE; any other errno fails closed. Deliberately left out:
 * EACCES and EPERM (a socket we may not use, or a bus that refused our
 * authentication, is a misconfiguration, not an absence), EINVAL (a bad
 * address), EAGAIN (sd_bus_call() waits instead of returning it) and
 * EBADMSG (a malformed message is never "away"). */
static bool errno_is_transport(int r) {
        switch (-r) {
        case ENOENT:            /* no socket at the address: bus not running */
        case ECONNREFUSED:      /* a socket, nobody listening */
        case ECONNRESET:        /* the bus dropped us */
        case ECONNABORTED:
        case ENOTCONN:          /* the connection was already closed */
        case EPIPE:
        case ESHUTDOWN:
        case ETIMEDOUT:         /* connecting or the call took longer than the timeout */
        case EHOSTDOWN:         /* sd-bus's errno for NoServer */
        case EHOSTUNREACH:      /* … for ServiceUnknown */
        case ENXIO:             /* … for NameHasNoOwner */
        case ENETUNREACH:       /* a tcp: bus address */
        case ENETDOWN:
                return true;
        default:
                return false;
        }
}

SauthStatus sauth_status_from_errno(int r) {
        if (r >= 0)
                return SAUTH_OK;
        if (r == -ENOMEM)
                return SAUTH_E_INTERNAL;
        if (errno_is_transport(r))
                return SAUTH_E_UNREACHABLE;
        return SAUTH_E_UNKNOWN;
}

/* sd-bus names a local failure after its errno. Some errnos get standard
 * D-Bus names, and those agree with the lists above: ETIMEDOUT is Timeout,
 * ECONNRESET Disconnected, ENOENT FileNotFound (all Unreachable), EACCES
 * AccessDenied (Unknown). The rest are "System.Error.ECONNREFUSED" and so
 * on, judged by the errno. */
#define SD_BUS_ERRNO_PREFIX "System.Error."

SauthStatus sauth_status_from_call(int r, const char *error_name) {
        if (r >= 0)
                return SAUTH_OK;
        /* The errno is what such a name was made from (or, for a reply
         * carrying one, what sd-bus made of it): judge the errno. */
        if (!error_name || strncmp(error_name, SD_BUS_ERRNO_PREFIX, strlen(SD_BUS_ERRNO_PREFIX)) == 0)
                return sauth_status_from_errno(r);
        return sauth_status_from_error_name(error_name);
}
