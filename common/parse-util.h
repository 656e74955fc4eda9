/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/*
 * Strict decimal numbers for arguments and config values. strtoul() alone
 * would take leading blanks, a sign, and "-1" as ULONG_MAX; here only
 * digits are a number: no sign, no spaces, nothing after the last digit.
 * Returns 0, -EINVAL for anything that is not a number, -ERANGE for one
 * that does not fit. *ret is written only on success. Bounds beyond the
 * type's are the caller's.
 */
int parse_uint(const char *s, unsigned *ret);
int parse_uint64(const char *s, uint64_t *ret);
