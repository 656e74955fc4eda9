#!/bin/bash
# ForgotPassword and the mail it sends, over real SMTP: sauthd's libcurl
# sender talks to smtp-sink.py on loopback, which stores each message in a
# Maildir. Tokens are read from there and never printed.
. "$(dirname "$0")/lib.sh"

PW1="correct horse battery staple"
PW2="monkey dishwasher Pluto 17"
PW3="zebra-sunset-quantum-42"
EMPTY_REPLY='{"type":"a{sv}","data":[{}]}'
SINK_PID=""
SINK_PORT=""

# ---------------------------------------------------------------- the sink

# Starts the SMTP sink as a direct child of this shell (the harness stops
# and waits for it) and waits, bounded, until it prints its port. Extra
# arguments go to smtp-sink.py (--starttls CERT KEY).
ml_start_sink() {
        local i
        mkdir -p "$T/maildir"
        /usr/bin/python3 "$TESTS_DIR/integration/smtp-sink.py" "$T/maildir" "$@" > "$T/sink.port" 2>> "$T/sink.log" &
        SINK_PID=$!
        EXTRA_PIDS+=("$SINK_PID")
        for i in $(seq 1 1000); do
                SINK_PORT=$(head -n 1 "$T/sink.port" 2>/dev/null || true)
                [ -n "$SINK_PORT" ] && return 0
                kill -0 "$SINK_PID" 2>/dev/null || fail "the SMTP sink exited: $(cat "$T/sink.log")"
                sleep 0.02
        done
        fail "the SMTP sink did not start"
}

# Stops the sink and forgets it, so the harness does not signal a pid that
# may be reused.
ml_stop_sink() {
        sa_stop_extra "$SINK_PID"
        SINK_PID=""
}

# ml_setup [section.key=value...] — temp dir, sink, config with the SMTP
# sender, bus, daemon.
ml_setup() {
        sa_prepare "$@"
        ml_start_sink
        sa_write_config "mail.sender=smtp://127.0.0.1:$SINK_PORT" "$@"
        sa_start_bus
        sa_start_daemon
}

# Every mail written so far is in the sink: the outbox drains (bounded
# wait), across a restart too — what was not yet sent when the daemon
# stopped waits in the store and goes after the start.
ml_barrier() {
        sa_stop_daemon
        sa_start_daemon
        sa_mail_drain
}

# ml_mails TO SUBJECT — the files in new/ addressed (envelope) to TO whose
# Subject starts with SUBJECT, oldest first.
ml_mails() {
        local to=$1 subject=$2 f
        for f in $(ls -1 "$T/maildir/new" 2>/dev/null | sort -t. -k2,2n); do
                f=$T/maildir/new/$f
                tr -d '\r' < "$f" | grep -qixF "X-Sink-Rcpt-To: $to" || continue
                tr -d '\r' < "$f" | grep -q "^Subject: $subject" || continue
                echo "$f"
        done
}

ml_count() {
        ml_mails "$1" "$2" | wc -l
}

# ml_wait TO SUBJECT N — waits (bounded) for N such mails; prints the count.
ml_wait() {
        local i
        for i in $(seq 1 500); do
                [ "$(ml_count "$1" "$2")" -ge "$3" ] && break
                sleep 0.02
        done
        ml_count "$1" "$2"
}

# ml_take_token TO SUBJECT — the token of the oldest unread such mail; the
# mail is moved to cur/ (read). Waits for it, bounded.
ml_take_token() {
        local f tok
        [ "$(ml_wait "$1" "$2" 1)" -ge 1 ] || fail "no '$2' mail for $1"
        f=$(ml_mails "$1" "$2" | head -n 1)
        tok=$(tr -d '\r' < "$f" | grep -oE '^    [A-Za-z0-9_-]{43}$' | tr -d ' ')
        [ -n "$tok" ] || fail "no token in the '$2' mail for $1"
        mv "$f" "$T/maildir/cur/"
        echo "$tok"
}

# ---------------------------------------------------------------- bus

