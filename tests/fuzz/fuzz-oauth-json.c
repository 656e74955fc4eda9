/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Everything a provider sends, through the real parsers: discovery, device
 * authorization, token, error and claims documents, and an ID token with
 * a fixed JWKS. The first byte picks the parser. A success must keep the
 * promises of oauth-json.h (required members there, numbers in range).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idtoken.h"
#include "oauth-json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks[] =
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
        "{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

static void fuzz_parsers(uint8_t which, const char *s, size_t n) {
        OAuthDiscovery d = {};
        OAuthDeviceAuth a = {};
        OAuthTokens t = {};
        OAuthClaims c = {};
        OAuthError e;

        switch (which % 6) {
        case 0:
                if (oauth_parse_discovery(s, n, &d) == 0)
                        fuzz_check(d.issuer && d.token_endpoint, "discovery: issuer and token endpoint");
                oauth_discovery_done(&d);
                break;
        case 1:
                if (oauth_parse_device_auth(s, n, &a) == 0)
                        fuzz_check(a.device_code && a.user_code && a.verification_uri &&
                                   a.interval >= 1 && a.interval <= OAUTH_INTERVAL_MAX &&
                                   a.expires_in >= 1 && a.expires_in <= OAUTH_EXPIRES_MAX, "device auth");
                oauth_device_auth_done(&a);
                break;
        case 2:
                if (oauth_parse_tokens(s, n, &t) == 0)
                        fuzz_check(t.access_token && t.token_type, "tokens");
                oauth_tokens_done(&t);
                break;
        case 3:
                (void) oauth_parse_error(s, n, &e);
                break;
        case 4:
                if (oauth_parse_claims(s, n, &c) == 0)
                        fuzz_check(c.sub != NULL, "claims: sub");
                oauth_claims_done(&c);
                break;
        default: {
                _cleanup_free_ char *tok = strndup(s, n);

                if (tok && idtoken_verify(tok, jwks, sizeof jwks - 1, &(IdTokenCheck) {
                                .issuer = "https://idp.example", .client_id = "c", .nonce = "n", .now = 1700000000,
                        }, &c) == 0)
                        fuzz_check(c.sub != NULL, "ID token: sub");
                oauth_claims_done(&c);
                break;
        }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 256 * 1024)
                return 0;
        fuzz_parsers(data[0], (const char *) data + 1, size - 1);
        return 0;
}
