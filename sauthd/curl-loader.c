/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>

#include "curl-loader.h"
#include "dlopen-util.h"
#include "log.h"
#include "util.h"

CURLcode (*sym_curl_global_init)(long flags);
void (*sym_curl_global_cleanup)(void);
CURL *(*sym_curl_easy_init)(void);
void (*sym_curl_easy_cleanup)(CURL *h);
CURLcode (*sym_curl_easy_setopt)(CURL *h, CURLoption option, ...);
CURLcode (*sym_curl_easy_perform)(CURL *h);
CURLcode (*sym_curl_easy_getinfo)(CURL *h, CURLINFO info, ...);
const char *(*sym_curl_easy_strerror)(CURLcode code);
struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *list, const char *s);
void (*sym_curl_slist_free_all)(struct curl_slist *list);
char *(*sym_curl_easy_escape)(CURL *h, const char *s, int length);
void (*sym_curl_free)(void *p);
CURLM *(*sym_curl_multi_init)(void);
CURLMcode (*sym_curl_multi_cleanup)(CURLM *m);
CURLMcode (*sym_curl_multi_setopt)(CURLM *m, CURLMoption option, ...);
CURLMcode (*sym_curl_multi_add_handle)(CURLM *m, CURL *h);
CURLMcode (*sym_curl_multi_remove_handle)(CURLM *m, CURL *h);
CURLMcode (*sym_curl_multi_assign)(CURLM *m, curl_socket_t s, void *p);
CURLMcode (*sym_curl_multi_socket_action)(CURLM *m, curl_socket_t s, int ev_bitmask, int *running);
CURLMsg *(*sym_curl_multi_info_read)(CURLM *m, int *msgs_in_queue);
CURLU *(*sym_curl_url)(void);
void (*sym_curl_url_cleanup)(CURLU *u);
CURLUcode (*sym_curl_url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
CURLUcode (*sym_curl_url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);

/* The soname of libcurl's current ABI (unchanged since 7.16). */
#define CURL_SONAME "libcurl.so.4"

static const DlSymbol curl_symbols[] = {
        { "curl_global_init",    (void **) &sym_curl_global_init },
        { "curl_global_cleanup", (void **) &sym_curl_global_cleanup },
        { "curl_easy_init",      (void **) &sym_curl_easy_init },
        { "curl_easy_cleanup",   (void **) &sym_curl_easy_cleanup },
        { "curl_easy_setopt",    (void **) &sym_curl_easy_setopt },
        { "curl_easy_perform",   (void **) &sym_curl_easy_perform },
        { "curl_easy_getinfo",   (void **) &sym_curl_easy_getinfo },
        { "curl_easy_strerror",  (void **) &sym_curl_easy_strerror },
        { "curl_slist_append",   (void **) &sym_curl_slist_append },
        { "curl_slist_free_all", (void **) &sym_curl_slist_free_all },
        { "curl_easy_escape", (void **) &sym_curl_easy_escape },
        { "curl_free", (void **) &sym_curl_free },
        { "curl_multi_init", (void **) &sym_curl_multi_init },
        { "curl_multi_cleanup", (void **) &sym_curl_multi_cleanup },
        { "curl_multi_setopt", (void **) &sym_curl_multi_setopt },
        { "curl_multi_add_handle", (void **) &sym_curl_multi_add_handle },
        { "curl_multi_remove_handle", (void **) &sym_curl_multi_remove_handle },
        { "curl_multi_assign", (void **) &sym_curl_multi_assign },
        { "curl_multi_socket_action", (void **) &sym_curl_multi_socket_action },
        { "curl_multi_info_read", (void **) &sym_curl_multi_info_read },
        { "curl_url", (void **) &sym_curl_url },
        { "curl_url_cleanup", (void **) &sym_curl_url_cleanup },
        { "curl_url_get", (void **) &sym_curl_url_get },
        { "curl_url_set", (void **) &sym_curl_url_set },
};

static void *curl_dl;

int curl_loader_load(void) {
        void *dl;
        int r;

        if (curl_dl)
                return 0;
        r = dlopen_symbols(CURL_SONAME, curl_symbols, ELEMENTSOF(curl_symbols), &dl);
        if (r < 0)
                return r;
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("libcurl's global set-up failed");
                dlopen_symbols_close(dl, curl_symbols, ELEMENTSOF(curl_symbols));
                return -EOPNOTSUPP;
        }
        curl_dl = dl;
        return 0;
}

bool curl_loader_loaded(void) {
        return curl_dl != NULL;
}

void curl_loader_unload(void) {
        if (!curl_dl)
                return;
        sym_curl_global_cleanup();
        dlopen_symbols_close(curl_dl, curl_symbols, ELEMENTSOF(curl_symbols));
        curl_dl = NULL;
}
