# SPDX-License-Identifier: LGPL-2.1-or-later
# The test OIDC provider (tests/oidc/provider.js) for integration tests.
# Source it after lib.sh, once sa_prepare has made $T:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/oidc-lib.sh"
#   sa_prepare; oidc_start
#   oidc_config_section google device >> "$T/sauthd.conf"
#   sa_start_bus; sa_start_daemon
#
# The provider runs as a direct child of the test shell; lib.sh's EXIT trap
# (sa_cleanup, through EXTRA_PIDS) stops it and waits for it, and so does
# oidc_stop. It listens on 127.0.0.1 only.
#
#   oidc_start [ARGS...]            start it (extra provider.js arguments, e.g.
#                                   --interval none); sets OIDC_PORT, exports
#                                   OIDC_ISSUER, OIDC_CLIENT_SECRET
#   oidc_stop                       stop it (kill + wait)
#   oidc_approve USER_CODE ACCOUNT  approve a pending device code as ACCOUNT
#   oidc_deny USER_CODE             deny it (the poll answers access_denied)
#   oidc_slow_down [N]              the next N device-code polls answer slow_down
#   oidc_expire_next [USER_CODE]    polls for that code (default: the last one
#                                   issued) answer expired_token from now on
#   oidc_device_ttl SECONDS         expires_in of device codes issued from now
#                                   (real expiry: then expired_token)
#   oidc_interval N|none            the interval of the next device authorization
#                                   responses (none: the field is left out)
#   oidc_polls                      number of device-code polls so far
#   oidc_poll_gaps                  ms between consecutive polls of the same code,
#                                   one a line
#   oidc_poll_report                the whole report (JSON: count, polls, gaps)
#   oidc_last_user_code             the last user_code issued
#   oidc_break ENDPOINT MODE [N]    the next N requests to ENDPOINT (discovery jwks
#                                   token device_authorization userinfo
#                                   authorization) answer MODE: 500 hang garbage
#                                   html close big (1 MiB of JSON, no length)
#                                   big_length (the same, length announced)
#   oidc_requests ENDPOINT          requests to ENDPOINT so far (names as for
#                                   oidc_break; broken ones count too)
#   oidc_cache_control ENDPOINT [VALUE]  Cache-Control of discovery or jwks
#                                   answers from now on (none: the library's,
#                                   which sends none)
#   oidc_reset                      forget all test state (breaks, flags, polls,
#                                   accounts back to the defaults)
#   oidc_add_account ID EMAIL [VERIFIED] [USERNAME]   add or replace an account
#   oidc_code_login AUTH_URL ACCOUNT | --deny AUTH_URL
#                                   sign in through the provider's pages; prints
#                                   the redirect (REDIRECT_URI?code=..&state=..)
#   oidc_config_section NAME device|code   prints a [provider NAME] section
#                                   for sauthd.conf (the secret goes to a 0600 file)
#
# Accounts: alice bob carol dave (USER@example.org, verified), unverified
# (alice@example.org, not verified), stranger (stranger@example.net).
# Clients: sauth-device (public, device grant), sauth-web (client_secret_basic,
# code flow, redirect URI $OIDC_REDIRECT_URI).

