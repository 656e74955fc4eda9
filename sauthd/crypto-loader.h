/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

/*
 * libcrypto, loaded when an ID token signed RS256 or ES256 is first
 * verified (dlopen, as curl-loader.c does for libcurl): only OAuth logins
 * need it, and mapped at start it cost an idle sauthd 1.4 MiB of RSS, of
 * which 0.4 MiB private dirty (its relocated tables). When libcurl is
 * loaded it brings libcrypto anyway; dlopen then only finds it.
 *
 * Call crypto_loader_load() first, from any thread (it runs once), then
 * libcrypto through the sym_ pointers. libcrypto is never unloaded:
 * OpenSSL 3 pins itself in memory.
 */

/* The functions used, once: declared here, defined and looked up in
 * crypto-loader.c. */
#define CRYPTO_SYMBOLS(X) \
        X(BN_bin2bn) \
        X(BN_free) \
        X(OSSL_PARAM_BLD_new) \
        X(OSSL_PARAM_BLD_push_BN) \
        X(OSSL_PARAM_BLD_to_param) \
        X(OSSL_PARAM_BLD_free) \
        X(OSSL_PARAM_free) \
        X(OSSL_PARAM_construct_utf8_string) \
        X(OSSL_PARAM_construct_octet_string) \
        X(OSSL_PARAM_construct_end) \
        X(EVP_PKEY_CTX_new_from_name) \
        X(EVP_PKEY_CTX_free) \
        X(EVP_PKEY_fromdata_init) \
        X(EVP_PKEY_fromdata) \
        X(EVP_PKEY_free) \
        X(EVP_MD_CTX_new) \
        X(EVP_MD_CTX_free) \
        X(EVP_DigestVerifyInit) \
        X(EVP_DigestVerify) \
        X(EVP_sha256) \
        X(ECDSA_SIG_new) \
        X(ECDSA_SIG_set0) \
        X(ECDSA_SIG_free) \
        X(i2d_ECDSA_SIG) \
        X(CRYPTO_free)

#define CRYPTO_SYM_DECLARE(name) extern typeof(name) *sym_##name;
CRYPTO_SYMBOLS(CRYPTO_SYM_DECLARE)
#undef CRYPTO_SYM_DECLARE

/* Loads libcrypto once; 0, or -EOPNOTSUPP (not installed or a symbol
 * missing: logged once). Any thread. */
int crypto_loader_load(void);
