#!/bin/bash
# OAuth logins against a real OIDC provider on loopback (tests/oidc): the
# device flow of RFC 8628, the authorization code flow with PKCE, broken
# providers, and the PAM module's device flow.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oidc-lib.sh"

PW="correct horse battery staple"

# A daemon with provider "idp" (device flow) and "web" (code flow); extra
# "section.key=value" arguments go to sa_prepare.
oauth_setup() {
        sa_prepare "$@"
        oidc_start
        oidc_config_section idp device >> "$T/sauthd.conf"
        echo "timeout = 3" >> "$T/sauthd.conf"
        oidc_config_section web code >> "$T/sauthd.conf"
        echo "timeout = 3" >> "$T/sauthd.conf"
        sa_start_bus
        sa_start_daemon
}

# device_start [UID] USER — DeviceLoginStart idp USER; the JSON reply.
device_start() {
        sa_call DeviceLoginStart ss idp "$1"
}

device_poll() {
        sa_call DeviceLoginPoll s "$1"
}

# Polls until the answer is not pending (bounded); prints the last reply.
device_poll_until_done() {
        local handle=$1 out i
        for i in $(seq 1 40); do
                out=$(device_poll "$handle")
                [ "$(jget status <<<"$out")" = pending ] || { echo "$out"; return 0; }
                sleep 0.5
        done
        fail "the device login stayed pending"
}

# The error name of a poll expected to fail (polls again while pending).
device_poll_error() {
        local handle=$1 out i
        for i in $(seq 1 40); do
                out=$(sa_error DeviceLoginPoll "$handle" 2>/dev/null) && { echo "$out"; return 0; }
                sleep 0.5
        done
        fail "the device login never failed"
}

test_methods_lists_providers() {
        oauth_setup
        expect_eq "$(sa_call Methods | jget items)" "local idp web" "Methods"
}

test_device_approved_login() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out handle code tok
        out=$(device_start alice)
        handle=$(jget handle <<<"$out")
        code=$(jget user_code <<<"$out")
        expect_match "$code" '^[A-Z]{4}-[A-Z]{4}$' "user_code"
        expect_eq "$code" "$(oidc_last_user_code)" "user code at the provider"
        expect_match "$(jget verification_uri <<<"$out")" "^$OIDC_ISSUER/" "verification_uri"
        expect_match "$(jget verification_uri_complete <<<"$out")" "user_code=" "verification_uri_complete"
        expect_eq "$(jget interval <<<"$out")" 1 "interval (the provider's)"
        expect_match "$(jget expires_in <<<"$out")" '^[0-9]+$' "expires_in"
        expect_match "$(jget qr <<<"$out")" '█' "qr"
        # Not approved yet: pending.
        expect_eq "$(device_poll "$handle" | jget status)" pending "before approval"
        oidc_approve "$code" alice
        sleep 1.1
        out=$(device_poll_until_done "$handle")
        expect_eq "$(jget status <<<"$out")" complete "status"
        expect_eq "$(jget username <<<"$out")" alice "username"
        expect_eq "$(jget method <<<"$out")" idp "method"
        tok=$(jget jwt_token <<<"$out")
        out=$(sa_call VerifyToken s "$tok")
        expect_eq "$(jget method <<<"$out")" idp "token method"
        expect_eq "$(jget identity <<<"$out")" alice@example.org "token identity"
        # The flow is over: its handle is gone.
        expect_eq "$(sa_error DeviceLoginPoll "$handle")" InvalidToken "poll after success"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login.*SAUTH_RESULT=ok|login ok" "audit"
}

test_device_default_interval() {
        sa_prepare
        oidc_start --interval none
        oidc_config_section idp device >> "$T/sauthd.conf"
        sa_start_bus
        sa_start_daemon
        expect_eq "$(device_start "" | jget interval)" 5 "interval when the server gives none"
}

test_device_denied() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out handle
        out=$(device_start alice)
        handle=$(jget handle <<<"$out")
        oidc_deny "$(jget user_code <<<"$out")"
        sleep 1.1
        expect_eq "$(device_poll_error "$handle")" AuthorizationDenied "denied"
}

test_device_expired() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out handle
        out=$(device_start alice)
        handle=$(jget handle <<<"$out")
        oidc_expire_next "$(jget user_code <<<"$out")"
        sleep 1.1
        expect_eq "$(device_poll_error "$handle")" ExpiredToken "expired_token"
}

test_device_expires_in_passed() {
        oauth_setup
        oidc_device_ttl 2
        local out handle
        out=$(device_start "")
        handle=$(jget handle <<<"$out")
        expect_eq "$(jget expires_in <<<"$out")" 2 "expires_in"
        sleep 2.2
        expect_eq "$(sa_error DeviceLoginPoll "$handle")" ExpiredToken "past expires_in"
        local polls
        polls=$(oidc_polls)
        expect_eq "$polls" 0 "no token request past expires_in"
}

test_device_slow_down_and_interval() {
        oauth_setup
        local out handle
        out=$(device_start "")
        handle=$(jget handle <<<"$out")
        oidc_slow_down 1
        # First poll: a request, answered slow_down: interval 1 + 5.
        out=$(device_poll "$handle")
        expect_eq "$(jget interval <<<"$out")" 6 "interval after slow_down"
        expect_eq "$(oidc_polls)" 1 "one request"
        # Polling fast makes no request until 6 s have passed.
        local i
        for i in 1 2 3 4 5; do
                expect_eq "$(device_poll "$handle" | jget status)" pending "fast poll $i"
                sleep 0.5
        done
        expect_eq "$(oidc_polls)" 1 "no request before the interval"
        sleep 3.6
        device_poll "$handle" > /dev/null
        expect_eq "$(oidc_polls)" 2 "a request after the interval"
        local gap
        gap=$(oidc_poll_gaps | tail -n 1)
        [ "$gap" -ge 6000 ] || fail "gap $gap ms is shorter than the interval of 6 s"
}

