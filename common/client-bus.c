/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "client-bus.h"
#include "sauth-names.h"
#include "util.h"

/* sd_bus_start() only begins the connection; authentication and Hello
 * would be finished by the first call under sd-bus's own, longer timeouts.
 * Finish them here, within ours. */
static int client_wait_ready(sd_bus *bus, uint64_t deadline) {
        for (;;) {
                uint64_t n;
                int r;

                r = sd_bus_is_ready(bus);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                n = now_usec();
                if (n >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - n);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

/* The transports sd-bus can connect through. */
static bool address_transport_known(const char *t, size_t n) {
        static const char *const transports[] = { "unix", "tcp", "unixexec", "x-machine-unix" };

        for (size_t i = 0; i < ELEMENTSOF(transports); i++)
                if (strlen(transports[i]) == n && strncmp(transports[i], t, n) == 0)
                        return true;
        return false;
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One "key=value" of an address entry, ending at e: a key of a-z, 0-9 and
 * '-' (argv1=), starting with a letter;
 * a value in which '%' starts a two-digit hex escape. */
static bool address_pair_valid(const char *p, const char *e) {
        const char *eq = memchr(p, '=', e - p);

        if (!eq || eq == p)
                return false;
        if (!(*p >= 'a' && *p <= 'z'))
                return false;
        for (const char *k = p; k < eq; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-'))
                        return false;
        for (const char *v = eq + 1; v < e; v++)
                if (*v == '%') {
                        if (e - v < 3 || !is_hex(v[1]) || !is_hex(v[2]))
                                return false;
                        v += 2;
                }
        return true;
}

/* One entry between semicolons: "transport:key=value,key=value". */
static bool address_entry_valid(const char *p, const char *e) {
        const char *colon = memchr(p, ':', e - p);

        if (!colon || !address_transport_known(p, colon - p))
                return false;
        for (p = colon + 1; p < e;) {
                const char *comma = memchr(p, ',', e - p) ?: e;

                if (!address_pair_valid(p, comma))
                        return false;
                p = comma < e ? comma + 1 : e;
                if (p == e && comma < e)
                        return false;       /* a trailing comma */
        }
        return true;
}

bool sauth_bus_address_is_valid(const char *address) {
        const char *p = address;

        if (!p || *p == '\0' || strlen(p) > SAUTH_BUS_ADDRESS_MAX)
                return false;
        for (;;) {
                const char *e = strchrnul(p, ';');

                if (!address_entry_valid(p, e))
                        return false;
                if (*e == '\0')
                        return true;
                p = e + 1;
        }
}

int sauth_client_connect(const char *address, uint64_t timeout_usec, sd_bus **ret) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;      /* no flush: see the header */
        uint64_t deadline = now_usec() + timeout_usec;
        int r;

        if (timeout_usec == 0)
                return -EINVAL;
        /* sd-bus skips an entry of a transport it does not know and then
         * answers ECONNREFUSED, which would read as "no bus there". */
        if (address && !sauth_bus_address_is_valid(address))
                return -EINVAL;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address ? address : SAUTH_SYSTEM_BUS_ADDRESS);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, 1);
        if (r < 0)
                return r;
        r = sd_bus_set_method_call_timeout(bus, timeout_usec);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = client_wait_ready(bus, deadline);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(bus);
        return 0;
}
