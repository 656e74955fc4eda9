/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "log.h"
#include "zxcvbn-loader.h"

#define ZXCVBN_SONAME "libzxcvbn.so.0"

typeof(ZxcvbnMatch) *sym_ZxcvbnMatch;
typeof(ZxcvbnFreeInfo) *sym_ZxcvbnFreeInfo;

/* Guards the handle, the pointers and the count of checks in flight. */
static pthread_mutex_t zxcvbn_lock = PTHREAD_MUTEX_INITIALIZER;
static void *zxcvbn_dl;
static unsigned zxcvbn_users;

static int zxcvbn_open_locked(void) {
        void *dl = dlopen(ZXCVBN_SONAME, RTLD_NOW | RTLD_LOCAL);

        if (!dl) {
                log_error("cannot load %s: %s", ZXCVBN_SONAME, dlerror());
                return -EOPNOTSUPP;
        }
        sym_ZxcvbnMatch = (typeof(ZxcvbnMatch) *) dlsym(dl, "ZxcvbnMatch");
        sym_ZxcvbnFreeInfo = (typeof(ZxcvbnFreeInfo) *) dlsym(dl, "ZxcvbnFreeInfo");
        if (!sym_ZxcvbnMatch || !sym_ZxcvbnFreeInfo) {
                log_error("%s lacks ZxcvbnMatch or ZxcvbnFreeInfo", ZXCVBN_SONAME);
                sym_ZxcvbnMatch = NULL;
                sym_ZxcvbnFreeInfo = NULL;
                dlclose(dl);
                return -EOPNOTSUPP;
        }
        zxcvbn_dl = dl;
        return 0;
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
                sym_ZxcvbnMatch = NULL;
                sym_ZxcvbnFreeInfo = NULL;
                dlclose(zxcvbn_dl);
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
