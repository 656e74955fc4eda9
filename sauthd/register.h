/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "manager.h"
#include "store.h"

/* "2026-11-29 14:00 UTC" for mails. */
void format_expiry(int64_t when, char out[static 64]);

/* Mails a token to the account's identity with template_name (queued on
 * the mail pool). Failures are logged, never shown to the caller. */
int register_mail_token(Manager *m, const char *template_name, const char *token_text,
                        const StoreAccount *a, int64_t expires);
