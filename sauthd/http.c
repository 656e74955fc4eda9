/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "curl-loader.h"
#include "http.h"
#include "log.h"

#define HTTP_DEFAULT_TIMEOUT_MSEC 10000
#define MIN(a, b) ((a) < (b) ? (a) : (b))

struct HttpCall {
        Http *http;
        CURL *easy;
        struct curl_slist *headers;
        char *form;                     /* secret: wiped */
        char *auth_header;              /* secret: wiped */
        http_done_fn done;
        void *userdata;
        char *body;
        size_t size;
        bool too_big;
        int64_t max_age;
        bool no_store;
        HttpCall *next;
};

struct Http {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        HttpCall *calls;
        unsigned n_calls;
};

static void http_call_free(HttpCall *c) {
        if (!c)
                return;
        if (c->easy) {
                sym_curl_multi_remove_handle(c->http->multi, c->easy);
                sym_curl_easy_cleanup(c->easy);
        }
        sym_curl_slist_free_all(c->headers);
        erase_and_free(c->form);
        erase_and_free(c->auth_header);
        free(c->body);
        free(c);
}

static void http_unlink(Http *h, HttpCall *c) {
        for (HttpCall **p = &h->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        h->n_calls--;
                        return;
                }
}

/* Completed transfers: their callbacks, then they go. */
static void http_check_done(Http *h) {
        CURLMsg *msg;
        int left;

        while ((msg = sym_curl_multi_info_read(h->multi, &left))) {
                HttpCall *c = NULL;
                HttpResponse resp = { .max_age = -1 };

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) sym_curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &c);
                if (!c)
                        continue;
                if (c->too_big) {
                        resp.error = -EFBIG;
                        resp.error_text = "response body too large";
                } else if (msg->data.result != CURLE_OK) {
                        resp.error = msg->data.result == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
                        resp.error_text = sym_curl_easy_strerror(msg->data.result);
                } else
                        (void) sym_curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp.status);
                resp.body = c->body ?: "";
                resp.size = c->size;
                resp.max_age = c->max_age;
                resp.no_store = c->no_store;
                http_unlink(h, c);
                c->done(&resp, c->userdata);
                http_call_free(c);
        }
}

static int http_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Http *h = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        (void) sym_curl_multi_socket_action(h->multi, fd, action, &running);
        http_check_done(h);
        return 0;
}

