#!/bin/bash
# The audit trail: one NOTICE record per decision, with SAUTH_* fields,
# read back from the log sauthd writes (a file this test owns) and, in a
# private mount namespace, from a stand-in for journald's socket. No secret
# used here may appear in any record.
. "$(dirname "$0")/lib.sh"

PW="correct horse battery staple"
PW2="tangerine waltz opera 91"
WRONG="not the right password at all"

# au EVENT [RESULT] — the audit lines of an event (and result).
au() {
        local lines
        lines=$(grep -E "SAUTH_EVENT=$1( |$)" "$T/sauthd.log" || true)
        if [ -n "${2:-}" ]; then
                grep -E "SAUTH_RESULT=$2( |$)" <<<"$lines" || true
        else
                printf '%s' "$lines"
        fi
}

# fld KEY LINE — the value of KEY in an audit line ("" if absent).
fld() {
        sed -nE "s/.* $1=([^ ]*).*/\1/p" <<<"$2" | head -n 1
}

count() {
        if [ -z "$1" ]; then echo 0; else wc -l <<<"$1"; fi
}

login_ctx() {
        sa_call AccountLogin 'sssa{sv}' "$1" "$2" local 3 service s sshd rhost s 192.0.2.7 tty s pts/3
}

# Every secret of the test, and nothing token-like, in a log file.
expect_no_secrets() {
        local f=$1 s
        for s in "$PW" "$PW2" "$WRONG" "${SECRETS[@]}"; do
                if grep -qF -- "$s" "$f"; then fail "a secret is in $f"; fi
        done
        if grep -qE '[A-Za-z0-9_-]{43}' "$f"; then fail "something token-like in $f"; fi
}
SECRETS=()

test_login_records() {
        sa_setup
        local line
        sa_user alice "$PW" > /dev/null
        login_ctx alice "$PW" > /dev/null
        line=$(au login ok)
        expect_eq "$(count "$line")" 1 "one record for one login"
        expect_eq "$(fld SAUTH_USER "$line")" alice "user"
        expect_eq "$(fld SAUTH_CALLER_UID "$line")" 0 "caller uid"
        expect_eq "$(fld SAUTH_SERVICE "$line")" sshd "service"
        expect_eq "$(fld SAUTH_RHOST "$line")" 192.0.2.7 "rhost"
        expect_eq "$(fld SAUTH_TTY "$line")" pts/3 "tty"
        expect_eq "$(fld SAUTH_METHOD "$line")" local "method"
        expect_match "$line" '^<5>audit: login ok for alice ' "a NOTICE line with a message"

        expect_eq "$(sa_error_as 4243 AccountLogin alice "$WRONG" local '{}')" InvalidCredentials "wrong password"
        line=$(au login failed)
        expect_eq "$(fld SAUTH_USER "$line")" alice "failed: user"
        expect_eq "$(fld SAUTH_CALLER_UID "$line")" 4243 "failed: caller uid"
        expect_eq "$(fld SAUTH_REASON "$line")" wrong_password "failed: reason"
        expect_no_secrets "$T/sauthd.log"
}

# A name that is no account is often a mistyped password: not recorded...
test_unknown_user_not_recorded() {
        sa_setup
        expect_eq "$(sa_error AccountLogin zelda-typo "$WRONG" local '{}')" InvalidCredentials "unknown user"
        local line
        line=$(au login failed)
        expect_eq "$(count "$line")" 1 "one record"
        expect_eq "$(fld SAUTH_USER "$line")" "" "no user field"
        expect_eq "$(fld SAUTH_REASON "$line")" unknown_user "reason"
        if grep -q zelda-typo "$T/sauthd.log"; then fail "the unknown name is in the log"; fi
}

# ...unless the admin asks for it.
test_unknown_user_recorded_when_asked() {
        sa_setup "daemon.audit_unknown_users=yes"
        sa_error AccountLogin zelda-typo "$WRONG" local '{}' > /dev/null
        expect_eq "$(fld SAUTH_USER "$(au login failed)")" zelda-typo "user field"
}

