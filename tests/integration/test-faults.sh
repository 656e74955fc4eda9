#!/bin/bash
# Faults that must not turn a refusal into an acceptance, nor lose what was
# acknowledged: a store that cannot write (a full disk), a killed daemon.
. "$(dirname "$0")/lib.sh"

PW="correct horse battery staple"

need_mount_namespace() {
        if ! unshare -m true 2>/dev/null; then
                note "SKIP: no private mount namespace here (unshare -m failed)"
                exit 77
        fi
}

# Starts sauthd in a private mount namespace with $T/store a small tmpfs,
# and a helper in there that fills it when $T/fill appears and empties it
# when $T/free appears.
start_daemon_on_small_disk() {
        mkdir -p "$T/store"
        env "${NSS_ENV[@]}" unshare -m --propagation private sh -c '
                T=$1; shift
                mount -t tmpfs -o size=4m tmpfs "$T/store" || exit 1
                # Bounded (two minutes), and gone with the test dir: a test
                # that fails half way leaves nothing running.
                wait_file() {
                        i=0
                        while [ ! -e "$1" ] && [ -d "$T" ] && [ $i -lt 6000 ]; do sleep 0.02; i=$((i + 1)); done
                        [ -e "$1" ]
                }
                (
                        wait_file "$T/fill" || exit 0
                        dd if=/dev/zero of="$T/store/filler" bs=64k 2>/dev/null
                        touch "$T/filled"
                        wait_file "$T/free" || exit 0
                        rm -f "$T/store/filler"
                        touch "$T/freed"
                ) &
                exec "$@"' sh "$T" \
                "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" --verbose >> "$T/sauthd.log" 2>&1 &
        SAUTHD_PID=$!
        local i
        for i in $(seq 1 250); do
                timeout 5 busctl --address="$BUS_ADDRESS" status "$BUS_NAME" >/dev/null 2>&1 && return 0
                kill -0 "$SAUTHD_PID" 2>/dev/null || fail "sauthd exited at start: $(tail -n 3 "$T/sauthd.log")"
                sleep 0.02
        done
        fail "sauthd did not take its bus name"
}

wait_for() {
        local i
        for i in $(seq 1 250); do
                [ -e "$1" ] && return 0
                sleep 0.02
        done
        fail "waited in vain for $1"
}

# A full store: failures cannot be recorded, so the account is held —
# right and wrong passwords get one answer — until writes work again.
test_store_full_fails_closed() {
        need_mount_namespace
        sa_prepare
        sa_write_config "store.path=$T/store/sauth.db" "lockout.deny=5"
        sa_start_bus
        start_daemon_on_small_disk
        sa_user alice "$PW" > /dev/null
        sa_user bob "$PW" > /dev/null
        touch "$T/fill"
        wait_for "$T/filled"
        local i ctx="@a{sv} {'service': <'sshd'>, 'rhost': <'198.51.100.1'>}"
        # A PAM stack's failures (root) are the ones written: they wait for
        # the batch timer, whose write fails; the account is held.
        expect_eq "$(sa_error AccountLogin alice "wrong password" local "$ctx")" InvalidCredentials \
                "wrong password, store full"
        for i in $(seq 1 50); do
                grep -q "failure not recorded" "$T/sauthd.log" && break
                sleep 0.1
        done
        grep -q "failure not recorded" "$T/sauthd.log" || fail "the failed write was not logged"
        expect_eq "$(sa_error_as 4243 AccountLogin alice "$PW" local '@a{sv} {}')" InvalidCredentials \
                "right password while held (another uid)"
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked \
                "right password while held (root)"
        expect_eq "$(sa_error AccountLogin alice "wrong again" local '@a{sv} {}')" AccountLocked \
                "wrong password while held (root)"
        # A right password whose success cannot be written is refused too.
        expect_eq "$(sa_error_as 4242 AccountLogin bob "$PW" local '@a{sv} {}')" InvalidCredentials \
                "success not recordable"
        touch "$T/free"
        wait_for "$T/freed"
        # Writes work again: the pending failure is written, the holds end
        # at the next attempt (or the housekeeping timer's retry).
        expect_eq "$(sa_login bob "$PW" | jget username)" bob "bob after the store recovered"
        expect_eq "$(sa_login alice "$PW" | jget username)" alice "alice after the store recovered"
        grep -q "no longer held" "$T/sauthd.log" || fail "the end of the hold was not logged"
}

