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

#define CRYPTO_SYM(name) extern typeof(name) *sym_##name
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

/* Loads libcrypto once; 0, or -EOPNOTSUPP (not installed or a symbol
 * missing: logged once). Any thread. */
int crypto_loader_load(void);
