/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <zxcvbn.h>

/*
 * libzxcvbn, mapped only while a password is being judged. Its
 * dictionaries are 1.4 MiB of .rodata: clean file pages (nothing in them
 * is relocated), but resident in sauthd once touched, and no other process
 * on a host maps the library, so they counted in full in an idle daemon's
 * RSS and USS after a single CheckPassword. Unloaded when the last check
 * in flight ends, the pages go back to the page cache; loading again costs
 * a dlopen and the page faults of the pages a check reads (tens of
 * microseconds against the milliseconds of the estimate itself), and
 * CheckPassword is rate limited anyway.
 *
 * zxcvbn_loader_acquire() before the sym_ calls, zxcvbn_loader_release()
 * after the last one (ZxcvbnFreeInfo included); any thread.
 */

extern typeof(ZxcvbnMatch) *sym_ZxcvbnMatch;
extern typeof(ZxcvbnFreeInfo) *sym_ZxcvbnFreeInfo;

/* 0, or -EOPNOTSUPP (not installed or a symbol missing: logged). */
int zxcvbn_loader_acquire(void);
void zxcvbn_loader_release(void);

/* Whether libzxcvbn is mapped now (for the tests). */
bool zxcvbn_loader_loaded(void);
