/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>

#include "crypto-loader.h"
#include "dlopen-util.h"
#include "util.h"

/* The soname of OpenSSL 3's libcrypto. */
#define CRYPTO_SONAME "libcrypto.so.3"

#define CRYPTO_SYM(name) typeof(name) *sym_##name
CRYPTO_SYM(BN_bin2bn);
CRYPTO_SYM(BN_free);
CRYPTO_SYM(OSSL_PARAM_BLD_new);
CRYPTO_SYM(OSSL_PARAM_BLD_push_BN);
CRYPTO_SYM(OSSL_PARAM_BLD_to_param);
CRYPTO_SYM(OSSL_PARAM_BLD_free);
CRYPTO_SYM(OSSL_PARAM_free);
CRYPTO_SYM(OSSL_PARAM_construct_utf8_string);
CRYPTO_SYM(OSSL_PARAM_construct_octet_string);
CRYPTO_SYM(OSSL_PARAM_construct_end);
CRYPTO_SYM(EVP_PKEY_CTX_new_from_name);
CRYPTO_SYM(EVP_PKEY_CTX_free);
CRYPTO_SYM(EVP_PKEY_fromdata_init);
CRYPTO_SYM(EVP_PKEY_fromdata);
CRYPTO_SYM(EVP_PKEY_free);
CRYPTO_SYM(EVP_MD_CTX_new);
CRYPTO_SYM(EVP_MD_CTX_free);
CRYPTO_SYM(EVP_DigestVerifyInit);
CRYPTO_SYM(EVP_DigestVerify);
CRYPTO_SYM(EVP_sha256);
CRYPTO_SYM(ECDSA_SIG_new);
CRYPTO_SYM(ECDSA_SIG_set0);
CRYPTO_SYM(ECDSA_SIG_free);
CRYPTO_SYM(i2d_ECDSA_SIG);
CRYPTO_SYM(CRYPTO_free);
#undef CRYPTO_SYM

#define ROW(name) DL_SYMBOL(name)
static const DlSymbol crypto_symbols[] = {
        ROW(BN_bin2bn), ROW(BN_free),
        ROW(OSSL_PARAM_BLD_new), ROW(OSSL_PARAM_BLD_push_BN), ROW(OSSL_PARAM_BLD_to_param),
        ROW(OSSL_PARAM_BLD_free), ROW(OSSL_PARAM_free), ROW(OSSL_PARAM_construct_utf8_string),
        ROW(OSSL_PARAM_construct_octet_string), ROW(OSSL_PARAM_construct_end),
        ROW(EVP_PKEY_CTX_new_from_name), ROW(EVP_PKEY_CTX_free), ROW(EVP_PKEY_fromdata_init),
        ROW(EVP_PKEY_fromdata), ROW(EVP_PKEY_free), ROW(EVP_MD_CTX_new), ROW(EVP_MD_CTX_free),
        ROW(EVP_DigestVerifyInit), ROW(EVP_DigestVerify), ROW(EVP_sha256),
        ROW(ECDSA_SIG_new), ROW(ECDSA_SIG_set0), ROW(ECDSA_SIG_free), ROW(i2d_ECDSA_SIG),
        ROW(CRYPTO_free),
};
#undef ROW

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_result = -EOPNOTSUPP;

static void crypto_load_once(void) {
        void *dl;

        /* Never closed: OpenSSL 3 pins itself. */
        crypto_result = dlopen_symbols(CRYPTO_SONAME, crypto_symbols, ELEMENTSOF(crypto_symbols), &dl);
}

int crypto_loader_load(void) {
        (void) pthread_once(&crypto_once, crypto_load_once);
        return crypto_result;
}
