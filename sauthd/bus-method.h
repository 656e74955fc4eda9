/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-util.h"

/*
 * One row of the bus object: the sd-bus vtable entry and who may call it.
 * Every area's *-bus.c has a table of these (ending with an empty row);
 * manager-bus.c assembles them into the object's vtable and runs every call
 * through one dispatcher, which identifies the caller, checks the row's
 * access first, and only then runs the handler.
 */

typedef struct Manager Manager;

typedef enum BusAccess {
        BUS_ANYONE,             /* anyone; the handler may still limit rates */
        BUS_SELF,               /* admin, or the user named by the first argument */
        BUS_SELF_UID,           /* admin, or the person (uid) named by the first argument */
        BUS_SELF_APIKEY,        /* admin, or the owner of the API key (id) named by the first argument */
        BUS_ADMIN,              /* root and members of [daemon] admin_group */
        BUS_REGISTER,           /* admin; anyone when [login] register = open */
        _BUS_ACCESS_MAX,
} BusAccess;

typedef int (*bus_method_fn)(sd_bus_message *msg, Manager *m, const Caller *caller, sd_bus_error *error);

typedef struct BusMethod {
        sd_bus_vtable row;
        BusAccess access;
        bus_method_fn handler;
        /* Never calls the store (answers from memory): stays on the loop
         * when the store is remote. Every other row then runs on a store
         * worker (store-work.h). */
        bool from_memory;
} BusMethod;

/* Argument lists as SD_BUS_ARGS() takes them, in parentheses, so that they
 * pass through BUS_METHOD() as one macro argument each. */
#define BUS_ARGS(...) (__VA_ARGS__)
#define BUS_RESULT(...) (__VA_ARGS__)
#define BUS_NO_ARGS (NULL)
#define BUS_NO_RESULT (NULL)

/* sd-bus's own capability check is off for every row: the table's access
 * is what decides. */
#define BUS_METHOD_ROW(member, args, result, fn, who, flags, memory)                    \
        {                                                                               \
                .row = SD_BUS_METHOD_WITH_ARGS(member, SD_BUS_ARGS args, SD_BUS_RESULT result, \
                                               bus_method_dispatch,                     \
                                               (flags) | SD_BUS_VTABLE_UNPRIVILEGED),   \
                .access = (who),                                                        \
                .handler = (fn),                                                        \
                .from_memory = (memory),                                                \
        }
#define BUS_METHOD(member, args, result, fn, who, flags)                                \
        BUS_METHOD_ROW(member, args, result, fn, who, flags, false)
/* A row whose handler never calls the store, however deep. */
#define BUS_METHOD_FROM_MEMORY(member, args, result, fn, who, flags)                    \
        BUS_METHOD_ROW(member, args, result, fn, who, flags, true)
#define BUS_METHOD_END { .handler = NULL }

/* The vtable handler of every row (manager-bus.c). */
int bus_method_dispatch(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* The words docs/dbus-api.md uses for an access level ("anyone", "admin"...). */
const char *bus_access_to_string(BusAccess a);
