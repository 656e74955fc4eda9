/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "caller.h"
#include "config.h"
#include "http.h"
#include "login.h"
#include "sauth-errors.h"
#include "store.h"
#include "tokens.h"

/*
 * OAuth 2.0 / OpenID Connect logins, without sd-bus: providers found by
 * discovery (cached with their HTTP lifetime, as is each JWKS), the device
 * flow of RFC 8628 and the authorization code flow with PKCE (S256), the
 * ID token checked (idtoken.c), and the identity mapped to an account.
 * All HTTP goes through http.c on the loop; a finished operation calls its
 * done callback on the loop, exactly once.
 *
 * Device flows and code-flow states live in memory, bounded in number per
 * caller uid and in all, and expire; a restart forgets them (the user
 * starts again).
 */

#define OAUTH_FLOWS_PER_UID 4
#define OAUTH_FLOWS_MAX 256
#define OAUTH_STATES_PER_UID 16
#define OAUTH_STATES_MAX 1024
#define OAUTH_STATE_LIFETIME_SEC 600
#define OAUTH_SLOW_DOWN_SEC 5           /* RFC 8628 3.5 */
#define OAUTH_CACHE_DEFAULT_SEC 3600    /* discovery and JWKS without max-age */
#define OAUTH_CACHE_MIN_SEC 60
#define OAUTH_CACHE_MAX_SEC 86400

typedef struct OAuth OAuth;
typedef struct Manager Manager;

typedef struct OAuthResult {
        SauthStatus status;
        const char *message;            /* for the caller; never a secret */
        /* DeviceLoginStart */
        const char *handle;
        const char *user_code;
        const char *verification_uri;
        const char *verification_uri_complete;
        unsigned expires_in;
        unsigned interval;
        /* AccountLogin with a provider */
        const char *location;
        const char *state;
        /* DeviceLoginPoll: still pending (interval is the current one) */
        bool pending;
        /* A login: the account (the callee may take it, TAKE_PTR) */
        StoreAccount *account;
        const char *method;             /* the provider's name */
        const LoginContext *context;
} OAuthResult;

typedef void (*oauth_done_fn)(OAuthResult *res, void *userdata);

int oauth_new(Manager *m, OAuth **ret);
OAuth *oauth_free(OAuth *o);

/* Whether method names a configured provider. */
bool oauth_has_provider(OAuth *o, const char *method);

/* DeviceLoginStart. done may run before this returns. */
int oauth_device_start(OAuth *o, const char *method, const char *username, const Caller *caller,
                       oauth_done_fn done, void *userdata);
/* DeviceLoginPoll: pending without a request before the interval. */
int oauth_device_poll(OAuth *o, const char *handle, const Caller *caller, oauth_done_fn done, void *userdata);
/* AccountLogin with a provider: the authorization URL and its state. */
int oauth_code_start(OAuth *o, const char *method, const char *username, const Caller *caller,
                     const LoginContext *context, oauth_done_fn done, void *userdata);
/* OAuthCallback: the code exchanged, the identity mapped. */
int oauth_code_callback(OAuth *o, const char *method, const char *code, const char *state, const Caller *caller,
                        oauth_done_fn done, void *userdata);

/* What `Methods` tells of a provider. The flows are the configured ones
 * (code needs a redirect_uri) and, once sauthd has fetched the discovery
 * document (discovered), only those it advertises. */
typedef struct OAuthProviderInfo {
        const char *name;
        const char *issuer;
        bool confidential;              /* has a client secret */
        bool device, code;
        bool discovered;
} OAuthProviderInfo;

size_t oauth_provider_count(const OAuth *o);
void oauth_provider_info(const OAuth *o, size_t i, OAuthProviderInfo *ret);

/* Device flows and states open (tests). */
unsigned oauth_flows_open(const OAuth *o);