# Secrets go after "--": a token may start with '-', which busctl and gdbus
# would take for an option.
ml_call() {
        local method=$1
        shift
        busctl --address="$BUS_ADDRESS" --json=short call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$method" "$@" \
                || fail "$method failed"
}

# ml_try METHOD ARGS... — gdbus; prints OK or the short error name.
ml_try() {
        local method=$1 out rc=0
        shift
        out=$(gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1) || rc=$?
        if [ $rc -eq 0 ]; then
                echo OK
        else
                sed -n "s/.*GDBus\.Error:$ERR\.\([A-Za-z]*\):.*/\1/p" <<<"$out" | head -n 1
        fi
}

ml_forgot() {
        ml_call ForgotPassword sss "$1" "$2" "${3:-}"
}

ml_forgot_as() {
        setpriv --reuid="$1" --regid="$1" --clear-groups \
                busctl --address="$BUS_ADDRESS" --json=short call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" \
                ForgotPassword sss "$2" "$3" "" || fail "ForgotPassword as $1 failed"
}

ml_login() {
        ml_call AccountLogin sssa{sv} "$1" "$2" local 0
}

# ml_user USERNAME PASSWORD [IDENTITY [MAILED-TO]] — registers, sets the
# first password with the confirm token that came over SMTP; prints the uid.
# Mail goes to the normalised identity: MAILED-TO when that differs.
ml_user() {
        local user=$1 pw=$2 ident=${3:-$1@example.org} uid tok
        local to=${4:-$ident}
        uid=$(sa_register "$user" "$ident")
        tok=$(ml_take_token "$to" "Confirm your new account")
        ml_call ChangePassword sssss "$uid" "$pw" "$tok" "" "$pw" > /dev/null
        echo "$uid"
}

# A private CA for a relay (issue 12, [mail] ca_file): a test CA (P-256)
# and a certificate it signs for 127.0.0.1, all in $T, valid two days.
ml_make_ca() {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj "/CN=SessionAuth test CA" -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" \
                -keyout "$T/ca.key" -out "$T/ca.pem" 2>> "$T/openssl.log" || fail "test CA"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
                -keyout "$T/sink.key" -out "$T/sink.csr" 2>> "$T/openssl.log" || fail "sink key"
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$T/sink.ext"
        openssl x509 -req -in "$T/sink.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
                -extfile "$T/sink.ext" -out "$T/sink.pem" 2>> "$T/openssl.log" || fail "sink certificate"
        chmod 644 "$T/ca.pem"
}

# ---------------------------------------------------------------- tests

test_forgot_by_username_over_smtp() {
        ml_setup
        local uid tok f reply
        uid=$(ml_user alice "$PW1")
        reply=$(ml_forgot "" alice)
        expect_eq "$reply" "$EMPTY_REPLY" "ForgotPassword reply"
        expect_eq "$(ml_wait alice@example.org "Password reset" 1)" 1 "reset mails"
        f=$(ml_mails alice@example.org "Password reset")
        tr -d '\r' < "$f" | grep -qx "X-Sink-Mail-From: sauthd@test.example" || fail "envelope sender"
        tr -d '\r' < "$f" | grep -qix "To: alice@example.org" || fail "To header"
        tr -d '\r' < "$f" | grep -q "^Subject: Password reset for alice$" || fail "subject"
        tok=$(ml_take_token alice@example.org "Password reset")
        expect_eq "${#tok}" 43 "token length"
        # Only in the mail: not in the log, not in the database.
        if grep -qF -- "$tok" "$T/sauthd.log"; then fail "the token is in the sauthd log"; fi
        if sqlite3 "$T/sauth.db" .dump | grep -qF -- "$tok"; then fail "the token is stored in clear"; fi

        expect_eq "$(ml_try ChangePassword "$uid" "$PW2" "$tok" "" "$PW2")" OK "ChangePassword with the reset token"
        ml_login alice "$PW2" > /dev/null
        expect_eq "$(ml_try AccountLogin alice "$PW1" local '@a{sv} {}')" InvalidCredentials "old password after reset"
        # Single use.
        expect_eq "$(ml_try ChangePassword "$uid" "$PW3" "$tok" "" "$PW3")" InvalidToken "second use of the token"
        ml_login alice "$PW2" > /dev/null
        # The change is announced over SMTP too.
        expect_eq "$(ml_wait alice@example.org "Your password was changed" 2)" 2 \
                "password_changed notices (first password, reset)"
}

