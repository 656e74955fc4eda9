/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_sessionauth.so: a thin client of sauthd. It owns no data; every
 * decision is the daemon's, reached over D-Bus, and every PAM code comes
 * from the one table in common/sauth-errors.c.
 */

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <systemd/sd-bus.h>

#include "client-bus.h"
#include "dict.h"
#include "i18n.h"
#include "parse-util.h"
#include "sauth-config.h"
#include "sauth-errors.h"
#include "sauth-names.h"
#include "util.h"

#define DEFAULT_TIMEOUT_SEC 25U
#define MAX_TIMEOUT_SEC     3600U
#define DEFAULT_RETRY       3U
#define MAX_RETRY           100U
#define USEC_PER_SEC        1000000ULL
#define DEVICE_RESTARTS_MAX 3U          /* new codes one authenticate may ask for */
#define DEVICE_WAIT_MAX_SEC 3600U       /* expires_in we believe at most */
#define MIN_U(a, b) ((a) < (b) ? (a) : (b))

/* The session token, kept by authenticate for the session phase under this
 * name (pam_set_data). It is a credential: wiped when freed, never logged. */
#define SESSION_TOKEN_DATA  "pam_sessionauth_session_token"

typedef enum Prompt {
        PROMPT_AUTO,
        PROMPT_ALWAYS,
        PROMPT_NEVER,
} Prompt;

/* pam_unix's words, which users and their scripts know; T() translates. */
#define MSG_MUST_CHANGE N_("You are required to change your password immediately (administrator enforced).")

/* pam_unix's delay after a failed authentication, in µs. */
#define SAUTH_PAM_FAIL_DELAY_USEC 2000000

typedef struct Args {
        const char *bus_address;        /* NULL: the system bus */
        uint64_t timeout_usec;
        unsigned retry;
        bool debug;
        bool nodelay;                   /* no pam_fail_delay() request */
        bool use_first_pass;            /* these three are read by libpam's */
        bool try_first_pass;            /* pam_get_authtok() itself; we keep */
        bool use_authtok;               /* them to know what it will do */
        bool unavail_ignore;
        const char *device;             /* device flow with this provider at an empty password */
        Prompt prompt;                  /* device flow: the text as a prompt (sshd) or as info */
        const char *daemon_user;        /* replies from root or this user only; NULL: root only */
} Args;

/* What one entry point works with; context_done() releases all of it. */
typedef struct Context {
        pam_handle_t *pamh;
        int flags;                      /* the entry point's PAM_* flags */
        Args args;
        sd_bus *bus;
        const char *user;
        bool session;                   /* the session phase: one failure code */
        locale_t locale;                /* the user's, for our messages; (locale_t) 0: none */
        bool locale_owned;              /* made for this call alone (not one kept) */
        char locale_name[SAUTH_LOCALE_MAX + 1]; /* its name, for sauthd; "": none */
        int daemon_uid_r;               /* 1: not looked up yet, 0: daemon_uid holds it, <0: errno */
        uid_t daemon_uid;
        char *owner;                    /* the unique name of sauthd's checked owner; NULL: not yet */
} Context;

/* Closed without a flush: every call here is synchronous, so nothing is
 * left to send, and sd_bus_flush() would first finish the connection's
 * authentication under sd-bus's own 90 s timeout, not ours. */
static void context_done(Context *c) {
        c->bus = sd_bus_close_unref(c->bus);
        free(c->owner);
        c->owner = NULL;
        if (c->locale_owned)
                i18n_locale_freep(&c->locale);
        c->locale = (locale_t) 0;
}

/* ------------------------------------------------------------ messages */

/* The user's locale: LC_ALL, LC_MESSAGES or LANG of the PAM environment
 * (pam_env, the application), else of the process. LANGUAGE is glibc's
 * own: gettext reads it from the process environment when the locale is
 * not C. A name we do not accept, or one the system does not have, leaves
 * the messages untranslated. */
static bool locale_untranslated(const char *name) {
        /* glibc's gettext honours LANGUAGE in C.UTF-8, never in C. */
        if (streq(name, "C") || streq(name, "POSIX"))
                return true;
        return strncmp(name, "C.", 2) == 0 && isempty(getenv("LANGUAGE"));
}

/* The locale objects of this process, kept until it exits: glibc leaks a
 * little each time one that gettext used is freed (docs/decisions.md,
 * "Locales kept"), and a screen locker runs a PAM transaction per unlock.
 * The module stays loaded once loaded (linked -z nodelete), so what is kept
 * here outlives pam_end(). Past LOCALE_KEPT_MAX names, a call's locale is
 * made and freed with the call, as before. PAM applications may run
 * transactions on several threads: the table has a lock. */
#define LOCALE_KEPT_MAX 4

static pthread_mutex_t locales_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        char name[SAUTH_LOCALE_MAX + 1];
        locale_t locale;
} locales_kept[LOCALE_KEPT_MAX];

/* The locale for name, kept (*ret_owned false) or for this call alone. */
static int locale_for(const char *name, locale_t *ret, bool *ret_owned) {
        locale_t l = (locale_t) 0;
        int r = 0;

        pthread_mutex_lock(&locales_lock);
        for (size_t i = 0; i < ELEMENTSOF(locales_kept) && locales_kept[i].locale; i++)
                if (streq(locales_kept[i].name, name)) {
                        l = locales_kept[i].locale;
                        break;
                }
        *ret_owned = false;
        if (!l) {
                r = i18n_locale_new(name, &l);
                *ret_owned = r >= 0;
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(locales_kept); i++)
                        if (!locales_kept[i].locale) {
                                /* Valid, so it fits. */
                                snprintf(locales_kept[i].name, sizeof locales_kept[i].name, "%s", name);
                                locales_kept[i].locale = l;
                                *ret_owned = false;
                                break;
                        }
        }
        pthread_mutex_unlock(&locales_lock);
        if (r >= 0)
                *ret = l;
        return r;
}

