/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * sauthctl: the command line of sauthd, a plain D-Bus client. Each verb is
 * one row of a dispatch table; each sends one or two method calls and
 * prints the reply, or with --json the reply dictionary as it came.
 *
 * Exit codes are part of the interface, scripts test them:
 *   0 done, 1 the daemon said no, 2 usage, 3 the daemon is unreachable.
 *
 * Secrets (passwords, tokens) are never taken from argv, where any user may
 * read them in /proc: they come from a no-echo prompt on a terminal, or one
 * line each from stdin. They live in buffers wiped before they are freed,
 * and travel in messages marked sensitive, so sd-bus wipes those too.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <systemd/sd-bus.h>
#include <termios.h>
#include <time.h>

#include "client-bus.h"
#include "dict.h"
#include "parse-util.h"
#include "sauth-config.h"
#include "sauth-errors.h"
#include "sauth-names.h"
#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_DENIED = 1,        /* the daemon answered with an error, or a local failure */
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

/* Argon2id at high cost on a busy host can take seconds per hash, and a
 * login may queue behind others: be generous. */
#define CTL_DEFAULT_TIMEOUT_SEC 60
#define CTL_MAX_TIMEOUT_SEC     3600

/* Options that belong to single verbs, as bits so a verb can say which it
 * takes; an option given to a verb that does not take it is a usage error. */
enum {
        OPT_NAME     = 1u << 0,
        OPT_TEMPLATE = 1u << 1,
        OPT_PICTURE  = 1u << 2,
        OPT_TOKEN    = 1u << 3,
        OPT_UID      = 1u << 4,
        OPT_OLD      = 1u << 5,
        _OPT_VERB_MAX = 6,
};

static const char *const ctl_option_names[_OPT_VERB_MAX] = {
        "--name", "--template", "--picture", "--token", "--uid", "--old",
};

typedef struct Ctl {
        const char *address;    /* NULL: the system bus */
        bool json;
        bool show_token;
        uint64_t timeout_usec;
        unsigned seen;          /* OPT_* bits given on the command line */
        const char *name;
        const char *template;
        const char *picture;
        const char *uid;
        sd_bus *bus;
} Ctl;

typedef struct Verb {
        const char *name;
        int (*run)(Ctl *c, int argc, char **argv);
        int min_args;
        int max_args;
        unsigned options;
        const char *usage;
        const char *help;
} Verb;

static int ctl_usage_error(const char *fmt, ...) _printf_(1, 2);
static int ctl_usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("sauthctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'sauthctl help'.\n", stderr);
        return EXIT_USAGE;
}

static int ctl_oom(void) {
        fputs("sauthctl: out of memory\n", stderr);
        return EXIT_DENIED;
}

/* ------------------------------------------------------------ secrets */

static struct termios secret_saved_termios;
static volatile sig_atomic_t secret_echo_off;

/* A signal while echo is off must not leave the terminal mute. */
static void secret_on_signal(int sig) {
        if (secret_echo_off)
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &secret_saved_termios);
        signal(sig, SIG_DFL);
        raise(sig);
}

static void secret_echo(bool on) {
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
        struct termios t;

        if (on) {
                if (!secret_echo_off)
                        return;
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &secret_saved_termios);
                secret_echo_off = 0;
                for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                        signal(signals[i], SIG_DFL);
                return;
        }

        if (tcgetattr(STDIN_FILENO, &secret_saved_termios) < 0)
                return;
        t = secret_saved_termios;
        t.c_lflag &= ~(tcflag_t) ECHO;
        t.c_lflag |= ECHONL;    /* still end the line when Enter is pressed */
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                signal(signals[i], secret_on_signal);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
                secret_echo_off = 1;
}

/* Reads one line from fd 0 a byte at a time: no stdio buffer keeps a copy
 * of the secret, and the next secret's line stays in the pipe for the next
 * call. Returns the length, -ENODATA at EOF before any byte, -E2BIG for a
 * line longer than the daemon would take. */
static ssize_t secret_read_line(char *buf, size_t size) {
        size_t n = 0;

        for (;;) {
                char ch;
                ssize_t k = read(STDIN_FILENO, &ch, 1);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0) {
                        if (n == 0)
                                return -ENODATA;
                        break;
                }
                if (ch == '\n')
                        break;
                if (n + 1 >= size) {
                        explicit_bzero(&ch, sizeof(ch));
                        return -E2BIG;
                }
                buf[n++] = ch;
        }
        buf[n] = '\0';
        return (ssize_t) n;
}

/* Asks for a secret: with the prompt and echo off on a terminal, else one
 * line from stdin. On failure prints why and returns an exit code. */
