/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "caller.h"
#include "manager.h"
#include "outbox.h"
#include "sauth-errors.h"
#include "store.h"

/*
 * Accounts: registration (person, contact, account and a confirmation
 * token in one transaction), accounts for existing people, status and the
 * admin setters. Nothing here knows sd-bus (account-bus.c does).
 */

typedef struct RegisterArgs {
        const char *identity;
        const char *username;
        const char *name;
        const char *template_name;      /* "" = confirm_new */
        const char *picture;
} RegisterArgs;

/* Register: SAUTH_OK and the new ids, or the refusal (*ret_message is a
 * static text for InvalidArgument, AccessDenied and AlreadyRegistered). */
SauthStatus account_register(Manager *m, const Caller *caller, const RegisterArgs *args,
                             StoreIds *ret, const char **ret_message);

typedef struct ExternalRegistration {
        const char *identity;           /* normalised; the provider verified it */
        const char *name;               /* the provider's display name, or NULL */
        const char *method;             /* the provider, for logs and the audit */
        bool confirmed;                 /* auto: confirmed, nothing mailed; open: confirm_new mailed */
} ExternalRegistration;

/* [login] external = auto | open, for a verified identity nobody has: a
 * person, contact and account (no password) under apicrud's generated user
 * name, within Register's rate limits. auto: SAUTH_OK and *ret the new
 * account, its contact confirmed. open: SAUTH_OK and *ret NULL, the
 * confirmation mailed. Refusals: RateLimited, AlreadyRegistered (the
 * identity is someone's registration already), Internal; *ret_reason a
 * static word for the audit. */
SauthStatus account_register_external(Manager *m, const Caller *caller, const ExternalRegistration *x,
                                      StoreAccount **ret, const char **ret_reason);

/* AccountAdd: a new account for an existing person, mailed a confirmation
 * token. SAUTH_OK and the account's id. */
SauthStatus account_add(Manager *m, const Caller *caller, const char *username, const char *uid,
                        char **ret_account_id, const char **ret_message);

typedef enum AccountChange {
        ACCOUNT_SET_STATUS,             /* value: SAUTH_STATUS_ACTIVE or _DISABLED */
        ACCOUNT_SET_ADMIN,              /* value: "yes" / "no" */
        ACCOUNT_EXPIRE_PASSWORD,
} AccountChange;

/* UnlockAccount: lockout_unlock() of the account, audited. -ENOENT no such
 * account, -EINVAL a bad name. */
int account_unlock(Manager *m, const Caller *caller, const char *username);

/* The admin setters. -ENOENT no such account, -EINVAL a bad value. */
int account_change(Manager *m, const Caller *caller, const char *username, AccountChange what,
                   const char *value);

/* Renders and seals template_name for the account's identity, with a
 * token and its expiry when given (NULL, 0 for a notice, which expires in
 * a day), ready for the outbox: the caller writes it in the transaction
 * of the token (or change) and then calls outbox_kick(). Writes nothing. */
int account_mail_prepare(Manager *m, const char *template_name, const StoreAccount *a,
                         const char *token_text, int64_t now, int64_t expires, OutboxMail *ret);