static void context_locale(Context *c) {
        static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
        const char *name = NULL;

        for (size_t i = 0; i < ELEMENTSOF(vars) && isempty(name); i++)
                name = pam_getenv(c->pamh, vars[i]);
        for (size_t i = 0; i < ELEMENTSOF(vars) && isempty(name); i++)
                name = getenv(vars[i]);
        /* In the C locale there is nothing to translate: gettext is left
         * alone (no locale object, no binding). */
        if (isempty(name) || locale_untranslated(name) || locale_for(name, &c->locale, &c->locale_owned) < 0)
                return;
        /* Our catalog's folder, set only when there is something to
         * translate: bindtextdomain() takes glibc's gettext write lock, and
         * in the C locale the host program's gettext state stays untouched
         * (sshd's PAM process of an ASan build hung waiting for it). */
        i18n_bind();
        /* Valid, so it fits. */
        snprintf(c->locale_name, sizeof c->locale_name, "%s", name);
}

/* msgid in the user's locale. The locale is the thread's only for the
 * lookup, so the host program's own (setlocale, uselocale) is untouched;
 * the text itself lives in the catalog and stays valid. */
__attribute__((format_arg(2)))
static const char *T(const Context *c, const char *msgid) {
        _cleanup_(i18n_scope_end) locale_t old = i18n_scope_begin(c->locale);

        return _(msgid);
}

/* ------------------------------------------------------------ arguments */

static const char *arg_value(const char *arg, const char *key) {
        size_t n = strlen(key);

        if (strncmp(arg, key, n) != 0 || arg[n] != '=')
                return NULL;
        return arg + n + 1;
}

