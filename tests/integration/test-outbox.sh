#!/bin/bash
# The mail outbox: messages wait in the store, sealed, until sent; a sender
# that fails is tried again; a restart or a crash loses nothing; a flood of
# registrations drops nothing. Tokens are read from files, never printed.
. "$(dirname "$0")/lib.sh"

PW="correct horse battery staple"

# ob_setup [section.key=value...] — a sender that fails while $T/mail-down
# exists, retries a second apart (doubling), bus, daemon.
ob_setup() {
        sa_prepare "$@"
        sa_write_config "mail.sender=$TESTS_DIR/integration/mail-flaky.sh $T/mail-down $T/mail" "mail.retry_min=1" "$@"
        sa_start_bus
        sa_start_daemon
}

# ob_field FIELD — FIELD of the first queued message (MailQueue).
ob_field() {
        sa_call MailQueue | jq -r --arg k "$1" '.data[0].messages.data[0][$k].data'
}

# ob_wait_attempts N — waits (bounded) until the first queued message was
# tried N times.
ob_wait_attempts() {
        local i a=""
        for i in $(seq 1 200); do
                a=$(ob_field attempts)
                [ "$a" != null ] && [ "$a" -ge "$1" ] && return 0
                sleep 0.1
        done
        fail "the queued message was tried ${a:-0} times, expected $1"
}