# SIGKILL at random moments during a write flood, several times: after each
# restart the store is intact and every acknowledged write is there.
test_sigkill_loses_nothing_acknowledged() {
        sa_setup
        local uid round client last
        uid=$(sa_user pwuser "$PW")
        for round in 1 2 3 4 5; do
                : > "$T/acked.$round"
                /usr/bin/python3 "$TESTS_DIR/integration/flood.py" "$BUS_ADDRESS" "$BUS_NAME" "$BUS_PATH" \
                        "$BUS_IFACE" "r${round}u" "$uid" "$T/acked.$round" &
                client=$!
                # Kill at a random moment once the flood is under way (a
                # loaded or sanitizer run starts the client slowly).
                local i
                for i in $(seq 1 500); do
                        [ -s "$T/acked.$round" ] && break
                        sleep 0.02
                done
                sleep "0.$((RANDOM % 6 + 1))"
                kill -KILL "$SAUTHD_PID"
                wait "$SAUTHD_PID" 2>/dev/null || true
                SAUTHD_PID=""
                wait "$client" 2>/dev/null || true
                expect_eq "$(sqlite3 "$T/sauth.db" "PRAGMA integrity_check")" ok "integrity after kill $round"
                local user missing=0
                while read -r kind user; do
                        [ "$kind" = register ] || continue
                        [ "$(sqlite3 "$T/sauth.db" "SELECT COUNT(*) FROM accounts WHERE username = '$user'")" = 1 ] ||
                                { note "lost: $user"; missing=$((missing + 1)); }
                done < "$T/acked.$round"
                expect_eq "$missing" 0 "acknowledged registrations lost in round $round"
                grep -q "^register" "$T/acked.$round" || fail "round $round acknowledged nothing: the flood did not run"
                # Every acknowledged reset has its message sent or pending.
                while read -r kind user; do
                        [ "$kind" = reset ] || continue
                        [ "$(sqlite3 "$T/sauth.db" "SELECT COUNT(*) FROM outbox WHERE recipient = '$user@example.org'
                                AND template = 'password_reset'")" -ge 1 ] && continue
                        [ -n "$(grep -l "^To: $user@example.org" "$T"/mail/*.eml 2>/dev/null |
                                xargs -r grep -l "^Subject: Password reset")" ] && continue
                        note "reset mail lost: $user"
                        missing=$((missing + 1))
                done < "$T/acked.$round"
                expect_eq "$missing" 0 "acknowledged reset mails lost in round $round"
                sa_start_daemon
                # The last acknowledged password, or the one after it if its
                # change was written but not answered, is the password now.
                last=$(sed -n 's/^password //p' "$T/acked.$round" | tail -n 1)
                if [ -n "$last" ]; then
                        (sa_login pwuser "flood password r${round}u number $last") > /dev/null 2>&1 ||
                                (sa_login pwuser "flood password r${round}u number $((last + 1))") > /dev/null 2>&1 ||
                                fail "round $round: the acknowledged password $last is not the password"
                fi
        done
        # A kill may come before a round's first reset; over five rounds
        # some must have been acknowledged, or the check above checked nothing.
        grep -qh "^reset" "$T"/acked.* || fail "no reset was acknowledged: the flood did not reach them"
        # What was pending at the kills goes out after the restarts.
        sa_mail_drain 60
}

# Wrong signatures, 1 MiB strings, CRLF and control characters in every
# string argument, a huge a{sv}: every call answered, sauthd alive after
# each (the suite runs this under ASan+UBSan too; sa_cleanup fails on any
# sanitizer report in the log).
test_bad_input_corpus() {
        sa_setup "login.register=open"
        sa_user alice "$PW" > /dev/null       # the corpus's target: it may lock her
        sa_user bob "$PW" > /dev/null
        /usr/bin/python3 "$TESTS_DIR/integration/bad-input.py" "$BUS_ADDRESS" "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" \
                > "$T/bad-input.out" 2>&1 || { cat "$T/bad-input.out" >&2; fail "sauthd did not survive the corpus"; }
        tail -n 1 "$T/bad-input.out" >&2
        kill -0 "$SAUTHD_PID" || fail "sauthd is gone"
        # Still itself afterwards.
        expect_eq "$(sa_login bob "$PW" | jget username)" bob "a login after the corpus"
        grep -q "Internal" "$T/bad-input.out" && { grep "Internal" "$T/bad-input.out" >&2; fail "an Internal error for bad input"; }
        true
}

sa_main "$@"
