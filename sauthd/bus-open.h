/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* sauthd's bus connection: the system bus when address is NULL, else the
 * bus at address (a private one in tests and the demo). Clients use
 * common/'s sauth_client_connect(), which bounds every step by a deadline. */
int sauth_bus_open(const char *address, sd_bus **ret);