static int secret_ask(const char *prompt, char **ret) {
        _cleanup_erase_ char *buf = NULL;
        bool tty = isatty(STDIN_FILENO);
        ssize_t r;

        /* No core dump or ptrace by the same user may read the secret. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        buf = calloc(1, SAUTH_PASSWORD_BYTES + 1);
        if (!buf)
                return ctl_oom();

        if (tty) {
                fputs(prompt, stderr);
                fflush(stderr);
                secret_echo(false);
        }
        r = secret_read_line(buf, SAUTH_PASSWORD_BYTES + 1);
        if (tty)
                secret_echo(true);

        if (r == -E2BIG) {
                /* Wipe what was read: erase_and_free stops at the first NUL. */
                explicit_bzero(buf, SAUTH_PASSWORD_BYTES + 1);
                fprintf(stderr, "sauthctl: input too long (at most %d bytes)\n", SAUTH_PASSWORD_BYTES);
                return EXIT_USAGE;
        }
        if (r == -ENODATA) {
                fprintf(stderr, "sauthctl: no input for '%s'\n", prompt);
                return EXIT_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot read from stdin: %s\n", strerror((int) -r));
                return EXIT_DENIED;
        }

        *ret = TAKE_PTR(buf);
        return EXIT_OK;
}

/* ------------------------------------------------------------ bus */

static int ctl_connect(Ctl *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (c->bus)
                return EXIT_OK;

        /* Like sd_bus_open_system(), the variable names the system bus
         * for this tool (unlike for the PAM module). */
        r = sauth_client_connect(c->address ?: secure_getenv("DBUS_SYSTEM_BUS_ADDRESS"),
                                 c->timeout_usec, &bus);
        if (r < 0) {
                if (c->address)
                        fprintf(stderr, "sauthctl: cannot connect to the bus at %s: %s\n", c->address, strerror(-r));
                else
                        fprintf(stderr, "sauthctl: cannot connect to the system bus: %s\n", strerror(-r));
                /* No bus there is exit 3; a malformed address or a bus
                 * that refused us is not "unreachable". */
                return sauth_status_from_errno(r) == SAUTH_E_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_DENIED;
        }

        c->bus = TAKE_PTR(bus);
        return EXIT_OK;
}

static int ctl_new_call(Ctl *c, const char *method, sd_bus_message **ret) {
        int r;

        r = ctl_connect(c);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(c->bus, ret, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                           SAUTH_BUS_INTERFACE, method);
        if (r < 0)
                return ctl_oom();
        return EXIT_OK;
}

/* Sends the call and waits. Errors are printed with the short name from the
 * common table, which scripts and people can both match on. */
static int ctl_call(Ctl *c, sd_bus_message *m, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        SauthStatus s;
        int r;

        r = sd_bus_call(c->bus, m, c->timeout_usec, &error, ret_reply);
        if (r >= 0)
                return EXIT_OK;

        /* The same classification as the PAM module's: a dropped connection
         * (for one, dbus-daemon closes on a uid it cannot resolve) or nobody
         * answering is Unreachable, exit 3. */
        s = sauth_status_from_call(r, error.name);
        if (s == SAUTH_E_UNREACHABLE) {
                fprintf(stderr, "sauthctl: %s: cannot reach sauthd: %s\n",
                        sauth_status_to_string(s),
                        sd_bus_error_is_set(&error) && error.message ? error.message : strerror(-r));
                return EXIT_UNREACHABLE;
        }
        /* An error name outside our table (a bus policy denial, an unknown
         * method of an older daemon) is shown in full: "Unknown" helps no one. */
        fprintf(stderr, "sauthctl: %s: %s\n",
                s == SAUTH_E_UNKNOWN && error.name ? error.name : sauth_status_to_string(s),
                error.message ?: strerror(-r));
        return EXIT_DENIED;
}

/* ------------------------------------------------------------ JSON */

/* sd-bus keeps its own type predicates private. */
static bool ctl_type_is_basic(char type) {
        return type != 0 && strchr("ybnqiuxtdsogh", type);
}

static void json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);   /* D-Bus strings are valid UTF-8 */
        }
        fputc('"', f);
}

/* Reads one basic value and prints it, for JSON or for people: numbers
 * look the same in both; booleans, doubles and strings differ. */
