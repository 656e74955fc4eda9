/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-method.h"
#include "request.h"
#include "store.h"

extern const BusMethod login_bus_methods[];

/* Sends the reply of a successful login (local now, OAuth later). */
int login_bus_reply(Request *req, Manager *m, const StoreAccount *a, const char *method);
