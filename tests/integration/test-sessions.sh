#!/bin/bash
# Session tokens and API keys over the bus: signed at login, verified by
# sauthd and by an independent implementation, ended by Logout, a password
# change or disabling; key rotation; API keys with scopes, limits, owners
# and revocation; what survives a restart.
. "$(dirname "$0")/lib.sh"

PW="correct horse battery staple"
PW2="another fine long passphrase"

# The short error name of a call, OK if it succeeded.
try() {
        local method=$1 out rc=0
        shift
        out=$(gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1) || rc=$?
        if [ $rc -eq 0 ]; then
                echo OK
        else
                sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' <<<"$out" | head -n 1 | sed "s/^$ERR\.//"
        fi
}

token_of() {
        sa_login "$1" "$2" | jget jwt_token
}

# The kid in a token's header.
kid_of() {
        /usr/bin/python3 -c 'import base64, json, sys
h = sys.argv[1].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])' "$1"
}

verify() {
        sa_call VerifyToken s "$1"
}

test_login_token_verifies() {
        sa_setup "resources.wiki=https://wiki.example.org" "login.settings_id=x-settings"
        local uid tok login
        uid=$(sa_user alice "$PW")
        login=$(sa_login alice "$PW")
        tok=$(jget jwt_token <<<"$login")
        expect_match "$tok" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$' "compact JWS"
        local v
        v=$(verify "$tok")
        expect_eq "$(jget uid <<<"$v")" "$uid" "uid"
        expect_eq "$(jget account_id <<<"$v")" "$(jget account_id <<<"$login")" "account_id"
        expect_eq "$(jget roles <<<"$v")" "$(jget roles <<<"$login")" "roles"
        expect_eq "$(jget expires <<<"$v")" "$(jget expires <<<"$login")" "expires"
        expect_eq "$(jget method <<<"$v")" local "method"
        expect_eq "$(jget identity <<<"$v")" alice@example.org "identity"
        local now exp
        now=$(date +%s) exp=$(jget expires <<<"$login")
        [ $((exp - now)) -ge 7190 ] && [ $((exp - now)) -le 7201 ] || fail "session_lifetime: expires in $((exp - now)) s"
        # Admins get admin_lifetime.
        sa_call SetAccountAdmin sb alice true > /dev/null
        exp=$(sa_login alice "$PW" | jget expires)
        [ $((exp - now)) -ge 890 ] && [ $((exp - now)) -le 901 ] || fail "admin_lifetime: expires in $((exp - now)) s"
}

test_token_checked_independently() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        local tok params jwks
        tok=$(token_of alice "$PW")
        params=$(sa_call AuthParams s "$tok")
        jwks=$(jget jwks <<<"$params")
        expect_eq "$(jget issuer <<<"$params")" test.example "issuer"
        /usr/bin/python3 "$TESTS_DIR/integration/jwt-check.py" verify "$tok" "$jwks" test.example > "$T/claims" ||
                fail "PyNaCl refused sauthd's token"
        expect_eq "$(jq -r .sub "$T/claims")" "$(verify "$tok" | jget uid)" "sub"
        # public_key is the x of the current key in the JWKS.
        expect_eq "$(jq -r '.keys[0].x' <<<"$jwks")" "$(jget public_key <<<"$params")" "public_key"
        # Forgeries are refused by VerifyToken.
        local kind forged
        for kind in byte otherkey none hs256; do
                forged=$(/usr/bin/python3 "$TESTS_DIR/integration/jwt-check.py" forge "$kind" "$tok")
                expect_eq "$(try VerifyToken "$forged")" InvalidToken "forgery: $kind"
                /usr/bin/python3 "$TESTS_DIR/integration/jwt-check.py" verify "$forged" "$jwks" test.example \
                        > /dev/null 2>&1 && fail "PyNaCl accepted the forgery $kind"
        done
        expect_eq "$(try VerifyToken "not.a.token")" InvalidToken "garbage"
        expect_eq "$(try VerifyToken "")" InvalidToken "empty"
        expect_eq "$(try VerifyToken "$(head -c 9000 /dev/zero | tr '\0' a)")" InvalidToken "over-long"
}