static int ctl_print_basic(sd_bus_message *m, char type, bool json, FILE *f) {
        union {
                uint8_t y; int16_t n; uint16_t q; int32_t i; uint32_t u;
                int64_t x; uint64_t t; double d; int b; const char *s;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BOOLEAN:
                fputs(json ? (v.b ? "true" : "false") : (v.b ? "yes" : "no"), f);
                break;
        case SD_BUS_TYPE_BYTE:    fprintf(f, "%u", v.y); break;
        case SD_BUS_TYPE_INT16:   fprintf(f, "%d", v.n); break;
        case SD_BUS_TYPE_UINT16:  fprintf(f, "%u", v.q); break;
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_UNIX_FD: fprintf(f, "%" PRIi32, v.i); break;
        case SD_BUS_TYPE_UINT32:  fprintf(f, "%" PRIu32, v.u); break;
        case SD_BUS_TYPE_INT64:   fprintf(f, "%" PRIi64, v.x); break;
        case SD_BUS_TYPE_UINT64:  fprintf(f, "%" PRIu64, v.t); break;
        case SD_BUS_TYPE_DOUBLE:
                if (!json)
                        fprintf(f, "%.1f", v.d);
                else if (isfinite(v.d))
                        fprintf(f, "%.17g", v.d);
                else
                        fputs("null", f);       /* JSON has no NaN or infinity */
                break;
        default:                /* strings, object paths, signatures */
                if (json)
                        json_string(f, v.s);
                else
                        fputs(v.s, f);
                break;
        }
        return 0;
}

static int json_value(sd_bus_message *m, FILE *f, bool show_token);

/* A dictionary (an array of dict entries) as a JSON object. Keys of other
 * types than strings are quoted, as JSON wants. */
static int json_dict(sd_bus_message *m, const char *contents, FILE *f, bool show_token) {
        const char *entry;
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
        if (r < 0)
                return r;
        fputc('{', f);
        while ((r = sd_bus_message_peek_type(m, NULL, &entry)) > 0) {
                const char *key = NULL;
                char type;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, entry);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, NULL);
                if (r < 0)
                        return r;
                if (type == SD_BUS_TYPE_STRING) {
                        r = sd_bus_message_read_basic(m, type, &key);
                        if (r < 0)
                                return r;
                }
                /* The session token is a bearer secret: a test login has no
                 * use for it unless asked. */
                if (key && streq(key, "jwt_token") && !show_token) {
                        r = sd_bus_message_skip(m, NULL);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!first)
                        fputc(',', f);
                first = false;
                if (key)
                        json_string(f, key);
                else {
                        fputc('"', f);
                        r = json_value(m, f, show_token);
                        if (r < 0)
                                return r;
                        fputc('"', f);
                }
                fputc(':', f);
                r = json_value(m, f, show_token);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        fputc('}', f);
        return sd_bus_message_exit_container(m);
}

static int json_container(sd_bus_message *m, char type, const char *contents, FILE *f, bool show_token) {
        bool first = true;
        int r;

        if (type == SD_BUS_TYPE_ARRAY && contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN)
                return json_dict(m, contents, f, show_token);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT)
                fputc('[', f);
        while ((r = sd_bus_message_peek_type(m, NULL, NULL)) > 0) {
                if (!first)
                        fputc(',', f);
                first = false;
                r = json_value(m, f, show_token);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT)
                fputc(']', f);
        return sd_bus_message_exit_container(m);
}

static int json_value(sd_bus_message *m, FILE *f, bool show_token) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (!ctl_type_is_basic(type))
                return json_container(m, type, contents, f, show_token);
        return ctl_print_basic(m, type, true, f);
}

/* Prints the whole reply as JSON: its one argument as is, several as an
 * array, none as an empty object. */
static int json_print_reply(sd_bus_message *reply, bool show_token) {
        unsigned n = 0;
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_peek_type(reply, NULL, NULL)) > 0)
                n++, r = sd_bus_message_skip(reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;

        if (n == 0)
                fputs("{}", stdout);
        else if (n == 1)
                r = json_value(reply, stdout, show_token);
        else {
                fputc('[', stdout);
                for (unsigned i = 0; i < n && r >= 0; i++) {
                        if (i > 0)
                                fputc(',', stdout);
                        r = json_value(reply, stdout, show_token);
                }
                fputc(']', stdout);
        }
        fputc('\n', stdout);
        return r;
}

/* ------------------------------------------------------------ reply dictionaries */

/* One key of an a{sv} reply, rendered as text for people. String arrays
 * keep their items too, for lists that read better one per line. */
typedef struct DictEntry {
        char *key;
        char type;              /* D-Bus type of the value, or 'a' */
        char *text;
        char **strv;
} DictEntry;

typedef struct Dict {
        DictEntry *entries;
        size_t n;
} Dict;

