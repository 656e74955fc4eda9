/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * common/'s error table (error names, PAM codes, transport errors), and
 * sauthd's config parser against real files in a temporary directory and
 * the file checks every security-relevant file goes through (sauthd/config.c,
 * sauthd/fsutil.c). The rest of the client library: test-client.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <security/_pam_types.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fsutil.h"
#include "sauth-config.h"
#include "sauth-errors.h"
#include "sauth-names.h"
#include "util.h"

static char tmpdir[] = "/tmp/test-common.XXXXXX";

/* ---- helpers ---- */

static char *tmp_path(const char *name) {
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        return p;
}

/* Writes TEXT to a file of the temporary directory with exactly MODE
 * (fchmod, so the umask has no say). Returns the path. */
static char *write_file(const char *name, const char *text, mode_t mode) {
        char *p = tmp_path(name);
        _cleanup_close_ int fd = -1;
        size_t n = strlen(text);

        (void) unlink(p);
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, n), (ssize_t) n);
        assert_int_equal(fchmod(fd, mode), 0);
        return p;
}

/* Runs config_load() on TEXT with stderr sent to a file; returns its result
 * and, if ret_err is set, what it wrote to stderr. */
static int load_text(const char *text, SauthConfig **ret, char **ret_err) {
        _cleanup_free_ char *path = write_file("sauthd.conf", text, 0600);
        _cleanup_free_ char *errpath = tmp_path("stderr");
        _cleanup_close_ int efd = -1, saved = -1;
        char buf[4096];
        ssize_t n;
        int r;

        efd = open(errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(efd >= 0);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(efd, STDERR_FILENO) >= 0);

        r = config_load(path, true, ret);

        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        n = pread(efd, buf, sizeof buf - 1, 0);
        assert_true(n >= 0);
        buf[n] = '\0';
        if (ret_err)
                *ret_err = strdup(buf);
        return r;
}

/* config_load() of TEXT that must fail with R. */
static void expect_load_error(const char *text, int r) {
        SauthConfig *c = NULL;

        assert_int_equal(load_text(text, &c, NULL), r);
        assert_null(c);
}

/* config_load() of TEXT that must succeed; the caller frees. */
static SauthConfig *expect_load_ok(const char *text) {
        SauthConfig *c = NULL;

        assert_int_equal(load_text(text, &c, NULL), 0);
        assert_non_null(c);
        return c;
}

static char *hostname_now(void) {
        char buf[256] = "";

        assert_int_equal(gethostname(buf, sizeof buf - 1), 0);
        return strdup(buf);
}

/* ---- the error table ---- */

/* The error names of DESIGN.md, and StoreUnavailable added with the
 * PostgreSQL store (docs/dbus-api.md); each must be in the table. */
static const char *const design_error_names[] = {
        "InvalidCredentials", "AccountLocked", "AccountDisabled", "PasswordMismatch",
        "WeakPassword", "InvalidToken", "AlreadyRegistered", "InvalidArgument",
        "AccessDenied", "NotFound", "UnsupportedMethod", "ProviderError",
        "AuthorizationDenied", "ExpiredToken", "RateLimited", "LimitExceeded", "Internal",
        "StoreUnavailable",
};

static void test_errors_roundtrip(void **state) {
        size_t prefix = strlen(SAUTH_ERROR_PREFIX);
        unsigned named = 0;

        assert_string_equal(SAUTH_ERROR_PREFIX, "org.sessionauth.SessionAuth1.Error.");

        for (int s = 0; s < _SAUTH_STATUS_MAX; s++) {
                const char *name = sauth_status_error_name(s);
                const char *text = sauth_status_to_string(s);

                assert_non_null(text);
                assert_true(*text);
                if (!name)
                        continue;
                named++;
                assert_int_equal(strncmp(name, SAUTH_ERROR_PREFIX, prefix), 0);
                /* The short text is the suffix, so logs and bus agree. */
                assert_string_equal(name + prefix, text);
                assert_int_equal(sauth_status_from_error_name(name), s);

                /* No two outcomes share a name. */
                for (int t = s + 1; t < _SAUTH_STATUS_MAX; t++)
                        if (sauth_status_error_name(t))
                                assert_string_not_equal(name, sauth_status_error_name(t));
        }
        assert_int_equal(named, ELEMENTSOF(design_error_names));

        for (size_t i = 0; i < ELEMENTSOF(design_error_names); i++) {
                _cleanup_free_ char *full = NULL;
                SauthStatus s;

                assert_true(asprintf(&full, SAUTH_ERROR_PREFIX "%s", design_error_names[i]) > 0);
                s = sauth_status_from_error_name(full);
                assert_int_not_equal(s, SAUTH_E_UNKNOWN);
                assert_int_not_equal(s, SAUTH_OK);
                assert_string_equal(sauth_status_error_name(s), full);
        }

        /* Success, and the conditions that have no name of ours. */
        assert_null(sauth_status_error_name(SAUTH_OK));
        assert_null(sauth_status_error_name(SAUTH_E_UNREACHABLE));
        assert_null(sauth_status_error_name(SAUTH_E_MUST_CHANGE));
        assert_null(sauth_status_error_name(SAUTH_E_UNKNOWN));
        assert_int_equal(sauth_status_from_error_name(NULL), SAUTH_OK);
}

