#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The test OIDC provider checks itself, with curl only, through the helpers
# of tests/integration/oidc-lib.sh: discovery and JWKS; the device flow
# (pending, approved, slow_down, denied, expired, interval); broken
# endpoints; the authorization code flow with PKCE through its login page.
# The provider is a direct child of this shell, stopped with kill + wait.
# Every loop and request is bounded; everything is on 127.0.0.1.
HERE=$(cd "$(dirname "$0")" && pwd)
TESTS_DIR=${TESTS_DIR:-$(dirname "$HERE")}
. "$TESTS_DIR/integration/lib.sh"
. "$TESTS_DIR/integration/oidc-lib.sh"

command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
"$HERE/install.sh" || fail "tests/oidc/install.sh failed"

base=${BUILD_DIR:-/tmp}/test-tmp
mkdir -p "$base"
T=$(mktemp -d "$base/oidc.XXXXXX")
trap sa_cleanup EXIT
trap 'echo "--- provider log ---" >&2; tail -n 20 "$T/oidc.log" >&2 || true' ERR

DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code
CURL=(curl -sS --max-time 10 --noproxy '*')

# ---------------------------------------------------------------- helpers

b64url_decode() {
        local s=${1//-/+}
        s=${s//_//}
        case $((${#s} % 4)) in 2) s+="==" ;; 3) s+="=" ;; esac
        base64 -d <<<"$s"
}

jwt_payload() {
        b64url_decode "$(cut -d. -f2 <<<"$1")"
}

# device_start [SCOPE] — a device authorization request; prints the response.
device_start() {
        "${CURL[@]}" -d "client_id=$OIDC_DEVICE_CLIENT" --data-urlencode "scope=${1:-openid email profile}" \
                "$OIDC_ISSUER/device/auth"
}

# poll DEVICE_CODE — one token request; prints the body, then the status on
# its own last line.
poll() {
        "${CURL[@]}" -w '\n%{http_code}' -d "client_id=$OIDC_DEVICE_CLIENT" -d "grant_type=$DEVICE_GRANT" \
                --data-urlencode "device_code=$1" "$OIDC_ISSUER/token"
}

poll_error() {
        poll "$1" | head -n 1 | jq -r '.error // "none"'
}

# ---------------------------------------------------------------- start

oidc_start
note "provider at $OIDC_ISSUER"
expect_match "$OIDC_ISSUER" '^http://127\.0\.0\.1:[0-9]+$' "issuer"

# ---------------------------------------------------------------- discovery, JWKS

disc=$("${CURL[@]}" "$OIDC_ISSUER/.well-known/openid-configuration")
expect_eq "$(jq -r .issuer <<<"$disc")" "$OIDC_ISSUER" "discovery issuer"
expect_eq "$(jq -r .device_authorization_endpoint <<<"$disc")" "$OIDC_ISSUER/device/auth" "device endpoint"
expect_eq "$(jq -r .token_endpoint <<<"$disc")" "$OIDC_ISSUER/token" "token endpoint"
expect_eq "$(jq -r .userinfo_endpoint <<<"$disc")" "$OIDC_ISSUER/me" "userinfo endpoint"
expect_eq "$(jq -r .authorization_endpoint <<<"$disc")" "$OIDC_ISSUER/auth" "authorization endpoint"
expect_eq "$(jq -r '.code_challenge_methods_supported | join(" ")' <<<"$disc")" "S256" "PKCE methods"
expect_match "$(jq -r '.grant_types_supported | join(" ")' <<<"$disc")" "$DEVICE_GRANT" "device grant"
jwks_uri=$(jq -r .jwks_uri <<<"$disc")
expect_eq "$jwks_uri" "$OIDC_ISSUER/jwks" "jwks_uri"
jwks=$("${CURL[@]}" "$jwks_uri")
expect_eq "$(jq -r '.keys | length' <<<"$jwks")" 1 "JWKS keys"
expect_eq "$(jq -r '.keys[0] | "\(.kty) \(.alg) \(.use)"' <<<"$jwks")" "RSA RS256 sig" "JWKS key"
expect_eq "$(jq -r '.keys[0].d // "none"' <<<"$jwks")" none "JWKS private part"
kid=$(jq -r '.keys[0].kid' <<<"$jwks")
note "discovery and JWKS ok"

# ---------------------------------------------------------------- device flow, approved

r=$(device_start)
dc=$(jq -r .device_code <<<"$r")
uc=$(jq -r .user_code <<<"$r")
expect_match "$uc" '^[A-Z]{4}-[A-Z]{4}$' "user_code"
expect_eq "$(jq -r .interval <<<"$r")" 1 "default interval"
expect_eq "$(jq -r .verification_uri <<<"$r")" "$OIDC_ISSUER/device" "verification_uri"
expect_eq "$(jq -r .verification_uri_complete <<<"$r")" "$OIDC_ISSUER/device?user_code=$uc" "verification_uri_complete"
expect_eq "$(jq -r .expires_in <<<"$r")" 600 "expires_in"
expect_eq "$(oidc_last_user_code)" "$uc" "last user code"

out=$(poll "$dc")
expect_eq "$(tail -n 1 <<<"$out")" 400 "pending status"
expect_eq "$(head -n 1 <<<"$out" | jq -r .error)" authorization_pending "pending"
sleep 1.1
oidc_approve "$uc" alice
out=$(poll "$dc")
expect_eq "$(tail -n 1 <<<"$out")" 200 "token status"
tok=$(head -n 1 <<<"$out")
expect_eq "$(jq -r .token_type <<<"$tok")" Bearer "token_type"
expect_eq "$(jq -r .scope <<<"$tok")" "openid email profile" "scope"
at=$(jq -r .access_token <<<"$tok")
idt=$(jq -r .id_token <<<"$tok")
claims=$(jwt_payload "$idt")
expect_eq "$(jq -r .iss <<<"$claims")" "$OIDC_ISSUER" "id_token iss"
expect_eq "$(jq -r .aud <<<"$claims")" "$OIDC_DEVICE_CLIENT" "id_token aud"
expect_eq "$(jq -r .email <<<"$claims")" alice@example.org "id_token email"
expect_eq "$(b64url_decode "$(cut -d. -f1 <<<"$idt")" | jq -r .kid)" "$kid" "id_token kid"
ui=$("${CURL[@]}" -H "Authorization: Bearer $at" "$OIDC_ISSUER/me")
expect_eq "$(jq -r '"\(.sub) \(.email) \(.email_verified) \(.preferred_username)"' <<<"$ui")" \
        "alice alice@example.org true alice" "userinfo"
expect_eq "$(poll_error "$dc")" invalid_grant "a consumed device code"
expect_eq "$(oidc_polls)" 3 "poll count"
gaps=$(oidc_poll_gaps | tr '\n' ' ')
expect_match "$gaps" '^[0-9]+ [0-9]+ $' "poll gaps"
first_gap=${gaps%% *}
[ "$first_gap" -ge 1000 ] || fail "first gap ${first_gap} ms, slept 1.1 s"
note "device flow approved ok (gaps: $gaps ms)"

# ---------------------------------------------------------------- slow_down

oidc_reset
expect_eq "$(oidc_polls)" 0 "polls after reset"
r=$(device_start)
dc=$(jq -r .device_code <<<"$r")
oidc_slow_down 2
expect_eq "$(poll_error "$dc")" slow_down "first slow_down"
expect_eq "$(poll_error "$dc")" slow_down "second slow_down"
expect_eq "$(poll_error "$dc")" authorization_pending "after slow_down"
expect_eq "$(oidc_poll_report | jq -r '[.polls[].interval] | join(" ")')" "1 6 11" "interval grown by slow_down"
note "slow_down ok"

# ---------------------------------------------------------------- denied

r=$(device_start)
dc=$(jq -r .device_code <<<"$r")
oidc_deny "$(jq -r .user_code <<<"$r")"
expect_eq "$(poll_error "$dc")" access_denied "denied"
expect_eq "$(poll_error "$dc")" invalid_grant "denied, polled again"
note "deny ok"

# ---------------------------------------------------------------- expired

r=$(device_start)
dc=$(jq -r .device_code <<<"$r")
expect_eq "$(poll_error "$dc")" authorization_pending "before expiry"
oidc_expire_next
expect_eq "$(poll_error "$dc")" expired_token "expired by the test"
expect_eq "$(poll_error "$dc")" expired_token "still expired"
# Real expiry: a one-second device code.
oidc_device_ttl 1
r=$(device_start)
dc=$(jq -r .device_code <<<"$r")
expect_eq "$(jq -r .expires_in <<<"$r")" 1 "short expires_in"
sleep 2.1
expect_eq "$(poll_error "$dc")" expired_token "expired by time"
(oidc_approve "$(jq -r .user_code <<<"$r")" alice) 2>/dev/null && fail "an expired code was approved" || true
note "expiry ok"

# ---------------------------------------------------------------- interval

oidc_reset
oidc_interval none
r=$(device_start)
expect_eq "$(jq -r 'has("interval")' <<<"$r")" false "no interval"
oidc_interval 7
expect_eq "$(device_start | jq -r .interval)" 7 "interval 7"
note "interval ok"

# ---------------------------------------------------------------- accounts

oidc_reset
oidc_add_account zed zed@example.com false zeddy
r=$(device_start)
oidc_approve "$(jq -r .user_code <<<"$r")" zed
at=$(poll "$(jq -r .device_code <<<"$r")" | head -n 1 | jq -r .access_token)
ui=$("${CURL[@]}" -H "Authorization: Bearer $at" "$OIDC_ISSUER/me")
expect_eq "$(jq -r '"\(.sub) \(.email) \(.email_verified) \(.preferred_username)"' <<<"$ui")" \
        "zed zed@example.com false zeddy" "added account"
r=$(device_start)
oidc_approve "$(jq -r .user_code <<<"$r")" unverified
at=$(poll "$(jq -r .device_code <<<"$r")" | head -n 1 | jq -r .access_token)
expect_eq "$("${CURL[@]}" -H "Authorization: Bearer $at" "$OIDC_ISSUER/me" | jq -r '"\(.email) \(.email_verified)"')" \
        "alice@example.org false" "the unverified account"
note "accounts ok"

# ---------------------------------------------------------------- broken endpoints

oidc_break token 500
r=$(device_start)
dc=$(jq -r .device_code <<<"$r")
expect_eq "$(poll "$dc" | tail -n 1)" 500 "token 500"
expect_eq "$(poll_error "$dc")" authorization_pending "token after a 500"
oidc_break discovery garbage
body=$("${CURL[@]}" "$OIDC_ISSUER/.well-known/openid-configuration")
jq -e . >/dev/null 2>&1 <<<"$body" && fail "garbage was valid JSON"
oidc_break device_authorization html
expect_match "$(device_start)" '^<html>' "html instead of JSON"
oidc_break jwks close
rc=0; "${CURL[@]}" -o /dev/null "$OIDC_ISSUER/jwks" 2>/dev/null || rc=$?
expect_eq "$rc" 52 "closed without an answer (curl: empty reply)"
oidc_break userinfo hang
rc=0; curl -sS --max-time 1 --noproxy '*' -o /dev/null "$OIDC_ISSUER/me" 2>/dev/null || rc=$?
expect_eq "$rc" 28 "hanging userinfo (curl: timeout)"
oidc_break token 500 2
expect_eq "$(poll "$dc" | tail -n 1)" 500 "token 500, 1 of 2"
expect_eq "$(poll "$dc" | tail -n 1)" 500 "token 500, 2 of 2"
expect_eq "$(poll "$dc" | tail -n 1)" 400 "token after two 500s"
oidc_break token hang
oidc_reset
expect_eq "$(jq -r .issuer <<<"$("${CURL[@]}" "$OIDC_ISSUER/.well-known/openid-configuration")")" "$OIDC_ISSUER" "discovery after breaks"
rc=0; curl -sS --max-time 3 --noproxy '*' -o /dev/null -d x=y "$OIDC_ISSUER/token" 2>/dev/null || rc=$?
expect_ne "$rc" 28 "reset clears a pending hang"
note "breaks ok"

# ---------------------------------------------------------------- code flow with PKCE

verifier=$(head -c 48 /dev/urandom | basenc --base64url | tr -d '=\n')
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=\n')
state=st-$RANDOM$RANDOM
nonce=n-$RANDOM$RANDOM
redir=$(jq -rn --arg u "$OIDC_REDIRECT_URI" '$u|@uri')
auth_url="$OIDC_ISSUER/auth?client_id=$OIDC_CODE_CLIENT&response_type=code&scope=openid%20email%20profile&redirect_uri=$redir&state=$state&nonce=$nonce&code_challenge=$challenge&code_challenge_method=S256"

cb=$(oidc_code_login "$auth_url" bob)
expect_match "$cb" "^$OIDC_REDIRECT_URI\?" "callback"
expect_match "$cb" "[?&]state=$state(&|$)" "callback state"
code=$(sed -nE 's/.*[?&]code=([^&]*).*/\1/p' <<<"$cb")
[ -n "$code" ] || fail "no code in $cb"

token_req() {
        "${CURL[@]}" -w '\n%{http_code}' -u "$OIDC_CODE_CLIENT:$1" -d grant_type=authorization_code \
                --data-urlencode "code=$2" --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" \
                --data-urlencode "code_verifier=$3" "$OIDC_ISSUER/token"
}
out=$(token_req "$OIDC_CLIENT_SECRET" "$code" "wrong-verifier-wrong-verifier-wrong-verifier-00")
expect_eq "$(head -n 1 <<<"$out" | jq -r .error)" invalid_grant "wrong PKCE verifier"
cb=$(oidc_code_login "$auth_url" bob)
code=$(sed -nE 's/.*[?&]code=([^&]*).*/\1/p' <<<"$cb")
out=$(token_req "not-the-secret" "$code" "$verifier")
expect_eq "$(head -n 1 <<<"$out" | jq -r .error)" invalid_client "wrong client secret"
out=$(token_req "$OIDC_CLIENT_SECRET" "$code" "$verifier")
expect_eq "$(tail -n 1 <<<"$out")" 200 "code exchange"
tok=$(head -n 1 <<<"$out")
claims=$(jwt_payload "$(jq -r .id_token <<<"$tok")")
expect_eq "$(jq -r '"\(.iss) \(.aud) \(.sub) \(.nonce) \(.email)"' <<<"$claims")" \
        "$OIDC_ISSUER $OIDC_CODE_CLIENT bob $nonce bob@example.org" "id_token claims"
ui=$("${CURL[@]}" -H "Authorization: Bearer $(jq -r .access_token <<<"$tok")" "$OIDC_ISSUER/me")
expect_eq "$(jq -r .email <<<"$ui")" bob@example.org "userinfo (code flow)"
out=$(token_req "$OIDC_CLIENT_SECRET" "$code" "$verifier")
expect_eq "$(head -n 1 <<<"$out" | jq -r .error)" invalid_grant "a code used twice"

cb=$(oidc_code_login --deny "$auth_url")
expect_match "$cb" "^$OIDC_REDIRECT_URI\?.*error=access_denied" "denied login"
expect_match "$cb" "[?&]state=$state(&|$)" "denied login state"
cb=$(oidc_code_login "${auth_url%&code_challenge=*}" bob)
expect_match "$cb" "error=invalid_request" "PKCE is required"
oidc_code_login "$auth_url" nobody-here 2>/dev/null && fail "an unknown account signed in" || true
note "code flow ok"

# ---------------------------------------------------------------- stop

pid=$OIDC_PID
oidc_stop
kill -0 "$pid" 2>/dev/null && fail "the provider still runs"
rc=0; "${CURL[@]}" -o /dev/null "$OIDC_ISSUER/jwks" 2>/dev/null || rc=$?
expect_eq "$rc" 7 "nothing listens after the stop"
echo "ok oidc-selftest"
