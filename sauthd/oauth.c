/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>

#include "curl-loader.h"
#include <errno.h>
#include <sodium.h>
#include <time.h>

#include "account.h"
#include "audit.h"
#include "identity.h"
#include "idtoken.h"
#include "log.h"
#include "manager.h"
#include "oauth.h"
#include "secret-file.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define OAUTH_SECRET_MAX 4096
#define OAUTH_GRANT_DEVICE "urn:ietf:params:oauth:grant-type:device_code"
#define MIN(a, b) ((a) < (b) ? (a) : (b))

typedef struct OAuthProvider {
        const ProviderConfig *cfg;
        char *discovery_url;            /* ISSUER/.well-known/openid-configuration */
        char *secret;                   /* client secret, sodium memory; NULL: public client */
        OAuthDiscovery disc;
        uint64_t disc_expires;          /* CLOCK_MONOTONIC usec; 0: none */
        char *jwks;
        size_t jwks_len;
        uint64_t jwks_expires;
} OAuthProvider;

typedef struct OAuthOp OAuthOp;

typedef struct DeviceFlow {
        char handle[TOKEN_TEXT_MAX];
        uid_t owner;
        OAuthProvider *p;
        char *username;
        OAuthDeviceAuth auth;           /* device_code is a secret */
        uint64_t expires;               /* usec */
        unsigned interval;              /* seconds, grown by slow_down */
        uint64_t last_request;          /* usec; 0: none yet */
        OAuthOp *busy;                  /* a token request in flight */
        struct DeviceFlow *next;
} DeviceFlow;

typedef struct CodeState {
        char state[TOKEN_TEXT_MAX];
        char verifier[TOKEN_TEXT_MAX];  /* PKCE, secret */
        char nonce[TOKEN_TEXT_MAX];
        uid_t owner;
        OAuthProvider *p;
        char *username;
        LoginContext context;
        uint64_t expires;
        struct CodeState *next;
} CodeState;

typedef enum OpKind { OP_DEVICE_START, OP_DEVICE_POLL, OP_CODE_START, OP_CODE_EXCHANGE } OpKind;

struct OAuthOp {
        OAuth *o;
        OAuthProvider *p;
        OpKind kind;
        Caller caller;                  /* who asked; registrations count against it */
        char *username;
        DeviceFlow *flow;               /* OP_DEVICE_POLL */
        CodeState *state;               /* OP_CODE_*: owned once taken from the list */
        char *code;                     /* OP_CODE_EXCHANGE, secret */
        LoginContext context;
        OAuthTokens tokens;
        bool have_tokens, id_checked, userinfo_done, jwks_refetched;
        OAuthClaims claims;
        bool have_claims;
        HttpCall *call;
        oauth_done_fn done;
        void *userdata;
};

struct OAuth {
        Manager *m;
        Http *http;
        OAuthProvider *providers;
        size_t n_providers;
        DeviceFlow *flows;
        unsigned n_flows;
        CodeState *states;
        unsigned n_states;
};

static void op_step(OAuthOp *op);

/* ------------------------------------------------------------ providers */

static bool endswith_slash(const char *s) {
        size_t n = strlen(s);

        return n > 0 && s[n - 1] == '/';
}

static int provider_load_secret(OAuthProvider *p) {
        char msg[256] = "";
        size_t len = 0;
        int r;

        if (isempty(p->cfg->client_secret_file))
                return 0;
        r = secret_file_read(p->cfg->client_secret_file, OAUTH_SECRET_MAX, &p->secret, &len, msg, sizeof msg);
        if (r < 0) {
                log_error("[provider %s] client_secret_file %s: %s", p->cfg->name, p->cfg->client_secret_file,
                          msg[0] ? msg : strerror(-r));
                return r;
        }
        while (len > 0 && (p->secret[len - 1] == '\n' || p->secret[len - 1] == '\r'))
                p->secret[--len] = 0;
        return 0;
}

