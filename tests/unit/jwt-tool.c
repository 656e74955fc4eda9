/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The real jwt.c and keys.c from the command line, for test-jwt-interop.py,
 * which checks them against another Ed25519 implementation (PyNaCl):
 *
 *   jwt-tool sign KEYFILE ISSUER NOW
 *       creates or loads the key ring, prints the token, the current
 *       public key (base64url) and its kid, one per line
 *   jwt-tool verify KEYFILE ISSUER NOW TOKEN
 *       prints "ok SUB ROLE..." and exits 0, or "refused ERRNO-NAME", exit 1
 *
 * Only public keys are printed; the seed stays in KEYFILE.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "keys.h"
#include "util.h"

static int parse_now(const char *s, uint64_t *ret) {
        char *end = NULL;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || !end || *end || end == s)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int tool_sign(Keyring *ring, const char *issuer, uint64_t now) {
        char *roles[] = { "user", "person", "list-x-0011223344556677-member", NULL };
        char jti[JWT_JTI_LEN + 1];
        JwtClaims c = {
                .iss = (char *) issuer, .sub = "alice", .acc = "x-0123456789abcdef", .jti = jti,
                .iat = now, .exp = now + 7200, .auth = roles, .method = "local",
                .identity = "alice@example.test",
        };
        _cleanup_free_ char *token = NULL;
        int r;

        jwt_new_jti(jti);
        r = jwt_sign(&c, keys_current(ring), &token);
        if (r < 0) {
                fprintf(stderr, "jwt_sign: %s\n", strerror(-r));
                return 1;
        }
        printf("%s\n%s\n%s\n", token, keys_current_public_b64(ring), keys_current(ring)->kid);
        return 0;
}

static const char *errno_name(int r) {
        switch (r) {
        case -EBADMSG: return "EBADMSG";
        case -ENOKEY: return "ENOKEY";
        case -EKEYREJECTED: return "EKEYREJECTED";
        case -ETIME: return "ETIME";
        case -EREMOTE: return "EREMOTE";
        default: return "other";
        }
}

static int tool_verify(Keyring *ring, const char *issuer, uint64_t now, const char *token) {
        JwtClaims c = {};
        int r;

        r = jwt_verify(token, ring, issuer, now, &c);
        if (r < 0) {
                printf("refused %s\n", errno_name(r));
                return 1;
        }
        printf("ok %s", c.sub);
        for (char **i = c.auth; *i; i++)
                printf(" %s", *i);
        printf("\n");
        jwt_claims_done(&c);
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_keys_ Keyring *ring = NULL;
        char msg[512] = "";
        uint64_t now;
        int r;

        if (sodium_init() < 0)
                return 2;
        if (argc < 5 || parse_now(argv[4], &now) < 0 ||
            !((streq(argv[1], "sign") && argc == 5) || (streq(argv[1], "verify") && argc == 6))) {
                fprintf(stderr, "usage: %s sign KEYFILE ISSUER NOW | verify KEYFILE ISSUER NOW TOKEN\n", argv[0]);
                return 2;
        }
        r = keys_load_or_create(argv[2], now, &ring, msg, sizeof msg);
        if (r < 0) {
                fprintf(stderr, "%s\n", msg[0] ? msg : strerror(-r));
                return 2;
        }
        if (streq(argv[1], "sign"))
                return tool_sign(ring, argv[3], now);
        return tool_verify(ring, argv[3], now, argv[5]);
}