/* A number of common/'s strict kind within [min, max]. */
static int parse_uint_range(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned v;
        int r;

        r = parse_uint(s, &v);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static bool args_parse_flag(Args *a, const char *arg) {
        const struct {
                const char *name;
                bool *flag;
        } flags[] = {
                { "debug",          &a->debug },
                { "nodelay",        &a->nodelay },
                { "use_first_pass", &a->use_first_pass },
                { "try_first_pass", &a->try_first_pass },
                { "use_authtok",    &a->use_authtok },
        };

        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                if (streq(arg, flags[i].name)) {
                        *flags[i].flag = true;
                        return true;
                }
        return false;
}

/* Returns false if the argument is not ours. A bad value is logged and the
 * default kept: a typo in a PAM file must not lock everyone out. */
static bool args_parse_value(pam_handle_t *pamh, Args *a, const char *arg) {
        const char *v;
        unsigned u;

        if ((v = arg_value(arg, "bus")))
                a->bus_address = isempty(v) ? NULL : v;
        else if ((v = arg_value(arg, "timeout"))) {
                if (parse_uint_range(v, 1, MAX_TIMEOUT_SEC, &u) < 0)
                        pam_syslog(pamh, LOG_WARNING, "bad timeout=%s, using %u", v, DEFAULT_TIMEOUT_SEC);
                else
                        a->timeout_usec = u * USEC_PER_SEC;
        } else if ((v = arg_value(arg, "retry"))) {
                if (parse_uint_range(v, 1, MAX_RETRY, &u) < 0)
                        pam_syslog(pamh, LOG_WARNING, "bad retry=%s, using %u", v, DEFAULT_RETRY);
                else
                        a->retry = u;
        } else if ((v = arg_value(arg, "unavail"))) {
                if (streq(v, "ignore") || streq(v, "fail"))
                        a->unavail_ignore = streq(v, "ignore");
                else
                        pam_syslog(pamh, LOG_WARNING, "bad unavail=%s, using fail", v);
        } else if ((v = arg_value(arg, "prompt"))) {
                if (streq(v, "auto") || streq(v, "always") || streq(v, "never"))
                        a->prompt = streq(v, "always") ? PROMPT_ALWAYS :
                                    streq(v, "never") ? PROMPT_NEVER : PROMPT_AUTO;
                else
                        pam_syslog(pamh, LOG_WARNING, "bad prompt=%s, using auto", v);
        } else if ((v = arg_value(arg, "device")))
                a->device = isempty(v) ? NULL : v;
        else if ((v = arg_value(arg, "daemon_user")))
                a->daemon_user = isempty(v) ? NULL : v;
        else if (arg_value(arg, "authtok_type"))
                ;       /* libpam's pam_get_authtok() reads it. */
        else
                return false;
        return true;
}

static void args_parse(pam_handle_t *pamh, int argc, const char **argv, Args *ret) {
        *ret = (Args) {
                .timeout_usec = DEFAULT_TIMEOUT_SEC * USEC_PER_SEC,
                .retry = DEFAULT_RETRY,
                .prompt = PROMPT_AUTO,
                .daemon_user = SAUTH_DAEMON_USER,
        };

        for (int i = 0; i < argc; i++) {
                if (!argv[i])
                        continue;
                if (!args_parse_flag(ret, argv[i]) && !args_parse_value(pamh, ret, argv[i]))
                        pam_syslog(pamh, LOG_WARNING, "unknown argument ignored: %s", argv[i]);
        }
}

/* ------------------------------------------------------------ outcomes */

/* A call that could not be built never reached the daemon, but it is no
 * transport failure either: a password that is not UTF-8 must not become
 * "unreachable", which unavail=ignore would let pass. */
static SauthStatus status_from_build(int r) {
        return r == -ENOMEM ? SAUTH_E_INTERNAL : SAUTH_E_INVALID_ARGUMENT;
}

/* The PAM code for an outcome, after logging it. The user name is logged
 * only with debug: on failure it may be a password typed in the wrong
 * field. */
static int context_result(Context *c, SauthStatus s, const char *what) {
        if (s == SAUTH_OK)
                return PAM_SUCCESS;

        /* sauthd's store (a fleet's PostgreSQL) down is the service down,
         * as for the daemon itself: unavail= decides. */
        if (s == SAUTH_E_UNREACHABLE || s == SAUTH_E_STORE_UNAVAILABLE) {
                pam_syslog(c->pamh, LOG_ERR, "%s: %s%s", what,
                           s == SAUTH_E_UNREACHABLE ? "sauthd unreachable" : "sauthd's store unreachable",
                           c->args.unavail_ignore ? ", ignoring (unavail=ignore)" : "");
                if (c->args.unavail_ignore)
                        return PAM_IGNORE;
        } else if (c->args.debug)
                pam_syslog(c->pamh, LOG_DEBUG, "%s for user \"%s\": %s", what,
                           c->user ? c->user : "(none)", sauth_status_to_string(s));
        else
                pam_syslog(c->pamh, LOG_NOTICE, "%s: %s", what, sauth_status_to_string(s));

        return c->session ? sauth_status_to_pam_session(s) : sauth_status_to_pam(s);
}

/* ------------------------------------------------------------ bus */

static SauthStatus context_connect(Context *c) {
        int r;

        if (c->bus)
                return SAUTH_OK;
        /* The address is never taken from the environment: a password
         * check must not be redirected by DBUS_SYSTEM_BUS_ADDRESS. */
        r = sauth_client_connect(c->args.bus_address, c->args.timeout_usec, &c->bus);
        /* A typo in bus= (sauth_client_connect() and sd-bus say EINVAL) is
         * the admin's to fix, whatever debug says; and it fails closed,
         * never "unreachable", which unavail=ignore would let pass. */
        if (r == -EINVAL && c->args.bus_address) {
                pam_syslog(c->pamh, LOG_ERR, "bus=%s is not a valid D-Bus address", c->args.bus_address);
                return SAUTH_E_INVALID_ARGUMENT;
        }
        if (r < 0 && c->args.debug)
                pam_syslog(c->pamh, LOG_DEBUG, "cannot connect to %s: %s",
                           c->args.bus_address ? c->args.bus_address : SAUTH_SYSTEM_BUS_ADDRESS,
                           strerror(-r));
        return sauth_status_from_errno(r);
}

/* The uid of daemon_user=, looked up once per entry point, and only when
 * a reply came from a uid other than root. -ENOENT: no such user, or
 * daemon_user= empty: then only root is trusted. */
static int context_daemon_uid(Context *c, uid_t *ret) {
        struct passwd pw, *found = NULL;
        char buf[4096];
        int r;

        if (c->daemon_uid_r > 0) {
                c->daemon_uid_r = -ENOENT;
                if (c->args.daemon_user) {
                        r = getpwnam_r(c->args.daemon_user, &pw, buf, sizeof buf, &found);
                        if (r != 0)
                                c->daemon_uid_r = -r;
                        else if (found) {
                                c->daemon_uid = found->pw_uid;
                                c->daemon_uid_r = 0;
                        }
                }
        }
        if (c->daemon_uid_r < 0)
                return c->daemon_uid_r;
        *ret = c->daemon_uid;
        return 0;
}

/* sauthd runs as its own user (daemon_user=, "sauthd" by default) or as
 * root, and on the system bus only those may own its name. 0 when the
 * connection 'name' (a unique name) is one of them, -EPERM (logged) when
 * not. */
static int bus_check_peer(Context *c, const char *name) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid, daemon_uid;
        int r;

        /* The bus reports the peer's effective uid from the socket; a value
         * read from /proc instead ("augmented") could be raced, so refuse it. */
        r = sd_bus_get_name_creds(c->bus, name, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return -EPERM;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        if (uid == 0)
                return 0;
        r = context_daemon_uid(c, &daemon_uid);
        if (r >= 0 && uid == daemon_uid)
                return 0;
        pam_syslog(c->pamh, LOG_CRIT, "%s, uid %u, neither root nor the daemon user %s%s%s: refused",
                   name, (unsigned) uid, c->args.daemon_user ? c->args.daemon_user : "(none)",
                   r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
        return -EPERM;
}

/* Where a call goes. The owner of sauthd's name is checked before anything
 * is sent, so that a password never reaches a stranger who owns the name on
 * a misconfigured bus, and calls then go to that owner's unique name, so
 * that the name cannot change hands between the check and the call. With no
 * owner yet, the call goes to the well-known name for the bus to activate
 * sauthd, and bus_check_sender() checks who answered. */
static int bus_destination(Context *c, const char **ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_free_ char *owner = NULL;
        const char *unique;
        int r;

        if (c->owner) {
                *ret = c->owner;
                return 0;
        }
        r = sd_bus_get_name_creds(c->bus, SAUTH_BUS_NAME, SD_BUS_CREDS_UNIQUE_NAME, &creds);
        if (r == -ENXIO || r == -ESRCH) {
                *ret = SAUTH_BUS_NAME;
                return 0;
        }
        if (r < 0)
                return r;
        r = sd_bus_creds_get_unique_name(creds, &unique);
        if (r < 0)
                return r;
        owner = strdup(unique);
        if (!owner)
                return -ENOMEM;
        r = bus_check_peer(c, owner);
        if (r < 0)
                return r;
        c->owner = TAKE_PTR(owner);
        *ret = c->owner;
        return 0;
}

/* The sender of a reply: the owner checked before the call, or, after an
 * activation, whoever answered, checked now and kept as the owner. */
static int bus_check_sender(Context *c, sd_bus_message *reply) {
        const char *sender = sd_bus_message_get_sender(reply);
        int r;

        if (!sender)
                return -EBADMSG;
        if (c->owner)
                return streq(sender, c->owner) ? 0 : -EPERM;
        r = bus_check_peer(c, sender);
        if (r < 0)
                return r;
        c->owner = strdup(sender);
        return c->owner ? 0 : -ENOMEM;
}

/* Who answered is not in doubt because the bus is away, but because it is
 * misconfigured: fail closed, whatever unavail= says. */
static SauthStatus status_from_sender_check(int r) {
        return (r == -EPERM || r == -EBADMSG) ? SAUTH_E_INTERNAL : sauth_status_from_errno(r);
}

/* The destination is set by bus_send(), once the name's owner is known. */
static int bus_new_call(Context *c, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(c->bus, ret, NULL, SAUTH_BUS_PATH,
                                              SAUTH_BUS_INTERFACE, method);
}

/* Sends a prepared call and checks its reply. On failure *ret_error may
 * hold the daemon's error (its message is shown to users on a refused
 * password, never parsed). */
static SauthStatus bus_send(Context *c, sd_bus_message *m, sd_bus_error *ret_error, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *destination;
        int r;

        r = bus_destination(c, &destination);
        if (r >= 0)
                r = sd_bus_message_set_destination(m, destination);
        if (r < 0) {
                if (c->args.debug)
                        pam_syslog(c->pamh, LOG_DEBUG, "%s: cannot check who owns %s: %s",
                                   sd_bus_message_get_member(m), SAUTH_BUS_NAME, strerror(-r));
                return status_from_sender_check(r);
        }

        r = sd_bus_call(c->bus, m, c->args.timeout_usec, ret_error, &reply);
        if (r < 0) {
                if (c->args.debug)
                        pam_syslog(c->pamh, LOG_DEBUG, "%s: %s", sd_bus_message_get_member(m),
                                   sd_bus_error_is_set(ret_error) ? ret_error->name : strerror(-r));
                return sauth_status_from_call(r, ret_error->name);
        }
        r = bus_check_sender(c, reply);
        if (r < 0) {
                if (c->args.debug)
                        pam_syslog(c->pamh, LOG_DEBUG, "%s: cannot check the sender: %s",
                                   sd_bus_message_get_member(m), strerror(-r));
                return status_from_sender_check(r);
        }

        *ret = TAKE_PTR(reply);
        return SAUTH_OK;
}

/* ------------------------------------------------------------ replies */

/* ------------------------------------------------------------ PAM items */

/* Returns a PAM code: libpam's own when asking failed. */
static int context_get_user(Context *c) {
        int r;

        r = pam_get_user(c->pamh, &c->user, NULL);
        if (r == PAM_CONV_AGAIN)
                return PAM_INCOMPLETE;
        if (r != PAM_SUCCESS) {
                c->user = NULL;
                pam_syslog(c->pamh, LOG_NOTICE, "no user name obtained: %s", pam_strerror(c->pamh, r));
                return r;
        }
        if (isempty(c->user)) {
                c->user = NULL;
                return context_result(c, SAUTH_E_INVALID_ARGUMENT, "empty user name");
        }
        return PAM_SUCCESS;
}

static int append_context_item(Context *c, sd_bus_message *m, const char *key, int item) {
        const void *v = NULL;

        if (pam_get_item(c->pamh, item, &v) != PAM_SUCCESS || !v)
                return 0;
        return sd_bus_message_append(m, "{sv}", key, "s", (const char *) v);
}

/* Where the login comes from, for the daemon's audit trail and policy. */
static int append_login_context(Context *c, sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_context_item(c, m, "service", PAM_SERVICE);
        if (r >= 0)
                r = append_context_item(c, m, "tty", PAM_TTY);
        if (r >= 0)
                r = append_context_item(c, m, "rhost", PAM_RHOST);
        if (r >= 0)
                r = append_context_item(c, m, "ruser", PAM_RUSER);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* ------------------------------------------------------------ session token */

/* libpam calls this at pam_end(), and with PAM_DATA_REPLACE when the data
 * is replaced or removed. It only wipes: a forked child's pam_end() must
 * not end the parent's session. */
static void session_token_free(pam_handle_t *pamh, void *data, int error_status) {
        erase_and_free(data);
}

/* The token an earlier authenticate kept on this handle, or NULL. */
static const char *session_token_get(pam_handle_t *pamh) {
        const void *data = NULL;

        if (pam_get_data(pamh, SESSION_TOKEN_DATA, &data) != PAM_SUCCESS)
                return NULL;
        return data;
}

/* Hands the token over to libpam, which keeps it with the handle. On
 * failure it is wiped here. Returns a PAM code. */
static int session_token_keep(pam_handle_t *pamh, char *token) {
        int r;

        r = pam_set_data(pamh, SESSION_TOKEN_DATA, token, session_token_free);
        if (r != PAM_SUCCESS)
                erase_and_free(token);
        return r;
}

/* Removing the data makes libpam call session_token_free() on it. */
static void session_token_forget(pam_handle_t *pamh) {
        (void) pam_set_data(pamh, SESSION_TOKEN_DATA, NULL, NULL);
}

/* A call whose one argument is the token, in a sensitive message. */
static SauthStatus session_call(Context *c, const char *method, const char *token, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_new_call(c, method, &m);
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", token);
        if (r < 0)
                return status_from_build(r);
        return bus_send(c, m, &error, ret);
}

/* ------------------------------------------------------------ auth */

/* A copy of the reply's session token, checked against the contract: the
 * daemon neither issues nor accepts one longer than SAUTH_SESSION_TOKEN_MAX. */
static SauthStatus login_reply_token(sd_bus_message *reply, char **ret) {
        const char *token = NULL;
        const DictField keys[] = {
                { "jwt_token", 's', &token },
        };
        char *copy;

        if (dict_read(reply, keys, ELEMENTSOF(keys)) < 0)
                return SAUTH_E_INTERNAL;
        if (isempty(token) || strnlen(token, SAUTH_SESSION_TOKEN_MAX + 1) > SAUTH_SESSION_TOKEN_MAX)
                return SAUTH_E_INTERNAL;
        copy = strdup(token);
        if (!copy)
                return SAUTH_E_INTERNAL;
        *ret = copy;
        return SAUTH_OK;
}

/* AccountLogin; on success *ret_token is the session token (wipe it). */
static SauthStatus account_login(Context *c, const char *password, char **ret_token) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        SauthStatus s;
        int r;

        r = bus_new_call(c, "AccountLogin", &m);
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", c->user, password, SAUTH_METHOD_LOCAL);
        if (r >= 0)
                r = append_login_context(c, m);
        if (r < 0)
                return status_from_build(r);

        s = bus_send(c, m, &error, &reply);
        if (s != SAUTH_OK)
                return s;

        /* The reply carries the session token: wipe it when freed. A reply
         * that is not the a{sv} of the contract, or has no token, fails
         * closed like an unreadable AccountStatus, whatever unavail= says. */
        (void) sd_bus_message_sensitive(reply);
        return login_reply_token(reply, ret_token);
}

/* Keeps the new session's token for the session phase. A token an
 * earlier authenticate kept on this handle (a screen locker calls
 * pam_authenticate again on one handle) is ended first: the handle can
 * end only the session it remembers, and the other would stay listed
 * until it expires. Ending it is best effort: the login stands. */
static int auth_keep_session(Context *c, char *token) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *old = session_token_get(c->pamh);

        if (old && session_call(c, "Logout", old, &reply) != SAUTH_OK)
                pam_syslog(c->pamh, LOG_NOTICE, "authenticate: the previous session of this handle was not ended");
        return session_token_keep(c->pamh, token);
}

/* ------------------------------------------------------------ device flow */

typedef struct DeviceStart {
        const char *handle;             /* these point into reply */
        const char *user_code;
        const char *uri;
        const char *uri_complete;
        const char *qr;
        uint32_t expires_in;
        uint32_t interval;
        sd_bus_message *reply;
} DeviceStart;

static void device_start_done(DeviceStart *d) {
        d->reply = sd_bus_message_unref(d->reply);
}

/* DeviceLoginStart: the code to show and the handle to poll with. */
static SauthStatus device_start(Context *c, DeviceStart *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        DeviceStart d = {};
        const DictField keys[] = {
                { "handle", 's', &d.handle },
                { "user_code", 's', &d.user_code },
                { "verification_uri", 's', &d.uri },
                { "verification_uri_complete", 's', &d.uri_complete },
                { "qr", 's', &d.qr },
                { "expires_in", 'u', &d.expires_in },
                { "interval", 'u', &d.interval },
        };
        SauthStatus s;
        int r;

        r = bus_new_call(c, "DeviceLoginStart", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", c->args.device, c->user);
        if (r < 0)
                return status_from_build(r);
        s = bus_send(c, m, &error, &d.reply);
        if (s != SAUTH_OK)
                return s;
        (void) sd_bus_message_sensitive(d.reply);
        if (dict_read(d.reply, keys, ELEMENTSOF(keys)) < 0 || isempty(d.handle) || isempty(d.user_code) ||
            isempty(d.uri) || d.interval == 0 || d.expires_in == 0) {
                device_start_done(&d);
                return SAUTH_E_INTERNAL;
        }
        *ret = d;
        return SAUTH_OK;
}

/* DeviceLoginPoll once: SAUTH_OK with *ret_token once complete (NULL while
 * pending; *interval then is the current one). */
static SauthStatus device_poll(Context *c, const char *handle, uint32_t *interval, char **ret_token) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *status = NULL;
        uint32_t iv = 0;
        const DictField keys[] = {
                { "status", 's', &status },
                { "interval", 'u', &iv },
        };
        SauthStatus s;
        int r;

        r = bus_new_call(c, "DeviceLoginPoll", &m);
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", handle);
        if (r < 0)
                return status_from_build(r);
        s = bus_send(c, m, &error, &reply);
        if (s != SAUTH_OK)
                return s;
        (void) sd_bus_message_sensitive(reply);
        if (dict_read(reply, keys, ELEMENTSOF(keys)) < 0 || !status)
                return SAUTH_E_INTERNAL;
        if (streq(status, "pending")) {
                if (iv > 0)
                        *interval = iv;
                *ret_token = NULL;
                return SAUTH_OK;
        }
        if (!streq(status, "complete") || sd_bus_message_rewind(reply, true) < 0)
                return SAUTH_E_INTERNAL;
        return login_reply_token(reply, ret_token);
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = usec / USEC_PER_SEC, .tv_nsec = (usec % USEC_PER_SEC) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* OpenSSH shows PAM_TEXT_INFO only with the next prompt: under sshd, or
 * for any remote login, the text goes out as a prompt. */
static bool device_use_prompt(Context *c) {
        const void *service = NULL, *rhost = NULL;

        if (c->args.prompt != PROMPT_AUTO)
                return c->args.prompt == PROMPT_ALWAYS;
        (void) pam_get_item(c->pamh, PAM_SERVICE, &service);
        (void) pam_get_item(c->pamh, PAM_RHOST, &rhost);
        return (service && streq(service, "sshd")) || !isempty(rhost);
}

static char *device_text(const Context *c, const DeviceStart *d) {
        char *t = NULL;

        if (asprintf(&t, T(c, "To log in, open %s\nand enter the code %s"), d->uri, d->user_code) < 0)
                return NULL;
        if (d->qr) {
                char *q = NULL;

                if (asprintf(&q, "%s\n%s\n%s", t, T(c, "or scan this code with your phone:"), d->qr) < 0)
                        q = NULL;
                free(t);
                t = q;
        }
        return t;
}

/* One answer to the prompt: 1 for a new code ("r"), 0 to poll, <0 a PAM
 * code (negated) when the conversation failed. */
static int device_ask(Context *c, const char *text) {
        _cleanup_erase_ char *answer = NULL;
        int r;

        /* TRANSLATORS: the answer "r" stays "r". */
        const char *ask = T(c, "Press Enter once you have approved, or type r for a new code: ");

        r = pam_prompt(c->pamh, PAM_PROMPT_ECHO_ON, &answer, "%s%s%s", text ? text : "", text ? "\n" : "", ask);
        if (r != PAM_SUCCESS)
                return -r;
        return answer && (streq(answer, "r") || streq(answer, "R"));
}

/* Polls one code until it completes, fails or expires. 1: a new code was
 * asked for. */
static int device_wait(Context *c, DeviceStart *d, SauthStatus *ret_status, char **ret_token) {
        bool prompt = device_use_prompt(c);
        _cleanup_free_ char *text = device_text(c, d);
        uint64_t deadline = now_usec() + (uint64_t) MIN_U(d->expires_in, DEVICE_WAIT_MAX_SEC) * USEC_PER_SEC;
        uint64_t last = 0;
        uint32_t interval = d->interval;
        bool first = true;
        int r;

        if (!text)
                return -PAM_BUF_ERR;
        if (!prompt)
                (void) pam_info(c->pamh, "%s", text);
        while (now_usec() < deadline) {
                uint64_t next = last + (uint64_t) interval * USEC_PER_SEC;

                if (prompt) {
                        r = device_ask(c, first ? text : T(c, "The login is not approved yet."));
                        if (r != 0)
                                return r;
                        first = false;
                }
                /* Never faster than the interval, prompt or not. */
                if (last && now_usec() < next)
                        sleep_usec(next - now_usec());
                else if (!last && !prompt)
                        sleep_usec((uint64_t) interval * USEC_PER_SEC);
                *ret_status = device_poll(c, d->handle, &interval, ret_token);
                if (*ret_status != SAUTH_OK || *ret_token)
                        return 0;
                /* Counted from the reply: sauthd counts from its request
                 * to the provider, which lies between our call and its
                 * reply. From the call, the next poll could come a few ms
                 * early and be answered "pending" without asking. */
                last = now_usec();
        }
        *ret_status = SAUTH_E_EXPIRED_TOKEN;
        return 0;
}

/* The device flow for c->user: SAUTH_OK and the session token, or why not.
 * A PAM code of a failed conversation comes back in *ret_pam. */
static SauthStatus device_login(Context *c, char **ret_token, int *ret_pam) {
        SauthStatus s = SAUTH_E_INTERNAL;

        *ret_pam = PAM_SUCCESS;
        for (unsigned i = 0; i < DEVICE_RESTARTS_MAX; i++) {
                DeviceStart d = {};
                int r;

                s = device_start(c, &d);
                if (s != SAUTH_OK)
                        return s;
                r = device_wait(c, &d, &s, ret_token);
                device_start_done(&d);
                if (r < 0) {
                        *ret_pam = -r;
                        return SAUTH_E_INTERNAL;
                }
                if (r == 0)
                        return s;
        }
        return SAUTH_E_EXPIRED_TOKEN;
}

static Context context_new(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Context c = { .pamh = pamh, .flags = flags, .daemon_uid_r = 1 };

        args_parse(pamh, argc, argv, &c.args);
        context_locale(&c);
        return c;
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(context_done) Context c = context_new(pamh, flags, argc, argv);
        const char *password = NULL;
        _cleanup_erase_ char *token = NULL;
        SauthStatus s;
        int r;

        /* Like pam_unix: ask libpam to delay a failure by about two
         * seconds (the application decides; the longest request of the
         * stack wins), before anything can fail. The daemon's own delay
         * for ordinary callers is a timer on its side. */
        if (!c.args.nodelay)
                (void) pam_fail_delay(pamh, SAUTH_PAM_FAIL_DELAY_USEC);

        r = context_get_user(&c);
        if (r != PAM_SUCCESS)
                return r;

        /* Owned by libpam (PAM_AUTHTOK), which wipes it; we make no copy.
         * libpam honours use_first_pass and try_first_pass here. */
        r = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
        if (r != PAM_SUCCESS) {
                pam_syslog(pamh, LOG_NOTICE, "no password obtained: %s", pam_strerror(pamh, r));
                return r;
        }

        s = context_connect(&c);
        /* With device=, an empty password starts the device flow. */
        if (s == SAUTH_OK && c.args.device && isempty(password)) {
                s = device_login(&c, &token, &r);
                if (r != PAM_SUCCESS)
                        return r;
        } else if (s == SAUTH_OK)
                s = account_login(&c, password, &token);
        if (s != SAUTH_OK)
                return context_result(&c, s, "authenticate");
        if (c.args.debug)
                pam_syslog(pamh, LOG_DEBUG, "user \"%s\" authenticated", c.user);
        /* Handed over to libpam, which wipes it through session_token_free(). */
        return auth_keep_session(&c, TAKE_PTR(token));
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_SUCCESS;
}

/* ------------------------------------------------------------ account */

typedef struct AccountStatus {
        int exists;
        const char *status;
        uint64_t locked_until;
        int must_change;
        const char *uid;
} AccountStatus;

/* AccountStatus(username). Strings in *ret point into *ret_reply. */
static SauthStatus account_status(Context *c, sd_bus_message **ret_reply, AccountStatus *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        AccountStatus st = {};
        const DictField keys[] = {
                { "exists",               'b', &st.exists },
                { "status",               's', &st.status },
                { "locked_until",         't', &st.locked_until },
                { "password_must_change", 'b', &st.must_change },
                { "uid",                  's', &st.uid },
        };
        SauthStatus s;
        int r;

        r = bus_new_call(c, "AccountStatus", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->user);
        if (r < 0)
                return status_from_build(r);

        s = bus_send(c, m, &error, &reply);
        if (s != SAUTH_OK)
                return s;
        /* A reply we cannot read is not the daemon being away: it fails
         * closed, whatever unavail= says. */
        r = dict_read(reply, keys, ELEMENTSOF(keys));
        if (r < 0)
                return SAUTH_E_INTERNAL;

        *ret = st;
        *ret_reply = TAKE_PTR(reply);
        return SAUTH_OK;
}

/* What an account's state means for a login. Anything unexpected fails
 * closed: a missing or unknown status counts as disabled. */
static SauthStatus account_verdict(const AccountStatus *st) {
        if (!st->exists)
                return SAUTH_E_NOT_FOUND;
        if (!st->status || !streq(st->status, SAUTH_STATUS_ACTIVE))
                return SAUTH_E_ACCOUNT_DISABLED;
        if (st->locked_until > (uint64_t) time(NULL))
                return SAUTH_E_ACCOUNT_LOCKED;
        if (st->must_change)
                return SAUTH_E_MUST_CHANGE;
        return SAUTH_OK;
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(context_done) Context c = context_new(pamh, flags, argc, argv);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        AccountStatus st = {};
        SauthStatus s;
        int r;

        r = context_get_user(&c);
        if (r != PAM_SUCCESS)
                return r;
        s = context_connect(&c);
        if (s == SAUTH_OK)
                s = account_status(&c, &reply, &st);
        if (s == SAUTH_OK)
                s = account_verdict(&st);
        if (s == SAUTH_E_MUST_CHANGE) {
                pam_syslog(pamh, LOG_NOTICE, "password of user \"%s\" must be changed", c.user);
                /* Say why before the application asks for passwords, as
                 * pam_unix does (su, login and sshd show it first). */
                if (!(flags & PAM_SILENT))
                        (void) pam_error(pamh, "%s", T(&c, MSG_MUST_CHANGE));
        }
        return context_result(&c, s, "account");
}

/* ------------------------------------------------------------ session */

/* The session phase never prompts: the user is the PAM item, if any, and
 * is only used in debug messages. */
static Context session_context_new(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Context c = context_new(pamh, flags, argc, argv);
        const void *user = NULL;

        c.session = true;
        if (pam_get_item(pamh, PAM_USER, &user) == PAM_SUCCESS)
                c.user = user;
        return c;
}

/* VerifyToken(token): is the session still valid? */
static SauthStatus verify_token(Context *c, const char *token) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *jti = NULL;
        const DictField keys[] = {
                { "jti", 's', &jti },
        };
        SauthStatus s;

        s = session_call(c, "VerifyToken", token, &reply);
        if (s != SAUTH_OK)
                return s;
        if (dict_read(reply, keys, ELEMENTSOF(keys)) < 0 || isempty(jti))
                return SAUTH_E_INTERNAL;
        /* The session's id is no secret; sauthctl sessions lists it. */
        if (c->args.debug)
                pam_syslog(c->pamh, LOG_DEBUG, "session %s of user \"%s\" is valid", jti,
                           c->user ? c->user : "(none)");
        return SAUTH_OK;
}

/* Without a token from our authenticate (another module authenticated
 * the user) there is no session of ours: PAM_IGNORE. */
int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(context_done) Context c = session_context_new(pamh, flags, argc, argv);
        const char *token = session_token_get(pamh);
        SauthStatus s;

        if (!token) {
                if (c.args.debug)
                        pam_syslog(pamh, LOG_DEBUG, "open_session: no session token, ignored");
                return PAM_IGNORE;
        }
        s = context_connect(&c);
        if (s == SAUTH_OK)
                s = verify_token(&c, token);
        return context_result(&c, s, "open_session");
}

