/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * apikey_parse() and apikey_pepper_parse() on any input. A parsed key must
 * be exactly the input again, of the right alphabets and lengths; a refused
 * one leaves the outputs alone. A parsed pepper must hash.
 */
#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fuzz_check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "broken promise: %s\n", what);
                abort();
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (sodium_init() < 0)
                abort();
        return 0;
}

static void fuzz_key(const char *s) {
        char id[APIKEY_ID_LEN + 1] = "", secret[APIKEY_SECRET_LEN + 1] = "", again[APIKEY_LEN + 2];

        if (apikey_parse(s, id, secret) < 0) {
                fuzz_check(!id[0] && !secret[0], "outputs untouched on refusal");
                return;
        }
        fuzz_check(strlen(s) == APIKEY_LEN, "length");
        fuzz_check(strlen(id) == APIKEY_ID_LEN && strlen(secret) == APIKEY_SECRET_LEN, "part lengths");
        fuzz_check(apikey_id_valid(id), "id valid");
        snprintf(again, sizeof again, "%s%c%s", id, APIKEY_SEPARATOR, secret);
        fuzz_check(streq(again, s), "parts make the input");
}

static void fuzz_pepper(const uint8_t *data, size_t size) {
        _cleanup_pepper_ ApikeyPepper *p = NULL;
        unsigned char h[APIKEY_HASH_BYTES];

        if (apikey_pepper_parse((const char *) data, size, &p) < 0) {
                fuzz_check(!p, "no pepper on refusal");
                return;
        }
        fuzz_check(apikey_hash(p, "0123456789ABCDEFGHIJKLMNOPQRSTUV", h) == 0, "parsed pepper hashes");
        fuzz_check(apikey_verify(p, "0123456789ABCDEFGHIJKLMNOPQRSTUV", h), "and verifies");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;

        if (size > 4096)
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        fuzz_key(s);
        fuzz_pepper(data, size);
        return 0;
}