static void test_errors_pam(void **state) {
        static const struct {
                SauthStatus s;
                int pam;
        } design[] = {
                { SAUTH_OK,                    PAM_SUCCESS },
                { SAUTH_E_INVALID_CREDENTIALS, PAM_AUTH_ERR },
                { SAUTH_E_ACCOUNT_LOCKED,      PAM_MAXTRIES },
                { SAUTH_E_ACCOUNT_DISABLED,    PAM_ACCT_EXPIRED },
                { SAUTH_E_NOT_FOUND,           PAM_USER_UNKNOWN },
                { SAUTH_E_UNREACHABLE,         PAM_AUTHINFO_UNAVAIL },
                { SAUTH_E_STORE_UNAVAILABLE,   PAM_AUTHINFO_UNAVAIL },
                { SAUTH_E_WEAK_PASSWORD,       PAM_AUTHTOK_ERR },
                { SAUTH_E_INVALID_TOKEN,       PAM_AUTHTOK_ERR },
                { SAUTH_E_MUST_CHANGE,         PAM_NEW_AUTHTOK_REQD },
        };

        for (size_t i = 0; i < ELEMENTSOF(design); i++)
                assert_int_equal(sauth_status_to_pam(design[i].s), design[i].pam);

        /* Fail closed: nothing but success may ever become PAM_SUCCESS, or
         * PAM_IGNORE, which lets the rest of a stack decide alone. */
        for (int s = 1; s < _SAUTH_STATUS_MAX; s++) {
                assert_int_not_equal(sauth_status_to_pam(s), PAM_SUCCESS);
                assert_int_not_equal(sauth_status_to_pam(s), PAM_IGNORE);
        }

        /* Out of range. */
        assert_int_equal(sauth_status_to_pam(_SAUTH_STATUS_MAX), PAM_SERVICE_ERR);
        assert_int_equal(sauth_status_to_pam((SauthStatus) -1), PAM_SERVICE_ERR);
        assert_null(sauth_status_error_name(_SAUTH_STATUS_MAX));
        assert_string_equal(sauth_status_to_string(_SAUTH_STATUS_MAX), "Unknown");
}

/* The session phase has one failure code; success stays success and
 * nothing becomes PAM_IGNORE (unavail=ignore is the module's choice). */
static void test_errors_pam_session(void **state) {
        assert_int_equal(sauth_status_to_pam_session(SAUTH_OK), PAM_SUCCESS);
        for (int s = 1; s < _SAUTH_STATUS_MAX; s++)
                assert_int_equal(sauth_status_to_pam_session(s), PAM_SESSION_ERR);
        assert_int_equal(sauth_status_to_pam_session(_SAUTH_STATUS_MAX), PAM_SESSION_ERR);
        assert_int_equal(sauth_status_to_pam_session((SauthStatus) -1), PAM_SESSION_ERR);
}

