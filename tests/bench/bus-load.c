/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bus-load: an asynchronous D-Bus load driver for tests/bench/run-bench.
 *
 * One process, one sd-event loop, calls kept in flight with
 * sd_bus_call_async(), so that what is measured is the bus and the daemon,
 * not the start-up of a client process per call (busctl in a loop).
 *
 *   bus-load --address ADDR calls --method NAME[,NAME...] [--depth D]
 *            [--seconds S] [--slices N] [--user NAME] [--uid UID]
 *            [--background-logins K] [--warmup-ms MS]
 *       Keeps D calls in flight for S seconds in all and reports each
 *       method's rate and latency. With several methods the time is cut in
 *       N slices that take turns, so that a change in the machine's load
 *       falls on all of them alike. NAME: Methods, AccountStatus (of
 *       --user), ApiAccess (the API key from stdin, required_scopes
 *       ["full"]), VerifyToken (the session token from stdin), Ping
 *       (org.freedesktop.DBus.Peer.Ping to sauthd: a bare round trip
 *       through the same bus to the same process) or GetId (to
 *       dbus-daemon alone). With --background-logins K, K logins of --user
 *       are kept in flight on a second connection the whole time, so that
 *       the hash pool is busy; the measured calls start --warmup-ms later.
 *
 *   bus-load --address ADDR logins --user NAME [--count N] [--concurrency C]
 *       N logins, C in flight at once; reports the wall time and rate.
 *
 *   bus-load --address ADDR flood --method NAME[,NAME...] --user NAME
 *            [--connections N] [--depth D] [--seconds S]
 *       A flood as one uid can make it: N connections at once, connection
 *       i calling method i mod the list, each keeping D calls in flight
 *       for S seconds. Besides the read-only ones, NAME may be
 *       CheckPassword (of --user, the password from stdin), AccountLogin
 *       (the same), Register (a new name each call) or ForgotPassword (of
 *       --user). Reports, per method, calls, errors and how many of them
 *       were LimitExceeded ("CheckPassword.limit_exceeded=...").
 *
 * Secrets come on standard input, one per line, never in argv:
 *
 *   line 1  the password of --user (logins mode, --background-logins)
 *   line 2  an API key of --user with the scope "full" (ApiAccess)
 *   line 3  a session token, the jwt_token of an AccountLogin (VerifyToken)
 *
 * A line that the run does not use may be empty; stdin is read only when a
 * secret is needed, and then up to the last line needed.
 * Output: one line of key=value pairs on stdout; in calls mode the keys are
 * prefixed with the method name ("Ping.rate=..."). Exit 0 if every call
 * got an answer (error replies are counted and printed, the caller judges),
 * 1 on a local failure, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "sauth-names.h"
#include "util.h"

#define LATENCY_MAX (1U << 20)  /* samples kept per method; far above a run's calls */
#define DEPTH_MAX 1024U
#define KINDS_MAX 8U
#define SLICES_MAX 1000U
#define FLOOD_CONNECTIONS_MAX 64U
#define SECRETS_MAX 3U          /* stdin lines: password, API key, session token */
#define SECRET_MAX 4096U        /* bytes in one stdin line, far above any of them */

enum { SECRET_PASSWORD, SECRET_APIKEY, SECRET_TOKEN };

typedef enum CallKind {
        CALL_METHODS,
        CALL_ACCOUNT_STATUS,
        CALL_PING,
        CALL_GET_ID,
        CALL_API_ACCESS,
        CALL_VERIFY_TOKEN,
        CALL_GET_ROLES,
        CALL_LOGIN,
        CALL_CHECK_PASSWORD,
        CALL_REGISTER,
        CALL_FORGOT,
        _CALL_KIND_MAX,
} CallKind;

static const char *const kind_names[_CALL_KIND_MAX] = {
        [CALL_METHODS] = "Methods",
        [CALL_ACCOUNT_STATUS] = "AccountStatus",
        [CALL_PING] = "Ping",
        [CALL_GET_ID] = "GetId",
        [CALL_API_ACCESS] = "ApiAccess",
        [CALL_VERIFY_TOKEN] = "VerifyToken",
        [CALL_GET_ROLES] = "GetRoles",
        [CALL_LOGIN] = "AccountLogin",
        [CALL_CHECK_PASSWORD] = "CheckPassword",
        [CALL_REGISTER] = "Register",
        [CALL_FORGOT] = "ForgotPassword",
};