test_locked_and_disabled_records() {
        sa_setup "lockout.deny=2"
        local line
        sa_user alice "$PW" > /dev/null
        sa_error AccountLogin alice "$WRONG" local '{}' > /dev/null
        sa_error AccountLogin alice "$WRONG" local '{}' > /dev/null
        expect_eq "$(sa_error AccountLogin alice "$PW" local '{}')" AccountLocked "locked"
        expect_eq "$(count "$(au login locked)")" 1 "a locked record"
        expect_eq "$(fld SAUTH_USER "$(au login locked)")" alice "locked: user"

        sa_user bob "$PW" > /dev/null
        sa_call SetAccountStatus ss bob disabled > /dev/null
        line=$(au account_status ok)
        expect_eq "$(fld SAUTH_USER "$line")" bob "status change: user"
        expect_eq "$(fld SAUTH_REASON "$line")" disabled "status change: new status"
        expect_eq "$(sa_error AccountLogin bob "$PW" local '{}')" AccountDisabled "disabled"
        expect_eq "$(fld SAUTH_USER "$(au login disabled)")" bob "disabled: user"
}

test_password_records() {
        sa_setup
        local uid line tok
        uid=$(sa_user alice "$PW")
        # The confirmation token of the first password.
        line=$(au token_use ok)
        expect_eq "$(fld SAUTH_USER "$line")" alice "confirm token used"
        expect_eq "$(fld SAUTH_METHOD "$(au password_change ok)")" token "first password by token"

        busctl --address="$BUS_ADDRESS" call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" ChangePassword sssss \
                "$uid" "$PW2" "" "$WRONG" "$PW2" > /dev/null 2>&1 && fail "a wrong old password was accepted"
        line=$(au password_change failed)
        expect_eq "$(fld SAUTH_REASON "$line")" wrong_old_password "wrong old password"
        expect_eq "$(fld SAUTH_METHOD "$line")" old_password "path"

        busctl --address="$BUS_ADDRESS" call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" ChangePassword sssss \
                "$uid" "password123" "" "$PW" "password123" > /dev/null 2>&1 && fail "a weak password was accepted"
        expect_eq "$(fld SAUTH_REASON "$(au password_change refused)")" weak_password "weak"

        sa_call ForgotPassword sss "" alice "" > /dev/null
        expect_eq "$(fld SAUTH_USER "$(au reset_request ok)")" alice "reset requested"
        tok=$(sa_mailed_token alice@example.org)
        SECRETS+=("$tok")
        busctl --address="$BUS_ADDRESS" call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" ChangePassword sssss \
                "$uid" "$PW2" "$tok" "" "$PW2" > /dev/null
        expect_eq "$(count "$(au token_use ok)")" 2 "the reset token used"
        busctl --address="$BUS_ADDRESS" call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" ChangePassword sssss \
                "$uid" "$PW" "$tok" "" "$PW" > /dev/null 2>&1 && fail "a spent token was accepted"
        expect_eq "$(fld SAUTH_REASON "$(au token_use failed)")" invalid_token "spent token"
        expect_no_secrets "$T/sauthd.log"
}

test_admin_records() {
        sa_setup
        sa_register alice > /dev/null
        expect_eq "$(fld SAUTH_USER "$(au register ok)")" alice "register"
        sa_call SetAccountAdmin sb alice true > /dev/null
        expect_eq "$(fld SAUTH_REASON "$(au account_admin ok)")" yes "admin granted"
        sa_call ExpirePassword s alice > /dev/null
        expect_eq "$(fld SAUTH_USER "$(au password_expire ok)")" alice "expire"
        expect_eq "$(fld SAUTH_CALLER_UID "$(au password_expire ok)")" 0 "expire: caller"
        sa_call UnlockAccount s alice > /dev/null
        expect_eq "$(fld SAUTH_USER "$(au account_unlock ok)")" alice "unlock"
        expect_eq "$(fld SAUTH_CALLER_UID "$(au account_unlock ok)")" 0 "unlock: caller"
}

