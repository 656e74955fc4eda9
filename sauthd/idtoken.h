/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "oauth-json.h"

/*
 * OpenID Connect ID tokens (OIDC Core 3.1.3.7): the JWS signature checked
 * with a key of the provider's JWKS — RS256 and ES256 through libcrypto,
 * EdDSA (Ed25519) through libsodium; "none" and HMAC are refused — then
 * iss, aud (and azp when aud has several), exp and nonce. Pure: the JWKS
 * comes in as text, so that the caller decides how it is fetched and
 * cached.
 */

#define IDTOKEN_LEEWAY_SEC 60   /* clock skew allowed on exp and iat */

typedef struct IdTokenCheck {
        const char *issuer;
        const char *client_id;
        const char *nonce;      /* NULL: none was sent (device flow) */
        int64_t now;            /* UNIX time */
} IdTokenCheck;

/* 0 and the claims; -EBADMSG malformed, -ENOKEY no key of the JWKS fits
 * (refetch the JWKS once), -EKEYREJECTED signature or claims refused. */
int idtoken_verify(const char *token, const char *jwks, size_t jwks_len, const IdTokenCheck *chk,
                   OAuthClaims *ret);
