/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-method.h"
#include "login.h"

extern const BusMethod oauth_bus_methods[];

/* AccountLogin with a provider's name as method: replies location and
 * state (login-bus.c hands such calls over). */
int oauth_bus_account_login(sd_bus_message *msg, Manager *m, const Caller *caller, const char *method,
                            const char *username,
                            const LoginContext *context, sd_bus_error *error);
