#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pam_sessionauth.so driven through real PAM stacks: pamtester under
# pam_wrapper, against a private bus and sauthd.
. "$(dirname "$0")/lib.sh"

PW1='Violet-Tundra-Anchor-5821'
PW2='Copper-Lantern-Meadow-3307'
PW_WRONG='Granite-Willow-Harbor-6642'
PAM_SECURITY_DIR=${PAM_SECURITY_DIR:-/usr/lib/x86_64-linux-gnu/security}
PAM_SET_ITEMS=${PAM_SET_ITEMS:-/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so}

# pamtester's last words for each outcome (pam_strerror and its own).
MSG_AUTH_OK='successfully authenticated'
MSG_ACCT_OK='account management done'
MSG_CHAUTHTOK_OK='authentication token altered successfully'
MSG_AUTH_ERR='Authentication failure'
MSG_AUTHINFO_UNAVAIL='Authentication service cannot retrieve authentication info'
MSG_USER_UNKNOWN='User not known to the underlying authentication module'
MSG_NEW_AUTHTOK_REQD='Authentication token is no longer valid; new one required'
MSG_ACCT_EXPIRED='User account has expired'
MSG_MAXTRIES='Have exhausted maximum number of retries for service'
MSG_AUTHTOK_ERR='Authentication token manipulation error'
MSG_OPEN_OK='successfully opened a session'
MSG_CLOSE_OK='session has successfully been closed'
MSG_SESSION_ERR='Cannot make/remove an entry for the specified session'
# A signed session token: header.claims.signature, base64url.
JWT_RE='[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{40,}'

PAM_OUT=""
PAM_RC=0

# In a sanitizer build the module links libasan, but pamtester does not:
# loaded late, the runtime would not see the module's heap. Preload it
# ahead of pam_wrapper (which then must not use RTLD_DEEPBIND).
pt_preload_asan() {
        local asan
        asan=$(ldd "${PAM_MODULE:-/nonexistent}" 2>/dev/null | awk '/libasan\.so/ { print $3 }') || true
        [ -n "$asan" ] || return 0
        PAM_WRAPPER_LIB="$asan $PAM_WRAPPER_LIB"
        export PAM_WRAPPER_DISABLE_DEEPBIND=1
}
pt_preload_asan

# pt_pam SERVICE USER INPUT OPS... — runs pamtester with INPUT on stdin
# (one line per prompt); sets PAM_OUT and PAM_RC.
pt_pam() {
        local service=$1 user=$2 input=$3; shift 3
        PAM_RC=0
        PAM_OUT=$(printf '%s\n' "$input" | sa_pam "$service" "$user" "$@") || PAM_RC=$?
        echo "$PAM_OUT" >> "$T/pamtester.log"
}

lines() {
        printf '%s\n' "$@"
}

expect_pam_ok() {
        [ "$PAM_RC" -eq 0 ] || fail "pamtester failed ($PAM_RC): $PAM_OUT"
        expect_match "$PAM_OUT" "$1" "pamtester output"
}

expect_pam_fail() {
        [ "$PAM_RC" -ne 0 ] || fail "pamtester succeeded where '$1' was expected: $PAM_OUT"
        expect_match "$PAM_OUT" "pamtester: $1" "pamtester output"
}