int oauth_new(Manager *m, OAuth **ret) {
        const SauthConfig *c = m->config;
        OAuth *o = calloc(1, sizeof *o);
        int r;

        if (!o)
                return -ENOMEM;
        /* Providers need libcurl (their URLs are checked with its parser
         * below): loaded now, and only then (curl-loader.h). */
        if (c->n_providers > 0) {
                r = curl_loader_load();
                if (r < 0) {
                        log_error("OAuth providers are configured, but libcurl cannot be loaded");
                        free(o);
                        return r;
                }
        }
        o->m = m;
        o->providers = calloc(c->n_providers + 1, sizeof *o->providers);
        if (!o->providers) {
                oauth_free(o);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_providers; i++) {
                OAuthProvider *p = &o->providers[o->n_providers++];

                p->cfg = &c->providers[i];
                if (isempty(p->cfg->issuer) || isempty(p->cfg->client_id) ||
                    !http_url_allowed(p->cfg->issuer)) {
                        log_error("[provider %s] needs issuer (https, or http on a loopback address) and client_id",
                                  p->cfg->name);
                        oauth_free(o);
                        return -EINVAL;
                }
                if (asprintf(&p->discovery_url, "%s%s.well-known/openid-configuration", p->cfg->issuer,
                             endswith_slash(p->cfg->issuer) ? "" : "/") < 0) {
                        p->discovery_url = NULL;
                        oauth_free(o);
                        return -ENOMEM;
                }
                r = provider_load_secret(p);
                if (r < 0) {
                        oauth_free(o);
                        return r;
                }
        }
        /* No provider, no HTTP: libcurl stays unloaded. */
        r = o->n_providers > 0 ? http_new(m->event, &o->http) : 0;
        if (r < 0) {
                oauth_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

static void flow_free(DeviceFlow *f) {
        if (!f)
                return;
        free(f->username);
        oauth_device_auth_done(&f->auth);
        sodium_memzero(f->handle, sizeof f->handle);
        free(f);
}

static void state_free(CodeState *s) {
        if (!s)
                return;
        free(s->username);
        sodium_memzero(s, sizeof *s);
        free(s);
}

static void op_free(OAuthOp *op) {
        if (!op)
                return;
        http_cancel(op->call);
        if (op->flow && op->flow->busy == op)
                op->flow->busy = NULL;
        free(op->username);
        erase_and_free(op->code);
        state_free(op->state);
        oauth_tokens_done(&op->tokens);
        oauth_claims_done(&op->claims);
        free(op);
}

OAuth *oauth_free(OAuth *o) {
        if (!o)
                return NULL;
        /* Operations in flight belong to requests the tracker waits for;
         * at exit the HTTP calls go without callbacks. */
        o->http = http_free(o->http);
        while (o->flows) {
                DeviceFlow *f = o->flows;

                o->flows = f->next;
                flow_free(f);
        }
        while (o->states) {
                CodeState *s = o->states;

                o->states = s->next;
                state_free(s);
        }
        for (size_t i = 0; i < o->n_providers; i++) {
                secret_free(o->providers[i].secret);
                free(o->providers[i].discovery_url);
                oauth_discovery_done(&o->providers[i].disc);
                free(o->providers[i].jwks);
        }
        free(o->providers);
        free(o);
        return NULL;
}

static OAuthProvider *provider_find(OAuth *o, const char *name) {
        for (size_t i = 0; name && i < o->n_providers; i++)
                if (streq(o->providers[i].cfg->name, name))
                        return &o->providers[i];
        return NULL;
}

bool oauth_has_provider(OAuth *o, const char *method) {
        return provider_find(o, method) != NULL;
}

size_t oauth_provider_count(const OAuth *o) {
        return o->n_providers;
}

void oauth_provider_info(const OAuth *o, size_t i, OAuthProviderInfo *ret) {
        const OAuthProvider *p = &o->providers[i];
        bool discovered = p->disc.token_endpoint != NULL;

        *ret = (OAuthProviderInfo) {
                .name = p->cfg->name,
                .issuer = p->cfg->issuer,
                .confidential = p->secret != NULL,
                .device = !discovered || p->disc.device_authorization_endpoint,
                .code = !isempty(p->cfg->redirect_uri) && (!discovered || p->disc.authorization_endpoint),
                .discovered = discovered,
        };
}

unsigned oauth_flows_open(const OAuth *o) {
        return o->n_flows + o->n_states;
}

/* How long a document may be kept: its max-age within bounds. */
static uint64_t cache_until(const HttpResponse *resp) {
        int64_t s = resp->max_age < 0 ? OAUTH_CACHE_DEFAULT_SEC : resp->max_age;

        /* Even no-store or max-age=0 keeps it a minute: otherwise every
         * poll would fetch discovery again. An unknown key id in an ID
         * token refetches the JWKS at once (op_check_id_token). */
        if (resp->no_store || s < OAUTH_CACHE_MIN_SEC)
                s = OAUTH_CACHE_MIN_SEC;
        if (s > OAUTH_CACHE_MAX_SEC)
                s = OAUTH_CACHE_MAX_SEC;
        return now_usec() + (uint64_t) s * USEC_PER_SEC + 1;
}

/* ------------------------------------------------------------ operations */

static void op_finish(OAuthOp *op, OAuthResult *res) {
        res->method = op->p ? op->p->cfg->name : NULL;
        op->call = NULL;
        op->done(res, op->userdata);
        op_free(op);
}

static void op_fail(OAuthOp *op, SauthStatus s, const char *message) {
        op_finish(op, &(OAuthResult) { .status = s, .message = message });
}

/* A provider that does not answer as it should. Logged with the
 * provider's name, never with a token. */
static void op_provider_error(OAuthOp *op, const char *what, const HttpResponse *resp) {
        if (resp && resp->error)
                log_warning("provider %s: %s: %s", op->p->cfg->name, what, resp->error_text ?: strerror(-resp->error));
        else if (resp)
                log_warning("provider %s: %s: HTTP %ld", op->p->cfg->name, what, resp->status);
        else
                log_warning("provider %s: %s", op->p->cfg->name, what);
        op_fail(op, SAUTH_E_PROVIDER_ERROR, "The identity provider did not answer as expected.");
}

static void op_http(OAuthOp *op, const HttpRequest *req, http_done_fn done, const char *what) {
        HttpRequest r = *req;
        int k;

        r.timeout_msec = (op->p->cfg->timeout ?: 10) * 1000ULL;
        k = http_start(op->o->http, &r, done, op, &op->call);
        if (k < 0) {
                op->call = NULL;
                log_warning("provider %s: %s: cannot start the request: %s", op->p->cfg->name, what,
                            k == -EPERM ? "not an https URL" : strerror(-k));
                op_fail(op, SAUTH_E_PROVIDER_ERROR, "The identity provider did not answer as expected.");
        }
}

/* Every endpoint must be fetchable under the same rule as the issuer. */
static bool discovery_ok(const OAuthProvider *p, const OAuthDiscovery *d) {
        const char *urls[] = { d->authorization_endpoint, d->token_endpoint, d->device_authorization_endpoint,
                               d->userinfo_endpoint, d->jwks_uri };

        if (!streq(d->issuer, p->cfg->issuer))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(urls); i++)
                if (urls[i] && !http_url_allowed(urls[i]))
                        return false;
        return true;
}

static void on_discovery(const HttpResponse *resp, void *userdata) {
        OAuthOp *op = userdata;
        OAuthProvider *p = op->p;
        OAuthDiscovery d = {};

        op->call = NULL;
        if (resp->error || resp->status != 200 || oauth_parse_discovery(resp->body, resp->size, &d) < 0)
                return op_provider_error(op, "discovery", resp);
        if (!discovery_ok(p, &d)) {
                oauth_discovery_done(&d);
                return op_provider_error(op, "discovery: issuer differs or an endpoint is not https", NULL);
        }
        oauth_discovery_done(&p->disc);
        p->disc = d;
        p->disc_expires = cache_until(resp);
        op_step(op);
}

static bool provider_fresh(const OAuthProvider *p) {
        return p->disc.token_endpoint && p->disc_expires > now_usec();
}

static void on_jwks(const HttpResponse *resp, void *userdata) {
        OAuthOp *op = userdata;
        OAuthProvider *p = op->p;
        char *copy;

        op->call = NULL;
        if (resp->error || resp->status != 200)
                return op_provider_error(op, "jwks", resp);
        copy = strndup(resp->body, resp->size);
        if (!copy)
                return op_fail(op, SAUTH_E_INTERNAL, "Out of memory.");
        free(p->jwks);
        p->jwks = copy;
        p->jwks_len = resp->size;
        p->jwks_expires = cache_until(resp);
        op_step(op);
}

/* ------------------------------------------------------------ device flow */

static void on_device_auth(const HttpResponse *resp, void *userdata) {
        OAuthOp *op = userdata;
        OAuth *o = op->o;
        DeviceFlow *f;

        op->call = NULL;
        if (resp->error || resp->status != 200)
                return op_provider_error(op, "device authorization", resp);
        f = calloc(1, sizeof *f);
        if (!f)
                return op_fail(op, SAUTH_E_INTERNAL, "Out of memory.");
        if (oauth_parse_device_auth(resp->body, resp->size, &f->auth) < 0) {
                flow_free(f);
                return op_provider_error(op, "device authorization: malformed answer", NULL);
        }
        token_new(f->handle);
        f->owner = op->caller.uid;
        f->p = op->p;
        f->username = TAKE_PTR(op->username);
        f->interval = f->auth.interval;
        f->expires = now_usec() + (uint64_t) f->auth.expires_in * USEC_PER_SEC;
        f->next = o->flows;
        o->flows = f;
        o->n_flows++;
        op_finish(op, &(OAuthResult) {
                .status = SAUTH_OK,
                .handle = f->handle,
                .user_code = f->auth.user_code,
                .verification_uri = f->auth.verification_uri,
                .verification_uri_complete = f->auth.verification_uri_complete ?: f->auth.verification_uri,
                .expires_in = f->auth.expires_in,
                .interval = f->interval,
        });
}

static void device_auth_request(OAuthOp *op) {
        const ProviderConfig *c = op->p->cfg;
        _cleanup_erase_ char *form = NULL;

        if (!op->p->disc.device_authorization_endpoint)
                return op_fail(op, SAUTH_E_UNSUPPORTED_METHOD, "This provider has no device flow.");
        form = http_form((const char *[]) { "client_id", c->client_id, "scope", c->scopes ?: "openid email",
                                            NULL, NULL });
        if (!form)
                return op_fail(op, SAUTH_E_INTERNAL, "Out of memory.");
        op_http(op, &(HttpRequest) {
                .url = op->p->disc.device_authorization_endpoint, .form = form,
        }, on_device_auth, "device authorization");
}

static void flow_remove(OAuth *o, DeviceFlow *f) {
        for (DeviceFlow **p = &o->flows; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        o->n_flows--;
                        break;
                }
        if (f->busy)
                f->busy->flow = NULL;
        flow_free(f);
}

/* Expired flows and states go; a flow with a request in flight stays until
 * the request ends. */
static void oauth_prune(OAuth *o) {
        uint64_t now = now_usec();

        for (DeviceFlow **p = &o->flows; *p;) {
                DeviceFlow *f = *p;

                if (f->expires <= now && !f->busy) {
                        *p = f->next;
                        o->n_flows--;
                        flow_free(f);
                } else
                        p = &f->next;
        }
        for (CodeState **p = &o->states; *p;) {
                CodeState *s = *p;

                if (s->expires <= now) {
                        *p = s->next;
                        o->n_states--;
                        state_free(s);
                } else
                        p = &s->next;
        }
}

static unsigned flows_of(const OAuth *o, uid_t uid) {
        unsigned n = 0;

        for (const DeviceFlow *f = o->flows; f; f = f->next)
                n += f->owner == uid;
        return n;
}

static unsigned states_of(const OAuth *o, uid_t uid) {
        unsigned n = 0;

        for (const CodeState *s = o->states; s; s = s->next)
                n += s->owner == uid;
        return n;
}

static OAuthOp *op_new(OAuth *o, OAuthProvider *p, OpKind kind, const Caller *caller, const char *username,
                       oauth_done_fn done, void *userdata) {
        OAuthOp *op = calloc(1, sizeof *op);

        if (!op)
                return NULL;
        *op = (OAuthOp) { .o = o, .p = p, .kind = kind, .caller = *caller, .done = done, .userdata = userdata };
        op->username = strdup(username ?: "");
        if (!op->username) {
                free(op);
                return NULL;
        }
        return op;
}

int oauth_device_start(OAuth *o, const char *method, const char *username, const Caller *caller,
                       oauth_done_fn done, void *userdata) {
        OAuthProvider *p = provider_find(o, method);
        OAuthOp *op;

        if (!p)
                return -ENOENT;
        oauth_prune(o);
        if (o->n_flows >= OAUTH_FLOWS_MAX || flows_of(o, caller->uid) >= OAUTH_FLOWS_PER_UID)
                return -EBUSY;
        op = op_new(o, p, OP_DEVICE_START, caller, username, done, userdata);
        if (!op)
                return -ENOMEM;
        op_step(op);
        return 0;
}

static DeviceFlow *flow_find(OAuth *o, const char *handle) {
        size_t n = strlen(handle);

        for (DeviceFlow *f = o->flows; f; f = f->next)
                if (strlen(f->handle) == n && sodium_memcmp(f->handle, handle, n) == 0)
                        return f;
        return NULL;
}

static void on_device_token(const HttpResponse *resp, void *userdata);

static void device_token_request(OAuthOp *op) {
        const ProviderConfig *c = op->p->cfg;
        _cleanup_erase_ char *form = NULL;

        form = http_form((const char *[]) { "grant_type", OAUTH_GRANT_DEVICE, "device_code",
                                            op->flow->auth.device_code, "client_id", c->client_id, NULL, NULL });
        if (!form)
                return op_fail(op, SAUTH_E_INTERNAL, "Out of memory.");
        op->flow->last_request = now_usec();
        op_http(op, &(HttpRequest) {
                .url = op->p->disc.token_endpoint, .form = form,
                .basic_user = op->p->secret ? c->client_id : NULL, .basic_password = op->p->secret,
        }, on_device_token, "device token");
}

static void op_pending(OAuthOp *op) {
        op_finish(op, &(OAuthResult) { .status = SAUTH_OK, .pending = true, .interval = op->flow->interval });
}

/* The token endpoint's errors of RFC 8628 3.5. */
static void device_token_error(OAuthOp *op, const HttpResponse *resp) {
        DeviceFlow *f = op->flow;
        OAuthError e;

        if (resp->status < 400 || resp->status >= 500 || oauth_parse_error(resp->body, resp->size, &e) < 0)
                return op_provider_error(op, "device token", resp);
        switch (e) {
        case OAUTH_ERROR_AUTHORIZATION_PENDING:
                return op_pending(op);
        case OAUTH_ERROR_SLOW_DOWN:
                f->interval = MIN(f->interval + OAUTH_SLOW_DOWN_SEC, OAUTH_INTERVAL_MAX);
                return op_pending(op);
        case OAUTH_ERROR_ACCESS_DENIED:
                flow_remove(op->o, f);
                return op_fail(op, SAUTH_E_AUTHORIZATION_DENIED, "The login was denied at the identity provider.");
        case OAUTH_ERROR_EXPIRED_TOKEN:
                flow_remove(op->o, f);
                return op_fail(op, SAUTH_E_EXPIRED_TOKEN, "The device code expired; start again.");
        default:
                flow_remove(op->o, f);
                return op_provider_error(op, "device token: refused", resp);
        }
}

static void on_device_token(const HttpResponse *resp, void *userdata) {
        OAuthOp *op = userdata;

        op->call = NULL;
        if (!op->flow)
                return op_fail(op, SAUTH_E_EXPIRED_TOKEN, "The device code expired; start again.");
        if (!resp->error && resp->status != 200)
                return device_token_error(op, resp);
        if (resp->error || oauth_parse_tokens(resp->body, resp->size, &op->tokens) < 0) {
                /* The flow stays: a poll after the interval may try again. */
                return op_provider_error(op, "device token", resp);
        }
        op->have_tokens = true;
        /* The device code is spent: the flow ends here, whatever follows. */
        free(op->username);
        op->username = TAKE_PTR(op->flow->username);
        flow_remove(op->o, op->flow);
        op_step(op);
}

int oauth_device_poll(OAuth *o, const char *handle, const Caller *caller, oauth_done_fn done, void *userdata) {
        DeviceFlow *f;
        OAuthOp *op;

        f = flow_find(o, handle);
        if (!f)
                return -ENOENT;
        if (f->owner != caller->uid)
                return -EPERM;
        if (f->expires <= now_usec() && !f->busy) {
                flow_remove(o, f);
                return -ETIME;
        }
        op = op_new(o, f->p, OP_DEVICE_POLL, caller, NULL, done, userdata);
        if (!op)
                return -ENOMEM;
        op->flow = f;
        /* RFC 8628 3.5: never faster than the interval, and one request
         * at a time; the answer meanwhile is "pending", with no request. */
        if (f->busy || (f->last_request && now_usec() < f->last_request + (uint64_t) f->interval * USEC_PER_SEC)) {
                op_pending(op);
                return 0;
        }
        f->busy = op;
        op_step(op);
        return 0;
}

/* ------------------------------------------------------------ code flow */

static int pkce_challenge(const char *verifier, char out[static TOKEN_TEXT_MAX]) {
        unsigned char h[crypto_hash_sha256_BYTES];

        crypto_hash_sha256(h, (const unsigned char *) verifier, strlen(verifier));
        sodium_bin2base64(out, TOKEN_TEXT_MAX, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        return 0;
}

static void code_location(OAuthOp *op) {
        const ProviderConfig *c = op->p->cfg;
        CodeState *s = op->state;
        _cleanup_free_ char *query = NULL, *location = NULL;
        char challenge[TOKEN_TEXT_MAX];
        OAuth *o = op->o;

        if (!op->p->disc.authorization_endpoint || isempty(c->redirect_uri))
                return op_fail(op, SAUTH_E_UNSUPPORTED_METHOD, "This provider has no authorization code flow here.");
        pkce_challenge(s->verifier, challenge);
        query = http_form((const char *[]) {
                "response_type", "code", "client_id", c->client_id, "redirect_uri", c->redirect_uri,
                "scope", c->scopes ?: "openid email", "state", s->state, "nonce", s->nonce,
                "code_challenge", challenge, "code_challenge_method", "S256", NULL, NULL });
        if (!query || asprintf(&location, "%s%c%s", op->p->disc.authorization_endpoint,
                               strchr(op->p->disc.authorization_endpoint, '?') ? '&' : '?', query) < 0) {
                location = NULL;
                return op_fail(op, SAUTH_E_INTERNAL, "Out of memory.");
        }
        /* The state joins the list only now that the URL exists. */
        s->next = o->states;
        o->states = TAKE_PTR(op->state);
        o->n_states++;
        op_finish(op, &(OAuthResult) { .status = SAUTH_OK, .location = location, .state = o->states->state });
}

int oauth_code_start(OAuth *o, const char *method, const char *username, const Caller *caller,
                     const LoginContext *context, oauth_done_fn done, void *userdata) {
        OAuthProvider *p = provider_find(o, method);
        OAuthOp *op;
        CodeState *s;

        if (!p)
                return -ENOENT;
        oauth_prune(o);
        if (o->n_states >= OAUTH_STATES_MAX || states_of(o, caller->uid) >= OAUTH_STATES_PER_UID)
                return -EBUSY;
        op = op_new(o, p, OP_CODE_START, caller, username, done, userdata);
        s = calloc(1, sizeof *s);
        if (!op || !s || !(s->username = strdup(username ?: ""))) {
                op_free(op);
                state_free(s);
                return -ENOMEM;
        }
        token_new(s->state);
        token_new(s->verifier);
        token_new(s->nonce);
        s->owner = caller->uid;
        s->p = p;
        s->context = context ? *context : (LoginContext) {};
        s->expires = now_usec() + OAUTH_STATE_LIFETIME_SEC * USEC_PER_SEC;
        op->state = s;
        op_step(op);
        return 0;
}

/* Takes the state out of the list: single use, whatever follows. */
static CodeState *state_take(OAuth *o, const char *state, OAuthProvider *p, uid_t caller) {
        size_t n = strlen(state);

        for (CodeState **i = &o->states; *i; i = &(*i)->next) {
                CodeState *s = *i;

                if (strlen(s->state) != n || sodium_memcmp(s->state, state, n) != 0)
                        continue;
                if (s->p != p || s->owner != caller || s->expires <= now_usec())
                        return NULL;
                *i = s->next;
                o->n_states--;
                return s;
        }
        return NULL;
}

static void on_code_token(const HttpResponse *resp, void *userdata) {
        OAuthOp *op = userdata;
        OAuthError e;

        op->call = NULL;
        if (!resp->error && resp->status >= 400 && resp->status < 500 &&
            oauth_parse_error(resp->body, resp->size, &e) >= 0 && e == OAUTH_ERROR_INVALID_GRANT)
                return op_fail(op, SAUTH_E_INVALID_TOKEN, "The authorization code was refused.");
        if (resp->error || resp->status != 200 || oauth_parse_tokens(resp->body, resp->size, &op->tokens) < 0)
                return op_provider_error(op, "code token", resp);
        op->have_tokens = true;
        op_step(op);
}

static void code_token_request(OAuthOp *op) {
        const ProviderConfig *c = op->p->cfg;
        _cleanup_erase_ char *form = NULL, *user = NULL, *password = NULL;

        form = http_form((const char *[]) {
                "grant_type", "authorization_code", "code", op->code, "redirect_uri", c->redirect_uri,
                "code_verifier", op->state->verifier, "client_id", c->client_id, NULL, NULL });
        /* RFC 6749 2.3.1: id and secret form-encoded before Basic. */
        if (op->p->secret) {
                user = sym_curl_easy_escape(NULL, c->client_id, 0);
                password = sym_curl_easy_escape(NULL, op->p->secret, 0);
        }
        if (!form || (op->p->secret && (!user || !password)))
                return op_fail(op, SAUTH_E_INTERNAL, "Out of memory.");
        op_http(op, &(HttpRequest) {
                .url = op->p->disc.token_endpoint, .form = form, .basic_user = user, .basic_password = password,
        }, on_code_token, "code token");
}

int oauth_code_callback(OAuth *o, const char *method, const char *code, const char *state, const Caller *caller,
                        oauth_done_fn done, void *userdata) {
        OAuthProvider *p = provider_find(o, method);
        OAuthOp *op;
        CodeState *s;

        if (!p)
                return -ENOENT;
        s = state_take(o, state, p, caller->uid);
        if (!s)
                return -EKEYREJECTED;
        op = op_new(o, p, OP_CODE_EXCHANGE, caller, s->username, done, userdata);
        if (!op || !(op->code = strdup(code))) {
                state_free(s);
                op_free(op);
                return -ENOMEM;
        }
        op->state = s;
        op->context = s->context;
        op_step(op);
        return 0;
}

/* ------------------------------------------------------------ identity */

static void on_userinfo(const HttpResponse *resp, void *userdata) {
        OAuthOp *op = userdata;
        OAuthClaims c = {};

        op->call = NULL;
        op->userinfo_done = true;
        if (resp->error || resp->status != 200 || oauth_parse_claims(resp->body, resp->size, &c) < 0)
                return op_provider_error(op, "userinfo", resp);
        /* OIDC Core 5.3.2: the userinfo's sub must be the ID token's. */
        if (op->have_claims && !streq(c.sub, op->claims.sub)) {
                oauth_claims_done(&c);
                return op_provider_error(op, "userinfo: another subject than the ID token's", NULL);
        }
        oauth_claims_done(&op->claims);
        op->claims = c;
        op->have_claims = true;
        op_step(op);
}

static int op_check_id_token(OAuthOp *op) {
        OAuthProvider *p = op->p;
        int r;

        r = idtoken_verify(op->tokens.id_token, p->jwks, p->jwks_len, &(IdTokenCheck) {
                .issuer = p->disc.issuer, .client_id = p->cfg->client_id,
                .nonce = op->state ? op->state->nonce : NULL, .now = time(NULL),
        }, &op->claims);
        if (r == -ENOKEY && !op->jwks_refetched) {
                /* The provider may have rotated its keys: fetch once more. */
                op->jwks_refetched = true;
                p->jwks_expires = 0;
                return 1;
        }
        if (r < 0) {
                log_warning("provider %s: ID token refused: %s", p->cfg->name,
                            r == -ENOKEY ? "no matching key" : r == -EBADMSG ? "malformed" : "signature or claims");
                return r;
        }
        op->have_claims = true;
        op->id_checked = true;
        return 0;
}

/* An identity no account has: [login] external decides. Only without a
 * user name: a new account's name is made up (apicrud's rule), so it is
 * never the one asked for, and the PAM stack's user stays refused. */
static SauthStatus op_external(OAuthOp *op, const char *identity, StoreAccount **ret, const char **ret_reason,
                               const char **ret_message) {
        LoginPolicy policy = op->o->m->config->login_external;
        SauthStatus s;

        if (policy == LOGIN_CLOSED || !isempty(op->username)) {
                *ret_reason = "identity_unknown";
                return SAUTH_E_INVALID_CREDENTIALS;
        }
        s = account_register_external(op->o->m, &op->caller, &(ExternalRegistration) {
                .identity = identity,
                .name = op->claims.name ?: op->claims.preferred_username,
                .method = op->p->cfg->name,
                .confirmed = policy == LOGIN_AUTO,
        }, ret, ret_reason);
        if (s == SAUTH_E_RATE_LIMITED)
                *ret_message = "Too many registrations; try again later.";
        else if (s == SAUTH_E_ALREADY_REGISTERED)
                *ret_message = "This identity is registered, but not confirmed yet: confirm it with the message "
                               "mailed to it, then log in again.";
        if (s != SAUTH_OK || *ret)
                return s;
        /* open: registered, and the confirmation is on its way. */
        *ret_reason = "registered_unconfirmed";
        *ret_message = "An account was registered for this identity: confirm it with the message mailed to it, "
                       "then log in again.";
        return SAUTH_E_ALREADY_REGISTERED;
}

/* The claims to an account: a verified email that is the confirmed
 * identity of an active account — the one asked for, if one was — or a
 * new account for it under [login] external. */
static SauthStatus op_resolve(OAuthOp *op, StoreAccount **ret, const char **ret_reason, const char **ret_message) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_free_ char *identity = NULL;
        SauthStatus s;
        int r;

        if (!op->claims.email || !op->claims.email_verified) {
                *ret_reason = "email_unverified";
                return SAUTH_E_INVALID_CREDENTIALS;
        }
        if (identity_normalize(op->claims.email, &identity) < 0) {
                *ret_reason = "email_invalid";
                return SAUTH_E_INVALID_CREDENTIALS;
        }
        /* The person whose identity it is, else the one person who
         * confirmed it as another contact. */
        r = store_account_by_identity(op->o->m->store, identity, &a);
        if (r == -ENOENT)
                r = store_account_by_contact(op->o->m->store, identity, &a);
        if (r == -ENOTUNIQ) {
                log_warning("provider %s: identity is a confirmed contact of several people: refused",
                            op->p->cfg->name);
                *ret_reason = "identity_ambiguous";
                return SAUTH_E_INVALID_CREDENTIALS;
        }
        if (r == -ENOENT) {
                s = op_external(op, identity, &a, ret_reason, ret_message);
                if (s != SAUTH_OK)
                        return s;
        } else if (r < 0) {
                log_error("provider %s: account lookup failed: %s", op->p->cfg->name, strerror(-r));
                *ret_reason = "store_error";
                return SAUTH_E_INTERNAL;
        } else if (!a->contact_confirmed) {
                /* Someone registered this address and it was never
                 * confirmed: the provider's word does not confirm it (the
                 * account may be an admin's, made for another person).
                 * Where unknown identities register, say what to do. */
                *ret_reason = "identity_unconfirmed";
                if (op->o->m->config->login_external == LOGIN_CLOSED || !isempty(op->username))
                        return SAUTH_E_INVALID_CREDENTIALS;
                *ret_message = "This identity is registered, but not confirmed yet: confirm it with the message "
                               "mailed to it, then log in again.";
                return SAUTH_E_ALREADY_REGISTERED;
        }
        if (!isempty(op->username) && !streq(op->username, a->username)) {
                *ret_reason = "identity_other_account";
                return SAUTH_E_INVALID_CREDENTIALS;
        }
        if (streq(a->status, SAUTH_STATUS_DISABLED)) {
                *ret_reason = "disabled";
                return SAUTH_E_ACCOUNT_DISABLED;
        }
        if (a->locked_until > time(NULL)) {
                *ret_reason = "locked";
                return SAUTH_E_ACCOUNT_LOCKED;
        }
        *ret = TAKE_PTR(a);
        return SAUTH_OK;
}

static void op_conclude(OAuthOp *op) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        const char *reason = NULL, *message = NULL;
        SauthStatus s = op_resolve(op, &a, &reason, &message);

        audit_log(&(AuditRecord) {
                .event = AUDIT_LOGIN, .result = s == SAUTH_OK ? AUDIT_OK : AUDIT_REFUSED,
                .user = a ? a->username : op->username, .user_unknown = !a,
                .caller_uid = op->caller.uid, .method = op->p->cfg->name, .reason = reason,
                .service = op->context.service, .tty = op->context.tty, .rhost = op->context.rhost,
        });
        if (s != SAUTH_OK)
                return op_fail(op, s, message ?: s == SAUTH_E_INVALID_CREDENTIALS
                               ? "The identity does not belong to this account, or its email is not verified."
                               : s == SAUTH_E_INTERNAL ? "Internal error."
                               : "The account cannot log in now.");
        op_finish(op, &(OAuthResult) { .status = SAUTH_OK, .account = a, .context = &op->context });
}