/* Logout(token): the daemon revokes the session. The token is forgotten
 * whatever the outcome: the application has closed the session, and a
 * token kept longer is only a secret kept longer. */
int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(context_done) Context c = session_context_new(pamh, flags, argc, argv);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *token = session_token_get(pamh);
        SauthStatus s;

        if (!token) {
                if (c.args.debug)
                        pam_syslog(pamh, LOG_DEBUG, "close_session: no session token, ignored");
                return PAM_IGNORE;
        }
        s = context_connect(&c);
        if (s == SAUTH_OK)
                s = session_call(&c, "Logout", token, &reply);
        session_token_forget(pamh);
        if (s == SAUTH_OK && c.args.debug)
                pam_syslog(pamh, LOG_DEBUG, "session of user \"%s\" ended", c.user ? c.user : "(none)");
        return context_result(&c, s, "close_session");
}

/* ------------------------------------------------------------ password */

/* Like pam_unix: root changes a password without the old one, except when
 * the application asks for an expired password to be changed. A set-uid
 * passwd run by a user has getuid() != 0, so the user is asked. */
static bool need_old_password(int flags) {
        return getuid() != 0 || (flags & PAM_CHANGE_EXPIRED_AUTHTOK);
}

/* The old password, from PAM_OLDAUTHTOK or asked for (libpam honours
 * use_first_pass / try_first_pass). Empty when it is not needed. */
