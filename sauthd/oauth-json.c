/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <jansson.h>
#include <strings.h>

#include "oauth-json.h"

/* jansson's own json_decrefp() (json_auto_t) takes NULL. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static json_t *oauth_load(const char *text, size_t len) {
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

        if (j && !json_is_object(j)) {
                json_decref(j);
                return NULL;
        }
        return j;
}

static bool oauth_text_ok(const char *s, size_t max) {
        size_t n = 0;

        for (; s[n]; n++)
                if ((unsigned char) s[n] < 0x20 || s[n] == 0x7f || n >= max)
                        return false;
        return n > 0;
}

/* A string member: 0 and a copy, 0 and NULL when absent and optional,
 * -EBADMSG when malformed or required and absent. */
static int oauth_string(json_t *o, const char *key, size_t max, bool required, char **ret) {
        json_t *v = json_object_get(o, key);
        char *s;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
            !oauth_text_ok(json_string_value(v), max))
                return -EBADMSG;
        s = strdup(json_string_value(v));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* A positive integer member within [1, max]; def when absent. Some
 * providers send numbers as strings. */
static int oauth_uint(json_t *o, const char *key, unsigned def, unsigned max, unsigned *ret) {
        json_t *v = json_object_get(o, key);
        long long n;

        if (!v || json_is_null(v)) {
                *ret = def;
                return def ? 0 : -EBADMSG;
        }
        if (json_is_integer(v))
                n = json_integer_value(v);
        else if (json_is_string(v)) {
                char *end;
                const char *s = json_string_value(v);

                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                n = strtoll(s, &end, 10);
                if (*end)
                        return -EBADMSG;
        } else
                return -EBADMSG;
        if (n < 1 || n > (long long) max)
                return -EBADMSG;
        *ret = (unsigned) n;
        return 0;
}

void oauth_discovery_done(OAuthDiscovery *d) {
        free(d->issuer);
        free(d->authorization_endpoint);
        free(d->token_endpoint);
        free(d->device_authorization_endpoint);
        free(d->userinfo_endpoint);
        free(d->jwks_uri);
        *d = (OAuthDiscovery) {};
}

void oauth_device_auth_done(OAuthDeviceAuth *d) {
        erase_and_free(d->device_code);
        free(d->user_code);
        free(d->verification_uri);
        free(d->verification_uri_complete);
        *d = (OAuthDeviceAuth) {};
}

void oauth_tokens_done(OAuthTokens *t) {
        erase_and_free(t->access_token);
        erase_and_free(t->id_token);
        free(t->token_type);
        *t = (OAuthTokens) {};
}

void oauth_claims_done(OAuthClaims *c) {
        free(c->sub);
        free(c->email);
        free(c->preferred_username);
        free(c->name);
        *c = (OAuthClaims) {};
}