static void dict_done(Dict *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->entries[i].key);
                /* Texts may hold a session token: wipe them all. */
                erase_and_free(d->entries[i].text);
                strv_free(d->entries[i].strv);
        }
        free(d->entries);
        *d = (Dict) {};
}

static const DictEntry *dict_get(const Dict *d, const char *key) {
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->entries[i].key, key))
                        return &d->entries[i];
        return NULL;
}

static const char *dict_text(const Dict *d, const char *key) {
        const DictEntry *e = dict_get(d, key);
        return e ? e->text : NULL;
}

static int text_value(sd_bus_message *m, FILE *f);

static int text_container(sd_bus_message *m, char type, const char *contents, FILE *f) {
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_peek_type(m, NULL, NULL)) > 0) {
                if (!first)
                        fputs(type == SD_BUS_TYPE_DICT_ENTRY ? "=" : ", ", f);
                first = false;
                r = text_value(m, f);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int text_value(sd_bus_message *m, FILE *f) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (!ctl_type_is_basic(type))
                return text_container(m, type, contents, f);
        return ctl_print_basic(m, type, false, f);
}

/* Reads a variant holding a string straight into a new string: a session
 * token must not pass through a memstream whose old buffers are freed
 * unwiped as it grows. */
static int dict_read_string(sd_bus_message *m, DictEntry *e) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        e->text = strdup(s);
        return e->text ? 0 : -ENOMEM;
}

static int dict_read_strv(sd_bus_message *m, DictEntry *e) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &e->strv);
        if (r < 0)
                return r;
        /* An empty array reads as NULL. */
        if (!e->strv) {
                e->strv = calloc(1, sizeof(char *));
                if (!e->strv)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        for (char **s = e->strv; *s; s++)
                size += strlen(*s) + 2;
        text = calloc(1, size + 1);
        if (!text)
                return -ENOMEM;
        for (char **s = e->strv; *s; s++) {
                if (s != e->strv)
                        strcat(text, ", ");
                strcat(text, *s);
        }
        e->text = TAKE_PTR(text);
        return 0;
}

static int dict_read_other(sd_bus_message *m, DictEntry *e) {
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        r = text_value(m, f);
        if (fclose(TAKE_PTR(f)) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        e->text = buf;
        return 0;
}

static int dict_read_entry(sd_bus_message *m, Dict *d) {
        DictEntry *e;
        const char *key, *contents;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
        if (r < 0)
                return r;
        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;

        e = reallocarray(d->entries, d->n + 1, sizeof(DictEntry));
        if (!e)
                return -ENOMEM;
        d->entries = e;
        e = &d->entries[d->n++];
        *e = (DictEntry) { .key = strdup(key), .type = contents[0] };
        if (!e->key)
                return -ENOMEM;

        if (streq(contents, "s"))
                return dict_read_string(m, e);
        if (streq(contents, "as"))
                return dict_read_strv(m, e);
        return dict_read_other(m, e);
}

/* Reads an a{sv} reply into d, for commands that print or use its keys. */
static int text_dict_read(sd_bus_message *reply, Dict *d) {
        int r;

        r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = dict_read_entry(reply, d);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* A UNIX time for people; 0 means "none". */
static void print_time(const char *label, const char *text) {
        struct tm tm;
        char buf[64];
        time_t t;

        if (!text || streq(text, "0")) {
                printf("%s: -\n", label);
                return;
        }
        t = (time_t) strtoll(text, NULL, 10);
        if (localtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) > 0)
                printf("%s: %s (%s)\n", label, buf, text);
        else
                printf("%s: %s\n", label, text);
}

/* Prints the given keys of the reply as "key: value" lines, in that order;
 * absent keys are left out. */
static void print_keys(const Dict *d, const char *const *keys) {
        for (const char *const *k = keys; *k; k++) {
                const DictEntry *e = dict_get(d, *k);

                if (!e)
                        continue;
                if (e->type == SD_BUS_TYPE_UINT64 && (streq(*k, "expires") || streq(*k, "locked_until")))
                        print_time(*k, e->text);
                else
                        printf("%s: %s\n", *k, e->text);
        }
}

/* Either --json or the chosen keys. */
static int ctl_print_reply(Ctl *c, sd_bus_message *reply, const char *const *keys) {
        Dict d = {};
        int r;

        if (c->json)
                r = json_print_reply(reply, c->show_token);
        else {
                r = text_dict_read(reply, &d);
                if (r >= 0)
                        print_keys(&d, keys);
                dict_done(&d);
        }
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        return EXIT_OK;
}

/* For methods with an empty reply: --json still prints a JSON value. */
static int ctl_print_empty(Ctl *c) {
        if (c->json)
                puts("{}");
        return EXIT_OK;
}

/* ------------------------------------------------------------ helpers of verbs */

/* The caller's own Unix user name: the account "self" stands for. */
static int ctl_own_username(const char **ret) {
        struct passwd *pw;

        errno = 0;
        pw = getpwuid(getuid());
        if (!pw || isempty(pw->pw_name)) {
                fprintf(stderr, "sauthctl: cannot find the user name of uid %u; name the user\n",
                        (unsigned) getuid());
                return EXIT_DENIED;
        }
        *ret = pw->pw_name;
        return EXIT_OK;
}

static int ctl_status_reply(Ctl *c, const char *user, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(c, "AccountStatus", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "s", user) < 0)
                return ctl_oom();
        return ctl_call(c, m, ret);
}