static void test_errors_foreign_names(void **state) {
        static const char *const unreachable[] = {
                "org.freedesktop.DBus.Error.ServiceUnknown",
                "org.freedesktop.DBus.Error.NameHasNoOwner",
                "org.freedesktop.DBus.Error.NoReply",
                "org.freedesktop.DBus.Error.Timeout",
                "org.freedesktop.DBus.Error.TimedOut",
                "org.freedesktop.DBus.Error.Disconnected",
                "org.freedesktop.DBus.Error.NoServer",
                "org.freedesktop.DBus.Error.LimitsExceeded",
                "org.freedesktop.DBus.Error.FileNotFound",
                /* dbus-daemon's activation without systemd: the family. */
                "org.freedesktop.DBus.Error.Spawn.ChildExited",
                "org.freedesktop.DBus.Error.Spawn.ChildSignaled",
                "org.freedesktop.DBus.Error.Spawn.ExecFailed",
                "org.freedesktop.DBus.Error.Spawn.ForkFailed",
                "org.freedesktop.DBus.Error.Spawn.Failed",
                "org.freedesktop.DBus.Error.Spawn.FailedToSetup",
                "org.freedesktop.DBus.Error.Spawn.ConfigInvalid",
                "org.freedesktop.DBus.Error.Spawn.ServiceNotValid",
                "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
                "org.freedesktop.DBus.Error.Spawn.PermissionsInvalid",
                "org.freedesktop.DBus.Error.Spawn.FileInvalid",
                "org.freedesktop.DBus.Error.Spawn.NoMemory",
                /* systemd's ActivationFailure, forwarded by dbus-daemon. */
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
        static const char *const unknown[] = {
                "",
                /* Names nobody sends to a bus client. */
                "org.freedesktop.DBus.Error.SpawnFailed",
                "org.freedesktop.DBus.Error.NoNetwork",
                /* The family's prefix is no name; look-alikes are not in it. */
                "org.freedesktop.DBus.Error.Spawn.",
                "org.freedesktop.DBus.Error.Spawn",
                "org.freedesktop.DBus.Error.SpawnX.ChildExited",
                "x.org.freedesktop.DBus.Error.Spawn.ChildExited",
                /* Other systemd errors are no activation failure. */
                "org.freedesktop.systemd1.NoSuchJob",
                "org.freedesktop.systemd1.UnitExists",
                "org.freedesktop.DBus.Error.AccessDenied",
                "org.freedesktop.DBus.Error.UnknownMethod",
                SAUTH_ERROR_PREFIX,
                SAUTH_ERROR_PREFIX "NoSuchThing",
                SAUTH_ERROR_PREFIX "invalidcredentials",
                SAUTH_ERROR_PREFIX "InvalidCredentials ",
                "InvalidCredentials",
                "org.sessionauth.SessionAuth2.Error.InvalidCredentials",
        };

        for (size_t i = 0; i < ELEMENTSOF(unreachable); i++)
                assert_int_equal(sauth_status_from_error_name(unreachable[i]), SAUTH_E_UNREACHABLE);
        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                assert_int_equal(sauth_status_from_error_name(unknown[i]), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_to_pam(SAUTH_E_UNKNOWN), PAM_SERVICE_ERR);
}

/* Transport failures: the only errnos that may become Unreachable, which
 * unavail=ignore turns into PAM_IGNORE. */
static const int transport_errnos[] = {
        ENOENT, ECONNREFUSED, ECONNRESET, ECONNABORTED, ENOTCONN, EPIPE, ESHUTDOWN,
        ETIMEDOUT, EHOSTDOWN, EHOSTUNREACH, ENXIO, ENETUNREACH, ENETDOWN,
};

static bool is_transport_errno(int e) {
        for (size_t i = 0; i < ELEMENTSOF(transport_errnos); i++)
                if (transport_errnos[i] == e)
                        return true;
        return false;
}

static void test_errors_errno(void **state) {
        assert_int_equal(sauth_status_from_errno(0), SAUTH_OK);
        assert_int_equal(sauth_status_from_errno(1), SAUTH_OK);
        assert_int_equal(sauth_status_from_errno(-ENOMEM), SAUTH_E_INTERNAL);
        /* Callers pass negative errnos; a positive ENOMEM is a success
         * value like any other, not an error. */
        assert_int_equal(sauth_status_from_errno(ENOMEM), SAUTH_OK);

        for (size_t i = 0; i < ELEMENTSOF(transport_errnos); i++)
                assert_int_equal(sauth_status_from_errno(-transport_errnos[i]), SAUTH_E_UNREACHABLE);

        /* A bus we may not use, a bad address, a malformed message: fail
         * closed, never "unreachable". */
        assert_int_equal(sauth_status_from_errno(-EACCES), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_errno(-EPERM), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_errno(-EINVAL), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_errno(-EBADMSG), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_errno(-EAGAIN), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_errno(-EIO), SAUTH_E_UNKNOWN);

        /* Every errno outside the list fails closed. */
        for (int e = 1; e < 4096; e++)
                if (e != ENOMEM && !is_transport_errno(e))
                        assert_int_equal(sauth_status_from_errno(-e), SAUTH_E_UNKNOWN);
}

static void test_errors_from_call(void **state) {
        _cleanup_free_ char *ours = NULL;

        /* Success, whatever the name says. */
        assert_int_equal(sauth_status_from_call(0, NULL), SAUTH_OK);
        assert_int_equal(sauth_status_from_call(1, NULL), SAUTH_OK);

        /* Our names go through the table; r plays no part. */
        for (int s = 1; s < _SAUTH_STATUS_MAX; s++) {
                const char *name = sauth_status_error_name(s);

                if (!name)
                        continue;
                assert_int_equal(sauth_status_from_call(-EBADR, name), s);
                assert_int_equal(sauth_status_from_call(-ECONNREFUSED, name), s);
        }
        assert_true(asprintf(&ours, SAUTH_ERROR_PREFIX "InvalidCredentials") > 0);
        assert_int_equal(sauth_status_from_call(-EIO, ours), SAUTH_E_INVALID_CREDENTIALS);

        /* Standard D-Bus names for "nobody answered", as the bus or sd-bus
         * sends them, whatever errno came with them. */
        assert_int_equal(sauth_status_from_call(-EHOSTUNREACH, "org.freedesktop.DBus.Error.ServiceUnknown"),
                         SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ETIMEDOUT, "org.freedesktop.DBus.Error.Timeout"),
                         SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ECONNRESET, "org.freedesktop.DBus.Error.Disconnected"),
                         SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ETIMEDOUT, "org.freedesktop.DBus.Error.NoReply"),
                         SAUTH_E_UNREACHABLE);
        /* A failed activation, with the errno sd-bus makes of the name
         * (EIO for the Spawn family, systemd's own for its names). */
        assert_int_equal(sauth_status_from_call(-EIO, "org.freedesktop.DBus.Error.Spawn.ChildExited"),
                         SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ENOENT, "org.freedesktop.systemd1.NoSuchUnit"),
                         SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ERFKILL, "org.freedesktop.systemd1.UnitMasked"),
                         SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_to_pam(sauth_status_from_call(-EIO, "org.freedesktop.DBus.Error.Spawn.ExecFailed")),
                         PAM_AUTHINFO_UNAVAIL);

        /* Other standard names fail closed, even with a transport errno. */
        assert_int_equal(sauth_status_from_call(-EACCES, "org.freedesktop.DBus.Error.AccessDenied"),
                         SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_call(-ECONNREFUSED, "org.freedesktop.DBus.Error.AccessDenied"),
                         SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_call(-EBADR, "org.freedesktop.DBus.Error.UnknownMethod"),
                         SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_call(-EIO, "com.example.Whatever"), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_call(-ECONNREFUSED, ""), SAUTH_E_UNKNOWN);

        /* Names sd-bus makes up from an errno are judged by the errno. */
        assert_int_equal(sauth_status_from_call(-ECONNREFUSED, "System.Error.ECONNREFUSED"), SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ENOTCONN, "System.Error.ENOTCONN"), SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-EPIPE, "System.Error.EPIPE"), SAUTH_E_UNREACHABLE);
        assert_int_equal(sauth_status_from_call(-ENOMEM, "System.Error.ENOMEM"), SAUTH_E_INTERNAL);
        assert_int_equal(sauth_status_from_call(-ELOOP, "System.Error.ELOOP"), SAUTH_E_UNKNOWN);
        assert_int_equal(sauth_status_from_call(-EPROTO, "System.Error.EPROTO"), SAUTH_E_UNKNOWN);
        /* Only the prefix counts, not a name that merely contains it. */
        assert_int_equal(sauth_status_from_call(-ECONNREFUSED, "x.System.Error.ECONNREFUSED"), SAUTH_E_UNKNOWN);

        /* No name at all: the errno alone. */
        assert_int_equal(sauth_status_from_call(-ENOMEM, NULL), SAUTH_E_INTERNAL);
        for (size_t i = 0; i < ELEMENTSOF(transport_errnos); i++)
                assert_int_equal(sauth_status_from_call(-transport_errnos[i], NULL), SAUTH_E_UNREACHABLE);

        /* A non-transport errno never becomes Unreachable, with no name or
         * with the name sd-bus would give it, so never PAM_IGNORE. */
        for (int e = 1; e < 4096; e++) {
                _cleanup_free_ char *sys = NULL;

                if (e == ENOMEM || is_transport_errno(e))
                        continue;
                assert_true(asprintf(&sys, "System.Error.E%d", e) > 0);
                assert_int_equal(sauth_status_from_call(-e, NULL), SAUTH_E_UNKNOWN);
                assert_int_equal(sauth_status_from_call(-e, sys), SAUTH_E_UNKNOWN);
                assert_int_equal(sauth_status_to_pam(sauth_status_from_call(-e, NULL)), PAM_SERVICE_ERR);
        }
}

