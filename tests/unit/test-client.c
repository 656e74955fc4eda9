/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * common/'s client library: the typed a{sv} reader over real messages
 * (sent across a peer-to-peer sd-bus connection on a socketpair, so that
 * sd-bus seals and parses them as it does a reply), and strict numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "client-bus.h"
#include "dict.h"
#include "parse-util.h"
#include "sauth-errors.h"
#include "util.h"

typedef struct Pair {
        sd_bus *server;
        sd_bus *client;
} Pair;

static int pair_setup(void **state) {
        Pair *p = calloc(1, sizeof *p);
        sd_id128_t id;
        int fds[2];

        assert_non_null(p);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&p->server), 0);
        assert_int_equal(sd_bus_set_fd(p->server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(p->server, 1, id), 0);
        assert_int_equal(sd_bus_new(&p->client), 0);
        assert_int_equal(sd_bus_set_fd(p->client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_start(p->server), 0);
        assert_int_equal(sd_bus_start(p->client), 0);
        *state = p;
        return 0;
}

static int pair_teardown(void **state) {
        Pair *p = *state;

        sd_bus_close_unref(p->client);
        sd_bus_close_unref(p->server);
        free(p);
        return 0;
}

/* A signal from the client, as the server received it: sealed, at its
 * first argument. */
static sd_bus_message *pair_receive(Pair *p, sd_bus_message *m) {
        sd_bus_message *got = NULL;

        assert_true(sd_bus_send(p->client, m, NULL) >= 0);
        for (int i = 0; i < 1000 && !got; i++) {
                int r;

                (void) sd_bus_process(p->client, NULL);
                r = sd_bus_process(p->server, &got);
                assert_true(r >= 0);
                if (r == 0)
                        assert_true(sd_bus_wait(p->server, 100000) >= 0);
        }
        assert_non_null(got);
        return got;
}

static sd_bus_message *new_signal(Pair *p) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_signal(p->client, &m, "/test", "org.test", "Dict"), 0);
        return m;
}

/* Every basic type the reader knows, an unknown key of a container type
 * in the middle, and an argument after the dictionary. */
static void test_dict_read_types(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_signal(p), *got = NULL;
        const char *s = NULL, *o = NULL;
        int b = 0;
        uint32_t u = 0;
        uint64_t t = 0;
        int32_t i = 0;
        double d = 0;
        const char *after = NULL;
        const DictField fields[] = {
                { "s", 's', &s }, { "o", 'o', &o }, { "b", 'b', &b }, { "u", 'u', &u },
                { "t", 't', &t }, { "i", 'i', &i }, { "d", 'd', &d },
        };

        assert_true(sd_bus_message_append(m, "a{sv}s", 9,
                                          "s", "s", "hello",
                                          "o", "o", "/a/b",
                                          "extra", "as", 2, "x", "y",
                                          "b", "b", 1,
                                          "u", "u", (uint32_t) 42,
                                          "t", "t", UINT64_MAX,
                                          "i", "i", (int32_t) -7,
                                          "d", "d", 2.5,
                                          "nested", "a{sv}", 1, "s", "s", "ignored",
                                          "tail") >= 0);
        got = pair_receive(p, m);
        assert_int_equal(dict_read(got, fields, ELEMENTSOF(fields)), 0);
        assert_string_equal(s, "hello");
        assert_string_equal(o, "/a/b");
        assert_int_equal(b, 1);
        assert_int_equal(u, 42);
        assert_true(t == UINT64_MAX);
        assert_int_equal(i, -7);
        assert_true(d == 2.5);
        /* The position is after the dictionary. */
        assert_int_equal(sd_bus_message_read(got, "s", &after), 1);
        assert_string_equal(after, "tail");
}

/* Absent keys keep their defaults; an empty dictionary is fine. */
static void test_dict_read_absent(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_signal(p), *got = NULL;
        const char *s = "default";
        int b = 1;
        const DictField fields[] = { { "s", 's', &s }, { "b", 'b', &b } };

        assert_true(sd_bus_message_append(m, "a{sv}", 1, "other", "u", (uint32_t) 1) >= 0);
        got = pair_receive(p, m);
        assert_int_equal(dict_read(got, fields, ELEMENTSOF(fields)), 0);
        assert_string_equal(s, "default");
        assert_int_equal(b, 1);
}

/* A wanted key of another type is an error, not a skip: a reply that is
 * not the contract's fails closed. */
static void test_dict_read_wrong_type(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_signal(p), *got = NULL;
        int exists = 0;
        const DictField fields[] = { { "exists", 'b', &exists } };

        assert_true(sd_bus_message_append(m, "a{sv}", 1, "exists", "s", "yes") >= 0);
        got = pair_receive(p, m);
        assert_int_equal(dict_read(got, fields, ELEMENTSOF(fields)), -EBADMSG);
        assert_int_equal(exists, 0);
}

/* u where t is wanted is also another type: no silent widening. */
static void test_dict_read_wrong_width(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_signal(p), *got = NULL;
        uint64_t t = 0;
        const DictField fields[] = { { "expires", 't', &t } };

        assert_true(sd_bus_message_append(m, "a{sv}", 1, "expires", "u", (uint32_t) 5) >= 0);
        got = pair_receive(p, m);
        assert_int_equal(dict_read(got, fields, ELEMENTSOF(fields)), -EBADMSG);
}

