/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "secret-file.h"

#define APIKEY_ID_ALPHABET "abcdefghijklmnopqrstuvwxyz234567"
#define APIKEY_SECRET_ALPHABET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define PEPPER_MAGIC "sauthd-apikey-pepper 1\n"
#define PEPPER_BYTES crypto_generichash_KEYBYTES
#define PEPPER_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define PEPPER_TEXT_MAX (sizeof PEPPER_MAGIC + sodium_base64_ENCODED_LEN(PEPPER_BYTES, PEPPER_B64) + 1)

struct ApikeyPepper {
        unsigned char *key;     /* sodium_malloc(), no access but while hashing */
};

ApikeyPepper *apikey_pepper_free(ApikeyPepper *p) {
        if (!p)
                return NULL;
        if (p->key)
                sodium_free(p->key);
        free(p);
        return NULL;
}

static int pepper_new(ApikeyPepper **ret, const unsigned char *key) {
        ApikeyPepper *p = calloc(1, sizeof *p);

        if (!p)
                return -ENOMEM;
        p->key = sodium_malloc(PEPPER_BYTES);
        if (!p->key) {
                free(p);
                return -ENOMEM;
        }
        if (key)
                memcpy(p->key, key, PEPPER_BYTES);
        else
                randombytes_buf(p->key, PEPPER_BYTES);
        /* Read-only for its life, not no-access between uses: it is read on
         * every ApiAccess, and each mprotect() flips page tables on every
         * CPU the daemon's threads run on (measured: 40 % of ApiAccess's
         * time). It stays in guarded, locked memory of a process that
         * cannot be dumped or traced. */
        sodium_mprotect_readonly(p->key);
        *ret = p;
        return 0;
}

int apikey_pepper_parse(const char *text, size_t len, ApikeyPepper **ret) {
        size_t magic = strlen(PEPPER_MAGIC), n = 0, b64_len;
        const char *b64, *end = NULL;
        unsigned char *key;
        int r;

        if (len < magic + 1 || memcmp(text, PEPPER_MAGIC, magic) != 0 || text[len - 1] != '\n')
                return -EBADMSG;
        b64 = text + magic;
        b64_len = len - magic - 1;
        key = sodium_malloc(PEPPER_BYTES);
        if (!key)
                return -ENOMEM;
        r = sodium_base642bin(key, PEPPER_BYTES, b64, b64_len, NULL, &n, &end, PEPPER_B64);
        if (r < 0 || end != b64 + b64_len || n != PEPPER_BYTES)
                r = -EBADMSG;
        else
                r = pepper_new(ret, key);
        sodium_free(key);
        return r;
}

static int pepper_format(const ApikeyPepper *p, char **ret, size_t *ret_len) {
        char *text = secret_alloc(PEPPER_TEXT_MAX);
        size_t pos = strlen(PEPPER_MAGIC);

        if (!text)
                return -ENOMEM;
        memcpy(text, PEPPER_MAGIC, pos);
        sodium_bin2base64(text + pos, PEPPER_TEXT_MAX - pos, p->key, PEPPER_BYTES, PEPPER_B64);
        pos += strlen(text + pos);
        text[pos++] = '\n';
        *ret = text; /* freed with secret_free() */
        *ret_len = pos;
        return 0;
}

static int pepper_load(const char *path, ApikeyPepper **ret, char *msg, size_t msg_size) {
        _cleanup_secret_ char *text = NULL;
        size_t len;
        int r;

        r = secret_file_read(path, PEPPER_TEXT_MAX, &text, &len, msg, msg_size);
        if (r < 0)
                return r;
        r = apikey_pepper_parse(text, len, ret);
        if (r == -EBADMSG)
                snprintf(msg, msg_size, "%s: not a valid API key pepper (expected the \"sauthd-apikey-pepper 1\" format)", path);
        else if (r < 0)
                snprintf(msg, msg_size, "%s: %s", path, strerror(-r));
        return r;
}

