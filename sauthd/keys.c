/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "secret-file.h"

#define KEYS_MAGIC "sauthd-keyring 1\n"
#define KEYS_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* The longest line: kid, two 20-digit numbers, "verify", a key, spaces. */
#define KEYS_LINE_MAX (KEYS_KID_LEN + 20 + 6 + 20 + KEYS_PUBLIC_B64_LEN + 5)
#define KEYS_TEXT_MAX (sizeof KEYS_MAGIC + KEYS_MAX * (KEYS_LINE_MAX + 1))

static void b64url(char *out, size_t out_size, const unsigned char *bin, size_t len) {
        sodium_bin2base64(out, out_size, bin, len, KEYS_B64);
}

/* Exactly len bytes from exactly the whole of s (canonical, no padding). */
static int b64url_decode_exact(unsigned char *out, size_t len, const char *s, size_t s_len) {
        const char *end = NULL;
        size_t n = 0;

        if (sodium_base642bin(out, len, s, s_len, NULL, &n, &end, KEYS_B64) < 0)
                return -EBADMSG;
        if (end != s + s_len || n != len)
                return -EBADMSG;
        return 0;
}

/* RFC 7638: SHA-256 of the JWK's required members in lexical order. */
static void keys_thumbprint(const char x[static KEYS_PUBLIC_B64_LEN + 1], char kid[static KEYS_KID_LEN + 1]) {
        unsigned char h[crypto_hash_sha256_BYTES];
        char jwk[96];
        int n;

        n = snprintf(jwk, sizeof jwk, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
        crypto_hash_sha256(h, (const unsigned char *) jwk, (size_t) n);
        b64url(kid, KEYS_KID_LEN + 1, h, sizeof h);
}

static void key_set_public(SigningKey *k) {
        b64url(k->public_b64, sizeof k->public_b64, k->public_key, sizeof k->public_key);
        keys_thumbprint(k->public_b64, k->kid);
}

static void key_clear(SigningKey *k) {
        if (k->secret_key)
                sodium_free(k->secret_key);
        sodium_memzero(k, sizeof *k);
}

static int key_new(SigningKey *k, uint64_t now) {
        *k = (SigningKey) { .created = now };
        k->secret_key = sodium_malloc(crypto_sign_SECRETKEYBYTES);
        if (!k->secret_key)
                return -ENOMEM;
        crypto_sign_keypair(k->public_key, k->secret_key);
        sodium_mprotect_noaccess(k->secret_key);
        key_set_public(k);
        return 0;
}

static int key_from_seed(SigningKey *k, const unsigned char seed[static crypto_sign_SEEDBYTES]) {
        k->secret_key = sodium_malloc(crypto_sign_SECRETKEYBYTES);
        if (!k->secret_key)
                return -ENOMEM;
        crypto_sign_seed_keypair(k->public_key, k->secret_key, seed);
        sodium_mprotect_noaccess(k->secret_key);
        key_set_public(k);
        return 0;
}

Keyring *keys_free(Keyring *ring) {
        if (!ring)
                return NULL;
        for (size_t i = 0; i < ring->n_keys; i++)
                key_clear(&ring->keys[i]);
        free(ring);
        return NULL;
}

const SigningKey *keys_current(const Keyring *ring) {
        return ring->n_keys > 0 ? &ring->keys[0] : NULL;
}

const char *keys_current_public_b64(const Keyring *ring) {
        return ring->n_keys > 0 ? ring->keys[0].public_b64 : NULL;
}

static bool key_verifies_at(const SigningKey *k, uint64_t now) {
        return k->not_after == 0 || now < k->not_after;
}

const SigningKey *keys_find(const Keyring *ring, const char *kid, uint64_t now) {
        if (!kid)
                return NULL;
        for (size_t i = 0; i < ring->n_keys; i++) {
                const SigningKey *k = &ring->keys[i];

                /* kids are public; an ordinary compare is fine. */
                if (streq(k->kid, kid))
                        return key_verifies_at(k, now) ? k : NULL;
        }
        return NULL;
}

size_t keys_jwks(const Keyring *ring, uint64_t now, KeysJwk out[static KEYS_MAX]) {
        size_t n = 0;

        for (size_t i = 0; i < ring->n_keys; i++) {
                const SigningKey *k = &ring->keys[i];

                if (!key_verifies_at(k, now))
                        continue;
                memcpy(out[n].kid, k->kid, sizeof out[n].kid);
                memcpy(out[n].x, k->public_b64, sizeof out[n].x);
                out[n].not_after = k->not_after;
                n++;
        }
        return n;
}

int keys_sign(const SigningKey *key, const unsigned char *msg, size_t len,
              unsigned char sig[static crypto_sign_BYTES]) {
        int r;

        if (!key || !key->secret_key)
                return -ENOKEY;
        sodium_mprotect_readonly(key->secret_key);
        r = crypto_sign_detached(sig, NULL, msg, len, key->secret_key);
        sodium_mprotect_noaccess(key->secret_key);
        return r == 0 ? 0 : -EIO;
}

/* A decimal without sign, spaces or leading zeros, fitting 64 bits. */
static int parse_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                unsigned d;

                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

typedef struct KeyLine {
        const char *field[5];
        size_t len[5];
} KeyLine;

/* Splits one line (without its '\n') into exactly five non-empty fields. */
static int key_line_split(const char *s, size_t len, KeyLine *ret) {
        size_t f = 0, start = 0;

        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != ' ')
                        continue;
                if (f == 5 || i == start)
                        return -EBADMSG;
                ret->field[f] = s + start;
                ret->len[f] = i - start;
                f++;
                start = i + 1;
        }
        return f == 5 ? 0 : -EBADMSG;
}

