/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "util.h"

/*
 * An asynchronous HTTP client on the event loop: one curl multi handle
 * whose sockets and timer are sd-event sources, so that no request ever
 * blocks the loop. Every transfer has a connect and a total timeout, its
 * body is capped, redirects are not followed, TLS is always verified, and
 * only https URLs are fetched — or http to a loopback address literal
 * (127.0.0.0/8, ::1), which tests use. The completion callback runs on
 * the loop.
 */

#define HTTP_BODY_MAX (256 * 1024)
#define HTTP_CONNECT_TIMEOUT_MSEC 5000

typedef struct Http Http;
typedef struct HttpCall HttpCall;

typedef struct HttpRequest {
        const char *url;
        const char *form;               /* POST application/x-www-form-urlencoded; NULL: GET */
        const char *basic_user;         /* client_secret_basic; NULL: none */
        const char *basic_password;     /* secret */
        const char *bearer;             /* Authorization: Bearer (secret); NULL: none */
        uint64_t timeout_msec;          /* the whole transfer; 0: 10 s */
} HttpRequest;

typedef struct HttpResponse {
        int error;                      /* 0, or negative errno: the transfer failed */
        const char *error_text;         /* curl's words for it, for the log */
        long status;                    /* HTTP status when error == 0 */
        const char *body;               /* NUL-terminated, size bytes */
        size_t size;
        int64_t max_age;                /* Cache-Control max-age, -1 if none */
        bool no_store;                  /* Cache-Control no-store / no-cache */
} HttpResponse;

/* Runs on the loop when a call ends (done or failed); the call is freed
 * after it returns. Not run for a cancelled call. */
typedef void (*http_done_fn)(const HttpResponse *resp, void *userdata);

int http_new(sd_event *event, Http **ret);
/* Cancels what is in flight (no callbacks). Takes NULL. */
Http *http_free(Http *h);
static inline void http_freep(Http **h) {
        http_free(*h);
}

/* Whether url may be fetched: https, or http to a loopback literal. */
bool http_url_allowed(const char *url);

/* Starts a transfer. ret (may be NULL) is the handle for http_cancel(),
 * valid until done runs. -EPERM for a URL http_url_allowed() refuses. */
_must_check_ int http_start(Http *h, const HttpRequest *req, http_done_fn done, void *userdata, HttpCall **ret);

/* Stops a transfer; done is not called. Takes NULL. */
void http_cancel(HttpCall *c);

/* Transfers in flight (tests). */
unsigned http_in_flight(const Http *h);

/* "a=b&c=d" with each value percent-encoded; NULL-terminated key, value
 * pairs. The result may hold secrets: free it with erase_and_free(). */
char *http_form(const char *const *pairs);
