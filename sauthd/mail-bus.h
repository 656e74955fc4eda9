/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-method.h"

extern const BusMethod mail_bus_methods[];
