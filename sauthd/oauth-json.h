/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * What OAuth 2.0 / OpenID Connect providers send, read with jansson. Pure
 * functions: text in, a struct out, -EBADMSG for anything malformed
 * (wrong types, missing required members, strings too long or holding
 * control characters), so that they can be fuzzed on their own. Bodies are
 * at most HTTP_BODY_MAX already; each string is bounded again here.
 */

#define OAUTH_STRING_MAX 4096           /* URLs, codes, claims */
#define OAUTH_TOKEN_MAX  (64 * 1024)    /* access and ID tokens */
#define OAUTH_INTERVAL_DEFAULT 5U       /* RFC 8628 3.2: when the server gives none */
#define OAUTH_INTERVAL_MAX 300U
#define OAUTH_EXPIRES_MAX 3600U         /* a device code's life we accept at most */

typedef struct OAuthDiscovery {
        char *issuer;
        char *authorization_endpoint;
        char *token_endpoint;
        char *device_authorization_endpoint;    /* NULL if the provider has none */
        char *userinfo_endpoint;                /* NULL if none */
        char *jwks_uri;                         /* NULL if none */
} OAuthDiscovery;

typedef struct OAuthDeviceAuth {
        char *device_code;                      /* secret */
        char *user_code;
        char *verification_uri;
        char *verification_uri_complete;        /* NULL if none */
        unsigned expires_in;
        unsigned interval;
} OAuthDeviceAuth;

typedef struct OAuthTokens {
        char *access_token;                     /* secret */
        char *id_token;                         /* NULL if none */
        char *token_type;
} OAuthTokens;

/* RFC 6749 5.2 and RFC 8628 3.5 error codes. */
typedef enum OAuthError {
        OAUTH_ERROR_OTHER,
        OAUTH_ERROR_AUTHORIZATION_PENDING,
        OAUTH_ERROR_SLOW_DOWN,
        OAUTH_ERROR_ACCESS_DENIED,
        OAUTH_ERROR_EXPIRED_TOKEN,
        OAUTH_ERROR_INVALID_GRANT,
        OAUTH_ERROR_INVALID_CLIENT,
} OAuthError;

typedef struct OAuthClaims {
        char *sub;
        char *email;                            /* NULL if none */
        bool email_verified;
        char *preferred_username;               /* NULL if none */
        char *name;                             /* NULL if none */
} OAuthClaims;

void oauth_discovery_done(OAuthDiscovery *d);
void oauth_device_auth_done(OAuthDeviceAuth *d);
void oauth_tokens_done(OAuthTokens *t);
void oauth_claims_done(OAuthClaims *c);

int oauth_parse_discovery(const char *text, size_t len, OAuthDiscovery *ret);
int oauth_parse_device_auth(const char *text, size_t len, OAuthDeviceAuth *ret);
int oauth_parse_tokens(const char *text, size_t len, OAuthTokens *ret);
/* An error response: its "error" member. -EBADMSG if there is none. */
int oauth_parse_error(const char *text, size_t len, OAuthError *ret);
/* Userinfo, or the claims of an ID token's payload (both JSON objects). */
int oauth_parse_claims(const char *text, size_t len, OAuthClaims *ret);
