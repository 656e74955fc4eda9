#!/bin/bash
# sauthd as a process: start, config and file checks, restart, shutdown,
# the event loop staying free, the shipped introspection XML.
. "$(dirname "$0")/lib.sh"

test_db_created_mode_0600() {
        sa_setup
        expect_eq "$(stat -c %a "$T/sauth.db")" 600 "database mode"
        local f
        for f in "$T"/sauth.db-wal "$T"/sauth.db-shm; do
                [ -e "$f" ] || continue
                expect_no_match "$(stat -c %a "$f")" '^6[0-7][1-7]$|^6[1-7][0-7]$' "$f mode"
        done
}

test_group_writable_config_refused() {
        sa_prepare
        sa_start_bus
        chmod 660 "$T/sauthd.conf"
        local rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code"
        expect_match "$(cat "$T/out")" "sauthd.conf: refused, group or other may write it" "message"
        chmod 606 "$T/sauthd.conf"
        rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code (other-writable)"
}

test_group_writable_db_refused() {
        sa_setup
        sa_stop_daemon
        chmod 664 "$T/sauth.db"
        local rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code"
        expect_match "$(cat "$T/out")" "sauth.db: refused, group or other may write it" "message"
}

test_unknown_key_warned_and_ignored() {
        sa_prepare "daemon.no_such_key=1"
        sa_start_bus
        sa_start_daemon
        expect_match "$(cat "$T/sauthd.log")" "unknown key \[daemon\] no_such_key ignored" "warning"
        sa_call Methods > /dev/null
}

test_bad_value_refused() {
        sa_prepare "lockout.deny=many"
        sa_start_bus
        local rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code"
        expect_match "$(cat "$T/out")" "invalid value for \[lockout\] deny" "message"
}

