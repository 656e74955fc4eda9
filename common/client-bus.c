/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

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

int sauth_client_connect(const char *address, uint64_t timeout_usec, sd_bus **ret) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;      /* no flush: see the header */
        uint64_t deadline = now_usec() + timeout_usec;
        int r;

        if (timeout_usec == 0)
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