# pt_pam_as UID SERVICE USER INPUT OPS... — pt_pam as another uid. The
# service files, the module and the bus socket must be reachable for it.
pt_pam_as() {
        local uid=$1 service=$2 user=$3 input=$4; shift 4
        chmod 711 "$T"
        chmod 755 "$T/pam.d"
        chmod 644 "$T"/pam.d/*
        PAM_RC=0
        PAM_OUT=$(printf '%s\n' "$input" | setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
                pamtester -v "$service" "$user" "$@" 2>&1) || PAM_RC=$?
        echo "$PAM_OUT" >> "$T/pamtester.log"
}

# pt_pam_bounded LIMIT SERVICE USER INPUT OPS... — pt_pam, killed after
# LIMIT seconds. Not a measurement: a guard far above the module's
# timeout=, which fails only if the module falls back to sd-bus's own
# waits (25 s per call, 90 s to authenticate) or hangs.
pt_pam_bounded() {
        local limit=$1 service=$2 user=$3 input=$4; shift 4
        PAM_RC=0
        PAM_OUT=$(printf '%s\n' "$input" | timeout "$limit" \
                env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
                pamtester -v "$service" "$user" "$@" 2>&1) || PAM_RC=$?
        echo "$PAM_OUT" >> "$T/pamtester.log"
        [ "$PAM_RC" -ne 124 ] || fail "pamtester still waiting after ${limit}s with timeout=2"
}

# A service file with its own stack.
pt_service() {
        local name=$1; shift
        lines "$@" > "$T/pam.d/$name"
}

pt_auth_ok() {
        pt_pam sa "$1" "$(lines "$2")" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
}

pt_auth_fails() {
        pt_pam sa "$1" "$(lines "$2")" authenticate
        expect_pam_fail "$MSG_AUTH_ERR"
}

# ---------------------------------------------------------------- authenticate

test_auth_first_password() {
        sa_setup
        local uid
        uid=$(sa_register alice)
        sa_set_first_password "$uid" "$PW1" alice@example.org
        sa_pam_service sa
        pt_auth_ok alice "$PW1"
}

test_auth_wrong_password() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        pt_auth_fails alice "$PW_WRONG"
}

# Like pam_unix, the module asks libpam for a delay after a failure
# (pam_fail_delay of 2 s; libpam sleeps base × (0.5 + the mean of three
# uniform draws), so 1 to 3 s, under 1.4 s one time in 28); nodelay leaves
# it out. A success is not delayed.
test_auth_fail_delay() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        local t0 slow fast ok
        sa_pam_service sa
        t0=$(date +%s%N)
        pt_auth_fails alice "$PW_WRONG"
        slow=$((($(date +%s%N) - t0) / 1000000))
        t0=$(date +%s%N)
        pt_auth_ok alice "$PW1"
        ok=$((($(date +%s%N) - t0) / 1000000))
        sa_pam_service sa nodelay
        t0=$(date +%s%N)
        pt_auth_fails alice "$PW_WRONG"
        fast=$((($(date +%s%N) - t0) / 1000000))
        note "failure $slow ms, with nodelay $fast ms, success $ok ms"
        [ "$slow" -ge 950 ] || fail "a failure took $slow ms: no pam_fail_delay"
        [ $((slow - fast)) -ge 800 ] || fail "nodelay: $fast ms against $slow ms"
        [ $((slow - ok)) -ge 800 ] || fail "a success was delayed too: $ok ms"
}

# An unknown user must look exactly like a known one with a wrong password.
test_auth_unknown_user_like_wrong_password() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        local known unknown rc_known
        pt_pam sa alice "$(lines "$PW_WRONG")" authenticate
        known=$(sed 's/alice/USER/g' <<<"$PAM_OUT"); rc_known=$PAM_RC
        pt_pam sa mallory "$(lines "$PW_WRONG")" authenticate
        unknown=$(sed 's/mallory/USER/g' <<<"$PAM_OUT")
        expect_eq "$PAM_RC" "$rc_known" "exit code for an unknown user"
        expect_eq "$unknown" "$known" "pamtester output for an unknown user"
        expect_pam_fail "$MSG_AUTH_ERR"
}

test_auth_no_password_set_yet() {
        sa_setup
        sa_register bob >/dev/null
        sa_pam_service sa
        pt_auth_fails bob "$PW1"
}

# Unknown arguments and bad values are logged and ignored, not fatal.
test_auth_unknown_arguments_ignored() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa frobnicate timeout=soon retry=-1 unavail=maybe prompt=auto device=example
        pt_auth_ok alice "$PW1"
        # Only digits are a number: no sign, no zero, nothing after.
        local v
        for v in +5 -1 0 5x 3601 ""; do
                sa_pam_service sa "timeout=$v"
                export PAM_WRAPPER_DEBUGLEVEL=2
                pt_auth_ok alice "$PW1"
                unset PAM_WRAPPER_DEBUGLEVEL
                expect_match "$PAM_OUT" "bad timeout=${v//+/[+]}, using 25" "timeout=$v refused"
        done
}

# ---------------------------------------------------------------- stacked tokens

# pam_set_items (pam_wrapper) sets PAM_AUTHTOK from its environment.
pt_stacked_service() {
        pt_service stacked \
                "auth required $PAM_SET_ITEMS" \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS $*" \
                "account required $PAM_MODULE bus=$BUS_ADDRESS"
}

test_use_first_pass() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        pt_stacked_service use_first_pass
        PAM_AUTHTOK=$PW1 pt_pam stacked alice "" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
        expect_no_match "$PAM_OUT" "Password:" "prompt with use_first_pass"
        # A wrong stacked password fails even though stdin has the right
        # one: use_first_pass never asks.
        PAM_AUTHTOK=$PW_WRONG pt_pam stacked alice "$(lines "$PW1")" authenticate
        expect_pam_fail "$MSG_AUTH_ERR"
        expect_no_match "$PAM_OUT" "Password:" "prompt with use_first_pass"
        # No stacked password at all: fails without asking.
        pt_pam stacked alice "$(lines "$PW1")" authenticate
        expect_pam_fail "$MSG_AUTH_ERR"
        expect_no_match "$PAM_OUT" "Password:" "prompt with use_first_pass"
}

test_try_first_pass() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        pt_stacked_service try_first_pass
        PAM_AUTHTOK=$PW1 pt_pam stacked alice "" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
        expect_no_match "$PAM_OUT" "Password:" "prompt with a stacked password"
        # Nothing stacked: it asks.
        pt_pam stacked alice "$(lines "$PW1")" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
        expect_match "$PAM_OUT" "Password:" "prompt without a stacked password"
}

# ---------------------------------------------------------------- account

test_acct_ok() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam sa alice "" acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
}

test_acct_must_change_before_first_password() {
        sa_setup
        sa_register bob >/dev/null
        sa_pam_service sa
        pt_pam sa bob "" acct_mgmt
        expect_pam_fail "$MSG_NEW_AUTHTOK_REQD"
        # Said before the application asks, in pam_unix's words.
        expect_match "$PAM_OUT" "You are required to change your password immediately \(administrator enforced\)" "notice"
        pt_pam sa bob "" 'acct_mgmt(PAM_SILENT)'
        expect_pam_fail "$MSG_NEW_AUTHTOK_REQD"
        expect_no_match "$PAM_OUT" "required to change" "notice with PAM_SILENT"
}

test_acct_disabled() {
        sa_setup
        sa_user carol "$PW1" >/dev/null
        sa_call SetAccountStatus ss carol disabled >/dev/null
        sa_pam_service sa
        pt_pam sa carol "" acct_mgmt
        expect_pam_fail "$MSG_ACCT_EXPIRED"
        pt_pam sa carol "$(lines "$PW1")" authenticate
        expect_pam_fail "$MSG_ACCT_EXPIRED"
        # Enabled again, the account is usable again.
        sa_call SetAccountStatus ss carol active >/dev/null
        pt_pam sa carol "" acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
}

test_acct_unknown_user() {
        sa_setup
        sa_pam_service sa
        pt_pam sa nobody-here "" acct_mgmt
        expect_pam_fail "$MSG_USER_UNKNOWN"
}

test_acct_locked_after_failures() {
        sa_setup lockout.deny=2 lockout.unlock_time=600
        sa_user dave "$PW1" >/dev/null
        sa_pam_service sa
        pt_auth_fails dave "$PW_WRONG"
        pt_pam sa dave "" acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
        pt_auth_fails_or_locked dave "$PW_WRONG"
        pt_pam sa dave "" acct_mgmt
        expect_pam_fail "$MSG_MAXTRIES"
        # Locked, even the right password is refused.
        pt_pam sa dave "$(lines "$PW1")" authenticate
        expect_pam_fail "$MSG_MAXTRIES"
}

# Only root, admins and the user themself may read an account's status.
test_acct_other_user_denied() {
        sa_setup
        sa_user dave "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam_as 65534 sa dave "" acct_mgmt
        expect_pam_fail "Permission denied"
}

# The failure that locks may already say "locked" or still "failure".
pt_auth_fails_or_locked() {
        pt_pam sa "$1" "$(lines "$2")" authenticate
        [ "$PAM_RC" -ne 0 ] || fail "authentication succeeded with a wrong password"
        expect_match "$PAM_OUT" "pamtester: ($MSG_AUTH_ERR|$MSG_MAXTRIES)"
}

# ---------------------------------------------------------------- chauthtok

# Root (pamtester runs as root) changes a password without the old one.
test_chauthtok_root() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW2" "$PW2")" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        expect_no_match "$PAM_OUT" "Current password" "prompts for root"
        pt_auth_ok alice "$PW2"
        pt_auth_fails alice "$PW1"
}

# The first password through PAM: must change, then change, then log in.
test_chauthtok_clears_must_change() {
        sa_setup
        sa_register bob >/dev/null
        sa_pam_service sa
        pt_pam sa bob "" acct_mgmt
        expect_pam_fail "$MSG_NEW_AUTHTOK_REQD"
        pt_pam sa bob "$(lines "$PW2" "$PW2")" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        pt_pam sa bob "" acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
        pt_auth_ok bob "$PW2"
}

# The must-change flow of an account with a password: an admin expires it;
# authenticate succeeds, acct_mgmt says a new one is required, and chauthtok
# with PAM_CHANGE_EXPIRED_AUTHTOK (old password asked) sets it.
test_must_change_flow() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_call ExpirePassword s alice >/dev/null
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW1")" authenticate acct_mgmt
        expect_match "$PAM_OUT" "pamtester: successfully authenticated" "authenticate"
        expect_pam_fail "$MSG_NEW_AUTHTOK_REQD"
        pt_pam sa alice "$(lines "$PW1" "$PW2" "$PW2")" 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)'
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        expect_match "$PAM_OUT" "Current password" "old password asked"
        pt_pam sa alice "$(lines "$PW2")" authenticate acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
        pt_auth_fails alice "$PW1"
}

# su and login change an expired password between authenticate and
# open_session, on one handle. The change ends every session of the
# account, the handle's too: the module logs in again with the new
# password, so the session opens (and closes) with a valid token.
test_must_change_session_opens() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW1")
        sa_call ExpirePassword s alice >/dev/null
        sa_pam_service sa
        # pamtester stops at acct_mgmt's PAM_NEW_AUTHTOK_REQD: go on as su does.
        pt_pam sa alice "$(lines "$PW1" "$PW1" "$PW2" "$PW2")" authenticate \
                'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)' open_session close_session
        expect_match "$PAM_OUT" "$MSG_CHAUTHTOK_OK" "chauthtok"
        expect_match "$PAM_OUT" "$MSG_OPEN_OK" "open_session after the change"
        expect_pam_ok "$MSG_CLOSE_OK"
        expect_eq "$(pt_sessions "$uid")" "" "sessions after close"
}

# PAM_CHANGE_EXPIRED_AUTHTOK: even root is asked for the old password.
test_chauthtok_expired_asks_old_password() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW1" "$PW2" "$PW2")" 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)'
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        expect_match "$PAM_OUT" "Current password" "old password prompt"
        pt_auth_ok alice "$PW2"
        pt_auth_fails alice "$PW1"
}

# A wrong old password changes nothing, although the caller is root.
test_chauthtok_wrong_old_password() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW_WRONG" "$PW2" "$PW2")" 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)'
        expect_pam_fail "$MSG_AUTH_ERR"
        pt_auth_ok alice "$PW1"
        pt_auth_fails alice "$PW2"
}

# Two entries that differ: told so, asked again, then it works.
test_chauthtok_retry_after_mismatch() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW2" "$PW_WRONG" "$PW2" "$PW2")" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        expect_match "$PAM_OUT" "do not match" "mismatch message"
        pt_auth_ok alice "$PW2"
}

# retry=N bounds the tries.
test_chauthtok_retry_limit() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa retry=2
        pt_pam sa alice "$(lines a b c d "$PW2" "$PW2")" chauthtok
        expect_pam_fail "$MSG_AUTHTOK_ERR"
        pt_auth_ok alice "$PW1"
}

# A password the daemon's rules refuse: its reason is shown, and the next
# try may succeed.
test_chauthtok_weak_password_retry() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        # The daemon's rules must refuse it, or this case tests nothing.
        expect_eq "$(sa_call CheckPassword ss alice password | jget ok)" false "CheckPassword ok"
        sa_pam_service sa
        pt_pam sa alice "$(lines password password "$PW2" "$PW2")" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        # The daemon's reason went to the user, then the second try.
        [ "$(grep -c 'New password' <<<"$PAM_OUT")" -ge 2 ] || fail "not asked again: $PAM_OUT"
        grep -E 'Retype new password: .+' <<<"$PAM_OUT" | grep -v 'pamtester:' | grep -qv 'do not match' \
                || fail "no reason shown: $PAM_OUT"
        pt_auth_ok alice "$PW2"
}

# With use_authtok the new password comes from the module stacked before
# (here pam_set_items); it is not asked for.
test_chauthtok_use_authtok() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        pt_service stacked \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS" \
                "password required $PAM_SET_ITEMS" \
                "password required $PAM_MODULE bus=$BUS_ADDRESS use_authtok"
        PAM_AUTHTOK=$PW2 pt_pam stacked alice "" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        expect_no_match "$PAM_OUT" "New password" "prompt with use_authtok"
        pt_pam stacked alice "$(lines "$PW2")" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
}

# A user changing their own password (as passwd run by them does) is asked
# for the old one, and the daemon checks it.
test_chauthtok_as_user() {
        sa_setup
        local me
        me=$(id -nu 65534)
        sa_user "$me" "$PW1" >/dev/null
        sa_pam_service sa
        pt_pam_as 65534 sa "$me" "$(lines "$PW_WRONG" "$PW2" "$PW2")" chauthtok
        expect_pam_fail "$MSG_AUTH_ERR"
        expect_match "$PAM_OUT" "Current password" "old password prompt"
        pt_pam_as 65534 sa "$me" "$(lines "$PW1" "$PW2" "$PW2")" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        pt_auth_ok "$me" "$PW2"
        pt_auth_fails "$me" "$PW1"
}

test_chauthtok_unknown_user() {
        sa_setup
        sa_pam_service sa
        pt_pam sa nobody-here "$(lines "$PW2" "$PW2")" chauthtok
        expect_pam_fail "$MSG_USER_UNKNOWN"
}

# ---------------------------------------------------------------- unavailable

test_daemon_stopped() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_stop_daemon
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW1")" authenticate
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
        pt_pam sa alice "" acct_mgmt
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
        pt_pam sa alice "$(lines "$PW2" "$PW2")" chauthtok
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
}

test_bus_missing() {
        sa_prepare
        sa_pam_service sa
        sed -i "s|bus=$BUS_ADDRESS|bus=unix:path=$T/no-such.sock|" "$T/pam.d/sa"
        pt_pam sa alice "$(lines "$PW1")" authenticate
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
}

# A daemon that does not answer: the module gives up after timeout=.
test_daemon_frozen() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa timeout=2
        kill -STOP "$SAUTHD_PID"
        pt_pam_bounded 20 sa alice "$(lines "$PW1")" authenticate
        kill -CONT "$SAUTHD_PID"
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
        # The daemon was only slow: once it runs again, logins work.
        pt_auth_ok alice "$PW1"
}

# A bus that does not answer: the connection itself gives up after timeout=.
test_bus_frozen() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa timeout=2
        kill -STOP "$BUS_PID"
        pt_pam_bounded 60 sa alice "$(lines "$PW1")" authenticate
        kill -CONT "$BUS_PID"
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
        pt_auth_ok alice "$PW1"
}

# unavail=ignore: the module steps aside and the rest of the stack decides.
test_unavail_ignore() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        pt_service ignore \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS unavail=ignore" \
                "auth required $PAM_SECURITY_DIR/pam_permit.so"
        pt_service failing \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS" \
                "auth required $PAM_SECURITY_DIR/pam_permit.so"
        # Reachable: a wrong password still fails.
        pt_pam ignore alice "$(lines "$PW_WRONG")" authenticate
        expect_pam_fail "$MSG_AUTH_ERR"
        sa_stop_daemon
        pt_pam ignore alice "$(lines "$PW_WRONG")" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
        pt_pam failing alice "$(lines "$PW_WRONG")" authenticate
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
}

# Activation without systemd: the bus has an activation file for sauthd
# whose Exec= fails, and sauthd is stopped. dbus-daemon answers
# Spawn.ChildExited: the daemon is unavailable, so unavail=ignore steps
# aside, and without it the module says PAM_AUTHINFO_UNAVAIL.
test_activation_failed_is_unavailable() {
        sa_prepare
        sa_bus_failing_activation
        sa_start_bus
        pt_service ignore \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS unavail=ignore" \
                "auth required $PAM_SECURITY_DIR/pam_permit.so" \
                "account required $PAM_MODULE bus=$BUS_ADDRESS unavail=ignore" \
                "account required $PAM_SECURITY_DIR/pam_permit.so"
        pt_service failing \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS" \
                "auth required $PAM_SECURITY_DIR/pam_permit.so"
        pt_pam ignore alice "$(lines "$PW_WRONG")" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
        pt_pam ignore alice "" acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
        pt_pam failing alice "$(lines "$PW_WRONG")" authenticate
        expect_pam_fail "$MSG_AUTHINFO_UNAVAIL"
        # The bus did try to start it: the answer was a spawn failure.
        expect_match "$(cat "$T/bus.log")" "Activating service name='$BUS_NAME'" "bus log"
}

# A password the module cannot send (not UTF-8) is an error of its own,
# never "unreachable": with unavail=ignore it would otherwise pass.
test_unsendable_password_not_ignored() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        pt_service ignore \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS unavail=ignore" \
                "auth required $PAM_SECURITY_DIR/pam_permit.so"
        pt_pam ignore alice "$(printf 'abc\377\376def')" authenticate
        expect_pam_fail "Error in service module"
}

# A bus address sd-bus cannot parse is a misconfiguration, not an absent
# daemon: it fails closed (PAM_SERVICE_ERR) even with unavail=ignore, and
# the module says why in its log, without debug. That holds for the
# addresses sd-bus itself answers with ECONNREFUSED, "no bus there" (an
# unknown transport, no transport at all, an empty entry), as for those it
# calls EINVAL. A missing socket under unavail=ignore still steps aside.
test_bad_bus_address_not_ignored() {
        sa_prepare
        local addr
        for addr in "unix:foo=bar" "garbage" "unx:path=$T/bus.sock" "unix:path=$T/bus.sock;" "unix:path=%zz"; do
                pt_service badaddr \
                        "auth required $PAM_MODULE bus=$addr unavail=ignore" \
                        "auth required $PAM_SECURITY_DIR/pam_permit.so" \
                        "account required $PAM_MODULE bus=$addr unavail=ignore" \
                        "account required $PAM_SECURITY_DIR/pam_permit.so"
                export PAM_WRAPPER_DEBUGLEVEL=2
                pt_pam badaddr alice "$(lines "$PW_WRONG")" authenticate
                unset PAM_WRAPPER_DEBUGLEVEL
                expect_pam_fail "Error in service module"
                expect_match "$PAM_OUT" "not a valid D-Bus address" "log line for bus=$addr"
                pt_pam badaddr alice "" acct_mgmt
                expect_pam_fail "Error in service module"
        done
        pt_service nosock \
                "auth required $PAM_MODULE bus=unix:path=$T/no-such.sock unavail=ignore" \
                "auth required $PAM_SECURITY_DIR/pam_permit.so"
        pt_pam nosock alice "$(lines "$PW_WRONG")" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
}

# ---------------------------------------------------------------- session

# pt_exec_script NAME BODY... — an executable for pam_exec. pam_exec runs
# it with the PAM items in its environment (PAM_TYPE: open_session…) and
# nothing else: no PATH, and not pamtester's LD_PRELOAD.
pt_exec_script() {
        local name=$1; shift
        { echo '#!/bin/bash'; echo 'set -eu'; lines "$@"; } > "$T/$name"
        chmod 755 "$T/$name"
}

# Prints the sessions ListSessions gives for UID as "jti service" lines.
pt_sessions() {
        sa_call ListSessions s "$1" | jq -r '.data[0].sessions.data[] | "\(.jti.data) \(.service.data)"'
}

# One handle: authenticate keeps the token, open_session checks it,
# close_session ends it. pam_exec, stacked after the module, lists the
# user's sessions at each step, while the handle is open.
test_session_open_close() {
        sa_setup
        local uid busctl
        uid=$(sa_user alice "$PW1")
        busctl=$(command -v busctl)
        pt_exec_script list-sessions.sh \
                "'$busctl' --address='$BUS_ADDRESS' --json=short call $BUS_NAME $BUS_PATH $BUS_IFACE ListSessions s $uid > \"$T/sessions.\$PAM_TYPE\""
        pt_service sess \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS debug" \
                "session required $PAM_MODULE bus=$BUS_ADDRESS debug" \
                "session required $PAM_SECURITY_DIR/pam_exec.so $T/list-sessions.sh"
        export PAM_WRAPPER_DEBUGLEVEL=2
        pt_pam sess alice "$(lines "$PW1")" authenticate open_session close_session
        unset PAM_WRAPPER_DEBUGLEVEL
        expect_pam_ok "$MSG_CLOSE_OK"
        expect_match "$PAM_OUT" "$MSG_OPEN_OK" "open_session"
        # While open: one session, from the service "sess", with the jti
        # the module logged (debug) when it verified the token.
        local open jti
        open=$(jq -r '.data[0].sessions.data[] | "\(.jti.data) \(.service.data)"' "$T/sessions.open_session")
        expect_eq "$(wc -l <<<"$open")" 1 "sessions while open"
        jti=${open%% *}
        expect_eq "${open#* }" sess "service of the session"
        expect_match "$PAM_OUT" "session $jti of user \"alice\" is valid" "jti logged with debug"
        # At close, the module ran first: the session was already gone.
        expect_eq "$(jq -r '.data[0].sessions.data | length' "$T/sessions.close_session")" 0 "sessions at close"
        expect_eq "$(pt_sessions "$uid")" "" "sessions after close"
        grep -q "SAUTH_EVENT=logout SAUTH_RESULT=ok" "$T/sauthd.log" || fail "logout not audited"
}

# Without close_session the session stays listed after the process ends:
# pam_end() only wipes the token, it does not end the session (a forked
# child's pam_end must not end its parent's).
test_session_pam_end_keeps_session() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW1")
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW1")" authenticate open_session
        expect_pam_ok "$MSG_OPEN_OK"
        expect_match "$(pt_sessions "$uid")" "^[^ ]+ sa$" "session after pam_end"
        ! grep -q "SAUTH_EVENT=logout" "$T/sauthd.log" || fail "pam_end ended the session"
}

# Authenticated twice on one handle (a screen locker does this): the first
# session is ended when the second replaces it, so the handle never
# forgets a live session.
test_session_reauthenticate_replaces() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW1")
        sa_pam_service sa
        pt_pam sa alice "$(lines "$PW1" "$PW1")" authenticate authenticate open_session
        expect_pam_ok "$MSG_OPEN_OK"
        expect_eq "$(pt_sessions "$uid" | wc -l)" 1 "sessions after two logins on one handle"
        pt_pam sa alice "$(lines "$PW1" "$PW1")" authenticate authenticate open_session close_session
        expect_pam_ok "$MSG_CLOSE_OK"
        expect_eq "$(pt_sessions "$uid" | wc -l)" 1 "sessions after the second handle closed"
}

# Another module authenticated: the module has no session token and steps
# aside (PAM_IGNORE) in both session calls.
test_session_without_authenticate() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        pt_service other \
                "session optional $PAM_MODULE bus=$BUS_ADDRESS debug" \
                "session required $PAM_SECURITY_DIR/pam_permit.so"
        export PAM_WRAPPER_DEBUGLEVEL=2
        pt_pam other alice "" open_session close_session
        unset PAM_WRAPPER_DEBUGLEVEL
        expect_pam_ok "$MSG_CLOSE_OK"
        expect_match "$PAM_OUT" "$MSG_OPEN_OK" "open_session"
        expect_match "$PAM_OUT" "open_session: no session token, ignored" "open_session ignored"
        expect_match "$PAM_OUT" "close_session: no session token, ignored" "close_session ignored"
        # A stack where every session module ignored is a failure to libpam
        # (PAM_PERM_DENIED), required or optional: a stack that may meet
        # logins from other modules needs another session module.
        sa_pam_service sa
        pt_pam sa alice "" open_session
        expect_pam_fail "Permission denied"
        pt_service alone "session optional $PAM_MODULE bus=$BUS_ADDRESS"
        pt_pam alone alice "" open_session
        expect_pam_fail "Permission denied"
        ! grep -q "SAUTH_EVENT=logout" "$T/sauthd.log" || fail "a session was ended"
}

# A session ended between authenticate and open_session (here: the account
# disabled, which ends its sessions) is refused: PAM_SESSION_ERR.
test_session_ended_refused() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        local busctl
        busctl=$(command -v busctl)
        pt_exec_script disable.sh \
                "'$busctl' --address='$BUS_ADDRESS' call $BUS_NAME $BUS_PATH $BUS_IFACE SetAccountStatus ss alice disabled"
        pt_service sess \
                "auth required $PAM_MODULE bus=$BUS_ADDRESS" \
                "auth required $PAM_SECURITY_DIR/pam_exec.so $T/disable.sh" \
                "session required $PAM_MODULE bus=$BUS_ADDRESS"
        pt_pam sess alice "$(lines "$PW1")" authenticate open_session
        expect_match "$PAM_OUT" "$MSG_AUTH_OK" "authenticate"
        expect_pam_fail "$MSG_SESSION_ERR"
}

# sauthd gone between authenticate and the session calls: PAM_SESSION_ERR,
# or with unavail=ignore PAM_IGNORE (the rest of the stack decides).
test_session_daemon_stopped() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        local unavail
        for unavail in fail ignore; do
                pt_exec_script stop.sh "kill -TERM $SAUTHD_PID"
                pt_service sess \
                        "auth required $PAM_MODULE bus=$BUS_ADDRESS" \
                        "auth required $PAM_SECURITY_DIR/pam_exec.so $T/stop.sh" \
                        "session required $PAM_MODULE bus=$BUS_ADDRESS unavail=$unavail" \
                        "session required $PAM_SECURITY_DIR/pam_permit.so"
                pt_pam sess alice "$(lines "$PW1")" authenticate open_session close_session
                wait "$SAUTHD_PID" || true
                SAUTHD_PID=""
                expect_match "$PAM_OUT" "$MSG_AUTH_OK" "authenticate"
                if [ "$unavail" = fail ]; then
                        expect_pam_fail "$MSG_SESSION_ERR"
                else
                        expect_pam_ok "$MSG_CLOSE_OK"
                fi
                sa_start_daemon
        done
}

# The session token is a credential: with debug on, no JWT in sauthd's log
# or in anything pamtester printed (the module's syslog included).
test_session_token_not_logged() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        # The pattern finds a real token, or this case tests nothing.
        expect_match "$(sa_login alice "$PW1" | jget jwt_token)" "^$JWT_RE\$" "a token matches the pattern"
        sa_pam_service sa debug
        export PAM_WRAPPER_DEBUGLEVEL=2
        pt_pam sa alice "$(lines "$PW1")" authenticate open_session close_session
        expect_pam_ok "$MSG_CLOSE_OK"
        pt_pam sa alice "$(lines "$PW1" "$PW1")" authenticate authenticate open_session
        expect_pam_ok "$MSG_OPEN_OK"
        unset PAM_WRAPPER_DEBUGLEVEL
        grep -q 'SYSLOG(7)' "$T/pamtester.log" || fail "the module's debug log was not captured"
        ! grep -qE -- "$JWT_RE" "$T/sauthd.log" || fail "a session token is in sauthd's log"
        ! grep -qE -- "$JWT_RE" "$T/pamtester.log" || fail "a session token is in pamtester's output"
}

# ---------------------------------------------------------------- the module itself

test_module_exports_only_pam_sm() {
        local syms
        syms=$(nm -D --defined-only "$PAM_MODULE" | awk '{print $3}' | sort | tr '\n' ' ')
        expect_eq "$syms" "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_close_session pam_sm_open_session pam_sm_setcred " "exported symbols"
}

# libpam, libsystemd, libc; a sanitizer build adds its runtimes.
test_module_links_only_pam_and_systemd() {
        local lib
        for lib in $(readelf -d "$PAM_MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
                case "$lib" in
                libpam.so.*|libsystemd.so.*|libc.so.*) ;;
                libasan.so.*|libubsan.so.*|libm.so.*|libgcc_s.so.*|libstdc++.so.*)
                        [ -n "$(readelf -d "$PAM_MODULE" | grep -E 'NEEDED.*lib(asan|ubsan)')" ] \
                                || fail "module links $lib" ;;
                *) fail "module links $lib" ;;
                esac
        done
}

# No password in the daemon's log or anything pamtester printed, with the
# module's debug logging on. pam_wrapper prints pam_syslog messages at its
# level 2 (level 3 would print the PAM items themselves).
test_no_password_in_logs() {
        sa_setup
        sa_user alice "$PW1" >/dev/null
        sa_pam_service sa debug
        export PAM_WRAPPER_DEBUGLEVEL=2
        pt_auth_ok alice "$PW1"
        pt_auth_fails alice "$PW_WRONG"
        pt_pam sa "$PW_WRONG" "$(lines "$PW_WRONG")" authenticate
        pt_pam sa alice "$(lines "$PW2" "$PW2")" chauthtok
        expect_pam_ok "$MSG_CHAUTHTOK_OK"
        pt_pam sa alice "$(lines "$PW1" "$PW_WRONG" "$PW_WRONG")" 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)'
        unset PAM_WRAPPER_DEBUGLEVEL
        grep -q 'SYSLOG(7)' "$T/pamtester.log" || fail "the module's debug log was not captured"
        local pw
        for pw in "$PW1" "$PW2"; do
                ! grep -qF -- "$pw" "$T/sauthd.log" || fail "a password is in sauthd's log"
                ! grep -qF -- "$pw" "$T/pamtester.log" || fail "a password is in pamtester's output"
        done
        # The wrong password was also typed as a user name: without debug the
        # module never logs it.
        : > "$T/pamtester.log"
        sa_pam_service sa
        export PAM_WRAPPER_DEBUGLEVEL=2
        pt_pam sa "$PW_WRONG" "$(lines "$PW1")" authenticate
        unset PAM_WRAPPER_DEBUGLEVEL
        expect_pam_fail "$MSG_AUTH_ERR"
        ! grep -F -- "$PW_WRONG" "$T/pamtester.log" | grep -qv 'pam_start\|pamtester:' \
                || fail "an unknown user name was logged without debug"
}

sa_main "$@"