static void op_conclude_deferred(void *userdata) {
        op_conclude(userdata);
}

/* After the tokens: the ID token checked (with the JWKS), the userinfo
 * when the ID token has no email, then the account — read, and the login
 * written, where store calls run (a store worker with a remote store;
 * the op stays busy on its flow meanwhile, so nothing frees it). */
static void op_identity_step(OAuthOp *op) {
        OAuthProvider *p = op->p;
        int r;

        if (op->tokens.id_token && !op->id_checked) {
                if (!p->disc.jwks_uri)
                        return op_provider_error(op, "an ID token but no jwks_uri", NULL);
                if (!p->jwks || p->jwks_expires <= now_usec())
                        return op_http(op, &(HttpRequest) { .url = p->disc.jwks_uri }, on_jwks, "jwks");
                r = op_check_id_token(op);
                if (r > 0)
                        return op_step(op);
                if (r < 0)
                        return op_provider_error(op, "ID token", NULL);
        }
        if ((!op->have_claims || !op->claims.email) && !op->userinfo_done) {
                if (!p->disc.userinfo_endpoint)
                        return op_provider_error(op, "no email claim and no userinfo endpoint", NULL);
                return op_http(op, &(HttpRequest) {
                        .url = p->disc.userinfo_endpoint, .bearer = op->tokens.access_token,
                }, on_userinfo, "userinfo");
        }
        request_tracker_defer(&op->o->m->requests, op_conclude_deferred, op);
}

static void op_step(OAuthOp *op) {
        if (!provider_fresh(op->p))
                return op_http(op, &(HttpRequest) { .url = op->p->discovery_url }, on_discovery, "discovery");
        switch (op->kind) {
        case OP_DEVICE_START:
                return device_auth_request(op);
        case OP_CODE_START:
                return code_location(op);
        case OP_DEVICE_POLL:
                if (!op->have_tokens)
                        return device_token_request(op);
                return op_identity_step(op);
        case OP_CODE_EXCHANGE:
                if (!op->have_tokens)
                        return code_token_request(op);
                return op_identity_step(op);
        }
}