test_device_other_uid_cannot_poll() {
        oauth_setup
        local out handle
        out=$(device_start "")
        handle=$(jget handle <<<"$out")
        expect_eq "$(sa_error_as 4243 DeviceLoginPoll "$handle")" AccessDenied "bob polls root's flow"
        expect_eq "$(oidc_polls)" 0 "no request for the stranger"
        expect_eq "$(sa_error DeviceLoginPoll AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" InvalidToken "unknown handle"
}

test_device_flows_bounded() {
        oauth_setup
        local i
        for i in 1 2 3 4; do
                sa_call_as 4243 DeviceLoginStart ss idp "" > /dev/null || fail "flow $i"
        done
        expect_eq "$(sa_error_as 4243 DeviceLoginStart idp "")" LimitExceeded "fifth flow of one uid"
        device_start "" > /dev/null
}

# device_login_as USER ACCOUNT — a device login for USER approved as the
# provider's ACCOUNT; prints the error name.
device_login_error_as() {
        local out handle
        out=$(device_start "$1")
        handle=$(jget handle <<<"$out")
        oidc_approve "$(jget user_code <<<"$out")" "$2"
        sleep 1.1
        device_poll_error "$handle"
}

test_device_unverified_email_refused() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(device_login_error_as alice unverified)" InvalidCredentials "unverified email"
}

test_device_other_account_refused() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_user bob "$PW" > /dev/null
        expect_eq "$(device_login_error_as alice bob)" InvalidCredentials "bob's identity for alice"
}

test_device_unknown_identity_closed() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(device_login_error_as alice stranger)" InvalidCredentials "unknown identity, external = closed"
}

test_device_unconfirmed_identity_refused() {
        oauth_setup
        sa_register alice > /dev/null
        expect_eq "$(device_login_error_as alice alice)" InvalidCredentials "unconfirmed contact"
}

# An identity that is no one's primary one maps through a confirmed
# secondary contact (the provider's stranger@example.net, given to alice
# here in the store: no method adds contacts yet): not while unconfirmed,
# and not when two people confirmed it, which would let either be taken
# for the other.
test_device_secondary_contact() {
        oauth_setup
        local alice bob out
        alice=$(sa_user alice "$PW")
        sa_sql "INSERT INTO contacts (id, uid, type, info, status, created)
                VALUES ('x-00000000000000a1', '$alice', 'email', 'stranger@example.net', 'unconfirmed', 0)"
        expect_eq "$(device_login_error_as alice stranger)" InvalidCredentials "an unconfirmed contact"
        sa_sql "UPDATE contacts SET status = 'active' WHERE id = 'x-00000000000000a1'"
        out=$(device_login_as alice stranger)
        expect_eq "$(jget status <<<"$out")" complete "a confirmed contact"
        expect_eq "$(jget username <<<"$out")" alice "its account"
        # The contact maps to alice, whoever asks.
        expect_eq "$(device_login_error_as bob stranger)" InvalidCredentials "asked as another user"

        bob=$(sa_user bob "$PW")
        sa_sql "INSERT INTO contacts (id, uid, type, info, status, created)
                VALUES ('x-00000000000000b1', '$bob', 'email', 'stranger@example.net', 'active', 0)"
        expect_eq "$(device_login_error_as alice stranger)" InvalidCredentials "a contact two people confirmed"
        expect_match "$(cat "$T/sauthd.log")" "confirmed contact of several people" "the refusal logged"
}

# ---------------------------------------------------------------- [login] external

# device_login_as USER ACCOUNT — a device login for USER ("" for none)
# approved as the provider's ACCOUNT; prints the complete reply.
device_login_as() {
        local out handle
        out=$(device_start "$1")
        handle=$(jget handle <<<"$out")
        oidc_approve "$(jget user_code <<<"$out")" "$2"
        sleep 1.1
        device_poll_until_done "$handle"
}

# The same as a non-admin UID; prints the error name, or "complete USER".
device_login_result_as_uid() {
        local uid=$1 account=$2 out handle i err
        out=$(sa_call_as "$uid" DeviceLoginStart ss idp "") || fail "DeviceLoginStart as $uid"
        handle=$(jget handle <<<"$out")
        oidc_approve "$(jget user_code <<<"$out")" "$account"
        sleep 1.1
        for i in $(seq 1 40); do
                # One call per poll (a failed poll ends the flow), through
                # gdbus, which names the error (busctl shows its message).
                if out=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                                gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                                --method "$BUS_IFACE.DeviceLoginPoll" -- "$handle" 2>&1); then
                        if grep -q "'status': <'complete'>" <<<"$out"; then
                                echo "complete $(grep -oE "'username': <'[^']*'>" <<<"$out" | cut -d"'" -f4)"
                                return 0
                        fi
                else
                        err=$(sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' <<<"$out" | head -n 1)
                        echo "${err##*.}"
                        return 0
                fi
                sleep 0.5
        done
        fail "the device login as $uid stayed pending"
}

# The number of accounts, people and contacts in the store.
store_rows() {
        sqlite3 "$T/sauth.db" "SELECT (SELECT COUNT(*) FROM accounts) || ' ' || (SELECT COUNT(*) FROM people)
                                || ' ' || (SELECT COUNT(*) FROM contacts)"
}

# closed (the default) registers nobody, with or without a user name.
test_external_closed_registers_nobody() {
        oauth_setup
        expect_eq "$(sa_call Methods | jq -r '.data[0].policies.data.login_external')" closed "policy"
        expect_eq "$(device_login_error_as "" stranger)" InvalidCredentials "unknown identity, no user name"
        expect_eq "$(store_rows)" "0 0 0" "nothing stored"
        expect_eq "$(sa_mail_count)" 0 "nothing mailed"
        expect_match "$(cat "$T/sauthd.log")" "identity_unknown" "audit reason"
}