int oauth_parse_discovery(const char *text, size_t len, OAuthDiscovery *ret) {
        _cleanup_json_ json_t *j = oauth_load(text, len);
        OAuthDiscovery d = {};
        int r;

        if (!j)
                return -EBADMSG;
        r = oauth_string(j, "issuer", OAUTH_STRING_MAX, true, &d.issuer);
        if (r >= 0)
                r = oauth_string(j, "authorization_endpoint", OAUTH_STRING_MAX, false, &d.authorization_endpoint);
        if (r >= 0)
                r = oauth_string(j, "token_endpoint", OAUTH_STRING_MAX, true, &d.token_endpoint);
        if (r >= 0)
                r = oauth_string(j, "device_authorization_endpoint", OAUTH_STRING_MAX, false,
                                 &d.device_authorization_endpoint);
        if (r >= 0)
                r = oauth_string(j, "userinfo_endpoint", OAUTH_STRING_MAX, false, &d.userinfo_endpoint);
        if (r >= 0)
                r = oauth_string(j, "jwks_uri", OAUTH_STRING_MAX, false, &d.jwks_uri);
        if (r < 0) {
                oauth_discovery_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

int oauth_parse_device_auth(const char *text, size_t len, OAuthDeviceAuth *ret) {
        _cleanup_json_ json_t *j = oauth_load(text, len);
        OAuthDeviceAuth d = {};
        int r;

        if (!j)
                return -EBADMSG;
        r = oauth_string(j, "device_code", OAUTH_STRING_MAX, true, &d.device_code);
        if (r >= 0)
                r = oauth_string(j, "user_code", 64, true, &d.user_code);
        if (r >= 0)
                r = oauth_string(j, "verification_uri", OAUTH_STRING_MAX, true, &d.verification_uri);
        if (r >= 0)
                r = oauth_string(j, "verification_uri_complete", OAUTH_STRING_MAX, false,
                                 &d.verification_uri_complete);
        if (r >= 0)
                r = oauth_uint(j, "expires_in", 0, UINT32_MAX, &d.expires_in);
        if (r >= 0)
                r = oauth_uint(j, "interval", OAUTH_INTERVAL_DEFAULT, OAUTH_INTERVAL_MAX, &d.interval);
        if (r < 0) {
                oauth_device_auth_done(&d);
                return r;
        }
        /* A code living longer than we keep flows is ours to cut short. */
        if (d.expires_in > OAUTH_EXPIRES_MAX)
                d.expires_in = OAUTH_EXPIRES_MAX;
        *ret = d;
        return 0;
}

int oauth_parse_tokens(const char *text, size_t len, OAuthTokens *ret) {
        _cleanup_json_ json_t *j = oauth_load(text, len);
        OAuthTokens t = {};
        int r;

        if (!j)
                return -EBADMSG;
        r = oauth_string(j, "access_token", OAUTH_TOKEN_MAX, true, &t.access_token);
        if (r >= 0)
                r = oauth_string(j, "id_token", OAUTH_TOKEN_MAX, false, &t.id_token);
        if (r >= 0)
                r = oauth_string(j, "token_type", 64, true, &t.token_type);
        if (r >= 0 && strcasecmp(t.token_type, "Bearer") != 0)
                r = -EBADMSG;
        if (r < 0) {
                oauth_tokens_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

int oauth_parse_error(const char *text, size_t len, OAuthError *ret) {
        static const struct { const char *name; OAuthError e; } table[] = {
                { "authorization_pending", OAUTH_ERROR_AUTHORIZATION_PENDING },
                { "slow_down",             OAUTH_ERROR_SLOW_DOWN },
                { "access_denied",         OAUTH_ERROR_ACCESS_DENIED },
                { "expired_token",         OAUTH_ERROR_EXPIRED_TOKEN },
                { "invalid_grant",         OAUTH_ERROR_INVALID_GRANT },
                { "invalid_client",        OAUTH_ERROR_INVALID_CLIENT },
        };
        _cleanup_json_ json_t *j = oauth_load(text, len);
        const char *e;

        if (!j || !json_is_string(json_object_get(j, "error")))
                return -EBADMSG;
        e = json_string_value(json_object_get(j, "error"));
        *ret = OAUTH_ERROR_OTHER;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(e, table[i].name))
                        *ret = table[i].e;
        return 0;
}

int oauth_parse_claims(const char *text, size_t len, OAuthClaims *ret) {
        _cleanup_json_ json_t *j = oauth_load(text, len);
        OAuthClaims c = {};
        json_t *v;
        int r;

        if (!j)
                return -EBADMSG;
        r = oauth_string(j, "sub", 255, true, &c.sub);
        if (r >= 0)
                r = oauth_string(j, "email", 320, false, &c.email);
        if (r >= 0)
                r = oauth_string(j, "preferred_username", 256, false, &c.preferred_username);
        if (r >= 0)
                r = oauth_string(j, "name", 256, false, &c.name);
        /* A boolean; only true counts. The string "true" is what some
         * providers send (OIDC says boolean); anything else is false. */
        v = json_object_get(j, "email_verified");
        c.email_verified = json_is_true(v) || (json_is_string(v) && streq(json_string_value(v), "true"));
        if (r < 0) {
                oauth_claims_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}
