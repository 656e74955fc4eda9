/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/*
 * A client's connection to sauthd's bus, bound by one deadline: connecting,
 * authenticating and Hello all finish within timeout_usec, and every method
 * call on the connection defaults to that timeout too. address NULL is the
 * system bus at its well-known socket; the environment is never read, so a
 * password check cannot be redirected by DBUS_SYSTEM_BUS_ADDRESS (a program
 * that wants the variable passes it in).
 *
 * Close the connection with sd_bus_close_unref() when everything sent was a
 * synchronous call: sd_bus_flush() would finish the authentication under
 * sd-bus's own 90 s timeout, not ours.
 *
 * Returns 0, or a negative errno for sauth_status_from_errno(): -ETIMEDOUT
 * when the deadline passed, -EINVAL for an address that
 * sauth_bus_address_is_valid() refuses (a configuration error, never
 * "unreachable").
 */
int sauth_client_connect(const char *address, uint64_t timeout_usec, sd_bus **ret);

/* Longer than any socket path (108 bytes) with its escapes and options. */
#define SAUTH_BUS_ADDRESS_MAX 4096

/* Whether a D-Bus address is one sd-bus can use: entries separated by ';',
 * each "transport:key=value,…" with a transport sd-bus knows (unix, tcp,
 * unixexec, x-machine-unix), keys of a-z, 0-9 and '-', '%' escapes of two hex
 * digits. sd-bus itself skips an unknown transport, an empty entry or
 * text without a transport, and then reports ECONNREFUSED, which reads as
 * "no daemon there": a typo in bus= must instead be a configuration error.
 * The keys each transport takes are left to sd-bus (EINVAL). */
bool sauth_bus_address_is_valid(const char *address);