# A number outside its key's range is refused at start, naming the key:
# confirm_lifetime = 2^63-1 overflowed an expiry, fail_interval = 2^64-1
# turned lockout off.
test_out_of_range_refused_naming_the_key() {
        local kv rc
        sa_prepare
        sa_start_bus
        for kv in "tokens.confirm_lifetime=9223372036854775807" "lockout.fail_interval=18446744073709551615" \
                  "lockout.unlock_time=0" "daemon.workers=5000"; do
                sa_write_config "$kv"
                rc=0
                "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" > "$T/out" 2>&1 || rc=$?
                expect_ne "$rc" 0 "exit code for $kv"
                local section=${kv%%.*} rest=${kv#*.}
                expect_match "$(cat "$T/out")" "\\[$section\\] ${rest%%=*} = ${rest#*=} is out of range" "message for $kv"
        done
}

test_restart_keeps_accounts() {
        sa_setup
        local uid
        uid=$(sa_user alice "correct horse battery staple")
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(sa_login alice "correct horse battery staple" | jget uid)" "$uid" "uid after restart"
}

test_sigterm_finishes_login_in_flight() {
        # A slow hash, so that the login is surely still running when
        # SIGTERM arrives.
        sa_setup "password.hash_mem_kib=262144" "password.hash_ops=4"
        sa_user alice "correct horse battery staple" > /dev/null
        sa_login alice "correct horse battery staple" > "$T/login.out" &
        local client=$!
        local i
        for i in $(seq 1 100); do
                grep -q "login attempt" "$T/sauthd.log" && break
                sleep 0.02
        done
        kill -TERM "$SAUTHD_PID"
        wait "$client" || fail "login in flight got no reply"
        expect_eq "$(jget username < "$T/login.out")" alice "reply to the login in flight"
        local rc=0
        wait "$SAUTHD_PID" || rc=$?
        SAUTHD_PID=""
        expect_eq "$rc" 0 "sauthd exit code"
        expect_match "$(cat "$T/sauthd.log")" "stopped" "log"
}

# ForgotPassword answers after a fixed delay; a SIGTERM in between still
# gets the caller its answer before sauthd exits.
test_sigterm_answers_delayed_forgot() {
        sa_setup
        sa_call ForgotPassword sss "" nobody "" > "$T/forgot.out" &
        local client=$! i
        for i in $(seq 1 250); do
                grep -q "password reset requested" "$T/sauthd.log" && break
                sleep 0.01
        done
        kill -TERM "$SAUTHD_PID"
        wait "$client" || fail "ForgotPassword got no reply"
        expect_eq "$(jq -c '.data[0]' < "$T/forgot.out")" '{}' "reply"
        local rc=0
        wait "$SAUTHD_PID" || rc=$?
        SAUTHD_PID=""
        expect_eq "$rc" 0 "sauthd exit code"
}

# Without its bus sauthd serves nobody: it exits non-zero with a log line,
# so that systemd (Restart=on-failure) starts it again.
test_bus_loss_exits() {
        sa_setup
        sa_call Methods > /dev/null
        kill "$BUS_PID"
        wait "$BUS_PID" 2>/dev/null || true
        BUS_PID=""
        local i
        for i in $(seq 1 250); do
                kill -0 "$SAUTHD_PID" 2>/dev/null || break
                sleep 0.02
        done
        kill -0 "$SAUTHD_PID" 2>/dev/null && fail "sauthd still runs 5 s after the bus went away"
        local rc=0
        wait "$SAUTHD_PID" || rc=$?
        SAUTHD_PID=""
        expect_ne "$rc" 0 "sauthd exit code"
        expect_match "$(cat "$T/sauthd.log")" "lost the connection to the bus: exiting" "log"
}

test_loop_free_during_hash() {
        # While a slow Argon2id verify runs on a worker, Methods is answered:
        # the Methods reply must come before the login's.
        sa_setup "password.hash_mem_kib=262144" "password.hash_ops=6"
        sa_user alice "correct horse battery staple" > /dev/null
        ( sa_login alice "correct horse battery staple" > /dev/null; echo login >> "$T/order" ) &
        local client=$!
        local i
        for i in $(seq 1 100); do
                grep -q "login attempt" "$T/sauthd.log" && break
                sleep 0.02
        done
        sa_call Methods > /dev/null
        echo methods >> "$T/order"
        wait "$client"
        expect_eq "$(head -n 1 "$T/order")" methods "first reply"
        expect_eq "$(sed -n 2p "$T/order")" login "second reply"
}

# The caller's name and groups come from NSS once per bus connection (and
# TTL), not on every call: a slow NSS (LDAP, SSSD) would stall the loop.
test_caller_identity_read_once_per_connection() {
        sa_setup
        sa_user alice "correct horse battery staple" > /dev/null
        local out calls reads
        out=$(setpriv --reuid=4242 --regid=4242 --clear-groups \
                "$BUS_LOAD" --address "$BUS_ADDRESS" calls --method AccountStatus --user alice \
                --depth 4 --seconds 1 --warmup-ms 0)
        calls=$(sed -nE 's/.*AccountStatus\.calls=([0-9]+).*/\1/p' <<<"$out")
        expect_match "$out" "AccountStatus\.errors=0( |$)" "every call answered"
        [ "${calls:-0}" -ge 20 ] || fail "only ${calls:-0} calls made"
        reads=$(grep -c "caller uid 4242: name and groups read" "$T/sauthd.log" || true)
        expect_eq "$reads" 1 "NSS reads for $calls calls on one connection"

        # A new connection reads again: a group change shows at once there.
        expect_eq "$(sa_error_as 4242 SetAccountStatus alice active)" AccessDenied "alice is no admin"
        sed -i 's/^sauth-admin:x:4300:carol$/sauth-admin:x:4300:carol,alice/' "$T/group"
        sa_call_as 4242 SetAccountStatus ss alice active > /dev/null || fail "alice, now in sauth-admin, was refused"
}

test_introspection_matches_shipped_xml() {
        sa_setup
        busctl --address="$BUS_ADDRESS" introspect --xml-interface "$BUS_NAME" "$BUS_PATH" > "$T/live.xml"
        /usr/bin/python3 - "$BUS_IFACE" "$INTERFACE_XML" "$T/live.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
IFACE = sys.argv[1]
def methods(path):
    root = ET.parse(path).getroot()
    out = {}
    for iface in root.iter("interface"):
        if iface.get("name") != IFACE:
            continue
        for m in iface.iter("method"):
            out[m.get("name")] = [(a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.iter("arg")]
    return out
shipped, live = methods(sys.argv[2]), methods(sys.argv[3])
if not shipped:
    sys.exit("shipped XML has no methods")
if shipped != live:
    for k in sorted(set(shipped) | set(live)):
        if shipped.get(k) != live.get(k):
            print("differs:", k, shipped.get(k), live.get(k))
    sys.exit(1)
PY
}

test_help_and_bad_arguments() {
        "$SAUTHD" --help | grep -q -- "--address" || fail "help lacks --address"
        local rc=0
        "$SAUTHD" --no-such-option > /dev/null 2>&1 || rc=$?
        expect_eq "$rc" 2 "exit code for a bad option"
}

test_missing_config_file_is_an_error() {
        sa_prepare
        sa_start_bus
        local rc=0
        "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/nope.conf" > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code"
        expect_match "$(cat "$T/out")" "nope.conf" "message names the file"
}

# libcurl is loaded with the first SMTP message, not at start: an idle
# sauthd has none of its ~6 MiB of libraries mapped (issue 10, memory).
test_curl_loaded_only_for_smtp() {
        sa_setup
        sa_user alice "correct horse battery staple" > /dev/null
        ! ldd "$SAUTHD" | grep -q libcurl || fail "sauthd links libcurl"
        ! grep -q libcurl "/proc/$SAUTHD_PID/maps" || fail "libcurl mapped after a command-sender mail"
}

# An idle daemon maps no library it does not need (docs/benchmark.md,
# Memory): libcrypto only for an RS256/ES256 ID token, libzxcvbn only while
# a password is judged. sa_user checks and sets a password (zxcvbn runs
# twice), a login signs an EdDSA token (libsodium, not libcrypto).
test_libraries_loaded_when_needed() {
        sa_setup
        local lib
        for lib in libcrypto libzxcvbn libpq libcurl; do
                ! ldd "$SAUTHD" | grep -q "$lib" || fail "sauthd links $lib"
        done
        sa_call CheckPassword ss alice "correct horse battery staple" | jget ok | grep -qx true ||
                fail "CheckPassword refused a good password"
        sa_user alice "correct horse battery staple" > /dev/null
        sa_login alice "correct horse battery staple" | jget jwt_token | grep -q . || fail "no token"
        for lib in libcrypto libzxcvbn libpq libcurl; do
                ! grep -q "$lib" "/proc/$SAUTHD_PID/maps" || fail "$lib mapped in an idle sauthd"
        done
}

sa_main "$@"
