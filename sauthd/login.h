/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "store.h"

/* Builds the reply every successful login sends (local now, OAuth later). */
int login_reply(Manager *m, sd_bus_message *call, const StoreAccount *a, const char *method);