test_forgot_by_identity_normalised() {
        ml_setup
        local alice gina tok
        alice=$(ml_user alice "$PW1" alice.liddell@example.org)
        gina=$(ml_user gina "$PW1" gina.doe@gmail.com ginadoe@gmail.com)

        ml_forgot alice.liddell@example.org "" > /dev/null
        tok=$(ml_take_token alice.liddell@example.org "Password reset")
        expect_eq "$(ml_try ChangePassword "$alice" "$PW2" "$tok" "" "$PW2")" OK "reset by identity"

        # Upper case and a +tag: the same identity.
        ml_forgot "Alice.Liddell+reset@EXAMPLE.org" "" > /dev/null
        tok=$(ml_take_token alice.liddell@example.org "Password reset")
        expect_eq "$(ml_try ChangePassword "$alice" "$PW3" "$tok" "" "$PW3")" OK "reset by +tag, upper-case identity"
        ml_login alice "$PW3" > /dev/null

        # gmail.com ignores dots in the local part (registered as
        # gina.doe@gmail.com, stored without the dot).
        ml_forgot "G.I.N.A.D.O.E+x@GMail.com" "" > /dev/null
        tok=$(ml_take_token ginadoe@gmail.com "Password reset")
        expect_eq "$(ml_try ChangePassword "$gina" "$PW2" "$tok" "" "$PW2")" OK "reset by gmail identity with dots"

        # Elsewhere dots count: no match, no mail.
        ml_forgot "aliceliddell@example.org" "" > /dev/null
        ml_barrier
        expect_eq "$(ml_count alice.liddell@example.org "Password reset")" 0 "unread reset mails for a dotless identity"
        expect_eq "$(ml_count aliceliddell@example.org "Password reset")" 0 "reset mails to the dotless identity"
}

test_smtp_down_same_reply() {
        ml_setup
        local before after i
        ml_user alice "$PW1" > /dev/null
        before=$(ml_forgot "" nobody)
        ml_stop_sink
        after=$(ml_forgot "" alice)
        expect_eq "$after" "$EMPTY_REPLY" "reply with the SMTP server down"
        expect_eq "$after" "$before" "reply, server down vs no account"
        expect_eq "$(ml_forgot alice@example.org "")" "$EMPTY_REPLY" "by identity, server down"
        # The failure is logged (bounded wait), without the token.
        for i in $(seq 1 500); do
                grep -q "mail: sending password_reset failed" "$T/sauthd.log" && break
                sleep 0.02
        done
        grep -q "mail: sending password_reset failed" "$T/sauthd.log" || fail "no log line for the failed send"
        if grep -qE '[A-Za-z0-9_-]{43}' "$T/sauthd.log"; then fail "something token-like in the log"; fi
        # sauthd carries on.
        ml_login alice "$PW1" > /dev/null
        expect_eq "$(ml_forgot "" nobody)" "$EMPTY_REPLY" "reply after the failure"
}

test_closed_port_same_reply() {
        sa_prepare
        local port
        # A port nothing listens on: the kernel's pick, released at once.
        port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        sa_write_config "mail.sender=smtp://127.0.0.1:$port"
        sa_start_bus
        sa_start_daemon
        local uid i
        uid=$(sa_register alice)
        ml_call ChangePassword sssss "$uid" "$PW1" "" "" "$PW1" > /dev/null
        expect_eq "$(ml_forgot "" alice)" "$EMPTY_REPLY" "reply with no SMTP server"
        for i in $(seq 1 500); do
                grep -q "mail: sending password_reset failed" "$T/sauthd.log" && break
                sleep 0.02
        done
        grep -q "mail: sending password_reset failed" "$T/sauthd.log" || fail "no log line for the failed send"
        ml_login alice "$PW1" > /dev/null
}