static bool field_is(const KeyLine *l, size_t i, const char *word) {
        return l->len[i] == strlen(word) && memcmp(l->field[i], word, l->len[i]) == 0;
}

static int key_parse_secret(SigningKey *k, const KeyLine *l) {
        unsigned char *seed;
        int r;

        seed = sodium_malloc(crypto_sign_SEEDBYTES);
        if (!seed)
                return -ENOMEM;
        r = b64url_decode_exact(seed, crypto_sign_SEEDBYTES, l->field[4], l->len[4]);
        if (r >= 0)
                r = key_from_seed(k, seed);
        sodium_free(seed);
        return r;
}

static int key_parse_line(SigningKey *k, const char *s, size_t len, bool first) {
        KeyLine l;
        int r;

        *k = (SigningKey) {};
        r = key_line_split(s, len, &l);
        if (r < 0)
                return r;
        if (parse_u64(l.field[1], l.len[1], &k->created) < 0 ||
            parse_u64(l.field[3], l.len[3], &k->not_after) < 0)
                return -EBADMSG;

        /* The signing key comes first and only there, without a retire time;
         * verify keys always have one. */
        if (first != field_is(&l, 2, "sign") || (!first && !field_is(&l, 2, "verify")))
                return -EBADMSG;
        if (first != (k->not_after == 0))
                return -EBADMSG;

        if (first)
                r = key_parse_secret(k, &l);
        else {
                r = b64url_decode_exact(k->public_key, sizeof k->public_key, l.field[4], l.len[4]);
                if (r >= 0)
                        key_set_public(k);
        }
        if (r < 0)
                return r;
        /* kid must be the thumbprint of the key on its line. */
        if (l.len[0] != KEYS_KID_LEN || memcmp(l.field[0], k->kid, KEYS_KID_LEN) != 0)
                return -EBADMSG;
        return 0;
}

static bool keys_has_kid(const Keyring *ring, const char *kid) {
        for (size_t i = 0; i < ring->n_keys; i++)
                if (streq(ring->keys[i].kid, kid))
                        return true;
        return false;
}

int keys_ring_new_verify_only(Keyring **ret) {
        Keyring *ring = calloc(1, sizeof *ring);

        if (!ring)
                return -ENOMEM;
        *ret = ring;
        return 0;
}

int keys_ring_add_public(Keyring *ring, const char *kid, const char *public_b64, uint64_t created,
                         uint64_t not_after) {
        SigningKey k = { .created = created, .not_after = not_after };

        if (!ring || !kid || !public_b64)
                return -EINVAL;
        if (ring->n_keys >= KEYS_MAX)
                return -E2BIG;
        if (b64url_decode_exact(k.public_key, sizeof k.public_key, public_b64, strlen(public_b64)) < 0)
                return -EBADMSG;
        key_set_public(&k);
        /* The kid names this key and no other. */
        if (!streq(k.kid, kid))
                return -EBADMSG;
        if (keys_has_kid(ring, k.kid))
                return -EEXIST;
        ring->keys[ring->n_keys++] = k;
        return 0;
}

int keys_parse(const char *text, size_t len, Keyring **ret) {
        _cleanup_keys_ Keyring *ring = NULL;
        size_t pos = strlen(KEYS_MAGIC);
        int r;

        if (len < pos || memcmp(text, KEYS_MAGIC, pos) != 0)
                return -EBADMSG;
        ring = calloc(1, sizeof *ring);
        if (!ring)
                return -ENOMEM;

        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                SigningKey k;

                if (!nl || (size_t) (nl - (text + pos)) > KEYS_LINE_MAX || ring->n_keys >= KEYS_MAX)
                        return -EBADMSG;
                r = key_parse_line(&k, text + pos, (size_t) (nl - (text + pos)), ring->n_keys == 0);
                if (r >= 0 && keys_has_kid(ring, k.kid))
                        r = -EBADMSG;
                if (r < 0) {
                        key_clear(&k);
                        return r;
                }
                ring->keys[ring->n_keys++] = k;
                pos = (size_t) (nl - text) + 1;
        }
        if (ring->n_keys == 0)
                return -EBADMSG;
        *ret = TAKE_PTR(ring);
        return 0;
}