/* ---- the config parser ---- */

static void check_defaults(const SauthConfig *c) {
        _cleanup_free_ char *host = hostname_now(), *from = NULL;

        assert_true(asprintf(&from, "sauthd@%s", host) > 0);

        assert_string_equal(c->admin_group, "sauth-admin");
        assert_int_equal(c->workers, 0);
        assert_string_equal(c->store_path, SAUTH_STATE_DIR "/sauth.db");
        assert_string_equal(c->store_driver, "sqlite");
        assert_null(c->store_conninfo_file);
        assert_int_equal(c->store_timeout, 5);
        assert_int_equal(c->store_pool_size, 4);
        assert_int_equal(c->hash_ops, 2);
        assert_int_equal(c->hash_mem_kib, 65536);
        assert_string_equal(c->pwquality_conf, "/etc/security/pwquality.conf");
        assert_true(c->min_guesses_log10 == 8.0);
        assert_int_equal(c->history, 5);
        assert_int_equal(c->max_length, 256);
        assert_int_equal(c->deny, 5);
        assert_int_equal(c->fail_interval, 900);
        assert_int_equal(c->unlock_time, 600);
        assert_string_equal(c->issuer, host);
        assert_string_equal(c->key_file, SAUTH_STATE_DIR "/jwt.key");
        assert_int_equal(c->session_lifetime, 7200);
        assert_int_equal(c->admin_lifetime, 900);
        assert_int_equal(c->confirm_lifetime, 43200);
        assert_int_equal(c->reset_lifetime, 3600);
        assert_string_equal(c->mail_sender, "/usr/sbin/sendmail -t -i");
        assert_string_equal(c->mail_from, from);
        assert_string_equal(c->mail_templates, SAUTH_TEMPLATES_DIR);
        assert_string_equal(c->privacy_levels, "public invitee member manager secret");
        assert_string_equal(c->roles_resource, "list");
        assert_int_equal(c->login_internal, LOGIN_OPEN);
        assert_int_equal(c->login_register, LOGIN_ADMIN);
        assert_int_equal(c->login_external, LOGIN_CLOSED);
        assert_string_equal(c->settings_id, "");
        assert_int_equal(c->n_resources, 0);
        assert_int_equal(c->n_providers, 0);
        assert_false(c->reset_admin_by_mail);
        assert_true(c->max_queue >= 1);
}

static void test_config_defaults(void **state) {
        _cleanup_(config_freep) SauthConfig *a = NULL, *b = NULL, *d = NULL, *e = NULL;
        _cleanup_free_ char *missing = tmp_path("does-not-exist.conf");

        assert_int_equal(config_new_default(&a), 0);
        check_defaults(a);

        /* No file at all, and a missing file that is not required. */
        assert_int_equal(config_load(NULL, false, &b), 0);
        check_defaults(b);
        assert_int_equal(config_load(missing, false, &d), 0);
        check_defaults(d);

        /* An empty file changes nothing. */
        e = expect_load_ok("");
        check_defaults(e);
}

static void test_config_missing_required(void **state) {
        _cleanup_free_ char *missing = tmp_path("does-not-exist.conf");
        SauthConfig *c = NULL;

        assert_int_equal(config_load(missing, true, &c), -ENOENT);
        assert_null(c);
}

/* The shipped file says it shows every default: it must mean it. */
static void test_config_shipped(void **state) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_fclose_ FILE *f = fopen(SHIPPED_CONFIG, "re");
        size_t n;

        assert_non_null(f);
        text = calloc(1, 65536);
        assert_non_null(text);
        n = fread(text, 1, 65535, f);
        assert_true(n > 0 && n < 65535);

        /* The file is generated from the same prefixes as the built-in
         * defaults (state dir, templates), so it must match them all. */
        c = expect_load_ok(text);
        check_defaults(c);
}