static int http_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Http *h = userdata;
        int running;

        (void) sym_curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        http_check_done(h);
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION: curl says which socket to watch for what. */
static int http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        Http *h = userp;
        sd_event_source *src = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                sd_event_source_disable_unref(src);
                (void) sym_curl_multi_assign(h->multi, fd, NULL);
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (src) {
                if (sd_event_source_set_io_events(src, events) < 0 ||
                    sd_event_source_set_enabled(src, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_io(h->event, &src, fd, events, http_on_io, h) < 0)
                return -1;
        (void) sym_curl_multi_assign(h->multi, fd, src);
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        Http *h = userp;
        uint64_t now;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_now(h->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_usec();
        if (sd_event_source_set_time(h->timer, now + (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int http_new(sd_event *event, Http **ret) {
        _cleanup_(http_freep) Http *h = calloc(1, sizeof *h);
        int r;

        if (!h)
                return -ENOMEM;
        /* libcurl is loaded now, when a provider is configured, not at
         * every start (curl-loader.h). */
        r = curl_loader_load();
        if (r < 0)
                return r;
        h->event = sd_event_ref(event);
        h->multi = sym_curl_multi_init();
        if (!h->multi)
                return -ENOMEM;
        r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, http_on_timer, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        if (sym_curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb) != CURLM_OK ||
            sym_curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
            sym_curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb) != CURLM_OK ||
            sym_curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
                return -EIO;
        *ret = TAKE_PTR(h);
        return 0;
}

Http *http_free(Http *h) {
        if (!h)
                return NULL;
        while (h->calls) {
                HttpCall *c = h->calls;

                h->calls = c->next;
                http_call_free(c);
        }
        if (h->multi)
                sym_curl_multi_cleanup(h->multi);
        sd_event_source_disable_unref(h->timer);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

static bool http_host_loopback(const char *host) {
        struct in_addr a4;
        struct in6_addr a6;
        size_t n = strlen(host);
        char buf[INET6_ADDRSTRLEN + 2];

        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        /* curl gives IPv6 hosts in brackets. */
        if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
                memcpy(buf, host + 1, n - 2);
                buf[n - 2] = 0;
                return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
        }
        return false;
}

bool http_url_allowed(const char *url) {
        CURLU *u = sym_curl_url();
        char *scheme = NULL, *host = NULL, *user = NULL;
        bool ok = false;

        if (!u || !url)
                goto out;
        if (sym_curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            sym_curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            sym_curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto out;
        /* Credentials in a URL would end up in logs. */
        if (sym_curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
                goto out;
        ok = strcasecmp(scheme, "https") == 0 ||
             (strcasecmp(scheme, "http") == 0 && http_host_loopback(host));
out:
        sym_curl_free(scheme);
        sym_curl_free(host);
        sym_curl_free(user);
        sym_curl_url_cleanup(u);
        return ok;
}

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpCall *c = userdata;
        size_t n = size * nmemb;
        char *b;

        if (n > HTTP_BODY_MAX - c->size) {
                c->too_big = true;
                return 0;       /* curl ends the transfer with a write error */
        }
        b = realloc(c->body, c->size + n + 1);
        if (!b)
                return 0;
        memcpy(b + c->size, data, n);
        c->size += n;
        b[c->size] = 0;
        c->body = b;
        return n;
}

/* Cache-Control: max-age=N, no-store, no-cache. */
static size_t http_on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpCall *c = userdata;
        size_t n = size * nmemb;
        char line[512];
        const char *p;

        if (n >= sizeof line || strncasecmp(data, "cache-control:", 14) != 0)
                return n;
        memcpy(line, data, n);
        line[n] = 0;
        for (char *q = line; *q; q++)
                *q = (char) (*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
        if (strstr(line, "no-store") || strstr(line, "no-cache"))
                c->no_store = true;
        p = strstr(line, "max-age=");
        if (p) {
                char *end;
                long long v = strtoll(p + 8, &end, 10);

                if (end != p + 8 && v >= 0)
                        c->max_age = v;
        }
        return n;
}

static int http_call_setup(HttpCall *c, const HttpRequest *req) {
        CURL *e = c->easy;
        long timeout = (long) (req->timeout_msec ?: HTTP_DEFAULT_TIMEOUT_MSEC);
        bool fail = false;

        c->headers = sym_curl_slist_append(NULL, "Accept: application/json");
        if (!c->headers)
                return -ENOMEM;
        if (req->bearer) {
                if (asprintf(&c->auth_header, "Authorization: Bearer %s", req->bearer) < 0) {
                        c->auth_header = NULL;
                        return -ENOMEM;
                }
                struct curl_slist *l = sym_curl_slist_append(c->headers, c->auth_header);
                if (!l)
                        return -ENOMEM;
                c->headers = l;
        }
        fail |= sym_curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_NOPROXY, "*") != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                 (long) MIN(HTTP_CONNECT_TIMEOUT_MSEC, timeout)) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long) HTTP_BODY_MAX) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_USERAGENT, "sauthd") != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_HEADERDATA, c) != CURLE_OK;
        fail |= sym_curl_easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK;
        if (req->form) {
                c->form = strdup(req->form);
                if (!c->form)
                        return -ENOMEM;
                fail |= sym_curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->form) != CURLE_OK;
        }
        if (req->basic_user) {
                fail |= sym_curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) != CURLE_OK;
                fail |= sym_curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user) != CURLE_OK;
                fail |= sym_curl_easy_setopt(e, CURLOPT_PASSWORD, strempty(req->basic_password)) != CURLE_OK;
        }
        return fail ? -EIO : 0;
}

int http_start(Http *h, const HttpRequest *req, http_done_fn done, void *userdata, HttpCall **ret) {
        HttpCall *c;
        int r;

        if (!http_url_allowed(req->url))
                return -EPERM;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (HttpCall) { .http = h, .done = done, .userdata = userdata, .max_age = -1 };
        c->easy = sym_curl_easy_init();
        if (!c->easy) {
                free(c);
                return -ENOMEM;
        }
        r = http_call_setup(c, req);
        if (r >= 0 && sym_curl_multi_add_handle(h->multi, c->easy) != CURLM_OK)
                r = -EIO;
        if (r < 0) {
                sym_curl_easy_cleanup(TAKE_PTR(c->easy));
                http_call_free(c);
                return r;
        }
        c->next = h->calls;
        h->calls = c;
        h->n_calls++;
        if (ret)
                *ret = c;
        return 0;
}

void http_cancel(HttpCall *c) {
        if (!c)
                return;
        http_unlink(c->http, c);
        http_call_free(c);
}

unsigned http_in_flight(const Http *h) {
        return h ? h->n_calls : 0;
}

char *http_form(const char *const *pairs) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
                char *v = sym_curl_easy_escape(NULL, pairs[i + 1], 0);

                if (!v) {
                        fclose(f);
                        return erase_and_free(out);
                }
                fprintf(f, "%s%s=%s", i ? "&" : "", pairs[i], v);
                explicit_bzero(v, strlen(v));
                sym_curl_free(v);
        }
        if (fclose(f) != 0)
                return erase_and_free(out);
        return out;
}