# ob_count SUBJECT — sent mails (in $T/mail) whose Subject starts so.
ob_count() {
        grep -l "^Subject: $1" "$T"/mail/*.eml 2>/dev/null | wc -l
}

# ob_token_of FILE — the token in a message file.
ob_token_of() {
        grep -oE '^    [A-Za-z0-9_-]{43}$' "$1" | tr -d ' ' | tail -n 1
}

test_failing_sender_retried_then_sent() {
        ob_setup
        local uid tok f
        touch "$T/mail-down"
        uid=$(sa_register alice)
        ob_wait_attempts 2
        expect_eq "$(sa_mail_queued)" 1 "queued messages while the sender fails"
        expect_eq "$(ob_field template)" confirm_new "template"
        expect_eq "$(ob_field recipient)" alice@example.org "recipient"
        expect_match "$(ob_field last_error)" "exited with status 1" "last_error"
        [ "$(ob_field next_attempt)" -le "$(ob_field expires)" ] || fail "next attempt after the expiry"
        # sauthctl shows the queue too, without the message's text.
        local out
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" mail) || fail "sauthctl mail"
        expect_match "$out" "confirm_new" "sauthctl mail: template"
        expect_match "$out" "alice@example.org" "sauthctl mail: recipient"
        expect_match "$out" "exited with status 1" "sauthctl mail: last error"
        expect_eq "$("$SAUTHCTL" --address "$BUS_ADDRESS" --json mail | jq -r '.[0].attempts >= 2')" true \
                "sauthctl --json mail: attempts"
        grep -q "mail: sending confirm_new failed" "$T/sauthd.log" || fail "the failure is not logged"
        expect_eq "$(ob_count "Confirm your new account")" 0 "sent mails while the sender fails"

        # The failing sender kept a copy: the token is known while the
        # message is still queued, and the database does not hold it.
        f=$(ls "$T"/mail/failed/*.eml | head -n 1)
        tok=$(ob_token_of "$f")
        expect_eq "${#tok}" 43 "token in the failed attempt"
        local db
        for db in "$T"/sauth.db*; do
                if grep -qaF -- "$tok" "$db"; then fail "the token is in $(basename "$db") in clear"; fi
        done
        sqlite3 "$T/sauth.db" .dump > "$T/dump.sql"
        if grep -qF -- "$tok" "$T/dump.sql"; then fail "the token is in the database dump"; fi
        grep -q "INSERT INTO outbox" "$T/dump.sql" || fail "the message is not in the outbox table"
        if grep -qF -- "$tok" "$T/sauthd.log"; then fail "the token is in the log"; fi

        # The sender works again: the message goes at its next attempt.
        rm -f "$T/mail-down"
        sa_mail_drain 30
        expect_eq "$(ob_count "Confirm your new account")" 1 "sent confirmation"
        tok=$(sa_mailed_token alice@example.org)
        sa_call ChangePassword sssss "$uid" "$PW" "$tok" "" "$PW" > /dev/null
        sa_login alice "$PW" > /dev/null
        sa_mail_drain 30
        expect_eq "$(ob_count "Your password was changed")" 1 "the notice of the change"
}

test_queued_mail_survives_sigterm_and_sigkill() {
        ob_setup
        touch "$T/mail-down"
        sa_register alice > /dev/null
        sa_register bob > /dev/null
        ob_wait_attempts 1
        sa_stop_daemon
        expect_eq "$(sqlite3 "$T/sauth.db" "SELECT COUNT(*) FROM outbox")" 2 "queued after SIGTERM"
        rm -f "$T/mail-down"
        sa_start_daemon
        sa_mail_drain 30
        expect_eq "$(ob_count "Confirm your new account")" 2 "sent after the restart"

        touch "$T/mail-down"
        sa_register carol > /dev/null
        sa_register dave > /dev/null
        ob_wait_attempts 1
        kill -KILL "$SAUTHD_PID"
        wait "$SAUTHD_PID" 2>/dev/null || true
        SAUTHD_PID=""
        expect_eq "$(sqlite3 "$T/sauth.db" "SELECT COUNT(*) FROM outbox")" 2 "queued after SIGKILL"
        rm -f "$T/mail-down"
        sa_start_daemon
        sa_mail_drain 30
        expect_eq "$(ob_count "Confirm your new account")" 4 "sent after the crash"
        local who
        for who in alice bob carol dave; do
                grep -lq "^To: $who@example.org" "$T"/mail/*.eml || fail "no confirmation for $who"
        done
}

test_registration_flood_drops_nothing() {
        ob_setup "login.register=open"
        local n=300 acked
        sa_user alice "$PW" > /dev/null
        sa_mail_drain
        acked=$(/usr/bin/python3 "$TESTS_DIR/integration/outbox-flood.py" "$BUS_ADDRESS" "$BUS_NAME" "$BUS_PATH" \
                "$BUS_IFACE" flood "$n" alice) || fail "the flood client failed"
        expect_eq "$acked" "$n" "acknowledged registrations"
        sa_mail_drain 120
        expect_eq "$(ob_count "Confirm your new account")" $((n + 1)) "confirmations sent (flood and alice)"
        expect_eq "$(ob_count "Password reset")" 1 "alice's reset mail"
        grep -lq "^To: alice@example.org" $(grep -l "^Subject: Password reset" "$T"/mail/*.eml) ||
                fail "the reset mail is not alice's"
        if grep -q "not queued\|not sent" "$T/sauthd.log"; then fail "a message was dropped"; fi
}

test_expired_message_logged_and_deleted() {
        ob_setup "tokens.reset_lifetime=3"
        sa_user alice "$PW" > /dev/null
        sa_mail_drain
        touch "$T/mail-down"
        sa_call ForgotPassword sss "" alice "" > /dev/null
        ob_wait_attempts 1
        local i
        for i in $(seq 1 100); do
                grep -q "not sent, expired" "$T/sauthd.log" && break
                sleep 0.1
        done
        grep -q "mail .* (password_reset to alice@example.org): not sent, expired after [0-9]* attempts" "$T/sauthd.log" ||
                fail "no log line for the expired message"
        expect_eq "$(sa_mail_queued)" 0 "queued after the expiry"
        rm -f "$T/mail-down"
        sleep 1.5
        expect_eq "$(ob_count "Password reset")" 0 "an expired reset mail sent"
}

test_mail_queue_admin_only() {
        ob_setup
        sa_user alice "$PW" > /dev/null
        local out rc=0
        out=$(setpriv --reuid=4242 --regid=4242 --clear-groups \
                "$SAUTHCTL" --address "$BUS_ADDRESS" mail 2>&1) || rc=$?
        expect_eq "$rc" 1 "sauthctl mail as alice"
        expect_match "$out" "AccessDenied|ccess denied|not allowed|may not" "sauthctl mail as alice: message"
        out=$(setpriv --reuid=4244 --regid=4244 --clear-groups \
                "$SAUTHCTL" --address "$BUS_ADDRESS" mail 2>&1) || fail "sauthctl mail as carol (admin group): $out"
}

test_outbox_key_file_checked() {
        ob_setup
        local mode
        mode=$(stat -c %a "$T/outbox.key")
        expect_eq "$mode" 600 "outbox key mode"
        head -n 1 "$T/outbox.key" | grep -qx "sauthd-outbox-key 1" || fail "outbox key format"
        sa_stop_daemon
        chmod 644 "$T/outbox.key"
        local rc=0
        env "${NSS_ENV[@]}" "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "start with a readable outbox key"
        expect_match "$(cat "$T/out")" "outbox" "message names the outbox key"
        chmod 600 "$T/outbox.key"
        sa_start_daemon
}

sa_main "$@"
