/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-method.h"

/* GetRoles, SetMembership, UpdateAuth. */
extern const BusMethod roles_bus_methods[];