/* Calls a method that takes strings only and returns nothing. */
static int ctl_simple_call(Ctl *c, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        va_list ap;
        int r;

        r = ctl_new_call(c, method, &m);
        if (r != EXIT_OK)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return ctl_print_empty(c);
}

/* ------------------------------------------------------------ verbs */

static int verb_status(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *user = argc > 0 ? argv[0] : NULL;
        int r;

        if (!user) {
                r = ctl_own_username(&user);
                if (r != EXIT_OK)
                        return r;
        }
        r = ctl_status_reply(c, user, &reply);
        if (r != EXIT_OK)
                return r;
        return ctl_print_reply(c, reply, (const char *const[]) {
                "exists", "status", "locked_until", "password_must_change", "uid", "admin", NULL });
}

static int verb_register(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "Register", &m);
        if (r != EXIT_OK)
                return r;
        /* The daemon wants a display name; the user name is a fair default. */
        if (sd_bus_message_append(m, "sssss", argv[0], argv[1], c->name ?: argv[1],
                                  c->template ?: "", c->picture ?: "") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return ctl_print_reply(c, reply, (const char *const[]) {
                "uid", "contact_id", "account_id", NULL });
}

static int verb_account_add(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "AccountAdd", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ss", argv[0], argv[1]) < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return ctl_print_reply(c, reply, (const char *const[]) { "id", "uid", "username", NULL });
}

/* The uid (the person's id in the store, not a Unix uid) of an account,
 * from its status. Self may read its own. */
static int ctl_lookup_uid(Ctl *c, const char *user, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *uid = NULL;
        int exists = 0;
        const DictField fields[] = {
                { "exists", 'b', &exists },
                { "uid",    's', &uid },
        };
        int r;

        r = ctl_status_reply(c, user, &reply);
        if (r != EXIT_OK)
                return r;
        r = dict_read(reply, fields, ELEMENTSOF(fields));
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        if (!exists || isempty(uid)) {
                fprintf(stderr, "sauthctl: %s: no account named '%s'\n",
                        sauth_status_to_string(SAUTH_E_NOT_FOUND), user);
                return EXIT_DENIED;
        }
        *ret = strdup(uid);
        return *ret ? EXIT_OK : ctl_oom();
}

/* The secrets of a password change. A token replaces the old password;
 * root sets a password without the old one unless --old asks for it. */
typedef struct PasswdSecrets {
        char *token;
        char *old;
        char *new;
        char *verify;
} PasswdSecrets;

static void passwd_secrets_done(PasswdSecrets *s) {
        erase_and_free(s->token);
        erase_and_free(s->old);
        erase_and_free(s->new);
        erase_and_free(s->verify);
        *s = (PasswdSecrets) {};
}

static int passwd_ask(Ctl *c, PasswdSecrets *s) {
        int r = EXIT_OK;

        if (c->seen & OPT_TOKEN)
                r = secret_ask("Token: ", &s->token);
        else if (getuid() != 0 || (c->seen & OPT_OLD))
                r = secret_ask("Current password: ", &s->old);
        if (r == EXIT_OK)
                r = secret_ask("New password: ", &s->new);
        if (r == EXIT_OK)
                r = secret_ask("Retype new password: ", &s->verify);
        return r;
}

