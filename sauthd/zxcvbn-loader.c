/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "dlopen-util.h"
#include "util.h"
#include "zxcvbn-loader.h"

#define ZXCVBN_SONAME "libzxcvbn.so.0"

typeof(ZxcvbnMatch) *sym_ZxcvbnMatch;
typeof(ZxcvbnFreeInfo) *sym_ZxcvbnFreeInfo;

static const DlSymbol zxcvbn_symbols[] = { DL_SYMBOL(ZxcvbnMatch), DL_SYMBOL(ZxcvbnFreeInfo) };

/* Guards the handle, the pointers and the count of checks in flight. */
static pthread_mutex_t zxcvbn_lock = PTHREAD_MUTEX_INITIALIZER;
static void *zxcvbn_dl;
static unsigned zxcvbn_users;

static int zxcvbn_open_locked(void) {
        return dlopen_symbols(ZXCVBN_SONAME, zxcvbn_symbols, ELEMENTSOF(zxcvbn_symbols), &zxcvbn_dl);
}

int zxcvbn_loader_acquire(void) {
        int r = 0;

        pthread_mutex_lock(&zxcvbn_lock);
        if (!zxcvbn_dl)
                r = zxcvbn_open_locked();
        if (r >= 0)
                zxcvbn_users++;
        pthread_mutex_unlock(&zxcvbn_lock);
        return r;
}

void zxcvbn_loader_release(void) {
        pthread_mutex_lock(&zxcvbn_lock);
        if (zxcvbn_users > 0 && --zxcvbn_users == 0 && zxcvbn_dl) {
                dlopen_symbols_close(zxcvbn_dl, zxcvbn_symbols, ELEMENTSOF(zxcvbn_symbols));
                zxcvbn_dl = NULL;
        }
        pthread_mutex_unlock(&zxcvbn_lock);
}

bool zxcvbn_loader_loaded(void) {
        bool loaded;

        pthread_mutex_lock(&zxcvbn_lock);
        loaded = zxcvbn_dl != NULL;
        pthread_mutex_unlock(&zxcvbn_lock);
        return loaded;
}
