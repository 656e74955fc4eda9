/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The seams of the bus glue, against the real code:
 * - the authorization table: every row of the object names who may call it,
 *   and that agrees with the permission table in docs/dbus-api.md;
 * - the deferred-request path: a held call is answered on every path (a
 *   pool job that replies, one that forgets to, a delayed reply), its
 *   admission ticket is given back, and the tracker sees the last one go.
 *   Calls travel over a real peer-to-peer sd-bus connection (socketpair).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-method.h"
#include "manager-bus.h"
#include "pool.h"
#include "ratelimit.h"
#include "request.h"
#include "sauth-errors.h"
#include "util.h"

#define LOOP_ROUNDS 2000
#define LOOP_WAIT_USEC (10 * 1000)

/* ---- the authorization table ---- */

/* The "who" column of the row for method in docs/dbus-api.md's method
 * table (rows of four cells), or NULL. */
static char *docs_who(const char *method) {
        _cleanup_fclose_ FILE *f = fopen(TESTS_DIR "/../docs/dbus-api.md", "re");
        char line[4096], needle[128];

        assert_non_null(f);
        snprintf(needle, sizeof needle, "| `%s` |", method);
        while (fgets(line, sizeof line, f)) {
                char *cells[8], *save = NULL, *c;
                size_t n = 0;

                if (strncmp(line, needle, strlen(needle)) != 0)
                        continue;
                for (c = strtok_r(line, "|", &save); c && n < ELEMENTSOF(cells); c = strtok_r(NULL, "|", &save))
                        cells[n++] = c;
                /* method, in, out, who, the line's end */
                if (n < 4)
                        continue;
                c = cells[3];
                while (*c == ' ')
                        c++;
                c[strcspn(c, "\n")] = 0;
                while (*c && c[strlen(c) - 1] == ' ')
                        c[strlen(c) - 1] = 0;
                return strdup(c);
        }
        return NULL;
}

static void test_every_row_documented(void **state) {
        _cleanup_free_ const BusMethod **methods = NULL;
        size_t n = 0;

        assert_int_equal(manager_bus_methods(&methods, &n), 0);
        assert_true(n >= 11);
        for (size_t i = 0; i < n; i++) {
                const BusMethod *b = methods[i];
                const char *member = b->row.x.method.member;
                _cleanup_free_ char *who = docs_who(member);

                assert_non_null(b->handler);
                assert_ptr_equal(b->row.x.method.handler, bus_method_dispatch);
                /* sd-bus's own check must never decide instead of ours. */
                assert_true(b->row.flags & SD_BUS_VTABLE_UNPRIVILEGED);
                if (!who)
                        fail_msg("%s is not in docs/dbus-api.md's method table", member);
                if (!bus_access_to_string(b->access) || strcmp(who, bus_access_to_string(b->access)) != 0)
                        fail_msg("%s: the table says '%s', the docs say '%s'", member,
                                 bus_access_to_string(b->access), who);
                for (size_t k = 0; k < i; k++)
                        assert_string_not_equal(methods[k]->row.x.method.member, member);
        }
}

/* Rows that take a secret are sensitive, so sd-bus wipes their buffers. */
static void test_secret_rows_sensitive(void **state) {
        static const char *const secret[] = { "AccountLogin", "ChangePassword", "CheckPassword" };
        _cleanup_free_ const BusMethod **methods = NULL;
        size_t n = 0, found = 0;

        assert_int_equal(manager_bus_methods(&methods, &n), 0);
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < ELEMENTSOF(secret); k++)
                        if (streq(methods[i]->row.x.method.member, secret[k])) {
                                assert_true(methods[i]->row.flags & SD_BUS_VTABLE_SENSITIVE);
                                found++;
                        }
        assert_int_equal(found, ELEMENTSOF(secret));
}

/* ---- the deferred-request path ---- */

typedef struct Peer {
        sd_event *event;
        sd_bus *server;
        sd_bus *client;
        sd_bus_slot *object;
        Pool *pool;
        RequestTracker tracker;
        Quota quota;
        unsigned idle_calls;
        /* What the server's handler does with the call. */
        enum { HOLD_REPLY, HOLD_FORGET, HOLD_DELAY, HOLD_REFUSE } mode;
        uint64_t delay_usec;
        uint64_t accuracy_usec;
        unsigned done_ran;
} Peer;

static void peer_on_idle(void *userdata) {
        Peer *p = userdata;

        p->idle_calls++;
}

static void work_nothing(void *job) {
        (void) job;
}

static void done_reply(Request *req, void *job) {
        Peer *p = job;

        p->done_ran++;
        assert_true(request_reply_return(req, "s", "done") >= 0);
}

static void done_forget(Request *req, void *job) {
        Peer *p = job;

        /* Replies nothing: the module must answer Internal for it. */
        p->done_ran++;
}

static int peer_method(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(request_freep) Request *req = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Peer *p = userdata;

        assert_int_equal(request_new(&p->tracker, msg, p, NULL, &req), 0);
        if (p->mode == HOLD_REFUSE) {
                /* The quota has room for one: the second is refused. */
                assert_int_equal(request_admit(req, &p->quota, 42, false), 0);
                return sd_bus_reply_method_return(msg, "s", "admitted");
        }
        if (p->mode == HOLD_DELAY) {
                assert_true(sd_bus_message_new_method_return(msg, &reply) >= 0);
                assert_true(sd_bus_message_append(reply, "s", "late") >= 0);
                assert_int_equal(request_reply_at(req, reply, now_usec() + p->delay_usec), 0);
                /* An explicit small accuracy: ForgotPassword's 150 ms must
                 * not become 400 through sd-event's default coalescing. */
                assert_int_equal(request_timer_accuracy(req, &p->accuracy_usec), 0);
                TAKE_PTR(req);
                return 1;
        }
        assert_int_equal(request_admit(req, &p->quota, 42, false), 0);
        assert_int_equal(request_run(req, p->pool, work_nothing,
                                     p->mode == HOLD_REPLY ? done_reply : done_forget), 0);
        TAKE_PTR(req);
        return 1;
}