static const char full_config[] =
        "; a comment\n"
        "# another comment\n"
        "[daemon]\n"
        "admin_group = wheel        # its members may call every method\n"
        "workers = 3\n"
        "max_queue = 7\n"
        "[store]\n"
        "path = /srv/sauth/db.sqlite\n"
        "driver = postgresql\n"
        "conninfo_file = /etc/sauthd/pg.conninfo\n"
        "timeout = 9\n"
        "pool_size = 2\n"
        "[password]\n"
        "hash_ops = 3\n"
        "hash_mem_kib = 1024\n"
        "pwquality_conf = /etc/pwq.conf\n"
        "min_guesses_log10 = 10.5\n"
        "history = 0\n"
        "max_length = 1024\n"
        "reset_admin_by_mail = yes\n"
        "[lockout]\n"
        "deny = 9\n"
        "fail_interval = 31536000\n"
        "unlock_time = 1\n"
        "[tokens]\n"
        "issuer = auth.example.org\n"
        "key_file = /srv/sauth/jwt.key\n"
        "session_lifetime = 60\n"
        "admin_lifetime = 61\n"
        "confirm_lifetime = 62\n"
        "reset_lifetime = 63\n"
        "[mail]\n"
        "sender = smtp://127.0.0.1:2525\n"
        "from = SessionAuth <auth@example.org>\n"
        "templates = /srv/sauth/templates\n"
        "credentials_file = /etc/sauthd/smtp.secret\n"
        "timeout = 5\n"
        "resets_per_hour = 1\n"
        "outbox_key_file = /srv/sauth/outbox.key\n"
        "retry_min = 7\n"
        "[roles]\n"
        "privacy_levels = public member\n"
        "resource = group\n"
        "[login]\n"
        "internal = closed\n"
        "register = open\n"
        "external = auto\n"
        "settings_id = x-1234\n"
        "[resources]\n"
        "# name = URL\n"
        "wiki = https://wiki.example.org/#top\n"
        "mail = https://mail.example.org   # webmail\n"
        "[provider google]\n"
        "issuer = https://accounts.google.com\n"
        "client_id = abc.apps\n"
        "client_secret_file = /etc/sauthd/google.secret\n"
        "scopes = openid email profile\n"
        "redirect_uri = https://auth.example.org/cb\n"
        "[provider gitlab]\n"
        "issuer = https://gitlab.example.org\n";

static void test_config_full(void **state) {
        _cleanup_(config_freep) SauthConfig *c = expect_load_ok(full_config);

        assert_string_equal(c->admin_group, "wheel");
        assert_int_equal(c->workers, 3);
        assert_int_equal(c->max_queue, 7);
        assert_string_equal(c->store_path, "/srv/sauth/db.sqlite");
        assert_string_equal(c->store_driver, "postgresql");
        assert_string_equal(c->store_conninfo_file, "/etc/sauthd/pg.conninfo");
        assert_int_equal(c->store_timeout, 9);
        assert_int_equal(c->store_pool_size, 2);
        assert_int_equal(c->hash_ops, 3);
        assert_int_equal(c->hash_mem_kib, 1024);
        assert_string_equal(c->pwquality_conf, "/etc/pwq.conf");
        assert_true(c->min_guesses_log10 == 10.5);
        assert_int_equal(c->history, 0);
        assert_int_equal(c->max_length, 1024);
        assert_true(c->reset_admin_by_mail);
        assert_int_equal(c->deny, 9);
        assert_int_equal(c->fail_interval, 31536000);
        assert_int_equal(c->unlock_time, 1);
        assert_string_equal(c->issuer, "auth.example.org");
        assert_string_equal(c->key_file, "/srv/sauth/jwt.key");
        assert_int_equal(c->session_lifetime, 60);
        assert_int_equal(c->admin_lifetime, 61);
        assert_int_equal(c->confirm_lifetime, 62);
        assert_int_equal(c->reset_lifetime, 63);
        assert_string_equal(c->mail_sender, "smtp://127.0.0.1:2525");
        assert_string_equal(c->mail_from, "SessionAuth <auth@example.org>");
        assert_string_equal(c->mail_templates, "/srv/sauth/templates");
        assert_string_equal(c->mail_credentials_file, "/etc/sauthd/smtp.secret");
        assert_int_equal(c->mail_timeout, 5);
        assert_int_equal(c->resets_per_hour, 1);
        assert_string_equal(c->mail_outbox_key_file, "/srv/sauth/outbox.key");
        assert_int_equal(c->mail_retry_min, 7);
        assert_string_equal(c->privacy_levels, "public member");
        assert_string_equal(c->roles_resource, "group");
        assert_int_equal(c->login_internal, LOGIN_CLOSED);
        assert_int_equal(c->login_register, LOGIN_OPEN);
        assert_int_equal(c->login_external, LOGIN_AUTO);
        assert_string_equal(c->settings_id, "x-1234");

        /* "#" inside a value is kept; " # ..." ends it. */
        assert_int_equal(c->n_resources, 2);
        assert_string_equal(c->resources[0].name, "wiki");
        assert_string_equal(c->resources[0].value, "https://wiki.example.org/#top");
        assert_string_equal(c->resources[1].name, "mail");
        assert_string_equal(c->resources[1].value, "https://mail.example.org");

        assert_int_equal(c->n_providers, 2);
        assert_string_equal(c->providers[0].name, "google");
        assert_string_equal(c->providers[0].issuer, "https://accounts.google.com");
        assert_string_equal(c->providers[0].client_id, "abc.apps");
        assert_string_equal(c->providers[0].client_secret_file, "/etc/sauthd/google.secret");
        assert_string_equal(c->providers[0].scopes, "openid email profile");
        assert_string_equal(c->providers[0].redirect_uri, "https://auth.example.org/cb");
        assert_string_equal(c->providers[1].name, "gitlab");
        assert_string_equal(c->providers[1].issuer, "https://gitlab.example.org");
        assert_null(c->providers[1].client_id);
}

/* DESIGN.md writes its example with a comment after keys whose value is
 * empty ("settings_id =      # returned with every login"): the comment is
 * not the value. */
