/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>

#include "dlopen-util.h"
#include "log.h"

static void symbols_clear(const DlSymbol *symbols, size_t n) {
        for (size_t i = 0; i < n; i++)
                *symbols[i].ptr = NULL;
}

int dlopen_symbols(const char *soname, const DlSymbol *symbols, size_t n, void **ret_handle) {
        void *dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

        if (!dl) {
                log_error("cannot load %s: %s", soname, dlerror());
                return -EOPNOTSUPP;
        }
        for (size_t i = 0; i < n; i++) {
                *symbols[i].ptr = dlsym(dl, symbols[i].name);
                if (!*symbols[i].ptr) {
                        log_error("%s has no %s", soname, symbols[i].name);
                        symbols_clear(symbols, n);
                        dlclose(dl);
                        return -EOPNOTSUPP;
                }
        }
        log_debug("loaded %s", soname);
        *ret_handle = dl;
        return 0;
}

void dlopen_symbols_close(void *handle, const DlSymbol *symbols, size_t n) {
        symbols_clear(symbols, n);
        if (handle)
                dlclose(handle);
}