test_access_denied_record() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(sa_error_as 4242 SetAccountStatus alice disabled)" AccessDenied "alice disables herself"
        expect_eq "$(sa_error_as 4243 AccountStatus alice)" AccessDenied "bob reads alice"
        local lines
        lines=$(au access_denied denied)
        expect_eq "$(count "$lines")" 2 "two denials"
        expect_match "$lines" "SAUTH_CALLER_UID=4242 SAUTH_METHOD=SetAccountStatus" "first denial"
        expect_match "$lines" "SAUTH_CALLER_UID=4243 SAUTH_METHOD=AccountStatus" "second denial"
}

# The journal path: sauthd believes stderr is the journal stream
# ($JOURNAL_STREAM names the file it writes to) and sends records to
# /run/systemd/journal/socket, which in a private mount namespace is a
# stand-in that writes each datagram's fields as JSON.
test_journal_fields() {
        sa_prepare
        sa_start_bus
        if ! unshare -m true 2>/dev/null; then
                note "SKIP: no private mount namespace here (unshare -m failed)"
                exit 77
        fi
        mkdir -p "$T/journal"
        /usr/bin/python3 "$TESTS_DIR/integration/journal-sink.py" "$T/journal/socket" "$T/journal.json" &
        EXTRA_PIDS+=($!)
        local i
        for i in $(seq 1 250); do [ -S "$T/journal/socket" ] && break; sleep 0.02; done
        : > "$T/sauthd.log"
        local stream
        stream=$(stat -c '%d:%i' "$T/sauthd.log")
        env "${NSS_ENV[@]}" JOURNAL_STREAM="$stream" unshare -m --propagation private sh -c '
                mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal &&
                mount --bind "$1/journal" /run/systemd/journal && shift && exec "$@"' sh "$T" \
                "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" >> "$T/sauthd.log" 2>&1 &
        SAUTHD_PID=$!
        for i in $(seq 1 250); do
                timeout 5 busctl --address="$BUS_ADDRESS" status "$BUS_NAME" >/dev/null 2>&1 && break
                kill -0 "$SAUTHD_PID" 2>/dev/null || fail "sauthd exited at start"
                sleep 0.02
        done
        sa_user alice "$PW" > /dev/null
        sa_login alice "$PW" > /dev/null
        local rec
        for i in $(seq 1 250); do
                rec=$(jq -c 'select(.SAUTH_EVENT == "login")' "$T/journal.json" 2>/dev/null | head -n 1)
                [ -n "$rec" ] && break
                sleep 0.02
        done
        [ -n "$rec" ] || fail "no login record reached the journal"
        expect_eq "$(jq -r .SAUTH_RESULT <<<"$rec")" ok "SAUTH_RESULT"
        expect_eq "$(jq -r .SAUTH_USER <<<"$rec")" alice "SAUTH_USER"
        expect_eq "$(jq -r .SAUTH_CALLER_UID <<<"$rec")" 0 "SAUTH_CALLER_UID"
        expect_eq "$(jq -r .PRIORITY <<<"$rec")" 5 "PRIORITY (notice)"
        expect_eq "$(jq -r .SYSLOG_IDENTIFIER <<<"$rec")" sauthd "SYSLOG_IDENTIFIER"
        expect_eq "$(jq -r .MESSAGE <<<"$rec")" "audit: login ok for alice" "MESSAGE"
        # Ordinary log lines go there too, and nothing to stderr.
        expect_eq "$(jq -s 'map(select(.MESSAGE | test("ready"))) | length' "$T/journal.json")" 1 "the start line in the journal"
        expect_eq "$(grep -c . "$T/sauthd.log" || true)" 0 "lines on stderr"
        expect_no_secrets "$T/journal.json"
}

sa_main "$@"