static void test_config_empty_value_comment(void **state) {
        _cleanup_(config_freep) SauthConfig *c = expect_load_ok(
                "[login]\n"
                "settings_id =                   # returned with every login\n"
                "[tokens]\n"
                "issuer =\t# the host name\n");

        assert_string_equal(c->settings_id, "");
        assert_string_equal(c->issuer, "");
}

/* A provider named twice stops sauthd, naming the section and its line;
 * inih alone would merge the two into one provider. */
static void test_config_duplicate_provider(void **state) {
        SauthConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        assert_int_equal(load_text("[provider google]\n"
                                   "issuer = https://accounts.google.com\n"
                                   "[provider gitlab]\n"
                                   "issuer = https://gitlab.example.org\n"
                                   "[login]\n"
                                   "external = closed\n"
                                   "[provider google]\n"
                                   "client_id = xyz.apps\n",
                                   &c, &err), -EINVAL);
        assert_null(c);
        assert_non_null(err);
        assert_non_null(strstr(err, ":7: duplicate section [provider google]"));

        /* Other sections may repeat; a provider once, as before. */
        c = expect_load_ok("[login]\ninternal = open\n[provider a]\nissuer = https://a\n"
                           "[login]\nexternal = auto\n[provider b]\nissuer = https://b\n");
        assert_int_equal(c->n_providers, 2);
        assert_int_equal(c->login_external, LOGIN_AUTO);
        config_free(c);
}

static void test_config_unknown_keys(void **state) {
        _cleanup_(config_freep) SauthConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        assert_int_equal(load_text("[daemon]\n"
                                   "admin_grup = typo\n"
                                   "workers = 2\n"
                                   "[nosuchsection]\n"
                                   "key = value\n"
                                   "[provider x]\n"
                                   "client_secret = inline-is-not-a-key\n"
                                   "[provider ]\n"
                                   "issuer = https://nameless\n",
                                   &c, &err), 0);
        assert_non_null(c);
        assert_non_null(err);

        /* Warned about, each of them, and otherwise ignored. */
        assert_non_null(strstr(err, "admin_grup"));
        assert_non_null(strstr(err, "[nosuchsection] key"));
        assert_non_null(strstr(err, "client_secret"));
        assert_null(strstr(err, "inline-is-not-a-key"));
        assert_non_null(strstr(err, "warning"));
        assert_string_equal(c->admin_group, "sauth-admin");
        assert_int_equal(c->workers, 2);
        assert_int_equal(c->n_providers, 0);
}

static void test_config_bad_values(void **state) {
        static const char *const bad[] = {
                "[daemon]\nworkers = -1\n",
                "[daemon]\nworkers = many\n",
                "[daemon]\nworkers = 3x\n",
                "[daemon]\nworkers =\n",
                "[daemon]\nworkers = 4294967296\n",
                "[daemon]\nmax_queue = 0\n",
                "[lockout]\ndeny = 1.5\n",
                "[lockout]\nfail_interval = 18446744073709551616\n",
                "[lockout]\nunlock_time = -5\n",
                "[password]\nmin_guesses_log10 = lots\n",
                "[password]\nmin_guesses_log10 =\n",
                "[password]\nmin_guesses_log10 = 1e999\n",
                "[password]\nreset_admin_by_mail = maybe\n",
                "[password]\nreset_admin_by_mail =\n",
                "[password]\nmax_length = 0\n",
                "[password]\nmax_length = 1025\n",
                "[password]\nhash_ops = 0\n",
                "[password]\nhash_ops = 65\n",
                "[password]\nhash_mem_kib = 7\n",
                "[password]\nhash_mem_kib = 4194305\n",
                "[password]\nhash_mem_kib = 0\n",
                /* Ranges: a value that would overflow an expiry or turn
                 * lockout off is refused, never wrapped. */
                "[tokens]\nconfirm_lifetime = 9223372036854775807\n",
                "[tokens]\nconfirm_lifetime = 0\n",
                "[tokens]\nreset_lifetime = 604801\n",
                "[tokens]\nsession_lifetime = 0\n",
                "[tokens]\nadmin_lifetime = 31536001\n",
                "[lockout]\nfail_interval = 18446744073709551615\n",
                "[lockout]\nfail_interval = 0\n",
                "[lockout]\nunlock_time = 18446744073709551615\n",
                "[lockout]\nunlock_time = 0\n",
                "[lockout]\ndeny = 1001\n",
                "[daemon]\nworkers = 1025\n",
                "[daemon]\nmax_queue = 65537\n",
                "[password]\nhistory = 101\n",
                "[password]\nmin_guesses_log10 = 100.5\n",
                "[password]\nmin_guesses_log10 = -1\n",
                "[password]\nmin_guesses_log10 = nan\n",
                "[mail]\ntimeout = 0\n",
                "[mail]\nresets_per_hour = 101\n",
                "[mail]\nretry_min = 0\n",
                "[mail]\nretry_min = 3601\n",
                "[apikeys]\nmax_per_user = 1001\n",
                "[apikeys]\nscopes =\n",
                "no section = here\n[daemon\n",
                "[daemon]\nthis line has no equals sign\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                print_message("bad config %zu\n", i);
                expect_load_error(bad[i], -EINVAL);
        }
}