# [mail] ca_file: a relay whose certificate comes from a private CA. The
# sink requires STARTTLS. Without ca_file the system store does not know
# the CA: the message is not sent and waits in the outbox; with it, the
# same message goes, over TLS.
test_smtp_starttls_private_ca() {
        sa_prepare
        ml_make_ca
        ml_start_sink --starttls "$T/sink.pem" "$T/sink.key"
        sa_write_config "mail.sender=smtp://127.0.0.1:$SINK_PORT" mail.retry_min=1
        sa_start_bus
        sa_start_daemon
        local uid i f tok
        uid=$(sa_register alice)
        for i in $(seq 1 500); do
                grep -q "mail: sending confirm_new failed" "$T/sauthd.log" && break
                sleep 0.02
        done
        grep -q "mail: sending confirm_new failed" "$T/sauthd.log" || fail "no failed send without ca_file"
        expect_match "$(grep "mail: sending confirm_new failed" "$T/sauthd.log" | head -n 1)" \
                "certificate|SSL|TLS" "the reason names the TLS failure"
        expect_eq "$(ml_count alice@example.org "Confirm your new account")" 0 "nothing delivered without ca_file"
        expect_eq "$(sa_mail_queued)" 1 "the message waits in the outbox"

        sa_stop_daemon
        sa_write_config "mail.sender=smtp://127.0.0.1:$SINK_PORT" mail.retry_min=1 "mail.ca_file=$T/ca.pem"
        sa_start_daemon
        sa_mail_drain 30
        expect_eq "$(ml_count alice@example.org "Confirm your new account")" 1 "delivered with ca_file"
        f=$(ml_mails alice@example.org "Confirm your new account")
        expect_match "$(tr -d '\r' < "$f" | grep '^X-Sink-TLS:')" "^X-Sink-TLS: TLSv1\.[23]$" "sent over TLS"
        tok=$(ml_take_token alice@example.org "Confirm your new account")
        expect_eq "$(ml_try ChangePassword "$uid" "$PW1" "$tok" "" "$PW1")" OK "the token it carried"
        if grep -qE '[A-Za-z0-9_-]{43}' "$T/sauthd.log"; then fail "something token-like in the log"; fi
}

# [mail] ca_file is checked at start like the config: absolute, a regular
# file nobody else may write, holding a PEM certificate.
test_ca_file_checked_at_start() {
        sa_prepare
        sa_start_bus
        ml_make_ca
        local rc out
        ca_case() {
                sa_write_config "mail.sender=smtp://127.0.0.1:25" "mail.ca_file=$1"
                rc=0
                "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
                expect_ne "$rc" 0 "exit code for $2"
                expect_match "$(cat "$T/out")" "\[mail\] ca_file.*$3" "message for $2"
        }
        chmod 664 "$T/ca.pem"
        ca_case "$T/ca.pem" "a group-writable file" "refused, group or other may write it"
        chmod 644 "$T/ca.pem"
        printf 'not a certificate\n' > "$T/junk.pem"
        ca_case "$T/junk.pem" "a file without a certificate" "not a PEM file"
        ca_case "$T/missing.pem" "a missing file" "missing.pem"
        ca_case "ca.pem" "a relative path" "absolute path"
        # The good file starts.
        sa_write_config "mail.sender=smtp://127.0.0.1:25" "mail.ca_file=$T/ca.pem"
        sa_start_daemon
        sa_call Methods > /dev/null
}

test_forgot_replies_identical() {
        ml_setup
        ml_user alice "$PW1" > /dev/null
        ml_user bob "$PW1" > /dev/null
        sa_call SetAccountStatus ss bob disabled > /dev/null
        local ref r
        ref=$(ml_forgot "" alice)
        expect_eq "$ref" "$EMPTY_REPLY" "existing account"
        for r in "$(ml_forgot "" nobody)" "$(ml_forgot nobody@example.org "")" "$(ml_forgot alice@example.org "")" \
                 "$(ml_forgot nobody@example.org nobody)" "$(ml_forgot "" bob)" "$(ml_forgot "" alice password_reset)" \
                 "$(ml_forgot_as 4243 "" alice)" "$(ml_forgot_as 4243 "" nobody)" "$(ml_forgot_as 4243 x@example.org "")"; do
                expect_eq "$r" "$ref" "ForgotPassword reply"
        done
}