static int verb_passwd(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *uid = NULL;
        PasswdSecrets s = {};
        const char *user = argc > 0 ? argv[0] : NULL;
        int r;

        if (user && c->uid)
                return ctl_usage_error("passwd: give USER or --uid, not both");
        if ((c->seen & OPT_TOKEN) && (c->seen & OPT_OLD))
                return ctl_usage_error("passwd: --token and --old exclude each other");

        if (c->uid)
                uid = strdup(c->uid);
        else {
                if (!user) {
                        r = ctl_own_username(&user);
                        if (r != EXIT_OK)
                                return r;
                }
                r = ctl_lookup_uid(c, user, &uid);
                if (r != EXIT_OK)
                        return r;
        }
        if (!uid)
                return ctl_oom();

        r = ctl_new_call(c, "ChangePassword", &m);
        if (r == EXIT_OK)
                r = passwd_ask(c, &s);
        if (r == EXIT_OK) {
                (void) sd_bus_message_sensitive(m);
                if (sd_bus_message_append(m, "sssss", uid, s.new, s.token ?: "", s.old ?: "", s.verify) < 0)
                        r = ctl_oom();
        }
        /* The message holds its own (sensitive) copies now. */
        passwd_secrets_done(&s);
        if (r != EXIT_OK)
                return r;

        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        if (c->json)
                return ctl_print_reply(c, reply, NULL);
        puts("Password changed.");
        return ctl_print_reply(c, reply, (const char *const[]) { "uid", "username", NULL });
}

static int verb_login_test(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_erase_ char *pw = NULL;
        int r;

        r = ctl_new_call(c, "AccountLogin", &m);
        if (r != EXIT_OK)
                return r;
        r = secret_ask("Password: ", &pw);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "sssa{sv}", argv[0], pw, SAUTH_METHOD_LOCAL,
                                  1, "service", "s", "sauthctl") < 0)
                return ctl_oom();
        pw = erase_and_free(pw);

        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        /* The reply carries the session token: have sd-bus wipe it. */
        (void) sd_bus_message_sensitive(reply);
        if (c->json)
                return ctl_print_reply(c, reply, NULL);
        puts("ok");
        return ctl_print_reply(c, reply, c->show_token ?
                (const char *const[]) { "uid", "username", "roles", "expires", "jwt_token", NULL } :
                (const char *const[]) { "uid", "username", "roles", "expires", NULL });
}

static void check_print(const Dict *d) {
        const DictEntry *problems = dict_get(d, "problems");

        print_keys(d, (const char *const[]) { "ok", "score", "guesses_log10", NULL });
        if (problems && problems->strv)
                for (char **p = problems->strv; *p; p++)
                        printf("problem: %s\n", *p);
        if (!isempty(dict_text(d, "message")))
                printf("message: %s\n", dict_text(d, "message"));
}

static int verb_check_password(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_erase_ char *pw = NULL;
        const char *user = argc > 0 ? argv[0] : NULL;
        Dict d = {};
        int ok = 0;
        const DictField fields[] = {
                { "ok", 'b', &ok },
        };
        int r;

        if (!user) {
                r = ctl_own_username(&user);
                if (r != EXIT_OK)
                        return r;
        }
        r = ctl_new_call(c, "CheckPassword", &m);
        if (r != EXIT_OK)
                return r;
        r = secret_ask("Password: ", &pw);
        if (r != EXIT_OK)
                return r;
        (void) sd_bus_message_sensitive(m);
        if (sd_bus_message_append(m, "ss", user, pw) < 0)
                return ctl_oom();
        pw = erase_and_free(pw);

        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        r = dict_read(reply, fields, ELEMENTSOF(fields));
        if (r < 0) {
                fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                return EXIT_DENIED;
        }
        if (c->json)
                r = ctl_print_reply(c, reply, NULL);
        else {
                r = text_dict_read(reply, &d);
                if (r >= 0)
                        check_print(&d);
                dict_done(&d);
                if (r < 0) {
                        fprintf(stderr, "sauthctl: cannot parse the reply: %s\n", strerror(-r));
                        return EXIT_DENIED;
                }
                r = EXIT_OK;
        }
        if (r != EXIT_OK)
                return r;
        return ok ? EXIT_OK : EXIT_DENIED;
}

static int verb_forgot(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        bool identity = strchr(argv[0], '@');
        int r;

        r = ctl_new_call(c, "ForgotPassword", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "sss", identity ? argv[0] : "", identity ? "" : argv[0],
                                  c->template ?: "") < 0)
                return ctl_oom();
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        if (c->json)
                return ctl_print_reply(c, reply, NULL);
        puts("If an account matches, a reset message was sent.");
        return EXIT_OK;
}

static int verb_enable(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "SetAccountStatus", "ss", argv[0], SAUTH_STATUS_ACTIVE);
}

static int verb_disable(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "SetAccountStatus", "ss", argv[0], SAUTH_STATUS_DISABLED);
}