static void test_config_bounds(void **state) {
        _cleanup_(config_freep) SauthConfig *lo = NULL, *hi = NULL, *w = NULL;

        lo = expect_load_ok("[password]\nhash_mem_kib = 8\nhash_ops = 1\nmax_length = 1\n");
        assert_int_equal(lo->hash_mem_kib, 8);
        assert_int_equal(lo->hash_ops, 1);
        assert_int_equal(lo->max_length, 1);

        hi = expect_load_ok("[password]\nhash_mem_kib = 4194304\nhash_ops = 64\nmax_length = 1024\n");
        assert_int_equal(hi->hash_mem_kib, 4194304);
        assert_int_equal(hi->hash_ops, 64);
        assert_int_equal(hi->max_length, SAUTH_PASSWORD_LENGTH_LIMIT);

        w = expect_load_ok("[daemon]\nworkers = 1024\n[password]\nreset_admin_by_mail = ON\n");
        assert_int_equal(w->workers, 1024);
        assert_true(w->reset_admin_by_mail);
        /* One thread per worker: a number no machine has is a typo. */
        expect_load_error("[daemon]\nworkers = 1025\n", -EINVAL);
        expect_load_error("[daemon]\nworkers = 4294967295\n", -EINVAL);
}

static void test_config_policies(void **state) {
        static const struct {
                const char *key;
                const char *value;
                int ok;                 /* -1: refused, else the LoginPolicy */
        } cases[] = {
                { "internal", "open",   LOGIN_OPEN },
                { "internal", "closed", LOGIN_CLOSED },
                { "internal", "auto",   -1 },
                { "internal", "admin",  -1 },
                { "register", "admin",  LOGIN_ADMIN },
                { "register", "open",   LOGIN_OPEN },
                { "register", "closed", -1 },
                { "register", "auto",   -1 },
                { "external", "closed", LOGIN_CLOSED },
                { "external", "auto",   LOGIN_AUTO },
                { "external", "open",   LOGIN_OPEN },
                { "external", "admin",  -1 },
                { "external", "Open",   -1 },
                { "external", "",       -1 },
                { "internal", "opened", -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(config_freep) SauthConfig *c = NULL;
                int r;

                print_message("[login] %s = %s\n", cases[i].key, cases[i].value);
                assert_true(asprintf(&text, "[login]\n%s = %s\n", cases[i].key, cases[i].value) > 0);
                r = load_text(text, &c, NULL);
                if (cases[i].ok < 0) {
                        assert_int_equal(r, -EINVAL);
                        assert_null(c);
                        continue;
                }
                assert_int_equal(r, 0);
                if (streq(cases[i].key, "internal"))
                        assert_int_equal(c->login_internal, cases[i].ok);
                else if (streq(cases[i].key, "register"))
                        assert_int_equal(c->login_register, cases[i].ok);
                else
                        assert_int_equal(c->login_external, cases[i].ok);
                assert_string_equal(login_policy_to_string(cases[i].ok), cases[i].value);
        }
        assert_string_equal(login_policy_to_string((LoginPolicy) 99), "?");
}

static void test_config_file_modes(void **state) {
        static const mode_t refused[] = { 0664, 0646, 0666, 0620, 0602, 0777 };
        static const mode_t accepted[] = { 0600, 0644, 0400, 0444, 0640 };

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                _cleanup_free_ char *p = write_file("mode.conf", "[daemon]\nworkers = 2\n", refused[i]);
                SauthConfig *c = NULL;

                print_message("mode %04o\n", (unsigned) refused[i]);
                assert_int_equal(config_load(p, true, &c), -EPERM);
                assert_null(c);
                /* Not required does not mean "take it anyway". */
                assert_int_equal(config_load(p, false, &c), -EPERM);
                assert_null(c);
        }
        for (size_t i = 0; i < ELEMENTSOF(accepted); i++) {
                _cleanup_free_ char *p = write_file("mode.conf", "[daemon]\nworkers = 2\n", accepted[i]);
                _cleanup_(config_freep) SauthConfig *c = NULL;

                print_message("mode %04o\n", (unsigned) accepted[i]);
                assert_int_equal(config_load(p, true, &c), 0);
                assert_int_equal(c->workers, 2);
        }
}

/* A configuration line longer than inih's line buffer must be refused, not
 * cut: the rest of it would be read as a line of its own (here: a key that
 * sets workers). */
static void test_config_long_line(void **state) {
        _cleanup_free_ char *text = NULL, *fits = NULL, *over = NULL;
        _cleanup_(config_freep) SauthConfig *c = NULL;
        char value[187];

        memset(value, 'a', sizeof value - 1);
        value[sizeof value - 1] = '\0';
        assert_true(asprintf(&text, "[daemon]\nadmin_group = %sworkers=7\n", value) > 0);
        expect_load_error(text, -EINVAL);

        /* 199 bytes is the longest line inih reads whole; 200 is refused. */
        assert_true(asprintf(&fits, "[daemon]\nadmin_group = %-185s\n", "x") > 0);
        assert_int_equal(strlen(fits) - strlen("[daemon]\n") - 1, 199);
        fits[strlen(fits) - 2] = 'y';
        c = expect_load_ok(fits);
        assert_int_equal(strlen(c->admin_group), 185);
        assert_int_equal(c->admin_group[184], 'y');
        /* Ending in '#', the cut-off byte would make a comment line of its
         * own, and the cut value would load without a word. */
        assert_true(asprintf(&over, "[daemon]\nadmin_group = %-186s\n", "x") > 0);
        over[strlen(over) - 2] = '#';
        expect_load_error(over, -EINVAL);
}

/* The zxcvbn floor: a number from 0 (off) to 100; nan would turn every
 * comparison with it false. */