test_reset_rate_limit() {
        ml_setup
        local uid i
        uid=$(ml_user alice "$PW1")
        for i in 1 2 3 4 5 6; do
                expect_eq "$(ml_forgot "" alice)" "$EMPTY_REPLY" "request $i"
        done
        expect_eq "$(ml_wait alice@example.org "Password reset" 3)" 3 "reset mails"
        ml_barrier
        expect_eq "$(ml_count alice@example.org "Password reset")" 3 "reset mails after the queue is drained"
        expect_eq "$(grep -c "SAUTH_EVENT=reset_request SAUTH_RESULT=refused SAUTH_USER=alice .*SAUTH_REASON=rate_limit" "$T/sauthd.log")" 3 "dropped requests logged"
        # One token works; the new password ends the other two (store.c:
        # an old mail must not undo the change).
        local tok tok2
        tok=$(ml_take_token alice@example.org "Password reset")
        tok2=$(ml_take_token alice@example.org "Password reset")
        [ "$tok2" != "$tok" ] || fail "the two reset mails hold the same token"
        expect_eq "$(ml_try ChangePassword "$uid" "$PW2" "$tok" "" "$PW2")" OK "a mailed token"
        expect_eq "$(ml_try ChangePassword "$uid" "$PW3" "$tok2" "" "$PW3")" InvalidToken "another token after the change"
        # Dropped requests lock nothing either.
        ml_login alice "$PW2" > /dev/null
}

test_reset_rate_limit_configurable() {
        ml_setup "mail.resets_per_hour=1"
        ml_user alice "$PW1" > /dev/null
        ml_forgot "" alice > /dev/null
        ml_forgot alice@example.org "" > /dev/null
        ml_barrier
        expect_eq "$(ml_count alice@example.org "Password reset")" 1 "reset mails with resets_per_hour=1"
}

test_admin_no_reset_mail() {
        ml_setup
        ml_user alice "$PW1" > /dev/null
        ml_user bob "$PW1" > /dev/null
        sa_call SetAccountAdmin sb alice true > /dev/null
        expect_eq "$(ml_forgot "" alice)" "$EMPTY_REPLY" "admin, by username"
        expect_eq "$(ml_forgot alice@example.org "")" "$EMPTY_REPLY" "admin, by identity"
        ml_forgot "" bob > /dev/null   # a control: bob is no admin
        ml_barrier
        expect_eq "$(ml_count alice@example.org "Password reset")" 0 "reset mails for an admin"
        expect_eq "$(ml_count bob@example.org "Password reset")" 1 "reset mails for bob"
        grep -q "SAUTH_EVENT=reset_request SAUTH_RESULT=refused SAUTH_USER=alice .*SAUTH_REASON=admin_account" "$T/sauthd.log" || fail "refusal not logged"
}

# The rule holds when the token is used: a token mailed before the account
# became an admin no longer sets its password.
test_reset_token_refused_once_admin() {
        ml_setup
        local uid tok
        uid=$(ml_user alice "$PW1")
        ml_forgot "" alice > /dev/null
        tok=$(ml_take_token alice@example.org "Password reset")
        sa_call SetAccountAdmin sb alice true > /dev/null
        expect_eq "$(ml_try ChangePassword "$uid" "$PW2" "$tok" "" "$PW2")" InvalidToken "reset token of a new admin"
        ml_login alice "$PW1" > /dev/null
        grep -q "SAUTH_EVENT=token_use SAUTH_RESULT=refused SAUTH_USER=alice .*SAUTH_REASON=admin_account" "$T/sauthd.log" ||
                fail "refusal not audited"
        # Made an ordinary account again, the token still works.
        sa_call SetAccountAdmin sb alice false > /dev/null
        expect_eq "$(ml_try ChangePassword "$uid" "$PW2" "$tok" "" "$PW2")" OK "the same token, no admin any more"
}