static int verb_set_admin(Ctl *c, int argc, char **argv) {
        const char *v = argv[1];
        int admin;

        if (streq(v, "yes") || streq(v, "true") || streq(v, "1"))
                admin = 1;
        else if (streq(v, "no") || streq(v, "false") || streq(v, "0"))
                admin = 0;
        else
                return ctl_usage_error("set-admin: expected yes or no, got '%s'", v);
        return ctl_simple_call(c, "SetAccountAdmin", "sb", argv[0], admin);
}

static int verb_expire(Ctl *c, int argc, char **argv) {
        return ctl_simple_call(c, "ExpirePassword", "s", argv[0]);
}

static int verb_methods(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = ctl_new_call(c, "Methods", &m);
        if (r != EXIT_OK)
                return r;
        r = ctl_call(c, m, &reply);
        if (r != EXIT_OK)
                return r;
        return ctl_print_reply(c, reply, (const char *const[]) { "items", "policies", NULL });
}

static int verb_help(Ctl *c, int argc, char **argv);

static const Verb verbs[] = {
        { "status", verb_status, 0, 1, 0,
          "status [USER]",
          "Show whether an account exists, its status, lock and uid (default: your own)." },
        { "register", verb_register, 2, 2, OPT_NAME | OPT_TEMPLATE | OPT_PICTURE,
          "register IDENTITY USERNAME [--name NAME] [--template T] [--picture URL]",
          "Create an account (NAME defaults to USERNAME); a confirmation token is mailed to IDENTITY." },
        { "account-add", verb_account_add, 2, 2, 0,
          "account-add USERNAME UID",
          "Give the person UID, who has no account yet, the account USERNAME." },
        { "passwd", verb_passwd, 0, 1, OPT_TOKEN | OPT_UID | OPT_OLD,
          "passwd [USER] [--token] [--uid UID] [--old]",
          "Change a password, with the current one or a mailed token (--token)." },
        { "login-test", verb_login_test, 1, 1, 0,
          "login-test USER",
          "Try a password login; prints uid, roles and expiry, not the token." },
        { "check-password", verb_check_password, 0, 1, 0,
          "check-password [USER]",
          "Rate a password against the rules; exit 0 if it would be accepted." },
        { "forgot", verb_forgot, 1, 1, OPT_TEMPLATE,
          "forgot IDENTITY|USERNAME [--template T]",
          "Ask for a password reset token by mail." },
        { "enable", verb_enable, 1, 1, 0,
          "enable USER",
          "Allow logins to an account again." },
        { "disable", verb_disable, 1, 1, 0,
          "disable USER",
          "Refuse all logins to an account." },
        { "set-admin", verb_set_admin, 2, 2, 0,
          "set-admin USER yes|no",
          "Grant or take the admin role of session tokens (not Unix authority)." },
        { "expire", verb_expire, 1, 1, 0,
          "expire USER",
          "Force a password change at the next login." },
        { "methods", verb_methods, 0, 0, 0,
          "methods",
          "List the login methods and policies." },
        { "help", verb_help, 0, 1, 0,
          "help [COMMAND]",
          "Show this help, or the help of one command." },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void help_verb(FILE *f, const Verb *v) {
        fprintf(f, "Usage: sauthctl [OPTIONS] %s\n%s\n", v->usage, v->help);
}

static void help_all(FILE *f) {
        fputs("Usage: sauthctl [OPTIONS] COMMAND [ARGS]\n"
              "\n"
              "The command line of sauthd, the SessionAuth daemon.\n"
              "\n"
              "Commands:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %s\n      %s\n", verbs[i].usage, verbs[i].help);
        fputs("\n"
              "Options:\n"
              "  --address ADDR  talk to sauthd on this D-Bus address (default: the system bus)\n"
              "  --json          print the daemon's reply as JSON\n"
              "  --show-token    login-test: also print the session token\n"
              "  --timeout SEC   how long to wait for an answer (default 60)\n"
              "  -h, --help      show this help\n"
              "  --version       show the version\n"
              "\n"
              "Passwords and tokens are read from a prompt on a terminal, or one line\n"
              "each from stdin; never from the command line.\n"
              "Exit status: 0 done, 1 refused by the daemon, 2 usage, 3 daemon unreachable.\n", f);
}

static int verb_help(Ctl *c, int argc, char **argv) {
        const Verb *v;

        if (argc == 0) {
                help_all(stdout);
                return EXIT_OK;
        }
        v = verb_find(argv[0]);
        if (!v)
                return ctl_usage_error("unknown command '%s'", argv[0]);
        help_verb(stdout, v);
        return EXIT_OK;
}

/* ------------------------------------------------------------ main */

static int parse_timeout(const char *s, uint64_t *ret) {
        unsigned v;

        if (parse_uint(s, &v) < 0 || v == 0 || v > CTL_MAX_TIMEOUT_SEC)
                return -EINVAL;
        *ret = (uint64_t) v * UINT64_C(1000000);
        return 0;
}

enum {
        ARG_ADDRESS = 0x100,
        ARG_JSON,
        ARG_SHOW_TOKEN,
        ARG_TIMEOUT,
        ARG_VERSION,
        ARG_NAME,
        ARG_TEMPLATE,
        ARG_PICTURE,
        ARG_TOKEN,
        ARG_UID,
        ARG_OLD,
};

/* Options may come before or after the command; GNU getopt moves the
 * operands to the end. Returns -1 to go on, else an exit code. */
static int parse_argv(Ctl *c, int argc, char **argv, bool *help) {
        static const struct option options[] = {
                { "address",    required_argument, NULL, ARG_ADDRESS },
                { "json",       no_argument,       NULL, ARG_JSON },
                { "show-token", no_argument,       NULL, ARG_SHOW_TOKEN },
                { "timeout",    required_argument, NULL, ARG_TIMEOUT },
                { "help",       no_argument,       NULL, 'h' },
                { "version",    no_argument,       NULL, ARG_VERSION },
                { "name",       required_argument, NULL, ARG_NAME },
                { "template",   required_argument, NULL, ARG_TEMPLATE },
                { "picture",    required_argument, NULL, ARG_PICTURE },
                { "token",      no_argument,       NULL, ARG_TOKEN },
                { "uid",        required_argument, NULL, ARG_UID },
                { "old",        no_argument,       NULL, ARG_OLD },
                {}
        };
        int opt;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case ARG_ADDRESS:    c->address = optarg; break;
                case ARG_JSON:       c->json = true; break;
                case ARG_SHOW_TOKEN: c->show_token = true; break;
                case ARG_TIMEOUT:
                        if (parse_timeout(optarg, &c->timeout_usec) < 0)
                                return ctl_usage_error("invalid --timeout '%s' (seconds, 1-%d)",
                                                       optarg, CTL_MAX_TIMEOUT_SEC);
                        break;
                case 'h':            *help = true; break;
                case ARG_VERSION:    puts("sauthctl " SAUTH_VERSION); return EXIT_OK;
                case ARG_NAME:       c->seen |= OPT_NAME; c->name = optarg; break;
                case ARG_TEMPLATE:   c->seen |= OPT_TEMPLATE; c->template = optarg; break;
                case ARG_PICTURE:    c->seen |= OPT_PICTURE; c->picture = optarg; break;
                case ARG_TOKEN:      c->seen |= OPT_TOKEN; break;
                case ARG_UID:        c->seen |= OPT_UID; c->uid = optarg; break;
                case ARG_OLD:        c->seen |= OPT_OLD; break;
                default:
                        /* Unknown, or missing its argument. */
                        return ctl_usage_error("invalid option '%s'", argv[optind - 1]);
                }
        return -1;
}

