/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * Optional libraries are loaded when first needed (dlopen, as systemd does
 * for its optional libraries), not mapped by an idle daemon: libcurl (mail,
 * OAuth), libcrypto (RS256/ES256 ID tokens), libzxcvbn (password checks),
 * libpq (the PostgreSQL store). Each loader names its library's functions
 * as sym_NAME pointers and lists them in a DlSymbol table.
 */

typedef struct DlSymbol {
        const char *name;
        void **ptr;
} DlSymbol;

#define DL_SYMBOL(name) { #name, (void **) &sym_##name }

/* Opens soname and sets every pointer of the table; *ret_handle for
 * dlopen_symbols_close(). On failure no pointer is set, the reason is
 * logged, and the result is -EOPNOTSUPP. */
int dlopen_symbols(const char *soname, const DlSymbol *symbols, size_t n, void **ret_handle);

/* Clears the table's pointers and closes the handle (takes NULL). */
void dlopen_symbols_close(void *handle, const DlSymbol *symbols, size_t n);
