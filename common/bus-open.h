/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* A bus connection: the system bus when address is NULL, else the bus at
 * address (a private one in tests and the demo). sauthd and sauthctl use
 * it; the PAM module has its own, which never looks at the environment and
 * bounds every step by its timeout=. */
int sauth_bus_open(const char *address, sd_bus **ret);
