/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-method.h"
#include "request.h"

/* Every method of the object, from all areas, in vtable order. The array
 * ends with a row whose handler is NULL. For tests and the vtable. */
int manager_bus_methods(const BusMethod ***ret, size_t *ret_n);

/* Registers the object and takes the bus name. */
int manager_bus_install(Manager *m);

/* Admits a hash job for the caller (admins are never held back by others'
 * quota) and queues it on the hash pool: 1, or LimitExceeded when the
 * caller or the pool is at its cap (the caller keeps req then). */
int manager_bus_run_hash(Manager *m, Request *req, const Caller *caller,
                         request_work_fn work, request_done_fn done, sd_bus_error *error);
