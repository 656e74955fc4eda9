/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "tokens.h"

void token_new(char text[static TOKEN_TEXT_MAX]) {
        unsigned char raw[TOKEN_BYTES];

        /* People paste these into command lines (sauthctl oauth-callback,
         * scripts), where a leading '-' reads as an option: one token in 64
         * would. Drawing again costs under 0.03 bits of 256. */
        do {
                randombytes_buf(raw, sizeof raw);
                sodium_bin2base64(text, TOKEN_TEXT_MAX, raw, sizeof raw,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        } while (text[0] == '-');
        sodium_memzero(raw, sizeof raw);
}

static bool token_text_valid(const char *text) {
        size_t n = strlen(text);

        /* Exactly what token_new() makes: 43 base64url characters. Anything
         * else cannot match, and is not worth hashing. */
        if (n != sodium_base64_ENCODED_LEN(TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1)
                return false;
        return strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

int token_hash(const char *text, char out[static TOKEN_HASH_HEX]) {
        unsigned char h[32];

        if (!text || !token_text_valid(text))
                return -EINVAL;
        crypto_generichash(h, sizeof h, (const unsigned char *) text, strlen(text), NULL, 0);
        sodium_bin2hex(out, TOKEN_HASH_HEX, h, sizeof h);
        return 0;
}

void id_new(char out[static 19]) {
        unsigned char raw[8];

        randombytes_buf(raw, sizeof raw);
        out[0] = 'x';
        out[1] = '-';
        sodium_bin2hex(out + 2, 17, raw, sizeof raw);
}