# auto: a verified identity nobody has gets an account (apicrud's name:
# local part, "-", 6 random), its contact confirmed, and the login reply.
test_external_auto_device() {
        oauth_setup login.external=auto
        local out user tok uid
        out=$(device_login_as "" stranger)
        expect_eq "$(jget status <<<"$out")" complete "status"
        user=$(jget username <<<"$out")
        expect_match "$user" '^stranger-[abcdefghjkmnpqrstuvwxyz23456789]{6}$' "generated user name"
        expect_eq "$(jget method <<<"$out")" idp "method"
        expect_match " $(jget roles <<<"$out") " " user " "role user (confirmed contact)"
        tok=$(jget jwt_token <<<"$out")
        out=$(sa_call VerifyToken s "$tok")
        expect_eq "$(jget identity <<<"$out")" stranger@example.net "token identity (confirmed)"
        expect_eq "$(jget method <<<"$out")" idp "token method"
        out=$(sa_call AccountStatus s "$user")
        expect_eq "$(jget exists <<<"$out")" true "account exists"
        expect_eq "$(jget status <<<"$out")" active "active"
        uid=$(jget uid <<<"$out")
        expect_eq "$(sqlite3 "$T/sauth.db" "SELECT status FROM contacts WHERE uid = '$uid'")" active "contact confirmed"
        expect_eq "$(sqlite3 "$T/sauth.db" "SELECT name FROM people WHERE id = '$uid'")" Stranger "display name from the provider"
        expect_eq "$(sa_mail_count)" 0 "nothing mailed"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=register.*external_auto" "audit"
        # The next login finds the account: no second registration.
        out=$(device_login_as "" stranger)
        expect_eq "$(jget username <<<"$out")" "$user" "same account the second time"
        expect_eq "$(store_rows)" "1 1 1" "one person"
        # The account asked for by name: the identity must be its own.
        expect_eq "$(device_login_error_as "$user" alice)" InvalidCredentials "alice's identity for the new account"
}

# auto with a user name asked for (what the PAM module always sends): a
# new account's name is made up, so it is never the one asked for: refused,
# and nothing is registered — a PAM stack's user cannot be created or taken.
test_external_auto_not_for_a_named_user() {
        oauth_setup login.external=auto
        sa_user alice "$PW" > /dev/null
        expect_eq "$(device_login_error_as alice stranger)" InvalidCredentials "stranger for alice"
        expect_eq "$(device_login_error_as newname stranger)" InvalidCredentials "stranger for a free name"
        expect_eq "$(device_login_error_as root stranger)" InvalidCredentials "stranger for root"
        expect_eq "$(store_rows)" "1 1 1" "only alice"
        expect_eq "$(sa_call AccountStatus s newname | jget exists)" false "no account newname"
}

# No identity takes over an account: an address registered and never
# confirmed (here alice's, before she set her password) is not confirmed by
# the provider's word; a person without an account keeps the identity too.
test_external_auto_no_takeover() {
        oauth_setup login.external=auto
        sa_register alice > /dev/null
        sa_call Register sssss bob@example.org "" Bob "" "" > /dev/null
        expect_eq "$(device_login_error_as "" alice)" AlreadyRegistered "unconfirmed alice"
        expect_eq "$(device_login_error_as "" bob)" AlreadyRegistered "bob's person without account"
        expect_eq "$(store_rows)" "1 2 2" "nothing new"
        expect_eq "$(sqlite3 "$T/sauth.db" "SELECT COUNT(*) FROM contacts WHERE status = 'active'")" 0 "nothing confirmed"
        expect_eq "$(sa_call AccountStatus s alice | jget status)" active "alice still there"
        expect_match "$(cat "$T/sauthd.log")" "identity_unconfirmed" "audit: unconfirmed"
        expect_match "$(cat "$T/sauthd.log")" "identity_taken" "audit: taken"
}

# auto and open count against Register's limits: a non-admin uid gets
# registrations_per_caller; admins (PAM stacks, root) are not limited.
test_external_auto_rate_limited() {
        oauth_setup login.external=auto login.registrations_per_caller=1
        oidc_add_account newbie newbie@example.net
        expect_match "$(device_login_result_as_uid 4243 stranger)" '^complete stranger-' "first registration of bob's uid"
        expect_eq "$(device_login_result_as_uid 4243 newbie)" RateLimited "second registration of bob's uid"
        expect_eq "$(store_rows)" "1 1 1" "one registered"
        # A known identity still logs in for that uid; root registers.
        expect_match "$(device_login_result_as_uid 4243 stranger)" '^complete stranger-' "known identity, bob's uid"
        expect_match "$(device_login_as "" newbie | jget username)" '^newbie-' "root is not limited"
}

# auto through the authorization code flow.
test_external_auto_code_flow() {
        oauth_setup login.external=auto
        local out back code
        out=$(code_start "")
        back=$(oidc_code_login "$(jget location <<<"$out")" stranger)
        code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
        out=$(sa_call OAuthCallback sss web "$code" "$(jget state <<<"$out")")
        expect_match "$(jget username <<<"$out")" '^stranger-' "username"
        expect_eq "$(jget method <<<"$out")" web "method"
        expect_eq "$(sa_call VerifyToken s "$(jget jwt_token <<<"$out")" | jget identity)" stranger@example.net "identity"
}