typedef struct Load Load;

typedef struct Stream {
        Load *load;
        sd_bus *bus;
        CallKind kind;
        unsigned depth;
        uint64_t stop_usec;             /* no new calls from then on */
        uint64_t limit;                 /* calls to send at most; 0 = until stop_usec */
        unsigned in_flight;
        uint64_t sent;
        uint64_t done;
        uint64_t errors;
        uint64_t limit_exceeded;        /* errors that were LimitExceeded */
        char first_error[128];
        bool measuring;                 /* counts and latencies kept only while set */
        uint64_t measured;
        uint64_t *latency_usec;
        size_t n_latency;
        uint64_t last_done_usec;
        uint64_t active_usec;           /* measured time, summed over slices */
} Stream;

struct Load {
        sd_event *event;
        const char *user;
        const char *uid;                /* the person id of --user (GetRoles) */
        char *password;                 /* secret, stdin line 1 */
        char *apikey;                   /* secret, stdin line 2 */
        char *token;                    /* secret, stdin line 3 */
        int failed;                     /* a negative errno once sending failed */
};

typedef struct Pending {
        Stream *stream;
        uint64_t sent_usec;
} Pending;

static int stream_new_message(Stream *s, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        switch (s->kind) {
        case CALL_METHODS:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "Methods");
                break;
        case CALL_ACCOUNT_STATUS:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "AccountStatus");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", s->load->user);
                break;
        case CALL_PING:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   "org.freedesktop.DBus.Peer", "Ping");
                break;
        case CALL_GET_ID:
                r = sd_bus_message_new_method_call(s->bus, &m, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                   "org.freedesktop.DBus", "GetId");
                break;
        case CALL_API_ACCESS:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "ApiAccess");
                if (r >= 0)
                        r = sd_bus_message_sensitive(m);
                /* One required scope, so that the scope check runs too. */
                if (r >= 0)
                        r = sd_bus_message_append(m, "sas", s->load->apikey, 1, "full");
                break;
        case CALL_VERIFY_TOKEN:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "VerifyToken");
                if (r >= 0)
                        r = sd_bus_message_sensitive(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", s->load->token);
                break;
        case CALL_GET_ROLES:
                /* One resource id among the person's memberships (the
                 * bench gives it 10,000): an indexed lookup. */
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "GetRoles");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ssss", s->load->uid, "list_member", "", "5000");
                break;
        case CALL_LOGIN:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "AccountLogin");
                if (r >= 0)
                        r = sd_bus_message_sensitive(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "sssa{sv}", s->load->user, s->load->password,
                                                  SAUTH_METHOD_LOCAL, 0);
                break;
        case CALL_CHECK_PASSWORD:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "CheckPassword");
                if (r >= 0)
                        r = sd_bus_message_sensitive(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", s->load->user, s->load->password);
                break;
        case CALL_REGISTER: {
                /* A name of its own for every call: "f" + pid + count. */
                static unsigned long n;
                char name[32], identity[64];

                snprintf(name, sizeof name, "f%lx%lx", (unsigned long) getpid() & 0xffff, ++n);
                snprintf(identity, sizeof identity, "%s@flood.example", name);
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "Register");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sssss", identity, name, "Flood", "", "");
                break;
        }
        case CALL_FORGOT:
                r = sd_bus_message_new_method_call(s->bus, &m, SAUTH_BUS_NAME, SAUTH_BUS_PATH,
                                                   SAUTH_BUS_INTERFACE, "ForgotPassword");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sss", "", s->load->user, "");
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static bool stream_may_send(const Stream *s) {
        if (s->limit > 0)
                return s->sent < s->limit;
        return now_usec() < s->stop_usec;
}

static int stream_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

static int stream_send_one(Stream *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ Pending *p = NULL;
        int r;

        r = stream_new_message(s, &m);
        if (r < 0)
                return r;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->stream = s;
        p->sent_usec = now_usec();
        /* A floating slot: the reply callback owns p and frees it. */
        r = sd_bus_call_async(s->bus, NULL, m, stream_reply, p, 0);
        if (r < 0)
                return r;
        TAKE_PTR(p);
        s->sent++;
        s->in_flight++;
        return 0;
}