static int get_old_password(Context *c, const char **ret) {
        const char *old = NULL;
        int r;

        if (!need_old_password(c->flags)) {
                *ret = "";
                return PAM_SUCCESS;
        }
        r = pam_get_authtok(c->pamh, PAM_OLDAUTHTOK, &old, T(c, "Current password: "));
        if (r != PAM_SUCCESS)
                return r;
        /* An empty old password would read as "none given" to the daemon,
         * which a set-uid caller (seen as root) does not need. */
        if (isempty(old))
                return sauth_status_to_pam(SAUTH_E_INVALID_CREDENTIALS);
        *ret = old;
        return PAM_SUCCESS;
}

static SauthStatus methods_ping(Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_new_call(c, "Methods", &m);
        if (r < 0)
                return status_from_build(r);
        return bus_send(c, m, &error, &reply);
}

static int chauthtok_prelim(Context *c) {
        const char *old;
        SauthStatus s;
        int r;

        s = context_connect(c);
        if (s == SAUTH_OK)
                s = methods_ping(c);
        if (s != SAUTH_OK)
                return context_result(c, s, "chauthtok");

        r = get_old_password(c, &old);
        if (r != PAM_SUCCESS)
                pam_syslog(c->pamh, LOG_NOTICE, "chauthtok: no old password obtained: %s", pam_strerror(c->pamh, r));
        return r;
}