int apikey_pepper_load_or_create(const char *path, ApikeyPepper **ret, char *msg, size_t msg_size) {
        _cleanup_pepper_ ApikeyPepper *p = NULL;
        _cleanup_secret_ char *text = NULL;
        size_t len;
        int r;

        r = pepper_load(path, ret, msg, msg_size);
        if (r != -ENOENT)
                return r;
        r = pepper_new(&p, NULL);
        if (r >= 0)
                r = pepper_format(p, &text, &len);
        if (r >= 0)
                r = secret_file_write(path, text, len, false, msg, msg_size);
        if (r == -EEXIST)
                /* Created meanwhile: that one is the pepper. */
                return pepper_load(path, ret, msg, msg_size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* One uniform character of alphabet (size n <= 256) per output position:
 * bytes at or above the largest multiple of n are drawn again, so that no
 * character is likelier than another. */
static void random_chars(char *out, size_t len, const char *alphabet, size_t n) {
        unsigned char buf[64];
        size_t limit = 256 - 256 % n, have = 0, used = 0;

        for (size_t i = 0; i < len; ) {
                if (used == have) {
                        randombytes_buf(buf, sizeof buf);
                        have = sizeof buf;
                        used = 0;
                }
                if (buf[used] < limit)
                        out[i++] = alphabet[buf[used] % n];
                used++;
        }
        out[len] = 0;
        sodium_memzero(buf, sizeof buf);
}

void apikey_generate(char id[static APIKEY_ID_LEN + 1], char secret[static APIKEY_SECRET_LEN + 1],
                     char full[static APIKEY_LEN + 1]) {
        /* 32 divides 256: every byte is used, 5 bits of each. */
        random_chars(id, APIKEY_ID_LEN, APIKEY_ID_ALPHABET, 32);
        random_chars(secret, APIKEY_SECRET_LEN, APIKEY_SECRET_ALPHABET, 62);
        memcpy(full, id, APIKEY_ID_LEN);
        full[APIKEY_ID_LEN] = APIKEY_SEPARATOR;
        memcpy(full + APIKEY_ID_LEN + 1, secret, APIKEY_SECRET_LEN + 1);
}

static bool span_is(const char *s, size_t len, const char *alphabet) {
        return strnlen(s, len + 1) == len && strspn(s, alphabet) == len;
}

bool apikey_id_valid(const char *id) {
        return id && span_is(id, APIKEY_ID_LEN, APIKEY_ID_ALPHABET);
}

static bool apikey_secret_valid(const char *secret) {
        return secret && span_is(secret, APIKEY_SECRET_LEN, APIKEY_SECRET_ALPHABET);
}

int apikey_parse(const char *full, char id[static APIKEY_ID_LEN + 1],
                 char secret[static APIKEY_SECRET_LEN + 1]) {
        char buf[APIKEY_LEN + 1];

        if (!full || strnlen(full, APIKEY_LEN + 1) != APIKEY_LEN || full[APIKEY_ID_LEN] != APIKEY_SEPARATOR)
                return -EINVAL;
        memcpy(buf, full, sizeof buf);
        buf[APIKEY_ID_LEN] = 0;
        if (!apikey_id_valid(buf) || !apikey_secret_valid(buf + APIKEY_ID_LEN + 1)) {
                sodium_memzero(buf, sizeof buf);
                return -EINVAL;
        }
        memcpy(id, buf, APIKEY_ID_LEN + 1);
        memcpy(secret, buf + APIKEY_ID_LEN + 1, APIKEY_SECRET_LEN + 1);
        sodium_memzero(buf, sizeof buf);
        return 0;
}

int apikey_hash(const ApikeyPepper *pepper, const char *secret, unsigned char out[static APIKEY_HASH_BYTES]) {
        if (!pepper || !apikey_secret_valid(secret))
                return -EINVAL;
        crypto_generichash(out, APIKEY_HASH_BYTES, (const unsigned char *) secret, APIKEY_SECRET_LEN,
                           pepper->key, PEPPER_BYTES);
        return 0;
}

bool apikey_verify(const ApikeyPepper *pepper, const char *secret,
                   const unsigned char stored[static APIKEY_HASH_BYTES]) {
        unsigned char h[APIKEY_HASH_BYTES];
        bool ok;

        if (apikey_hash(pepper, secret, h) < 0)
                return false;
        ok = sodium_memcmp(h, stored, sizeof h) == 0;
        sodium_memzero(h, sizeof h);
        return ok;
}

int apikey_hash_hex(const ApikeyPepper *pepper, const char *secret, char out[static APIKEY_HASH_HEX]) {
        unsigned char h[APIKEY_HASH_BYTES];
        int r;

        r = apikey_hash(pepper, secret, h);
        if (r < 0)
                return r;
        sodium_bin2hex(out, APIKEY_HASH_HEX, h, sizeof h);
        return 0;
}

bool apikey_verify_hex(const ApikeyPepper *pepper, const char *secret, const char *stored_hex) {
        unsigned char stored[APIKEY_HASH_BYTES];
        size_t n = 0;
        const char *end = NULL;

        /* The stored hash is not secret, but a malformed one must not match. */
        if (!stored_hex || strlen(stored_hex) != APIKEY_HASH_HEX - 1 ||
            sodium_hex2bin(stored, sizeof stored, stored_hex, APIKEY_HASH_HEX - 1, NULL, &n, &end) < 0 ||
            n != sizeof stored || *end)
                return false;
        return apikey_verify(pepper, secret, stored);
}
