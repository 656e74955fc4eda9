/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

/*
 * libcurl, loaded when first needed (dlopen, as systemd loads its optional
 * libraries): most hosts never send mail over SMTP or talk to an OAuth
 * provider, and libcurl brings ~6 MiB of shared libraries (TLS, Kerberos,
 * PKCS#11) into a daemon that would otherwise idle at a fraction of that.
 *
 * Users (mail-send.c; the HTTP client of the OAuth work) call
 * curl_loader_load() on the loop thread before they hand work to a thread
 * — it also runs curl_global_init(), which is not thread-safe in every
 * libcurl — and then call libcurl through the sym_ pointers below, on any
 * thread. Add a pointer here (and a row in curl-loader.c) for each libcurl
 * function a new user needs.
 */

extern CURLcode (*sym_curl_global_init)(long flags);
extern void (*sym_curl_global_cleanup)(void);
extern CURL *(*sym_curl_easy_init)(void);
extern void (*sym_curl_easy_cleanup)(CURL *h);
extern CURLcode (*sym_curl_easy_setopt)(CURL *h, CURLoption option, ...);
extern CURLcode (*sym_curl_easy_perform)(CURL *h);
extern CURLcode (*sym_curl_easy_getinfo)(CURL *h, CURLINFO info, ...);
extern const char *(*sym_curl_easy_strerror)(CURLcode code);
extern struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *list, const char *s);
extern void (*sym_curl_slist_free_all)(struct curl_slist *list);
extern char *(*sym_curl_easy_escape)(CURL *h, const char *s, int length);
extern void (*sym_curl_free)(void *p);
extern CURLM *(*sym_curl_multi_init)(void);
extern CURLMcode (*sym_curl_multi_cleanup)(CURLM *m);
extern CURLMcode (*sym_curl_multi_setopt)(CURLM *m, CURLMoption option, ...);
extern CURLMcode (*sym_curl_multi_add_handle)(CURLM *m, CURL *h);
extern CURLMcode (*sym_curl_multi_remove_handle)(CURLM *m, CURL *h);
extern CURLMcode (*sym_curl_multi_assign)(CURLM *m, curl_socket_t s, void *p);
extern CURLMcode (*sym_curl_multi_socket_action)(CURLM *m, curl_socket_t s, int ev_bitmask, int *running);
extern CURLMsg *(*sym_curl_multi_info_read)(CURLM *m, int *msgs_in_queue);
extern CURLU *(*sym_curl_url)(void);
extern void (*sym_curl_url_cleanup)(CURLU *u);
extern CURLUcode (*sym_curl_url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
extern CURLUcode (*sym_curl_url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);

/* Loads libcurl and runs its global set-up, once; 0 or -EOPNOTSUPP (not
 * installed, or a symbol missing: logged). Loop thread only. */
int curl_loader_load(void);

/* Whether curl_loader_load() succeeded: the sym_ pointers may be used. */
bool curl_loader_loaded(void);

/* At exit, after every user stopped: curl_global_cleanup(), unload. */
void curl_loader_unload(void);