/* The new password, asked twice unless use_authtok takes the one an
 * earlier module (pam_pwquality…) set and verified. */
static int get_new_password(Context *c, const char **ret) {
        const char *new = NULL;
        int r;

        if (c->args.use_authtok)
                return pam_get_authtok(c->pamh, PAM_AUTHTOK, ret, NULL);

        r = pam_get_authtok_noverify(c->pamh, &new, NULL);
        if (r != PAM_SUCCESS)
                return r;
        /* Compares the second entry with *ret, then stores it. */
        *ret = new;
        return pam_get_authtok_verify(c->pamh, ret, NULL);
}

static SauthStatus change_password(Context *c, const char *uid, const char *old, const char *new,
                                   sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        /* The daemon's reasons come in the user's locale, when there is one. */
        r = bus_new_call(c, !isempty(c->locale_name) ? "ChangePasswordWithLocale" : "ChangePassword", &m);
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        /* The new password twice: it was verified above, and the daemon
         * wants the pair. */
        if (r >= 0)
                r = sd_bus_message_append(m, "sssss", uid, new, "", old, new);
        if (r >= 0 && !isempty(c->locale_name))
                r = sd_bus_message_append(m, "s", c->locale_name);
        if (r < 0)
                return status_from_build(r);
        return bus_send(c, m, ret_error, &reply);
}

