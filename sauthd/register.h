/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "manager.h"
#include "store.h"

/* Mails template_name to the account's identity (queued on the mail
 * pool), with a token and its expiry when given (NULL, 0 for a notice).
 * Failures are logged, never shown to the caller. */
int account_mail(Manager *m, const char *template_name, const StoreAccount *a,
                 const char *token_text, int64_t expires);