test_admin_reset_mail_when_allowed() {
        ml_setup "password.reset_admin_by_mail=yes"
        local uid tok
        uid=$(ml_user alice "$PW1")
        sa_call SetAccountAdmin sb alice true > /dev/null
        ml_forgot "" alice > /dev/null
        tok=$(ml_take_token alice@example.org "Password reset")
        expect_eq "$(ml_try ChangePassword "$uid" "$PW2" "$tok" "" "$PW2")" OK "admin reset by mail, allowed"
        ml_login alice "$PW2" > /dev/null
}

test_disabled_no_reset_mail() {
        ml_setup
        ml_user alice "$PW1" > /dev/null
        sa_call SetAccountStatus ss alice disabled > /dev/null
        expect_eq "$(ml_forgot "" alice)" "$EMPTY_REPLY" "disabled, by username"
        expect_eq "$(ml_forgot alice@example.org "")" "$EMPTY_REPLY" "disabled, by identity"
        ml_barrier
        expect_eq "$(ml_count alice@example.org "Password reset")" 0 "reset mails for a disabled account"
        # Enabled again: a reset works (the refused requests were not counted
        # as tokens, nor did they break anything).
        sa_call SetAccountStatus ss alice active > /dev/null
        ml_forgot "" alice > /dev/null
        expect_eq "$(ml_wait alice@example.org "Password reset" 1)" 1 "reset mail once enabled"
}

test_reset_requests_never_lock() {
        ml_setup "lockout.deny=2"
        local i
        ml_user alice "$PW1" > /dev/null
        for i in $(seq 1 10); do
                ml_forgot "" alice > /dev/null
                ml_forgot ALICE@example.org "" > /dev/null
        done
        expect_eq "$(sa_call AccountStatus s alice | jget locked_until)" 0 "locked_until after 20 requests"
        ml_login alice "$PW1" > /dev/null
        expect_eq "$(ml_try AccountLogin alice "$PW1" local '@a{sv} {}')" OK "login after 20 requests"
}

test_template_with_path_characters_refused() {
        ml_setup
        ml_user alice "$PW1" > /dev/null
        local t
        for t in "../password_reset" "../../etc/passwd" "/etc/passwd" "a/b" "password_reset.tmpl" \
                 "Password_Reset" "password reset" "%2e%2e" "$(printf 'x%.0s' $(seq 1 65))"; do
                expect_eq "$(ml_try ForgotPassword "" alice "$t")" InvalidArgument "template '$t', existing account"
                expect_eq "$(ml_try ForgotPassword "" nobody "$t")" InvalidArgument "template '$t', no account"
        done
        expect_eq "$(ml_try ForgotPassword "" "" "")" InvalidArgument "neither identity nor username"
        ml_barrier
        expect_eq "$(ml_count alice@example.org "Password reset")" 0 "reset mails for refused requests"
        # A plain name is fine.
        expect_eq "$(ml_forgot "" alice password_reset)" "$EMPTY_REPLY" "template password_reset"
        expect_eq "$(ml_wait alice@example.org "Password reset" 1)" 1 "reset mail with the named template"
}

# A template that does not exist is refused before anything is written: no
# account that could never be confirmed, no reset spent on nothing.
test_missing_template_refused_before_writes() {
        ml_setup "mail.resets_per_hour=1"
        ml_user alice "$PW1" > /dev/null
        expect_eq "$(ml_try Register carol@example.org carol "Carol" no_such_template "")" InvalidArgument "Register"
        expect_eq "$(sa_call AccountStatus s carol | jget exists)" false "no account was made"
        # The name and the identity are still free.
        sa_register carol carol@example.org > /dev/null
        expect_eq "$(ml_try ForgotPassword "" alice no_such_template)" InvalidArgument "ForgotPassword, account"
        expect_eq "$(ml_try ForgotPassword "" nobody no_such_template)" InvalidArgument "ForgotPassword, no account"
        # The hourly reset was not spent.
        expect_eq "$(ml_forgot "" alice)" "$EMPTY_REPLY" "a reset afterwards"
        expect_eq "$(ml_wait alice@example.org "Password reset" 1)" 1 "its mail"
}

sa_main "$@"