static bool status_may_retry(SauthStatus s) {
        return s == SAUTH_E_WEAK_PASSWORD || s == SAUTH_E_PASSWORD_MISMATCH;
}

/* One try: asks for the new password and sends it. Returns a PAM code;
 * *ret_retry says whether asking again may help. Two entries that differ
 * (libpam's PAM_TRY_AGAIN) count as a refused password. */
static int chauthtok_try(Context *c, const char *uid, const char *old, bool *ret_retry) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *new = NULL;
        SauthStatus s;
        int r;

        *ret_retry = false;
        r = get_new_password(c, &new);
        if (r == PAM_TRY_AGAIN)
                s = SAUTH_E_PASSWORD_MISMATCH;
        else if (r != PAM_SUCCESS)
                return r;
        else
                s = change_password(c, uid, old, new, &error);

        if (status_may_retry(s)) {
                /* The daemon's reason ("too short"…) is for the user. */
                if (!isempty(error.message) && !(c->flags & PAM_SILENT))
                        pam_error(c->pamh, "%s", error.message);
                *ret_retry = true;
        }
        return context_result(c, s, "chauthtok");
}

/* A password change ends every session of the account, so also the one
 * this handle authenticated (su and login change an expired password
 * between authenticate and open_session, on one handle). Log in again
 * with the new password so that the session phase has a valid token.
 * Failing that, the dead token is forgotten: open_session then has no
 * session of ours. */
