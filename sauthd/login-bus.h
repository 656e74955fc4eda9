/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-method.h"
#include "login.h"
#include "request.h"
#include "store.h"

extern const BusMethod login_bus_methods[];

/* Issues the session token and sends the reply of a successful login
 * (local now, OAuth later). context may be NULL. */
int login_bus_reply(Request *req, Manager *m, const StoreAccount *a, const char *method,
                    const LoginContext *context);