static const sd_bus_vtable peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hold", "", "s", peer_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int peer_setup(void **state) {
        Peer *p = calloc(1, sizeof *p);
        sd_id128_t id;
        int fds[2];

        assert_non_null(p);
        assert_int_equal(sd_event_new(&p->event), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&p->server), 0);
        assert_int_equal(sd_bus_set_fd(p->server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(p->server, 1, id), 0);
        assert_int_equal(sd_bus_new(&p->client), 0);
        assert_int_equal(sd_bus_set_fd(p->client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_start(p->server), 0);
        assert_int_equal(sd_bus_start(p->client), 0);
        assert_int_equal(sd_bus_attach_event(p->server, p->event, 0), 0);
        assert_int_equal(sd_bus_attach_event(p->client, p->event, 0), 0);
        assert_int_equal(sd_bus_add_object_vtable(p->server, &p->object, "/t", "org.test.T", peer_vtable, p), 0);
        assert_int_equal(pool_new(p->event, "test", 1, 4, &p->pool), 0);
        p->tracker = (RequestTracker) { .event = p->event, .idle = peer_on_idle, .idle_userdata = p };
        quota_init(&p->quota, 1, 1);
        *state = p;
        return 0;
}

static int peer_teardown(void **state) {
        Peer *p = *state;

        pool_free(p->pool);
        sd_bus_slot_unref(p->object);
        sd_bus_flush_close_unref(p->client);
        sd_bus_flush_close_unref(p->server);
        sd_event_unref(p->event);
        free(p);
        return 0;
}

typedef struct Answer {
        bool arrived;
        char text[64];
        char error[256];
} Answer;

static int on_answer(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Answer *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *s = NULL;

        a->arrived = true;
        if (e)
                snprintf(a->error, sizeof a->error, "%s", e->name);
        else if (sd_bus_message_read(m, "s", &s) >= 0)
                snprintf(a->text, sizeof a->text, "%s", s);
        return 0;
}

/* Calls Hold and runs the loop until the answer is in. */
static void peer_call(Peer *p, Answer *a) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;

        *a = (Answer) {};
        assert_int_equal(sd_bus_call_method_async(p->client, &slot, NULL, "/t", "org.test.T", "Hold",
                                                  on_answer, a, ""), 1);
        for (unsigned i = 0; i < LOOP_ROUNDS && !a->arrived; i++)
                assert_true(sd_event_run(p->event, LOOP_WAIT_USEC) >= 0);
        assert_true(a->arrived);
}

static void test_request_pool_reply(void **state) {
        Peer *p = *state;
        Answer a;

        p->mode = HOLD_REPLY;
        peer_call(p, &a);
        assert_string_equal(a.text, "done");
        assert_int_equal(p->done_ran, 1);
        assert_int_equal(p->tracker.alive, 0);
        assert_int_equal(p->idle_calls, 1);
        /* The ticket went back with the request. */
        assert_int_equal(p->quota.used, 0);
}

static void test_request_unanswered_gets_internal(void **state) {
        Peer *p = *state;
        Answer a;

        p->mode = HOLD_FORGET;
        peer_call(p, &a);
        assert_int_equal(p->done_ran, 1);
        assert_string_equal(a.error, sauth_status_error_name(SAUTH_E_INTERNAL));
        assert_int_equal(p->tracker.alive, 0);
        assert_int_equal(p->quota.used, 0);
}

static void test_request_reply_at(void **state) {
        Peer *p = *state;
        uint64_t start;
        Answer a;

        p->mode = HOLD_DELAY;
        p->delay_usec = 150 * 1000;
        start = now_usec();
        peer_call(p, &a);
        assert_string_equal(a.text, "late");
        /* Not before its time. (How late it may be is the benchmark's.) */
        assert_true(now_usec() - start >= p->delay_usec);
        assert_true(p->accuracy_usec > 0 && p->accuracy_usec <= 1000);
        assert_int_equal(p->tracker.alive, 0);
}

static void test_request_admission_released(void **state) {
        Peer *p = *state;
        _cleanup_(request_freep) Request *held = NULL;
        Answer a;

        /* A request that holds the only unit: another one for the same
         * key is refused until it ends. */
        assert_int_equal(request_new(&p->tracker, NULL, NULL, NULL, &held), 0);
        assert_int_equal(request_admit(held, &p->quota, 42, false), 0);
        assert_int_equal(p->quota.used, 1);
        {
                _cleanup_(request_freep) Request *second = NULL;

                assert_int_equal(request_new(&p->tracker, NULL, NULL, NULL, &second), 0);
                assert_int_equal(request_admit(second, &p->quota, 42, false), -EBUSY);
                /* Exempt callers (admins) are never held back. */
                assert_int_equal(request_admit(second, &p->quota, 42, true), 0);
        }
        held = request_free(held);
        assert_int_equal(p->quota.used, 0);

        p->mode = HOLD_REFUSE;
        peer_call(p, &a);
        assert_string_equal(a.text, "admitted");
        assert_int_equal(p->quota.used, 0);
        assert_int_equal(p->tracker.alive, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_row_documented),
                cmocka_unit_test(test_secret_rows_sensitive),
                cmocka_unit_test_setup_teardown(test_request_pool_reply, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_request_unanswered_gets_internal, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_request_reply_at, peer_setup, peer_teardown),
                cmocka_unit_test_setup_teardown(test_request_admission_released, peer_setup, peer_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