static void chauthtok_renew_session(Context *c) {
        _cleanup_erase_ char *token = NULL;
        const void *new = NULL;

        if (!session_token_get(c->pamh))
                return;
        if (pam_get_item(c->pamh, PAM_AUTHTOK, &new) != PAM_SUCCESS || isempty(new) ||
            account_login(c, new, &token) != SAUTH_OK) {
                pam_syslog(c->pamh, LOG_NOTICE, "chauthtok: the session of this handle ended with the change");
                session_token_forget(c->pamh);
                return;
        }
        /* Handed over to libpam, which wipes the old one it replaces. */
        (void) session_token_keep(c->pamh, TAKE_PTR(token));
}

static int chauthtok_update(Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        AccountStatus st = {};
        const char *old;
        bool retry = false;
        SauthStatus s;
        int r;

        s = context_connect(c);
        if (s == SAUTH_OK)
                s = account_status(c, &reply, &st);
        if (s == SAUTH_OK && (!st.exists || isempty(st.uid)))
                s = SAUTH_E_NOT_FOUND;
        if (s != SAUTH_OK)
                return context_result(c, s, "chauthtok");

        r = get_old_password(c, &old);
        if (r != PAM_SUCCESS)
                return r;

        for (unsigned i = 0; i < c->args.retry; i++) {
                r = chauthtok_try(c, st.uid, old, &retry);
                if (!retry || c->args.use_authtok)
                        break;
                /* Forget the refused password so the next try asks anew. */
                (void) pam_set_item(c->pamh, PAM_AUTHTOK, NULL);
        }
        if (r == PAM_SUCCESS) {
                pam_syslog(c->pamh, LOG_NOTICE, "password changed for \"%s\"", c->user);
                chauthtok_renew_session(c);
        }
        return r;
}

int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(context_done) Context c = context_new(pamh, flags, argc, argv);
        int r;

        r = context_get_user(&c);
        if (r != PAM_SUCCESS)
                return r;

        if (flags & PAM_PRELIM_CHECK)
                return chauthtok_prelim(&c);
        if (flags & PAM_UPDATE_AUTHTOK)
                return chauthtok_update(&c);
        return PAM_SERVICE_ERR;
}