OIDC_DIR=${OIDC_DIR:-${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/oidc}
OIDC_PID=""
OIDC_PORT=""
OIDC_ISSUER=""
OIDC_CLIENT_SECRET=${OIDC_CLIENT_SECRET:-sauth-test-secret-$RANDOM$RANDOM}
OIDC_REDIRECT_URI=${OIDC_REDIRECT_URI:-http://127.0.0.1/sauth/callback}
OIDC_DEVICE_CLIENT=sauth-device
OIDC_CODE_CLIENT=sauth-web

# True when node and the provider's packages are there.
oidc_available() {
        command -v node >/dev/null 2>&1 && [ -d "$OIDC_DIR/node_modules/oidc-provider" ]
}

oidc_start() {
        [ -n "$T" ] || fail "oidc_start: call sa_prepare first"
        oidc_available || fail "oidc_start: node or tests/oidc/node_modules missing (run tests/oidc/install.sh)"
        rm -f "$T/oidc.port"
        node "$OIDC_DIR/provider.js" --port 0 --port-file "$T/oidc.port" \
                --client-secret "$OIDC_CLIENT_SECRET" --redirect-uri "$OIDC_REDIRECT_URI" "$@" \
                >> "$T/oidc.log" 2>&1 < /dev/null &
        OIDC_PID=$!
        EXTRA_PIDS+=("$OIDC_PID")
        local i
        for i in $(seq 1 750); do
                if [ -s "$T/oidc.port" ]; then
                        OIDC_PORT=$(head -n 1 "$T/oidc.port")
                        export OIDC_ISSUER="http://127.0.0.1:$OIDC_PORT"
                        export OIDC_CLIENT_SECRET
                        return 0
                fi
                kill -0 "$OIDC_PID" 2>/dev/null || { wait "$OIDC_PID" || true; fail "the OIDC provider exited: $(tail -n 5 "$T/oidc.log")"; }
                sleep 0.02
        done
        fail "the OIDC provider did not start"
}

oidc_stop() {
        sa_stop_extra "$OIDC_PID"
        OIDC_PID=""
}

# oidc_ctl NAME [curl args...] — one /test/ control call; prints its JSON.
oidc_ctl() {
        local name=$1; shift
        [ -n "$OIDC_ISSUER" ] || fail "the OIDC provider is not started"
        curl -sS --fail-with-body --max-time 10 --noproxy '*' "$@" "$OIDC_ISSUER/test/$name" \
                || fail "OIDC control $name failed"
}

oidc_approve() {
        oidc_ctl approve --data-urlencode "user_code=$1" --data-urlencode "account=$2" >/dev/null
}

oidc_deny() {
        oidc_ctl deny --data-urlencode "user_code=$1" >/dev/null
}

oidc_slow_down() {
        oidc_ctl slow_down -d "count=${1:-1}" >/dev/null
}

oidc_expire_next() {
        oidc_ctl expire --data-urlencode "user_code=${1:-}" >/dev/null
}

oidc_device_ttl() {
        oidc_ctl device_ttl -d "seconds=$1" >/dev/null
}

oidc_interval() {
        oidc_ctl interval -d "value=$1" >/dev/null
}

oidc_poll_report() {
        oidc_ctl polls
}

oidc_polls() {
        oidc_ctl polls | jq -r '.count'
}

oidc_poll_gaps() {
        oidc_ctl polls | jq -r '.gaps[]'
}

oidc_last_user_code() {
        oidc_ctl last_user_code | jq -r '.user_code'
}

oidc_break() {
        oidc_ctl break --data-urlencode "endpoint=$1" --data-urlencode "mode=$2" -d "count=${3:-1}" >/dev/null
}

oidc_requests() {
        oidc_ctl requests | jq -r --arg e "$1" '.[$e] // 0'
}

oidc_cache_control() {
        oidc_ctl cache_control --data-urlencode "endpoint=$1" --data-urlencode "value=${2:-}" >/dev/null
}

oidc_reset() {
        oidc_ctl reset -X POST >/dev/null
}

# oidc_add_account ID EMAIL [VERIFIED true|false] [USERNAME]
oidc_add_account() {
        oidc_ctl account --data-urlencode "id=$1" --data-urlencode "email=$2" \
                --data-urlencode "email_verified=${3:-true}" \
                --data-urlencode "preferred_username=${4:-$1}" >/dev/null
}

# oidc_code_login AUTH_URL ACCOUNT | --deny AUTH_URL
oidc_code_login() {
        "$OIDC_DIR/code-flow-login.sh" "$@"
}

# oidc_config_section NAME device|code
oidc_config_section() {
        local name=$1 kind=$2
        [ -n "$OIDC_ISSUER" ] || fail "the OIDC provider is not started"
        echo "[provider $name]"
        echo "issuer = $OIDC_ISSUER"
        case "$kind" in
        device)
                echo "client_id = $OIDC_DEVICE_CLIENT"
                ;;
        code)
                local f="$T/oidc-$name.secret"
                (umask 077; printf '%s' "$OIDC_CLIENT_SECRET" > "$f")   # no newline
                chmod 600 "$f"
                echo "client_id = $OIDC_CODE_CLIENT"
                echo "client_secret_file = $f"
                echo "redirect_uri = $OIDC_REDIRECT_URI"
                ;;
        *) fail "oidc_config_section: kind is device or code" ;;
        esac
        echo "scopes = openid email profile"
}