static int keys_format(const Keyring *ring, char **ret, size_t *ret_len) {
        _cleanup_secret_ char *text = secret_alloc(KEYS_TEXT_MAX);
        size_t pos = 0;

        if (!text)
                return -ENOMEM;
        pos += (size_t) snprintf(text, KEYS_TEXT_MAX, "%s", KEYS_MAGIC);
        for (size_t i = 0; i < ring->n_keys; i++) {
                const SigningKey *k = &ring->keys[i];

                pos += (size_t) snprintf(text + pos, KEYS_TEXT_MAX - pos, "%s %" PRIu64 " %s %" PRIu64 " ",
                                         k->kid, k->created, k->secret_key ? "sign" : "verify",
                                         k->secret_key ? (uint64_t) 0 : k->not_after);
                if (k->secret_key) {
                        /* The seed is the first half of libsodium's secret key. */
                        sodium_mprotect_readonly(k->secret_key);
                        b64url(text + pos, KEYS_TEXT_MAX - pos, k->secret_key, crypto_sign_SEEDBYTES);
                        sodium_mprotect_noaccess(k->secret_key);
                } else
                        memcpy(text + pos, k->public_b64, sizeof k->public_b64);
                pos += strlen(text + pos);
                text[pos++] = '\n';
        }
        *ret = TAKE_PTR(text); /* freed with secret_free() */
        *ret_len = pos;
        return 0;
}

static int keys_save(const Keyring *ring, const char *path, bool replace, char *msg, size_t msg_size) {
        _cleanup_secret_ char *text = NULL;
        size_t len;
        int r;

        r = keys_format(ring, &text, &len);
        if (r < 0)
                return r;
        return secret_file_write(path, text, len, replace, msg, msg_size);
}

static int keys_load(const char *path, Keyring **ret, char *msg, size_t msg_size) {
        _cleanup_secret_ char *text = NULL;
        size_t len;
        int r;

        r = secret_file_read(path, SECRET_FILE_MAX, &text, &len, msg, msg_size);
        if (r < 0)
                return r;
        r = keys_parse(text, len, ret);
        if (r == -EBADMSG)
                snprintf(msg, msg_size, "%s: not a valid key ring (expected the \"sauthd-keyring 1\" format)", path);
        else if (r < 0)
                snprintf(msg, msg_size, "%s: %s", path, strerror(-r));
        return r;
}

int keys_load_or_create(const char *path, uint64_t now, Keyring **ret, char *msg, size_t msg_size) {
        _cleanup_keys_ Keyring *ring = NULL;
        int r;

        r = keys_load(path, ret, msg, msg_size);
        if (r != -ENOENT)
                return r;

        ring = calloc(1, sizeof *ring);
        if (!ring)
                return -ENOMEM;
        r = key_new(&ring->keys[0], now);
        if (r < 0)
                return r;
        ring->n_keys = 1;
        r = keys_save(ring, path, false, msg, msg_size);
        if (r == -EEXIST)
                /* Someone created it meanwhile: theirs is the key ring. */
                return keys_load(path, ret, msg, msg_size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ring);
        return 0;
}

/* The ring after a rotation: a new key, then the old current key and the
 * verify keys that have not retired. */
static int keys_rotated(const Keyring *ring, uint64_t now, uint64_t keep, Keyring *next) {
        uint64_t until = now > UINT64_MAX - keep ? UINT64_MAX : now + keep;
        int r;

        r = key_new(&next->keys[0], now);
        if (r < 0)
                return r;
        next->n_keys = 1;
        for (size_t i = 0; i < ring->n_keys; i++) {
                SigningKey k = ring->keys[i];

                k.secret_key = NULL; /* only the public half moves over */
                if (i == 0)
                        k.not_after = until;
                if (!key_verifies_at(&k, now) || k.not_after == 0)
                        continue;
                if (next->n_keys >= KEYS_MAX)
                        return -E2BIG;
                next->keys[next->n_keys++] = k;
        }
        return 0;
}

int keys_rotate(Keyring *ring, const char *path, uint64_t now, uint64_t keep_verify_for,
                char *msg, size_t msg_size) {
        _cleanup_keys_ Keyring *next = NULL;
        int r;

        next = calloc(1, sizeof *next);
        if (!next)
                return -ENOMEM;
        r = keys_rotated(ring, now, keep_verify_for, next);
        if (r == -E2BIG)
                snprintf(msg, msg_size, "%s: refused, more than %d keys would still verify; "
                         "rotate with a shorter keep time or wait until older keys retire", path, KEYS_MAX);
        if (r < 0)
                return r;
        r = keys_save(next, path, true, msg, msg_size);
        if (r < 0)
                return r;

        /* Written: the new ring replaces the old one in place, so pointers
         * to the ring stay valid (keys within it do not). */
        for (size_t i = 0; i < ring->n_keys; i++)
                key_clear(&ring->keys[i]);
        *ring = *next;
        next->n_keys = 0;
        return 0;
}