/* Not an a{sv} at all; and a table the reader cannot fill. */
static void test_dict_read_not_a_dict(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_signal(p), *got = NULL;
        const char *s = NULL;
        const DictField bad[] = { { "s", 'v', &s } };

        assert_true(sd_bus_message_append(m, "a{ss}", 1, "k", "v") >= 0);
        got = pair_receive(p, m);
        assert_true(dict_read(got, NULL, 0) < 0);
        assert_int_equal(sd_bus_message_rewind(got, true), 1);
        assert_int_equal(dict_read(got, bad, ELEMENTSOF(bad)), -EINVAL);
}

/* n == 0 only checks the shape; a key given twice keeps the last value. */
static void test_dict_read_shape_and_repeat(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_signal(p), *got = NULL;
        const char *s = NULL;
        const DictField fields[] = { { "k", 's', &s } };

        assert_true(sd_bus_message_append(m, "a{sv}", 2, "k", "s", "first", "k", "s", "second") >= 0);
        got = pair_receive(p, m);
        assert_int_equal(dict_read(got, NULL, 0), 0);
        assert_int_equal(sd_bus_message_rewind(got, true), 1);
        assert_int_equal(dict_read(got, fields, ELEMENTSOF(fields)), 0);
        assert_string_equal(s, "second");
}

static void test_parse_uint(void **state) {
        static const struct {
                const char *in;
                int r;
                unsigned v;
        } rows[] = {
                { "0", 0, 0 },
                { "7", 0, 7 },
                { "007", 0, 7 },
                { "4294967295", 0, 4294967295U },
                { "4294967296", -ERANGE, 0 },
                { "99999999999999999999999", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { " 1", -EINVAL, 0 },
                { "1 ", -EINVAL, 0 },
                { "1x", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "1.5", -EINVAL, 0 },
                { "\t2", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                unsigned v = 12345;

                assert_int_equal(parse_uint(rows[i].in, &v), rows[i].r);
                /* Written only on success. */
                assert_int_equal(v, rows[i].r == 0 ? rows[i].v : 12345);
        }
        {
                unsigned v = 1;
                assert_int_equal(parse_uint(NULL, &v), -EINVAL);
        }
}

static void test_parse_uint64(void **state) {
        static const struct {
                const char *in;
                int r;
                uint64_t v;
        } rows[] = {
                { "0", 0, 0 },
                { "4294967296", 0, UINT64_C(4294967296) },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "184467440737095516150", -ERANGE, 0 },
                { "-0", -EINVAL, 0 },
                { "-18446744073709551615", -EINVAL, 0 },
                { "1e3", -EINVAL, 0 },
                { "12\n", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint64_t v = 12345;

                assert_int_equal(parse_uint64(rows[i].in, &v), rows[i].r);
                assert_true(v == (rows[i].r == 0 ? rows[i].v : 12345));
        }
}

/* Addresses sd-bus would skip entry by entry and then answer with
 * ECONNREFUSED ("no bus there") are refused before it sees them. */
static void test_bus_address_valid(void **state) {
        static const char *const good[] = {
                "unix:path=/run/dbus/system_bus_socket",
                "unix:path=/tmp/a%20b",
                "unix:abstract=foo",
                "unix:path=/a;unix:path=/b",
                "tcp:host=127.0.0.1,port=4711",
                "unixexec:path=/usr/bin/ssh,argv1=-xT",
                "x-machine-unix:machine=.host",
                "unix:foo=bar",         /* well-formed; sd-bus says EINVAL */
        };
        static const char *const bad[] = {
                "", "garbage", ";", "unix:path=/a;", ";unix:path=/a",
                "unx:path=/a", "UNIX:path=/a", ":path=/a", "launchd:env=X",
                "unix:path", "unix:=x", "unix:path=/a,", "unix:path=/a,,x=y",
                "unix:Path=/a", "unix:path=%zz", "unix:path=%2", "unix:path=/a%",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(sauth_bus_address_is_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(sauth_bus_address_is_valid(bad[i]));
        assert_false(sauth_bus_address_is_valid(NULL));
}

/* A malformed address is EINVAL (a configuration error), never an errno
 * that sauth_status_from_errno() counts as "unreachable". */
static void test_connect_bad_address(void **state) {
        sd_bus *bus = NULL;

        assert_int_equal(sauth_client_connect("garbage", 1000000, &bus), -EINVAL);
        assert_int_equal(sauth_client_connect("unx:path=/nonexistent", 1000000, &bus), -EINVAL);
        assert_int_equal(sauth_client_connect("unix:foo=bar", 1000000, &bus), -EINVAL);
        assert_null(bus);
        assert_int_not_equal(sauth_status_from_errno(-EINVAL), SAUTH_E_UNREACHABLE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_dict_read_types, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_dict_read_absent, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_dict_read_wrong_type, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_dict_read_wrong_width, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_dict_read_not_a_dict, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_dict_read_shape_and_repeat, pair_setup, pair_teardown),
                cmocka_unit_test(test_parse_uint),
                cmocka_unit_test(test_parse_uint64),
                cmocka_unit_test(test_bus_address_valid),
                cmocka_unit_test(test_connect_bad_address),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
