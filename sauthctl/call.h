/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sauthctl.h"
#include "util.h"

/* Prints "sauthctl: ..." and the hint to try help; returns EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) _printf_(1, 2);

/* Prints that memory ran out; returns EXIT_DENIED. */
int ctl_oom(void);

/* Connects once, on the first call. Returns an exit code. */
int ctl_connect(Ctl *c);

/* A new call of one of sauthd's methods (connecting first). */
int ctl_new_call(Ctl *c, const char *method, sd_bus_message **ret);

/* Sends the call and waits. A failure is printed with the short name from
 * the common table; returns an exit code (3 when sauthd is unreachable). */
int ctl_call(Ctl *c, sd_bus_message *m, sd_bus_message **ret_reply);

/* The caller's own Unix user name: the account "self" stands for. */
int ctl_own_username(const char **ret);

/* The uid (the person's id in the store, not a Unix uid) of an account,
 * from its status; *ret to be freed. Returns an exit code. */
int ctl_lookup_uid(Ctl *c, const char *user, char **ret);

/* AccountStatus(user). */
int ctl_status_reply(Ctl *c, const char *user, sd_bus_message **ret);


/* Calls a method that takes no arguments; its reply in *ret_reply. */
int ctl_call_noargs(Ctl *c, const char *method, sd_bus_message **ret_reply);

/* Calls a method that returns nothing, with arguments of the given types. */
int ctl_simple_call(Ctl *c, const char *method, const char *types, ...);
