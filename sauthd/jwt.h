/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "sauth-names.h"
#include "util.h"

/*
 * Session tokens: compact JWS (RFC 7515) signed with Ed25519, "alg"
 * "EdDSA" (RFC 8037), header {"alg":"EdDSA","typ":"JWT","kid":KID}.
 * Claims: iss sub acc jti iat exp auth method identity.
 *
 * Verification is strict: at most JWT_MAX bytes, three base64url segments
 * (canonical, no padding), a header with "alg" EdDSA, a "kid" of a key that
 * verifies at the time, an optional "typ" of "JWT" and nothing else; the
 * signature is checked before the payload is parsed; the payload is one
 * JSON object (no duplicate keys) with every claim of its type. Claims we do
 * not issue are ignored.
 */

#define JWT_MAX SAUTH_SESSION_TOKEN_MAX   /* common/sauth-names.h: sauthctl reads up to it */
/* Bounds on the roles a token carries, so a token always fits JWT_MAX. */
#define JWT_ROLES_MAX 128
#define JWT_STRING_MAX 256
/* base64url of 16 random bytes. */
#define JWT_JTI_LEN 22

typedef struct JwtClaims {
        char *iss;              /* issuer, [tokens] issuer */
        char *sub;              /* the account's uid */
        char *acc;              /* the account id */
        char *jti;              /* token id, for revocation */
        uint64_t iat;           /* issued at, UNIX seconds */
        uint64_t exp;           /* expires at, UNIX seconds */
        char **auth;            /* roles, NULL-terminated; never NULL after jwt_verify() */
        char *method;           /* how the session logged in: "local", a provider name */
        char *identity;         /* the identity (email) it logged in with; NULL if none */
} JwtClaims;

/* Frees the claims' strings and clears them. */
void jwt_claims_done(JwtClaims *c);

/* A new random jti (JWT_JTI_LEN characters). */
void jwt_new_jti(char out[static JWT_JTI_LEN + 1]);

/* Signs the claims with key. All strings but identity are required and
 * non-empty, each at most JWT_STRING_MAX bytes; at most JWT_ROLES_MAX roles;
 * exp > iat. -EINVAL for claims that break that, -E2BIG if the token would
 * exceed JWT_MAX (too many or too long roles), -ENOKEY for a verify-only
 * key. *ret is the token, free() it. */
_must_check_ int jwt_sign(const JwtClaims *c, const SigningKey *key, char **ret);

/* Verifies token against the keys of ring that verify at now and the issuer.
 * On success fills *ret (release with jwt_claims_done()) and returns 0;
 * otherwise *ret is untouched and the result is:
 *   -EBADMSG       malformed: length, segments, base64url, JSON, claim
 *                  types, alg other than EdDSA (also "none"), unknown header
 *                  fields or "crit"
 *   -ENOKEY        kid unknown, or its key has retired
 *   -EKEYREJECTED  the signature does not verify
 *   -ETIME         expired (exp <= now)
 *   -EREMOTE       signed by us but for another issuer
 * For the bus: -ETIME is ExpiredToken, everything else InvalidToken. */
_must_check_ int jwt_verify(const char *token, const Keyring *ring, const char *issuer, uint64_t now,
                            JwtClaims *ret);