static void test_config_guesses(void **state) {
        static const char *const bad[] = { "nan", "-nan", "inf", "-1", "100.5", "-0.001" };
        _cleanup_(config_freep) SauthConfig *zero = NULL, *hundred = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;

                print_message("min_guesses_log10 = %s\n", bad[i]);
                assert_true(asprintf(&text, "[password]\nmin_guesses_log10 = %s\n", bad[i]) > 0);
                expect_load_error(text, -EINVAL);
        }
        zero = expect_load_ok("[password]\nmin_guesses_log10 = 0\n");
        assert_true(zero->min_guesses_log10 == 0);
        hundred = expect_load_ok("[password]\nmin_guesses_log10 = 100\n");
        assert_true(hundred->min_guesses_log10 == 100);
}

/* A NUL byte would end inih's view of the file early: refused. */
static void test_config_nul(void **state) {
        static const char text[] = "[daemon]\nworkers = 2\n\0[login]\nregister = open\n";
        _cleanup_free_ char *path = tmp_path("nul.conf");
        _cleanup_close_ int fd = -1;
        SauthConfig *c = NULL;

        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t) sizeof text - 1);
        assert_int_equal(config_load(path, true, &c), -EINVAL);
        assert_null(c);
        assert_int_equal(unlink(path), 0);
}

/* ---- fsutil ---- */

static int check_fd(int fd, const char *name) {
        char msg[512] = "";
        int r = fd_check_secure(fd, name, msg, sizeof msg);

        if (r < 0) {
                /* The message names the file. */
                assert_non_null(strstr(msg, name));
        }
        return r;
}

static void test_fsutil_modes(void **state) {
        static const struct {
                mode_t mode;
                int r;
        } cases[] = {
                { 0644, 0 }, { 0600, 0 }, { 0400, 0 }, { 0755, 0 }, { 04755, 0 },
                { 0664, -EPERM }, { 0646, -EPERM }, { 0622, -EPERM }, { 0660, -EPERM }, { 0606, -EPERM },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = write_file("f", "x", cases[i].mode);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);

                print_message("mode %04o\n", (unsigned) cases[i].mode);
                assert_true(fd >= 0);
                assert_int_equal(check_fd(fd, p), cases[i].r);
        }
}

static void test_fsutil_not_regular(void **state) {
        _cleanup_free_ char *fifo = tmp_path("fifo");
        _cleanup_close_ int dfd = -1, ffd = -1, nfd = -1;

        dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(check_fd(dfd, tmpdir), -EPERM);

        (void) unlink(fifo);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        ffd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        assert_true(ffd >= 0);
        assert_int_equal(check_fd(ffd, fifo), -EPERM);

        nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(nfd >= 0);
        assert_int_equal(check_fd(nfd, "/dev/null"), -EPERM);
        assert_int_equal(unlink(fifo), 0);
}

/* Owned by a stranger: refused even when the mode is fine. Needs root to
 * hand the file over. */
static void test_fsutil_owner(void **state) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -1;
        SauthConfig *c = NULL;

        if (geteuid() != 0)
                skip();
        p = write_file("owned.conf", "", 0644);
        assert_int_equal(chown(p, 4242, 4242), 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(check_fd(fd, p), -EPERM);
        assert_int_equal(config_load(p, true, &c), -EPERM);
        assert_null(c);
}

static void test_fopen_secure(void **state) {
        _cleanup_free_ char *good = write_file("good", "hello\n", 0600);
        _cleanup_free_ char *missing = tmp_path("missing");
        _cleanup_fclose_ FILE *f = NULL;
        FILE *g = NULL;
        char msg[512], line[16];

        assert_int_equal(fopen_secure(good, &f, msg, sizeof msg), 0);
        assert_non_null(fgets(line, sizeof line, f));
        assert_string_equal(line, "hello\n");

        assert_int_equal(fopen_secure(missing, &g, msg, sizeof msg), -ENOENT);
        assert_null(g);
        assert_int_equal(chmod(good, 0620), 0);
        assert_int_equal(fopen_secure(good, &g, msg, sizeof msg), -EPERM);
        assert_null(g);
        assert_non_null(strstr(msg, "0620"));
}

/* ---- set-up ---- */

static int rm_tmpdir(void) {
        static const char *const names[] = { "sauthd.conf", "stderr", "mode.conf", "f", "owned.conf", "good", "fifo" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s", tmpdir, names[i]) > 0)
                        (void) unlink(p);
        }
        return rmdir(tmpdir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_errors_roundtrip),
                cmocka_unit_test(test_errors_pam),
                cmocka_unit_test(test_errors_pam_session),
                cmocka_unit_test(test_errors_foreign_names),
                cmocka_unit_test(test_errors_errno),
                cmocka_unit_test(test_errors_from_call),
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_config_missing_required),
                cmocka_unit_test(test_config_shipped),
                cmocka_unit_test(test_config_full),
                cmocka_unit_test(test_config_empty_value_comment),
                cmocka_unit_test(test_config_duplicate_provider),
                cmocka_unit_test(test_config_unknown_keys),
                cmocka_unit_test(test_config_bad_values),
                cmocka_unit_test(test_config_bounds),
                cmocka_unit_test(test_config_policies),
                cmocka_unit_test(test_config_file_modes),
                cmocka_unit_test(test_config_long_line),
                cmocka_unit_test(test_config_guesses),
                cmocka_unit_test(test_config_nul),
                cmocka_unit_test(test_fsutil_modes),
                cmocka_unit_test(test_fsutil_not_regular),
                cmocka_unit_test(test_fsutil_owner),
                cmocka_unit_test(test_fopen_secure),
        };
        int r;

        if (!mkdtemp(tmpdir))
                return 1;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        if (rm_tmpdir() < 0)
                fprintf(stderr, "could not remove %s\n", tmpdir);
        return r;
}