static int stream_fill(Stream *s) {
        int r;

        while (s->in_flight < s->depth && stream_may_send(s)) {
                r = stream_send_one(s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int stream_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ Pending *p = userdata;
        Stream *s = p->stream;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint64_t now = now_usec();
        int r;

        if (s->kind == CALL_LOGIN)
                (void) sd_bus_message_sensitive(reply);  /* it carries a session token */
        if (e && e->name && streq(e->name, SAUTH_ERROR_PREFIX "LimitExceeded"))
                s->limit_exceeded++;

        s->in_flight--;
        s->done++;
        s->last_done_usec = now;
        if (e && s->errors++ == 0)
                snprintf(s->first_error, sizeof s->first_error, "%s", e->name ? e->name : "?");
        if (s->measuring) {
                s->measured++;
                if (s->latency_usec && s->n_latency < LATENCY_MAX)
                        s->latency_usec[s->n_latency++] = now - p->sent_usec;
        }

        r = stream_fill(s);
        if (r < 0 && s->load->failed == 0)
                s->load->failed = r;
        return 0;
}

/* Runs the loop until the stream has nothing in flight. */
static int stream_drain(Stream *s) {
        int r;

        while (s->in_flight > 0) {
                if (s->load->failed < 0)
                        return s->load->failed;
                r = sd_event_run(s->load->event, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return s->load->failed;
}

/* Runs the loop until the monotonic time `until`. */
static int load_run_until(Load *l, uint64_t until) {
        uint64_t n;
        int r;

        while ((n = now_usec()) < until) {
                if (l->failed < 0)
                        return l->failed;
                r = sd_event_run(l->event, until - n);
                if (r < 0)
                        return r;
        }
        return l->failed;
}

static int bus_open(const char *address, sd_event *event, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        /* Connected and Hello answered before any clock starts. */
        if (r >= 0)
                r = sd_bus_flush(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return (x > y) - (x < y);
}

static uint64_t percentile(const uint64_t *v, size_t n, double q) {
        size_t i;

        if (n == 0)
                return 0;
        i = (size_t) (q * (double) (n - 1) + 0.5);
        return v[i < n ? i : n - 1];
}

static void stream_print(Stream *s, const char *prefix) {
        double secs = (double) s->active_usec / 1e6;

        printf(" %scalls=%" PRIu64 " %serrors=%" PRIu64 " %srate=%.1f %sseconds=%.3f", prefix, s->measured, prefix,
               s->errors, prefix, secs > 0 ? (double) s->measured / secs : 0.0, prefix, secs);
        if (s->n_latency > 0) {
                qsort(s->latency_usec, s->n_latency, sizeof *s->latency_usec, cmp_u64);
                printf(" %sp50_us=%" PRIu64 " %sp90_us=%" PRIu64 " %sp99_us=%" PRIu64 " %smax_us=%" PRIu64,
                       prefix, percentile(s->latency_usec, s->n_latency, 0.50),
                       prefix, percentile(s->latency_usec, s->n_latency, 0.90),
                       prefix, percentile(s->latency_usec, s->n_latency, 0.99),
                       prefix, s->latency_usec[s->n_latency - 1]);
        }
        if (s->errors > 0)
                printf(" %sfirst_error=%s", prefix, s->first_error);
}


typedef struct Options {
        const char *address;
        const char *mode;
        const char *user;
        const char *uid;
        CallKind kinds[KINDS_MAX];
        size_t n_kinds;
        unsigned depth;
        double seconds;
        unsigned slices;
        unsigned background;
        unsigned warmup_ms;
        uint64_t count;
        unsigned concurrency;
        unsigned connections;           /* flood mode */
        bool needs[SECRETS_MAX];        /* which stdin lines the run uses */
} Options;

typedef struct CallsRun {
        sd_bus *bus, *bus_bg;
        Stream streams[KINDS_MAX];
        uint64_t *latency[KINDS_MAX];
        Stream bg;
} CallsRun;

static void calls_run_done(CallsRun *c) {
        for (size_t i = 0; i < KINDS_MAX; i++)
                free(c->latency[i]);
        if (c->bus)
                sd_bus_flush_close_unref(c->bus);
        if (c->bus_bg)
                sd_bus_flush_close_unref(c->bus_bg);
}

static int run_slices(const Options *o, CallsRun *c) {
        uint64_t slice_usec = (uint64_t) (o->seconds * 1e6 / o->slices), start;
        int r;

        for (unsigned i = 0; i < o->slices; i++) {
                Stream *s = &c->streams[i % o->n_kinds];

                start = now_usec();
                s->stop_usec = start + slice_usec;
                s->measuring = true;
                r = stream_fill(s);
                if (r >= 0)
                        r = stream_drain(s);
                if (r < 0)
                        return r;
                s->measuring = false;
                s->active_usec += s->last_done_usec - start;
        }
        return 0;
}

static int run_calls(const Options *o, Load *l) {
        _cleanup_(calls_run_done) CallsRun c = {};
        uint64_t bg_start = 0;
        int r;

        r = bus_open(o->address, l->event, &c.bus);
        if (r < 0)
                return r;
        for (size_t i = 0; i < o->n_kinds; i++) {
                c.latency[i] = calloc(LATENCY_MAX, sizeof *c.latency[i]);
                if (!c.latency[i])
                        return -ENOMEM;
                c.streams[i] = (Stream) { .load = l, .bus = c.bus, .kind = o->kinds[i], .depth = o->depth,
                                          .latency_usec = c.latency[i] };
        }

        if (o->background > 0) {
                r = bus_open(o->address, l->event, &c.bus_bg);
                if (r < 0)
                        return r;
                c.bg = (Stream) { .load = l, .bus = c.bus_bg, .kind = CALL_LOGIN, .depth = o->background,
                                  .stop_usec = UINT64_MAX, .measuring = true };
                r = stream_fill(&c.bg);
                if (r >= 0)
                        r = load_run_until(l, now_usec() + (uint64_t) o->warmup_ms * 1000);
                if (r < 0)
                        return r;
                c.bg.measured = 0;
                bg_start = now_usec();
        }

        r = run_slices(o, &c);
        if (r < 0)
                return r;

        if (o->background > 0) {
                uint64_t window = now_usec() - bg_start;

                /* Logins answered while the measured calls ran. */
                printf("bg_logins=%" PRIu64 " bg_errors=%" PRIu64 " bg_rate=%.2f", c.bg.measured, c.bg.errors,
                       (double) c.bg.measured / ((double) window / 1e6));
                if (c.bg.errors > 0)
                        printf(" bg_first_error=%s", c.bg.first_error);
                c.bg.stop_usec = 0;
                r = stream_drain(&c.bg);
                if (r < 0)
                        return r;
        } else
                printf("depth=%u", o->depth);

        for (size_t i = 0; i < o->n_kinds; i++) {
                char prefix[32];

                snprintf(prefix, sizeof prefix, "%s.", kind_names[o->kinds[i]]);
                stream_print(&c.streams[i], prefix);
        }
        putchar('\n');
        return 0;
}

static int run_logins(const Options *o, Load *l) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ uint64_t *lat = NULL;
        Stream s;
        uint64_t start;
        int r;

        r = bus_open(o->address, l->event, &bus);
        if (r < 0)
                return r;
        lat = calloc(o->count, sizeof *lat);
        if (!lat)
                return -ENOMEM;
        s = (Stream) { .load = l, .bus = bus, .kind = CALL_LOGIN, .depth = o->concurrency, .limit = o->count,
                       .latency_usec = lat, .measuring = true };

        start = now_usec();
        r = stream_fill(&s);
        if (r >= 0)
                r = stream_drain(&s);
        if (r < 0)
                return r;
        s.active_usec = s.last_done_usec - start;

        printf("concurrency=%u", o->concurrency);
        stream_print(&s, "");
        putchar('\n');
        return 0;
}

/* ---- flood mode ---- */

static int run_flood(const Options *o, Load *l) {
        sd_bus *buses[FLOOD_CONNECTIONS_MAX] = {};
        Stream streams[FLOOD_CONNECTIONS_MAX] = {};
        uint64_t stop = 0;
        int r = 0;

        for (unsigned i = 0; i < o->connections && r >= 0; i++) {
                r = bus_open(o->address, l->event, &buses[i]);
                if (r >= 0)
                        streams[i] = (Stream) { .load = l, .bus = buses[i], .kind = o->kinds[i % o->n_kinds],
                                                .depth = o->depth, .measuring = true };
        }
        if (r >= 0) {
                stop = now_usec() + (uint64_t) (o->seconds * 1e6);
                for (unsigned i = 0; i < o->connections && r >= 0; i++) {
                        streams[i].stop_usec = stop;
                        r = stream_fill(&streams[i]);
                }
        }
        if (r >= 0)
                r = load_run_until(l, stop);
        for (unsigned i = 0; i < o->connections && r >= 0; i++)
                r = stream_drain(&streams[i]);
        if (r >= 0) {
                printf("connections=%u depth=%u", o->connections, o->depth);
                for (size_t k = 0; k < o->n_kinds; k++) {
                        uint64_t calls = 0, errors = 0, limited = 0;
                        const char *first = NULL;

                        for (unsigned i = k; i < o->connections; i += (unsigned) o->n_kinds) {
                                calls += streams[i].measured;
                                errors += streams[i].errors;
                                limited += streams[i].limit_exceeded;
                                if (!first && streams[i].errors > 0)
                                        first = streams[i].first_error;
                        }
                        printf(" %s.calls=%" PRIu64 " %s.errors=%" PRIu64 " %s.limit_exceeded=%" PRIu64,
                               kind_names[o->kinds[k]], calls, kind_names[o->kinds[k]], errors,
                               kind_names[o->kinds[k]], limited);
                        if (first)
                                printf(" %s.first_error=%s", kind_names[o->kinds[k]], first);
                }
                putchar('\n');
        }
        for (unsigned i = 0; i < o->connections; i++)
                if (buses[i])
                        sd_bus_flush_close_unref(buses[i]);
        return r;
}

static int parse_kinds(const char *arg, Options *o) {
        _cleanup_free_ char *copy = strdup(arg);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        o->n_kinds = 0;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                CallKind k;

                for (k = 0; k < _CALL_KIND_MAX; k++)
                        if (streq(w, kind_names[k]))
                                break;
                if (k == _CALL_KIND_MAX || o->n_kinds >= KINDS_MAX)
                        return -EINVAL;
                o->kinds[o->n_kinds++] = k;
        }
        return o->n_kinds > 0 ? 0 : -EINVAL;
}

static int parse_args(int argc, char *argv[], Options *o) {
        static const struct option longopts[] = {
                { "address", required_argument, NULL, 'a' },
                { "method", required_argument, NULL, 'm' },
                { "depth", required_argument, NULL, 'd' },
                { "seconds", required_argument, NULL, 's' },
                { "slices", required_argument, NULL, 'S' },
                { "user", required_argument, NULL, 'u' },
                { "uid", required_argument, NULL, 'U' },
                { "background-logins", required_argument, NULL, 'b' },
                { "warmup-ms", required_argument, NULL, 'w' },
                { "count", required_argument, NULL, 'n' },
                { "concurrency", required_argument, NULL, 'c' },
                { "connections", required_argument, NULL, 'C' },
                {}
        };
        bool needs_user = false;
        int c;

        *o = (Options) { .kinds = { CALL_METHODS }, .n_kinds = 1, .depth = 1, .seconds = 2.0, .slices = 1,
                         .warmup_ms = 300, .count = 8, .concurrency = 8, .connections = 4 };
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case 'a':
                        o->address = optarg;
                        break;
                case 'm':
                        if (parse_kinds(optarg, o) < 0)
                                return -EINVAL;
                        break;
                case 'd':
                        o->depth = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        o->seconds = strtod(optarg, NULL);
                        break;
                case 'S':
                        o->slices = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'u':
                        o->user = optarg;
                        break;
                case 'U':
                        o->uid = optarg;
                        break;
                case 'b':
                        o->background = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'w':
                        o->warmup_ms = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'n':
                        o->count = strtoull(optarg, NULL, 10);
                        break;
                case 'c':
                        o->concurrency = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'C':
                        o->connections = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind + 1 != argc || !o->address)
                return -EINVAL;
        o->mode = argv[optind];
        if (o->depth < 1 || o->depth > DEPTH_MAX || o->concurrency < 1 || o->concurrency > DEPTH_MAX ||
            o->background > DEPTH_MAX || o->count < 1 || o->count > 100000 || o->warmup_ms > 60000 ||
            !(o->seconds > 0 && o->seconds <= 120) || o->slices > SLICES_MAX ||
            (streq(o->mode, "calls") && o->slices < o->n_kinds))
                return -EINVAL;

        for (size_t i = 0; i < o->n_kinds; i++) {
                needs_user = needs_user || o->kinds[i] == CALL_ACCOUNT_STATUS;
                o->needs[SECRET_APIKEY] = o->needs[SECRET_APIKEY] || o->kinds[i] == CALL_API_ACCESS;
                o->needs[SECRET_TOKEN] = o->needs[SECRET_TOKEN] || o->kinds[i] == CALL_VERIFY_TOKEN;
        }
        if (streq(o->mode, "logins")) {
                o->needs[SECRET_PASSWORD] = true;
                return o->user ? 0 : -EINVAL;
        }
        if (streq(o->mode, "flood")) {
                bool writes = false;

                for (size_t i = 0; i < o->n_kinds; i++)
                        writes = writes || o->kinds[i] == CALL_LOGIN || o->kinds[i] == CALL_CHECK_PASSWORD;
                o->needs[SECRET_PASSWORD] = writes;
                return o->user && o->connections >= o->n_kinds && o->connections <= FLOOD_CONNECTIONS_MAX ? 0 : -EINVAL;
        }
        /* The writing kinds are the flood's only. */
        for (size_t i = 0; i < o->n_kinds; i++)
                if (o->kinds[i] >= CALL_LOGIN)
                        return -EINVAL;
        if (streq(o->mode, "calls")) {
                o->needs[SECRET_PASSWORD] = o->background > 0;
                return (needs_user || o->background > 0) && !o->user ? -EINVAL : 0;
        }
        return -EINVAL;
}

/* One line of stdin, without its newline, into *ret (NULL at end of input). */
static int read_line(char **ret) {
        _cleanup_erase_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        n = getline(&line, &size, stdin);
        if (n < 0) {
                if (line)
                        explicit_bzero(line, size);
                *ret = NULL;
                return feof(stdin) ? 0 : -EIO;
        }
        if (n > 0 && line[n - 1] == '\n')
                line[--n] = '\0';
        if ((size_t) n > SECRET_MAX) {
                explicit_bzero(line, size);
                return -E2BIG;
        }
        *ret = TAKE_PTR(line);
        return 0;
}

/* The secrets the run needs, from stdin lines 1 to 3 (see the top of the
 * file); lines up to the last one needed are read, unused ones dropped.
 * On failure nothing is kept: main() frees what was stored. */
static int read_secrets(const bool needs[SECRETS_MAX], char *ret[SECRETS_MAX]) {
        size_t last = 0;
        int r;

        for (size_t i = 0; i < SECRETS_MAX; i++)
                if (needs[i])
                        last = i + 1;
        for (size_t i = 0; i < last; i++) {
                _cleanup_erase_ char *line = NULL;

                r = read_line(&line);
                if (r < 0)
                        return r;
                if (!needs[i])
                        continue;
                if (!line || line[0] == '\0')
                        return -ENODATA;
                ret[i] = TAKE_PTR(line);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        char *secrets[SECRETS_MAX] = {};
        Options o;
        Load l = {};
        int r;

        if (parse_args(argc, argv, &o) < 0) {
                fprintf(stderr,
                        "usage: bus-load --address ADDR calls --method NAME[,NAME...] [--depth D] [--seconds S]\n"
                        "                [--slices N] [--user NAME] [--background-logins K] [--warmup-ms MS]\n"
                        "       bus-load --address ADDR logins --user NAME [--count N] [--concurrency C]\n"
                        "       bus-load --address ADDR flood --method NAME[,NAME...] --user NAME [--connections N]\n"
                        "                [--depth D] [--seconds S]\n"
                        "       NAME: Methods AccountStatus ApiAccess VerifyToken GetRoles (of --uid) Ping GetId;\n"
                        "             flood also AccountLogin CheckPassword Register ForgotPassword\n"
                        "       stdin: line 1 password (logins), 2 API key (ApiAccess), 3 session token (VerifyToken)\n");
                return 2;
        }
        l.user = o.user;
        l.uid = o.uid ? o.uid : "";

        r = read_secrets(o.needs, secrets);
        if (r < 0) {
                fprintf(stderr, "bus-load: stdin lacks a secret this run needs (line 1 password, "
                        "2 API key, 3 session token): %s\n", strerror(-r));
                for (size_t i = 0; i < SECRETS_MAX; i++)
                        erase_and_free(secrets[i]);
                return 1;
        }
        l.password = secrets[SECRET_PASSWORD];
        l.apikey = secrets[SECRET_APIKEY];
        l.token = secrets[SECRET_TOKEN];

        r = sd_event_new(&event);
        if (r >= 0) {
                l.event = event;
                r = streq(o.mode, "logins") ? run_logins(&o, &l) :
                    streq(o.mode, "flood")  ? run_flood(&o, &l) : run_calls(&o, &l);
        }
        for (size_t i = 0; i < SECRETS_MAX; i++)
                erase_and_free(secrets[i]);
        if (r < 0) {
                fprintf(stderr, "bus-load: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
