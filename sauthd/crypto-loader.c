/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>

#include "crypto-loader.h"
#include "dlopen-util.h"
#include "util.h"

/* The soname of OpenSSL 3's libcrypto. */
#define CRYPTO_SONAME "libcrypto.so.3"

#define CRYPTO_SYM_DEFINE(name) typeof(name) *sym_##name;
CRYPTO_SYMBOLS(CRYPTO_SYM_DEFINE)
#undef CRYPTO_SYM_DEFINE

#define CRYPTO_SYM_ROW(name) DL_SYMBOL(name),
static const DlSymbol crypto_symbols[] = { CRYPTO_SYMBOLS(CRYPTO_SYM_ROW) };
#undef CRYPTO_SYM_ROW

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