# The README's "verify a session token in your service" block, run as a
# service would: PyJWT and the keys from AuthParams.
test_readme_verify_snippet() {
        sa_setup
        local uid tok jwks
        uid=$(sa_user alice "$PW")
        tok=$(token_of alice "$PW")
        jwks=$(sa_call AuthParams s "$tok" | jget jwks)
        awk '/<!-- verify-snippet/ { on = 1; next } on && /^```python/ { code = 1; next }
             code && /^```/ { exit } code { print }' "$TESTS_DIR/../README.md" > "$T/snippet.py"
        [ -s "$T/snippet.py" ] || fail "no snippet in README.md"
        cat >> "$T/snippet.py" <<'PY'
import sys
claims = verify(sys.argv[1], sys.argv[2], "test.example")
print(claims["sub"])
try:
    verify(sys.argv[1][:-2] + ("AA" if not sys.argv[1].endswith("AA") else "BB"), sys.argv[2], "test.example")
    sys.exit("a changed signature was accepted")
except jwt.InvalidTokenError:
    pass
try:
    verify(sys.argv[1], sys.argv[2], "other.example")
    sys.exit("another issuer was accepted")
except jwt.InvalidTokenError:
    pass
PY
        expect_eq "$(/usr/bin/python3 "$T/snippet.py" "$tok" "$jwks")" "$uid" "PyJWT's sub"
}

test_expired_token_refused() {
        # Whole seconds: a lifetime of 3 s is valid for 2 s at least, so the
        # first check cannot race the clock.
        sa_setup "tokens.session_lifetime=3"
        sa_user alice "$PW" > /dev/null
        local tok
        tok=$(token_of alice "$PW")
        verify "$tok" > /dev/null
        sleep 3.2
        expect_eq "$(try VerifyToken "$tok")" ExpiredToken "after its lifetime"
        expect_eq "$(try AuthParams "$tok")" ExpiredToken "AuthParams"
}

test_logout_ends_the_session_across_restarts() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        local a b
        a=$(token_of alice "$PW")
        b=$(token_of alice "$PW")
        sa_call Logout s "$a" > /dev/null
        expect_eq "$(try VerifyToken "$a")" InvalidToken "after Logout"
        expect_eq "$(try Logout "$a")" OK "Logout again"
        verify "$b" > /dev/null
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(try VerifyToken "$a")" InvalidToken "after a restart"
        verify "$b" > /dev/null
        grep -q "SAUTH_EVENT=logout SAUTH_RESULT=ok SAUTH_USER=alice" "$T/sauthd.log" || fail "logout not audited"
}

test_password_change_ends_sessions() {
        sa_setup
        local uid a b
        uid=$(sa_user alice "$PW")
        a=$(token_of alice "$PW")
        b=$(token_of alice "$PW")
        sa_call ChangePassword sssss "$uid" "$PW2" "" "$PW" "$PW2" > /dev/null
        expect_eq "$(try VerifyToken "$a")" InvalidToken "first session"
        expect_eq "$(try VerifyToken "$b")" InvalidToken "second session"
        verify "$(token_of alice "$PW2")" > /dev/null
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(try VerifyToken "$a")" InvalidToken "after a restart"
}

test_disabling_ends_sessions() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        local a
        a=$(token_of alice "$PW")
        sa_call SetAccountStatus ss alice disabled > /dev/null
        expect_eq "$(try VerifyToken "$a")" InvalidToken "disabled"
        sa_call SetAccountStatus ss alice active > /dev/null
        expect_eq "$(try VerifyToken "$a")" InvalidToken "enabled again: still ended"
}

test_login_by_confirmed_email() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(try AccountLogin alice@example.org "$PW" local '@a{sv} {}')" OK "by identity"
        expect_eq "$(sa_login alice@example.org "$PW" | jget username)" alice "reply's username"
        expect_eq "$(sa_login ALICE@example.org "$PW" | jget username)" alice "normalised identity"
        expect_eq "$(try AccountLogin alice@example.org "wrong password" local '@a{sv} {}')" InvalidCredentials \
                "wrong password"
        expect_eq "$(try AccountLogin nobody@example.org "$PW" local '@a{sv} {}')" InvalidCredentials "unknown"
        # An unconfirmed identity is no way in.
        sa_register bob > /dev/null
        expect_eq "$(try AccountLogin bob@example.org "$PW" local '@a{sv} {}')" InvalidCredentials "unconfirmed"
}

test_key_rotation_keeps_sessions() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        local a b kid1 kid2 params
        a=$(token_of alice "$PW")
        kid1=$(kid_of "$a")
        kid2=$(sa_call RotateKey | jget kid)
        [ "$kid1" != "$kid2" ] || fail "the same kid after rotation"
        b=$(token_of alice "$PW")
        expect_eq "$(kid_of "$b")" "$kid2" "new tokens' kid"
        verify "$a" > /dev/null
        verify "$b" > /dev/null
        params=$(sa_call AuthParams s "$b")
        expect_eq "$(jget jwks <<<"$params" | jq -r '[.keys[].kid] | join(" ")')" "$kid2 $kid1" "keys that verify"
        /usr/bin/python3 "$TESTS_DIR/integration/jwt-check.py" verify "$a" "$(jget jwks <<<"$params")" test.example \
                > /dev/null || fail "old token against the published keys"
        expect_eq "$(stat -c %a "$T/jwt.key")" 600 "key file mode"
        sa_stop_daemon
        sa_start_daemon
        verify "$a" > /dev/null
        verify "$b" > /dev/null
        expect_eq "$(try RotateKey)" OK "root may rotate"
        expect_eq "$(sa_error_as 4242 RotateKey)" AccessDenied "a user may not"
}

test_key_file_readable_by_others_refused() {
        sa_setup
        sa_stop_daemon
        chmod 644 "$T/jwt.key"
        local rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code"
        expect_match "$(cat "$T/out")" "jwt.key" "message names the file"
        chmod 600 "$T/jwt.key"
        chmod 640 "$T/apikey.key"
        rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code (pepper)"
        expect_match "$(cat "$T/out")" "apikey.key" "message names the pepper file"
}

test_sessions_listed_and_revoked() {
        sa_setup
        local uid tok jti list
        uid=$(sa_user alice "$PW")
        sa_user bob "$PW" > /dev/null
        tok=$(sa_call AccountLogin sssa{sv} alice "$PW" local 3 service s sshd tty s ssh rhost s 192.0.2.7 | jget jwt_token)
        jti=$(verify "$tok" | jget jti)
        list=$(sa_call_as 4242 ListSessions s "$uid") || fail "ListSessions as alice"
        expect_eq "$(jq -r '.data[0].sessions.data | length' <<<"$list")" 1 "one session"
        expect_eq "$(jq -r '.data[0].sessions.data[0].jti.data' <<<"$list")" "$jti" "jti"
        expect_eq "$(jq -r '.data[0].sessions.data[0].service.data' <<<"$list")" sshd "service"
        expect_eq "$(jq -r '.data[0].sessions.data[0].rhost.data' <<<"$list")" 192.0.2.7 "rhost"
        expect_eq "$(sa_error_as 4243 ListSessions "$uid")" AccessDenied "bob lists alice's"
        expect_eq "$(sa_error_as 4243 RevokeSession "$uid" "$jti")" AccessDenied "bob ends alice's"
        sa_call_as 4242 RevokeSession ss "$uid" "$jti" > /dev/null || fail "alice ends her session"
        expect_eq "$(try VerifyToken "$tok")" InvalidToken "after RevokeSession"
        expect_eq "$(sa_call ListSessions s "$uid" | jq -r '.data[0].sessions.data | length')" 0 "none left"
        expect_eq "$(sa_error RevokeSession "$uid" "$jti")" NotFound "ended already"
}

# ---------------------------------------------------------------- API keys

create_key() {
        sa_call CreateApiKey ssast "$1" "${2:-ci}" "${3:-1}" "${4:-full}" "${5:-0}"
}

test_apikey_access() {
        sa_setup
        local uid reply id key secret
        uid=$(sa_user alice "$PW")
        reply=$(create_key "$uid")
        id=$(jget id <<<"$reply") key=$(jget apikey <<<"$reply")
        expect_match "$key" '^[a-z2-7]{8}\.[A-Za-z0-9]{32}$' "key format"
        expect_eq "${key%%.*}" "$id" "id is the key's first part"
        secret=${key#*.}
        expect_eq "$(sa_call ApiAccess sas "$key" 0 | jget uid)" "$uid" "uid"
        expect_eq "$(sa_call ApiAccess sas "$key" 1 full | jget scopes)" full "scopes"
        expect_eq "$(try ApiAccess "$key" "['readonly']")" AccessDenied "a scope it lacks"
        # A wrong secret for a known id, also right after a success.
        local wrong="$id.$(printf 'A%.0s' $(seq 1 32))"
        expect_eq "$(try ApiAccess "$wrong" "@as []")" InvalidCredentials "wrong secret"
        sa_call ApiAccess sas "$key" 0 > /dev/null
        expect_eq "$(try ApiAccess "$wrong" "@as []")" InvalidCredentials "wrong secret after a success"
        expect_eq "$(try ApiAccess "zzzzzzzz.$secret" "@as []")" InvalidCredentials "unknown id"
        expect_eq "$(try ApiAccess "$key"x "@as []")" InvalidCredentials "over-long"
        expect_eq "$(try ApiAccess "${key:0:20}" "@as []")" InvalidCredentials "truncated"
        expect_eq "$(try ApiAccess "" "@as []")" InvalidCredentials "empty"
        # Revoked: at once, and after a restart.
        sa_call RevokeApiKey s "$id" > /dev/null
        expect_eq "$(try ApiAccess "$key" "@as []")" InvalidCredentials "revoked"
        expect_eq "$(sa_error RevokeApiKey "$id")" NotFound "revoked already"
        local key2
        key2=$(create_key "$uid" ci2 | jget apikey)
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(try ApiAccess "$key" "@as []")" InvalidCredentials "revoked, after a restart"
        expect_eq "$(sa_call ApiAccess sas "$key2" 0 | jget uid)" "$uid" "a key in use, after a restart"
        # Only the hash is stored; no secret in the logs.
        sa_sql "SELECT hash FROM api_keys" | grep -q -- "${key2#*.}" && fail "secret stored"
        grep -qF -- "${key2#*.}" "$T/sauthd.log" && fail "secret in the log"
        grep -qF -- "$secret" "$T/sauthd.log" && fail "revoked key's secret in the log"
        true
}

test_apikey_limits_scopes_expiry() {
        sa_setup
        local uid key
        uid=$(sa_user alice "$PW")
        expect_eq "$(try CreateApiKey "$uid" x "['admin']" "@t 0")" InvalidArgument "unknown scope"
        expect_eq "$(try CreateApiKey "$uid" x "@as []" "@t 0")" InvalidArgument "no scope"
        expect_eq "$(try CreateApiKey "$uid" x "['full','full']" "@t 0")" InvalidArgument "a scope twice"
        expect_eq "$(try CreateApiKey "$uid" x "['full']" "@t 1")" InvalidArgument "expiry in the past"
        expect_eq "$(try CreateApiKey x-ffffffffffffffff x "['full']" "@t 0")" NotFound "no such account (admin)"
        key=$(create_key "$uid" short 1 readonly $(( $(date +%s) + 2 )) | jget apikey)
        sa_call CreateApiKey ssast "$uid" long 2 full readonly 0 > /dev/null
        expect_eq "$(try CreateApiKey "$uid" third "['full']" "@t 0")" LimitExceeded "third key"
        sa_call ApiAccess sas "$key" 1 readonly > /dev/null
        sleep 2.5
        expect_eq "$(try ApiAccess "$key" "@as []")" InvalidCredentials "expired"
        # The expired key no longer counts.
        create_key "$uid" third > /dev/null
}

test_apikey_owner_rights() {
        sa_setup
        local alice bob id key list
        alice=$(sa_user alice "$PW")
        bob=$(sa_user bob "$PW")
        key=$(sa_call_as 4242 CreateApiKey ssast "$alice" mine 1 full 0 | jget apikey) || fail "alice makes her key"
        id=${key%%.*}
        expect_eq "$(sa_error_as 4243 CreateApiKey "$alice" x "['full']" "@t 0")" AccessDenied "bob for alice"
        expect_eq "$(sa_error_as 4243 ListApiKeys "$alice")" AccessDenied "bob lists alice's"
        expect_eq "$(sa_error_as 4243 RevokeApiKey "$id")" AccessDenied "bob revokes alice's"
        expect_eq "$(sa_error_as 4243 RevokeApiKey zzzzzzzz)" AccessDenied "bob, unknown id"
        list=$(sa_call_as 4242 ListApiKeys s "$alice")
        expect_eq "$(jq -r '.data[0].keys.data[0].id.data' <<<"$list")" "$id" "listed id"
        expect_eq "$(jq -r '.data[0].keys.data[0].name.data' <<<"$list")" mine "listed name"
        grep -qF -- "${key#*.}" <<<"$list" && fail "the secret is listed"
        sa_call_as 4242 RevokeApiKey s "$id" > /dev/null || fail "alice revokes her key"
        expect_eq "$(try ApiAccess "$key" "@as []")" InvalidCredentials "revoked by its owner"
        grep -q "SAUTH_EVENT=apikey_create SAUTH_RESULT=ok SAUTH_USER=alice" "$T/sauthd.log" || fail "creation not audited"
}

test_apikey_follows_account_status() {
        sa_setup
        local uid key
        uid=$(sa_user alice "$PW")
        key=$(create_key "$uid" | jget apikey)
        sa_call SetAccountStatus ss alice disabled > /dev/null
        expect_eq "$(try ApiAccess "$key" "@as []")" InvalidCredentials "disabled account"
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(try ApiAccess "$key" "@as []")" InvalidCredentials "disabled, after a restart"
        sa_call SetAccountStatus ss alice active > /dev/null
        expect_eq "$(try ApiAccess "$key" "@as []")" OK "active again"
}

test_apikey_last_used_batched() {
        sa_setup
        local uid key before
        uid=$(sa_user alice "$PW")
        key=$(create_key "$uid" | jget apikey)
        # On PostgreSQL the host hears its own change notice too, and the
        # reload it causes writes the counts first: let it land before the
        # use, or it may write this one.
        [ "$SAUTH_STORE_DRIVER" = postgresql ] && sleep 1
        before=$(date +%s)
        sa_call ApiAccess sas "$key" 0 > /dev/null
        local used
        used=$(sa_call ListApiKeys s "$uid" | jq -r '.data[0].keys.data[0].last_used.data')
        [ "$used" -ge "$before" ] || fail "last_used $used, expected >= $before"
        # Not written per call; written at the latest on a clean stop.
        expect_eq "$(sa_sql "SELECT last_used FROM api_keys")" 0 "not yet in the store"
        sa_stop_daemon
        expect_eq "$(sa_sql "SELECT last_used FROM api_keys")" "$used" "in the store after a stop"
}

sa_main "$@"