static int run_verb(Ctl *c, const Verb *v, int argc, char **argv) {
        unsigned bad = c->seen & ~v->options;

        for (unsigned i = 0; i < _OPT_VERB_MAX; i++)
                if (bad & (1u << i))
                        return ctl_usage_error("%s does not take %s", v->name, ctl_option_names[i]);
        if (argc < v->min_args || argc > v->max_args) {
                fprintf(stderr, "sauthctl: wrong number of arguments\n");
                help_verb(stderr, v);
                return EXIT_USAGE;
        }
        return v->run(c, argc, argv);
}

int main(int argc, char *argv[]) {
        Ctl c = { .timeout_usec = CTL_DEFAULT_TIMEOUT_SEC * UINT64_C(1000000) };
        const Verb *v;
        bool help = false;
        int r;

        r = parse_argv(&c, argc, argv, &help);
        if (r >= 0)
                return r;

        if (optind >= argc) {
                if (help) {
                        help_all(stdout);
                        return EXIT_OK;
                }
                help_all(stderr);
                return EXIT_USAGE;
        }
        v = verb_find(argv[optind]);
        if (!v)
                return ctl_usage_error("unknown command '%s'", argv[optind]);
        if (help) {
                help_verb(stdout, v);
                return EXIT_OK;
        }

        r = run_verb(&c, v, argc - optind - 1, argv + optind + 1);
        /* Flush before closing: the daemon may still read our last call. */
        c.bus = sd_bus_flush_close_unref(c.bus);
        if (fflush(stdout) != 0 && r == EXIT_OK)
                r = EXIT_DENIED;
        return r;
}