# open: registered, the confirmation mailed (confirm_new), the login
# answered AlreadyRegistered until the address is confirmed; then the
# provider logs in to that account.
test_external_open() {
        oauth_setup login.external=open
        local out uid tok user
        expect_eq "$(device_login_error_as "" stranger)" AlreadyRegistered "first login: registered, confirm"
        expect_eq "$(store_rows)" "1 1 1" "registered"
        tok=$(sa_mailed_token stranger@example.net)
        uid=$(grep -h -oE -- '--uid x-[0-9a-f]{16}' "$T"/mail/*.eml | head -n 1 | cut -d' ' -f2)
        expect_match "$uid" '^x-[0-9a-f]{16}$' "uid in the mail"
        user=$(sqlite3 "$T/sauth.db" "SELECT username FROM accounts WHERE uid = '$uid'")
        expect_match "$user" '^stranger-[abcdefghjkmnpqrstuvwxyz23456789]{6}$' "generated user name"
        expect_eq "$(sqlite3 "$T/sauth.db" "SELECT status FROM contacts WHERE uid = '$uid'")" unconfirmed "not confirmed yet"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=register.*external_open" "audit"
        # Again before confirming: the same answer, no second registration or mail.
        expect_eq "$(device_login_error_as "" stranger)" AlreadyRegistered "second login before confirming"
        expect_eq "$(store_rows)" "1 1 1" "still one"
        expect_eq "$(sa_mail_count)" 1 "one mail"
        # The mailed token sets the first password and confirms the address.
        sa_call_as 4243 ChangePassword sssss "$uid" "$PW" "$tok" "" "$PW" > /dev/null || fail "confirm"
        out=$(device_login_as "" stranger)
        expect_eq "$(jget username <<<"$out")" "$user" "login after confirming"
        expect_eq "$(jget method <<<"$out")" idp "method"
        expect_eq "$(sa_login "$user" "$PW" | jget username)" "$user" "the password works too"
}

# code_start USER — AccountLogin with provider web; prints the reply.
code_start() {
        sa_call AccountLogin sssa{sv} "$1" "" web 0
}

test_code_flow_login() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out loc state back code tok
        out=$(code_start alice)
        loc=$(jget location <<<"$out")
        state=$(jget state <<<"$out")
        expect_match "$loc" "^$OIDC_ISSUER/auth\?" "location"
        expect_match "$loc" "code_challenge_method=S256" "PKCE"
        expect_match "$loc" "nonce=" "nonce"
        expect_match "$loc" "state=$state" "state in the URL"
        back=$(oidc_code_login "$loc" alice)
        code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
        expect_match "$back" "state=$state" "state back"
        [ -n "$code" ] || fail "no code in $back"
        out=$(sa_call OAuthCallback sss web "$code" "$state")
        expect_eq "$(jget username <<<"$out")" alice "username"
        expect_eq "$(jget method <<<"$out")" web "method"
        tok=$(jget jwt_token <<<"$out")
        expect_eq "$(sa_call VerifyToken s "$tok" | jget method)" web "token method"
        # The state is single-use.
        expect_eq "$(sa_error OAuthCallback web "$code" "$state")" InvalidToken "replayed state"
}

test_code_flow_wrong_state() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out loc back code state
        out=$(code_start alice)
        loc=$(jget location <<<"$out")
        state=$(jget state <<<"$out")
        back=$(oidc_code_login "$loc" alice)
        code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
        expect_eq "$(sa_error OAuthCallback web "$code" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" InvalidToken "wrong state"
        expect_eq "$(sa_error_as 4243 OAuthCallback web "$code" "$state")" InvalidToken "state of another uid"
        # The right state still works after both.
        expect_eq "$(sa_call OAuthCallback sss web "$code" "$state" | jget username)" alice "right state"
}

# Open authorization-code states are bounded per uid (16): the 17th start
# of one uid is LimitExceeded, another uid still starts, and a state used
# (single use) makes room again.
test_code_flow_states_bounded() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local i out first="" back code
        for i in $(seq 1 16); do
                out=$(sa_call_as 4243 AccountLogin sssa{sv} "" "" web 0) || fail "start $i as uid 4243"
                [ -n "$first" ] || first=$out
        done
        expect_eq "$(sa_error_as 4243 AccountLogin "" "" web '@a{sv} {}')" LimitExceeded "the 17th open state of one uid"
        expect_match "$(code_start alice | jget state)" '^[A-Za-z0-9_-]{43}$' "another uid meanwhile"
        back=$(oidc_code_login "$(jget location <<<"$first")" alice)
        code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
        expect_eq "$(sa_call_as 4243 OAuthCallback sss web "$code" "$(jget state <<<"$first")" | jget username)" alice \
                "the first state used"
        sa_call_as 4243 AccountLogin sssa{sv} "" "" web 0 > /dev/null || fail "a start after a state was used"
}

test_code_flow_other_account_refused() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_user bob "$PW" > /dev/null
        local out back code
        out=$(code_start alice)
        back=$(oidc_code_login "$(jget location <<<"$out")" bob)
        code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
        expect_eq "$(sa_error OAuthCallback web "$code" "$(jget state <<<"$out")")" InvalidCredentials "bob for alice"
}

# A broken provider answers ProviderError within the timeout (3 s here),
# while Methods is answered meanwhile.
broken_case() {
        local mode=$1 start end out
        oauth_setup
        oidc_break device_authorization "$mode" 1
        start=$(date +%s%N)
        sa_error DeviceLoginStart idp "" > "$T/broken.out" &
        local client=$!
        sleep 0.3
        local t0 t1
        t0=$(date +%s%N)
        out=$(sa_call Methods | jget count)
        t1=$(date +%s%N)
        expect_eq "$out" 3 "Methods while the provider is $mode"
        [ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "Methods took $(( (t1 - t0) / 1000000 )) ms"
        wait "$client" || true
        end=$(date +%s%N)
        expect_eq "$(cat "$T/broken.out")" ProviderError "provider $mode"
        [ $(( (end - start) / 1000000 )) -lt 5000 ] || fail "ProviderError after $(( (end - start) / 1000000 )) ms"
}

test_provider_hang() { broken_case hang; }
test_provider_500() { broken_case 500; }
test_provider_garbage() { broken_case garbage; }
test_provider_html() { broken_case html; }

test_provider_discovery_broken() {
        oauth_setup
        oidc_break discovery garbage 1
        expect_eq "$(sa_error DeviceLoginStart idp "")" ProviderError "discovery garbage"
        # The next try fetches discovery again and works.
        expect_eq "$(device_start "" | jget interval)" 1 "after the break"
}

test_pam_device_flow() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_pam_service oauth device=idp prompt=never timeout=30
        # An empty password starts the device flow.
        echo "" | sa_pam oauth alice authenticate open_session > "$T/pam.out" 2>&1 &
        local pam=$! code="" i
        for i in $(seq 1 100); do
                code=$(oidc_last_user_code 2>/dev/null) || code=""
                [ -n "$code" ] && [ "$code" != null ] && break
                sleep 0.1
        done
        [ -n "$code" ] && [ "$code" != null ] || fail "no user code at the provider"
        oidc_approve "$code" alice
        local rc=0
        wait "$pam" || rc=$?
        expect_eq "$rc" 0 "pamtester exit: $(cat "$T/pam.out")"
        expect_match "$(cat "$T/pam.out")" "$code" "the code shown"
        expect_match "$(cat "$T/pam.out")" "successfully authenticated" "authenticated"
        expect_match "$(cat "$T/pam.out")" "█" "the QR code shown"
        expect_eq "$(sa_call ListSessions s "$(sa_call AccountStatus s alice | jget uid)" | jq -r '.data[0].sessions.data[0].method.data')" idp "session method"
}

# prompt=always (what sshd gets with auto): the text comes with a prompt,
# and the module polls after each answer.
test_pam_device_flow_prompt() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_pam_service oauth device=idp prompt=always timeout=30
        mkfifo "$T/in"
        sa_pam oauth alice authenticate < "$T/in" > "$T/pam.out" 2>&1 &
        local pam=$! code="" i
        exec 7> "$T/in"
        echo "" >&7     # the password: empty
        for i in $(seq 1 100); do
                code=$(oidc_last_user_code 2>/dev/null) || code=""
                [ -n "$code" ] && [ "$code" != null ] && break
                sleep 0.1
        done
        [ -n "$code" ] && [ "$code" != null ] || fail "no user code at the provider"
        # Before the approval: Enter polls, the answer is pending, asked again.
        echo "" >&7
        sleep 0.5
        oidc_approve "$code" alice
        echo "" >&7
        exec 7>&-
        local rc=0
        wait "$pam" || rc=$?
        expect_eq "$rc" 0 "pamtester exit: $(cat "$T/pam.out")"
        expect_match "$(cat "$T/pam.out")" "Press Enter once you have approved" "the prompt"
        expect_match "$(cat "$T/pam.out")" "not approved yet" "asked again while pending"
        expect_match "$(cat "$T/pam.out")" "successfully authenticated" "authenticated"
        expect_eq "$(oidc_polls)" 2 "one request per answer, never faster than the interval"
}

# A password still logs in locally with device= set.
test_pam_device_password_still_local() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_pam_service oauth device=idp prompt=never
        expect_match "$(echo "$PW" | sa_pam oauth alice authenticate)" "successfully authenticated" "password login"
        expect_eq "$(oidc_polls)" 0 "no device flow"
}

# Denied at the provider: PAM_AUTH_ERR.
test_pam_device_denied() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_pam_service oauth device=idp prompt=never timeout=30
        echo "" | sa_pam oauth alice authenticate > "$T/pam.out" 2>&1 &
        local pam=$! code="" i
        for i in $(seq 1 100); do
                code=$(oidc_last_user_code 2>/dev/null) || code=""
                [ -n "$code" ] && [ "$code" != null ] && break
                sleep 0.1
        done
        [ -n "$code" ] && [ "$code" != null ] || fail "no user code at the provider"
        oidc_deny "$code"
        local rc=0
        wait "$pam" || rc=$?
        expect_ne "$rc" 0 "pamtester exit"
        expect_match "$(cat "$T/pam.out")" "Authentication failure" "denied"
}

test_sauthctl_login_device() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        "$SAUTHCTL" --address "$BUS_ADDRESS" login-device idp alice > "$T/ctl.out" 2> "$T/ctl.err" &
        local ctl=$! code="" i
        for i in $(seq 1 100); do
                code=$(oidc_last_user_code 2>/dev/null) || code=""
                [ -n "$code" ] && [ "$code" != null ] && break
                sleep 0.1
        done
        [ -n "$code" ] && [ "$code" != null ] || fail "no user code at the provider"
        oidc_approve "$code" alice
        local rc=0
        wait "$ctl" || rc=$?
        expect_eq "$rc" 0 "sauthctl exit: $(cat "$T/ctl.err")"
        expect_match "$(cat "$T/ctl.err")" "$code" "code shown"
        expect_match "$(cat "$T/ctl.out")" "username: alice|alice" "login printed"
        expect_match "$(cat "$T/ctl.out")" "idp" "method printed"
}

# login --method NAME USER: the device flow in a terminal (login-device
# stays, as its alias).
test_sauthctl_login_method() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        "$SAUTHCTL" --address "$BUS_ADDRESS" login --method idp alice > "$T/ctl.out" 2> "$T/ctl.err" &
        local ctl=$! code="" i
        for i in $(seq 1 100); do
                code=$(oidc_last_user_code 2>/dev/null) || code=""
                [ -n "$code" ] && [ "$code" != null ] && break
                sleep 0.1
        done
        [ -n "$code" ] && [ "$code" != null ] || fail "no user code at the provider"
        oidc_approve "$code" alice
        local rc=0
        wait "$ctl" || rc=$?
        expect_eq "$rc" 0 "sauthctl exit: $(cat "$T/ctl.err")"
        expect_match "$(cat "$T/ctl.err")" "enter the code $code" "code shown"
        expect_match "$(cat "$T/ctl.err")" "█" "QR code shown"
        expect_match "$(cat "$T/ctl.out")" "username: alice" "login printed"
        expect_match "$(cat "$T/ctl.out")" "method: idp" "method printed"
        # Without --method: a password login, which needs the user.
        expect_match "$(echo "$PW" | "$SAUTHCTL" --address "$BUS_ADDRESS" login alice)" "username: alice" "login USER"
        rc=0
        "$SAUTHCTL" --address "$BUS_ADDRESS" login > /dev/null 2>&1 || rc=$?
        expect_eq "$rc" 2 "login without USER nor --method"
        rc=0
        "$SAUTHCTL" --address "$BUS_ADDRESS" login --method nosuch alice > /dev/null 2> "$T/ctl.err" || rc=$?
        expect_eq "$rc" 1 "unknown provider"
        expect_match "$(cat "$T/ctl.err")" "UnsupportedMethod" "named error"
}

# providers: issuer, client type and flows; --json the list.
test_sauthctl_providers() {
        oauth_setup
        local out
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" providers)
        expect_match "$out" "NAME +ISSUER +CLIENT +FLOWS" "header"
        expect_match "$out" "idp +$OIDC_ISSUER +public +device" "idp: public, device (no redirect_uri)"
        expect_no_match "$out" "idp .*code" "idp has no code flow"
        expect_match "$out" "web +$OIDC_ISSUER +confidential +device,code" "web: confidential"
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" --json providers)
        expect_eq "$(jq -r 'length' <<<"$out")" 2 "two providers"
        expect_eq "$(jq -r '.[0].name + " " + .[0].client_type + " " + (.[0].flows | join(","))' <<<"$out")" \
                "idp public device" "json idp"
        expect_eq "$(jq -r '.[1].name + " " + .[1].client_type + " " + (.[1].flows | join(","))' <<<"$out")" \
                "web confidential device,code" "json web"
        expect_eq "$(jq -r '.[0].issuer' <<<"$out")" "$OIDC_ISSUER" "json issuer"
        expect_eq "$(jq -r '.[0].discovered' <<<"$out")" false "not discovered yet"
        # After a request the flows are the discovery document's.
        device_start "" > /dev/null
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" --json providers)
        expect_eq "$(jq -r '.[0].discovered' <<<"$out")" true "discovered"
        expect_eq "$(jq -r '.[0].flows | join(",")' <<<"$out")" device "idp flows after discovery"
        # The key behind it, in Methods.
        expect_eq "$(sa_call Methods | jq -r '.data[0].providers.data | length')" 2 "Methods key"
}

test_sauthctl_login_url_and_callback() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out loc state back code
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" --json login-url web alice)
        loc=$(jq -r '.location' <<<"$out")
        state=$(jq -r '.state' <<<"$out")
        back=$(oidc_code_login "$loc" alice)
        code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
        # The provider's code is base64url and may begin with '-'; our state
        # never does (token_new), but '--' is what the man page tells users.
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" --json oauth-callback web -- "$code" "$state")
        expect_eq "$(jq -r '.username' <<<"$out")" alice "username"
}

# ---------------------------------------------------------------- PAM: new code, prompt=auto

# Milliseconds of the wall clock, for timing a call.
now_ms() {
        echo $(( $(date +%s%N) / 1000000 ))
}

# wait_new_user_code OLD — waits (bounded, 10 s) until the provider has
# issued a user code other than OLD ("" for any); prints it.
wait_new_user_code() {
        local old=$1 code="" i
        for i in $(seq 1 100); do
                code=$(oidc_last_user_code 2>/dev/null) || code=""
                if [ -n "$code" ] && [ "$code" != null ] && [ "$code" != "$old" ]; then
                        echo "$code"
                        return 0
                fi
                sleep 0.1
        done
        fail "no new user code at the provider (last: ${code:-none})"
}

# pam_items ITEM=VALUE... -- SERVICE USER OPS... — sa_pam with pamtester's
# -I items (rhost=HOST, tty=...), which must come before the service.
pam_items() {
        local items=()
        while [ "$1" != -- ]; do
                items+=(-I "$1")
                shift
        done
        shift
        local preload=$PAM_WRAPPER_LIB asan
        asan=$(ldd "$PAM_MODULE" | awk '/libasan/ {print $3}')
        [ -z "$asan" ] || preload="$asan $preload"
        LD_PRELOAD="$preload" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
                ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
                pamtester -v "${items[@]}" "$@" 2>&1
}

# Answering "r" at the prompt drops the code shown and asks for a new one:
# a second, different code is shown with the whole text again, and that
# second flow completes the login. The first code was never polled.
test_pam_device_flow_new_code() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_pam_service oauth device=idp prompt=always timeout=30
        mkfifo "$T/in"
        sa_pam oauth alice authenticate < "$T/in" > "$T/pam.out" 2>&1 &
        local pam=$! code1 code2
        exec 7> "$T/in"
        echo "" >&7     # the password: empty
        code1=$(wait_new_user_code "")
        echo "r" >&7    # a new code, please
        code2=$(wait_new_user_code "$code1")
        expect_ne "$code2" "$code1" "the second code"
        oidc_approve "$code2" alice
        echo "" >&7
        exec 7>&-
        local rc=0
        wait "$pam" || rc=$?
        expect_eq "$rc" 0 "pamtester exit: $(cat "$T/pam.out")"
        expect_match "$(cat "$T/pam.out")" "enter the code $code1" "the first code shown"
        expect_match "$(cat "$T/pam.out")" "enter the code $code2" "the second code shown"
        expect_eq "$(grep -c "Press Enter once you have approved" "$T/pam.out")" 2 "the prompt, once per code"
        expect_match "$(cat "$T/pam.out")" "successfully authenticated" "authenticated"
        expect_eq "$(oidc_requests device_authorization)" 2 "two device authorizations"
        expect_eq "$(oidc_poll_report | jq -r '[.polls[].user_code] | unique | join(" ")')" "$code2" \
                "only the second code polled"
}

# "r" gets a new code at most DEVICE_RESTARTS_MAX (3) times in one
# authenticate: after the third code's "r" the login fails, and no fourth
# code is asked for.
test_pam_device_flow_new_code_bounded() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        sa_pam_service oauth device=idp prompt=always timeout=30
        mkfifo "$T/in"
        sa_pam oauth alice authenticate < "$T/in" > "$T/pam.out" 2>&1 &
        local pam=$! code="" codes=() i
        exec 7> "$T/in"
        echo "" >&7
        for i in 1 2 3; do
                code=$(wait_new_user_code "$code")
                codes+=("$code")
                echo "r" >&7
        done
        exec 7>&-
        local rc=0
        wait "$pam" || rc=$?
        expect_ne "$rc" 0 "pamtester exit"
        expect_match "$(cat "$T/pam.out")" "Authentication failure" "no login"
        expect_eq "$(printf '%s\n' "${codes[@]}" | sort -u | wc -l)" 3 "three different codes"
        expect_eq "$(oidc_requests device_authorization)" 3 "no fourth code"
        expect_eq "$(oidc_polls)" 0 "nothing polled"
}

# pam_device_auto SERVICE [ITEM=VALUE...] — an authenticate of alice with
# prompt=auto on SERVICE (pamtester items before the service): the empty
# password, then the code approved, then Enter (read only when the module
# prompts). Output in $T/pam.out; fails unless the login succeeds.
pam_device_auto() {
        local service=$1; shift
        sa_pam_service "$service" device=idp prompt=auto timeout=30
        rm -f "$T/in" && mkfifo "$T/in"
        pam_items "$@" -- "$service" alice authenticate < "$T/in" > "$T/pam.out" 2>&1 &
        local pam=$! code
        exec 7> "$T/in"
        echo "" >&7
        code=$(wait_new_user_code "$(oidc_last_user_code 2>/dev/null || true)")
        oidc_approve "$code" alice
        echo "" >&7
        exec 7>&-
        local rc=0
        wait "$pam" || rc=$?
        expect_eq "$rc" 0 "pamtester exit ($service $*): $(cat "$T/pam.out")"
        expect_match "$(cat "$T/pam.out")" "enter the code $code" "the code shown ($service $*)"
        expect_match "$(cat "$T/pam.out")" "successfully authenticated" "authenticated ($service $*)"
}

# prompt=auto: a remote login (PAM_RHOST set) or the sshd service gets the
# text as a prompt (OpenSSH shows info text only with the next prompt); a
# local login of another service gets it as info, and the module polls on
# its own.
test_pam_device_prompt_auto() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        pam_device_auto oauth rhost=client.example
        expect_match "$(cat "$T/pam.out")" "Press Enter once you have approved" "prompt with rhost"
        pam_device_auto oauth
        expect_no_match "$(cat "$T/pam.out")" "Press Enter" "no prompt without rhost"
        pam_device_auto sshd
        expect_match "$(cat "$T/pam.out")" "Press Enter once you have approved" "prompt for sshd"
}

# ---------------------------------------------------------------- unreachable providers

# The provider gone (connection refused): ProviderError at once, well
# within the timeout (3 s), before and after discovery; a poll of an open
# flow too; and the PAM device flow says so (PAM_AUTHINFO_UNAVAIL). Back
# on its port, the provider is used again.
test_provider_stopped() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local port=$OIDC_PORT t0 out handle
        oidc_stop
        t0=$(now_ms)
        expect_eq "$(sa_error DeviceLoginStart idp "")" ProviderError "provider stopped, no discovery yet"
        [ $(( $(now_ms) - t0 )) -lt 3000 ] || fail "ProviderError after $(( $(now_ms) - t0 )) ms"
        oidc_start --port "$port"
        out=$(device_start "")
        handle=$(jget handle <<<"$out")
        expect_eq "$(jget interval <<<"$out")" 1 "the provider back"
        oidc_stop
        t0=$(now_ms)
        expect_eq "$(sa_error DeviceLoginStart idp "")" ProviderError "provider stopped, discovery cached"
        expect_eq "$(sa_error DeviceLoginPoll "$handle")" ProviderError "poll, provider stopped"
        [ $(( $(now_ms) - t0 )) -lt 3000 ] || fail "ProviderErrors after $(( $(now_ms) - t0 )) ms"
        sa_pam_service oauth device=idp prompt=never timeout=30
        local rc=0
        echo "" | sa_pam oauth alice authenticate > "$T/pam.out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "pamtester exit"
        expect_match "$(cat "$T/pam.out")" "Authentication service cannot retrieve authentication info" "PAM_AUTHINFO_UNAVAIL"
        expect_eq "$(sa_call Methods | jget count)" 3 "sauthd still answers"
}

# The connection closed without an answer: ProviderError at once, on a
# new connection (discovery) and on a kept-alive one (device
# authorization; closed twice there, as curl retries once on a fresh
# connection when a reused one dies).
test_provider_close() {
        oauth_setup
        local t0
        oidc_break discovery close 1
        t0=$(now_ms)
        expect_eq "$(sa_error DeviceLoginStart idp "")" ProviderError "discovery: connection closed"
        [ $(( $(now_ms) - t0 )) -lt 3000 ] || fail "ProviderError after $(( $(now_ms) - t0 )) ms"
        device_start "" > /dev/null     # discovery, and a kept-alive connection
        oidc_break device_authorization close 2
        t0=$(now_ms)
        expect_eq "$(sa_error DeviceLoginStart idp "")" ProviderError "device authorization: connection closed"
        [ $(( $(now_ms) - t0 )) -lt 3000 ] || fail "ProviderError after $(( $(now_ms) - t0 )) ms"
        expect_eq "$(sa_call Methods | jget count)" 3 "sauthd still answers"
        oidc_reset      # a second close left if curl did not retry
        expect_eq "$(device_start "" | jget interval)" 1 "the next request works"
}

# While a request to the provider hangs, the event loop is free: a local
# password login is answered at once, not after the HTTP timeout (10 s
# here). When the provider drops the held request, the device login
# fails then, not at the timeout either.
test_provider_hang_local_login() {
        sa_prepare
        oidc_start
        oidc_config_section idp device >> "$T/sauthd.conf"
        echo "timeout = 10" >> "$T/sauthd.conf"
        sa_start_bus
        sa_start_daemon
        sa_user alice "$PW" > /dev/null
        oidc_break discovery hang 1
        local start t0 t1 i out
        start=$(now_ms)
        sa_error DeviceLoginStart idp "" > "$T/hung.out" &
        local client=$!
        for i in $(seq 1 100); do
                [ "$(oidc_requests discovery)" -ge 1 ] && break
                sleep 0.05
        done
        expect_eq "$(oidc_requests discovery)" 1 "the discovery request is held"
        t0=$(now_ms)
        out=$(sa_login alice "$PW" | jget username)
        t1=$(now_ms)
        expect_eq "$out" alice "local login while the provider hangs"
        [ $((t1 - t0)) -lt 2000 ] || fail "the local login took $((t1 - t0)) ms"
        kill -0 "$client" 2>/dev/null || fail "DeviceLoginStart ended before the hang was released"
        oidc_reset      # the held response goes: the connection closes
        wait "$client" || true
        expect_eq "$(cat "$T/hung.out")" ProviderError "after the hang"
        [ $(( $(now_ms) - start )) -lt 8000 ] || fail "ProviderError after $(( $(now_ms) - start )) ms"
}

# The token endpoint broken while polling: the poll answers ProviderError,
# and the flow stays (a later poll may work). A hung token request is
# answered ProviderError within the timeout (3 s), and polls meanwhile
# are answered "pending" at once, with no second request.
test_device_poll_token_broken() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        local out handle code
        out=$(device_start alice)
        handle=$(jget handle <<<"$out")
        code=$(jget user_code <<<"$out")
        oidc_break token 500 1
        expect_eq "$(sa_error DeviceLoginPoll "$handle")" ProviderError "token endpoint 500"
        expect_eq "$(oidc_requests token)" 1 "one token request"
        oidc_approve "$code" alice
        sleep 1.1
        out=$(device_poll_until_done "$handle")
        expect_eq "$(jget status <<<"$out")" complete "the flow survived the 500"
        expect_eq "$(jget username <<<"$out")" alice "username"

        out=$(device_start alice)
        handle=$(jget handle <<<"$out")
        oidc_break token hang 1
        local start t0 t1 i
        start=$(now_ms)
        sa_error DeviceLoginPoll "$handle" > "$T/hung.out" &
        local client=$!
        for i in $(seq 1 100); do
                [ "$(oidc_requests token)" -ge 3 ] && break
                sleep 0.05
        done
        expect_eq "$(oidc_requests token)" 3 "the token request is held"
        t0=$(now_ms)
        expect_eq "$(device_poll "$handle" | jget status)" pending "a poll while one hangs"
        t1=$(now_ms)
        [ $((t1 - t0)) -lt 1000 ] || fail "the second poll took $((t1 - t0)) ms"
        wait "$client" || true
        expect_eq "$(cat "$T/hung.out")" ProviderError "token endpoint hangs"
        [ $(( $(now_ms) - start )) -lt 5000 ] || fail "ProviderError after $(( $(now_ms) - start )) ms"
        expect_eq "$(oidc_requests token)" 3 "no second request while one was in flight"
}

# ---------------------------------------------------------------- body cap, caching

# A body over the cap (256 KiB; the provider sends 1 MiB of valid JSON) is
# refused, whether its length is announced or not, and for discovery too;
# sauthd stays up, and the next normal answer works.
test_provider_body_capped() {
        oauth_setup
        local t0 mode
        for mode in big big_length; do
                oidc_break device_authorization "$mode" 1
                t0=$(now_ms)
                expect_eq "$(sa_error DeviceLoginStart idp "")" ProviderError "device authorization $mode"
                [ $(( $(now_ms) - t0 )) -lt 3000 ] || fail "ProviderError after $(( $(now_ms) - t0 )) ms"
        done
        # Refused for its size (the body is otherwise a valid answer):
        # by our cap without a length, by curl's (the same) with one.
        expect_match "$(cat "$T/sauthd.log")" "provider idp: device authorization: response body too large" \
                "the cap, length not announced"
        expect_match "$(cat "$T/sauthd.log")" "provider idp: device authorization: Maximum file size exceeded" \
                "the cap, length announced"
        kill -0 "$SAUTHD_PID" || fail "sauthd died"
        expect_eq "$(sa_call Methods | jget count)" 3 "Methods after the big bodies"
        expect_eq "$(device_start "" | jget interval)" 1 "a normal answer after them"
        # web is a provider of its own, not discovered yet.
        oidc_break discovery big 1
        expect_eq "$(sa_error AccountLogin "" "" web "@a{sv} {}")" ProviderError "discovery big"
        expect_match "$(cat "$T/sauthd.log")" "provider web: discovery: response body too large" "discovery cap"
        expect_match "$(code_start "" | jget location)" "^$OIDC_ISSUER/auth\?" "the code flow after it"
}

# The discovery document and the JWKS are fetched once and kept (the
# provider sends no Cache-Control: an hour): two device logins and a third
# start make one request for each.
test_provider_documents_cached() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(oidc_requests discovery) $(oidc_requests jwks)" "0 0" "nothing fetched at start"
        expect_eq "$(device_login_as alice alice | jget username)" alice "first login"
        expect_eq "$(oidc_requests discovery) $(oidc_requests jwks)" "1 1" "after the first login"
        expect_eq "$(device_login_as alice alice | jget username)" alice "second login"
        device_start "" > /dev/null
        expect_eq "$(oidc_requests discovery) $(oidc_requests jwks)" "1 1" "after the second login"
        expect_eq "$(oidc_requests device_authorization)" 3 "three device authorizations"
}

# Cache-Control max-age decides how long they are kept, but never less
# than a minute (OAUTH_CACHE_MIN_SEC, so that polls do not refetch them):
# max-age=1 keeps them past 1 s, and they are fetched again once the minute
# is over. This case waits that minute (bounded: 75 s).
test_provider_documents_max_age() {
        oauth_setup
        sa_user alice "$PW" > /dev/null
        oidc_cache_control discovery max-age=1
        oidc_cache_control jwks "no-cache, max-age=1"
        local t1
        expect_eq "$(device_login_as alice alice | jget username)" alice "first login"
        t1=$(now_ms)    # both documents were fetched before this
        expect_eq "$(oidc_requests discovery) $(oidc_requests jwks)" "1 1" "after the first login"
        sleep 1.5
        expect_eq "$(device_login_as alice alice | jget username)" alice "second login"
        expect_eq "$(oidc_requests discovery) $(oidc_requests jwks)" "1 1" "kept past max-age=1"
        # A minute after the first fetches: fetched again, each once.
        local wait_ms=$(( t1 + 60500 - $(now_ms) ))
        [ "$wait_ms" -le 0 ] || sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
        expect_eq "$(device_login_as alice alice | jget username)" alice "login after the minute"
        expect_eq "$(oidc_requests discovery) $(oidc_requests jwks)" "2 2" "fetched again after the minute"
}

sa_main "$@"
