/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox-key.h"
#include "secret-file.h"

#define OUTBOX_KEY_MAGIC "sauthd-outbox-key 1\n"
#define OUTBOX_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define OUTBOX_KEY_TEXT_MAX \
        (sizeof OUTBOX_KEY_MAGIC + sodium_base64_ENCODED_LEN(crypto_secretbox_KEYBYTES, OUTBOX_B64) + 1)
/* A rendered message is at most 256 KiB (mail.c); a sealed one a little more. */
#define OUTBOX_SEALED_MAX (512U * 1024U)

struct OutboxKey {
        unsigned char *key;     /* sodium_malloc(), read-only */
};

OutboxKey *outbox_key_free(OutboxKey *k) {
        if (!k)
                return NULL;
        if (k->key)
                sodium_free(k->key);
        free(k);
        return NULL;
}

static int outbox_key_new(const unsigned char *key, OutboxKey **ret) {
        OutboxKey *k = calloc(1, sizeof *k);

        if (!k)
                return -ENOMEM;
        k->key = sodium_malloc(crypto_secretbox_KEYBYTES);
        if (!k->key) {
                free(k);
                return -ENOMEM;
        }
        if (key)
                memcpy(k->key, key, crypto_secretbox_KEYBYTES);
        else
                crypto_secretbox_keygen(k->key);
        sodium_mprotect_readonly(k->key);
        *ret = k;
        return 0;
}

int outbox_key_parse(const char *text, size_t len, OutboxKey **ret) {
        size_t magic = strlen(OUTBOX_KEY_MAGIC), n = 0, b64_len;
        const char *b64, *end = NULL;
        unsigned char *key;
        int r;

        if (len < magic + 1 || memcmp(text, OUTBOX_KEY_MAGIC, magic) != 0 || text[len - 1] != '\n')
                return -EBADMSG;
        b64 = text + magic;
        b64_len = len - magic - 1;
        key = sodium_malloc(crypto_secretbox_KEYBYTES);
        if (!key)
                return -ENOMEM;
        r = sodium_base642bin(key, crypto_secretbox_KEYBYTES, b64, b64_len, NULL, &n, &end, OUTBOX_B64);
        if (r < 0 || end != b64 + b64_len || n != crypto_secretbox_KEYBYTES)
                r = -EBADMSG;
        else
                r = outbox_key_new(key, ret);
        sodium_free(key);
        return r;
}

static int outbox_key_format(const OutboxKey *k, char **ret, size_t *ret_len) {
        char *text = secret_alloc(OUTBOX_KEY_TEXT_MAX);
        size_t pos = strlen(OUTBOX_KEY_MAGIC);

        if (!text)
                return -ENOMEM;
        memcpy(text, OUTBOX_KEY_MAGIC, pos);
        sodium_bin2base64(text + pos, OUTBOX_KEY_TEXT_MAX - pos, k->key, crypto_secretbox_KEYBYTES, OUTBOX_B64);
        pos += strlen(text + pos);
        text[pos++] = '\n';
        *ret = text; /* freed with secret_free() */
        *ret_len = pos;
        return 0;
}

static int outbox_key_load(const char *path, OutboxKey **ret, char *msg, size_t msg_size) {
        _cleanup_secret_ char *text = NULL;
        size_t len;
        int r;

        r = secret_file_read(path, OUTBOX_KEY_TEXT_MAX, &text, &len, msg, msg_size);
        if (r < 0)
                return r;
        r = outbox_key_parse(text, len, ret);
        if (r == -EBADMSG)
                snprintf(msg, msg_size, "%s: not an outbox key (expected the \"sauthd-outbox-key 1\" format)", path);
        else if (r < 0)
                snprintf(msg, msg_size, "%s: %s", path, strerror(-r));
        return r;
}

int outbox_key_load_or_create(const char *path, OutboxKey **ret, char *msg, size_t msg_size) {
        _cleanup_(outbox_key_freep) OutboxKey *k = NULL;
        _cleanup_secret_ char *text = NULL;
        size_t len;
        int r;

        r = outbox_key_load(path, ret, msg, msg_size);
        if (r != -ENOENT)
                return r;
        r = outbox_key_new(NULL, &k);
        if (r >= 0)
                r = outbox_key_format(k, &text, &len);
        if (r >= 0)
                r = secret_file_write(path, text, len, false, msg, msg_size);
        if (r == -EEXIST)
                /* Created meanwhile: that one is the key. */
                return outbox_key_load(path, ret, msg, msg_size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

int outbox_seal(const OutboxKey *k, const char *message, char **ret) {
        size_t mlen = strlen(message), blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
        _cleanup_free_ unsigned char *box = NULL;
        char *text;

        if (blen > OUTBOX_SEALED_MAX)
                return -E2BIG;
        box = malloc(blen);
        text = malloc(sodium_base64_ENCODED_LEN(blen, OUTBOX_B64));
        if (!box || !text) {
                free(text);
                return -ENOMEM;
        }
        randombytes_buf(box, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *) message, mlen, box,
                              k->key);
        sodium_bin2base64(text, sodium_base64_ENCODED_LEN(blen, OUTBOX_B64), box, blen, OUTBOX_B64);
        *ret = text;
        return 0;
}

int outbox_unseal(const OutboxKey *k, const char *body, char **ret) {
        size_t len = strlen(body), blen = 0;
        _cleanup_free_ unsigned char *box = NULL;
        const char *end = NULL;
        char *message;

        if (len > sodium_base64_ENCODED_LEN(OUTBOX_SEALED_MAX, OUTBOX_B64))
                return -EBADMSG;
        box = malloc(len);
        if (!box)
                return -ENOMEM;
        if (sodium_base642bin(box, len, body, len, NULL, &blen, &end, OUTBOX_B64) < 0 || end != body + len ||
            blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
                return -EBADMSG;
        message = malloc(blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES + 1);
        if (!message)
                return -ENOMEM;
        if (crypto_secretbox_open_easy((unsigned char *) message, box + crypto_secretbox_NONCEBYTES,
                                       blen - crypto_secretbox_NONCEBYTES, box, k->key) != 0) {
                free(message);
                return -EBADMSG;
        }
        message[blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES] = '\0';
        *ret = message;
        return 0;
}
