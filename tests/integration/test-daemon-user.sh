#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sauthd as its own system user, and whom the PAM module believes: replies
# only from root or the daemon user (daemon_user=, default "sauthd").
# The bus is the private test bus, which lets anyone own any name: the
# misconfiguration the module's own check is for.
. "$(dirname "$0")/lib.sh"

PW1='Violet-Tundra-Anchor-5821'
PW_WRONG='Granite-Willow-Harbor-6642'
DAEMON_UID=4250         # "sauthd" in the test's passwd (nss_wrapper)
MSG_AUTH_OK='successfully authenticated'
MSG_ACCT_OK='account management done'
MSG_AUTH_ERR='Authentication failure'
MSG_SYSTEM_ERR='System error'

PAM_OUT=""
PAM_RC=0
FAKE_PID=""

# The daemon user in the test's NSS files, for sauthd and for the module.
du_prepare() {
        sa_prepare "$@"
        echo "sauthd:x:$DAEMON_UID:$DAEMON_UID:SessionAuth daemon:/nonexistent:/usr/sbin/nologin" >> "$T/passwd"
        echo "sauthd:x:$DAEMON_UID:" >> "$T/group"
}

# Waits (bounded) until someone owns the bus name.
du_wait_name() {
        local i
        for i in $(seq 1 250); do
                timeout 5 busctl --address="$BUS_ADDRESS" status "$BUS_NAME" >/dev/null 2>&1 && return 0
                sleep 0.02
        done
        fail "nobody took the bus name"
}

# The real sauthd as UID, with its state in a folder of its own, as the
# unit and tmpfiles.d set it up: nothing of it needs root.
du_start_daemon_as() {
        local uid=$1 s="$T/state"
        install -d -m 0700 -o "$uid" -g "$uid" "$s"
        chown "$uid:$uid" "$T/mail"
        sa_write_config store.path="$s/sauth.db" tokens.key_file="$s/jwt.key" \
                apikeys.pepper_file="$s/apikey.key" mail.outbox_key_file="$s/outbox.key"
        chown "$uid:$uid" "$T/sauthd.conf"
        setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                env "${NSS_ENV[@]}" "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" --verbose \
                >> "$T/sauthd.log" 2>&1 &
        SAUTHD_PID=$!
        du_wait_name
}

# A fake service that answers yes to everything, as UID.
du_start_fake_as() {
        local uid=$1 d="$T/fake-$1" i
        install -d -m 0700 -o "$uid" -g "$uid" "$d"
        setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                /usr/bin/python3 "$TESTS_DIR/integration/fake-sauthd.py" "$BUS_ADDRESS" "$d/ready" 120 \
                >> "$T/fake.log" 2>&1 &
        FAKE_PID=$!
        EXTRA_PIDS+=("$FAKE_PID")
        for i in $(seq 1 250); do
                [ -s "$d/ready" ] && return 0
                kill -0 "$FAKE_PID" 2>/dev/null || fail "the fake service exited: $(tail -n 5 "$T/fake.log")"
                sleep 0.02
        done
        fail "the fake service did not take the name"
}

du_stop_fake() {
        sa_stop_extra "$FAKE_PID"
        FAKE_PID=""
}

# du_pam SERVICE USER INPUT OPS... — pamtester under pam_wrapper, with the
# test's NSS files (the module looks the daemon user up); sets PAM_OUT
# and PAM_RC.
du_pam() {
        local service=$1 user=$2 input=$3; shift 3
        local preload="$PAM_WRAPPER_LIB $NSS_WRAPPER_LIB" asan
        asan=$(ldd "$PAM_MODULE" | awk '/libasan/ {print $3}')
        [ -z "$asan" ] || preload="$asan $preload"
        PAM_RC=0
        PAM_OUT=$(printf '%s\n' "$input" | env "${NSS_ENV[@]}" LD_PRELOAD="$preload" PAM_WRAPPER=1 \
                PAM_WRAPPER_SERVICE_DIR="$T/pam.d" PAM_WRAPPER_DISABLE_DEEPBIND=1 \
                ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
                pamtester -v "$service" "$user" "$@" 2>&1) || PAM_RC=$?
        echo "$PAM_OUT" >> "$T/pamtester.log"
}

expect_pam_ok() {
        [ "$PAM_RC" -eq 0 ] || fail "pamtester failed ($PAM_RC): $PAM_OUT"
        expect_match "$PAM_OUT" "$1" "pamtester output"
}

expect_pam_fail() {
        [ "$PAM_RC" -ne 0 ] || fail "pamtester succeeded where '$1' was expected: $PAM_OUT"
        expect_match "$PAM_OUT" "pamtester: $1" "pamtester output"
}

# sauthd runs as the unprivileged "sauthd" user: it makes its database and
# keys (its own, mode 0600), and PAM logins through it work, right and
# wrong passwords alike.
test_sauthd_as_daemon_user() {
        du_prepare
        sa_start_bus
        du_start_daemon_as "$DAEMON_UID"
        sa_user alice "$PW1" >/dev/null
        local f
        for f in sauth.db jwt.key apikey.key outbox.key; do
                expect_eq "$(stat -c '%u %a' "$T/state/$f")" "$DAEMON_UID 600" "owner and mode of $f"
        done
        sa_pam_service sa
        du_pam sa alice "$PW1" authenticate acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
        expect_match "$PAM_OUT" "$MSG_AUTH_OK" "authenticate"
        du_pam sa alice "$PW_WRONG" authenticate
        expect_pam_fail "$MSG_AUTH_ERR"
}

# An ordinary user owns the name with a service that says yes to any
# password: the module refuses its answers (PAM_SYSTEM_ERR, whatever
# unavail= says). The same fake run as the daemon user is believed, so
# the refusal is for the uid, not for the shape of the answers.
test_stranger_owner_refused() {
        du_prepare
        sa_start_bus
        du_start_fake_as 4242
        sa_pam_service sa unavail=ignore
        du_pam sa alice "$PW_WRONG" authenticate
        expect_pam_fail "$MSG_SYSTEM_ERR"
        # pam_wrapper shows the module's syslog lines.
        expect_match "$PAM_OUT" "uid 4242, neither root nor the daemon user sauthd: refused" "log line"
        du_pam sa alice "" acct_mgmt
        expect_pam_fail "$MSG_SYSTEM_ERR"
        du_stop_fake
        # The owner is checked before the call: the password never reached it.
        [ ! -s "$T/fake-4242/ready.calls" ] || fail "the stranger was called: $(cat "$T/fake-4242/ready.calls")"

        du_start_fake_as "$DAEMON_UID"
        du_pam sa alice "$PW_WRONG" authenticate acct_mgmt
        expect_pam_ok "$MSG_ACCT_OK"
        expect_match "$(cat "$T/fake-$DAEMON_UID/ready.calls")" "AccountLogin" "calls the daemon user's service got"
}

# daemon_user=NAME trusts another user instead of "sauthd"; an empty
# daemon_user= trusts root alone.
test_daemon_user_argument() {
        du_prepare
        sa_start_bus
        du_start_fake_as 4243
        sa_pam_service sa
        du_pam sa alice "$PW_WRONG" authenticate
        expect_pam_fail "$MSG_SYSTEM_ERR"
        sa_pam_service sa daemon_user=bob
        du_pam sa alice "$PW_WRONG" authenticate
        expect_pam_ok "$MSG_AUTH_OK"
        du_stop_fake

        du_start_fake_as "$DAEMON_UID"
        sa_pam_service sa daemon_user=
        du_pam sa alice "$PW_WRONG" authenticate
        expect_pam_fail "$MSG_SYSTEM_ERR"
        sa_pam_service sa daemon_user=nosuchuser
        du_pam sa alice "$PW_WRONG" authenticate
        expect_pam_fail "$MSG_SYSTEM_ERR"
}

# The shipped D-Bus policy on a bus that denies by default, like the
# system bus: only the daemon user (and root) may own the name; anyone may
# call the interface, introspect it and read its properties.
test_dbus_policy() {
        du_prepare
        cat > "$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
  <include>$BUILD_DIR/sauthd/data/org.sessionauth.SessionAuth1.conf</include>
</busconfig>
CONF
        sa_start_bus
        # A stranger may not take the name.
        local out rc=0
        out=$(setpriv --reuid=4242 --regid=4242 --clear-groups /usr/bin/python3 -c '
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
bus.request_name("org.sessionauth.SessionAuth1", dbus.bus.NAME_FLAG_DO_NOT_QUEUE)' "$BUS_ADDRESS" 2>&1) || rc=$?
        [ $rc -ne 0 ] || fail "uid 4242 took the name"
        expect_match "$out" "AccessDenied" "stranger's RequestName"
        du_start_daemon_as "$DAEMON_UID"
        sa_call_as 4242 Methods >/dev/null || fail "Methods as an ordinary user"
        setpriv --reuid=4242 --regid=4242 --clear-groups busctl --address="$BUS_ADDRESS" \
                introspect "$BUS_NAME" "$BUS_PATH" >/dev/null || fail "Introspect as an ordinary user"
        setpriv --reuid=4242 --regid=4242 --clear-groups busctl --address="$BUS_ADDRESS" \
                call "$BUS_NAME" "$BUS_PATH" org.freedesktop.DBus.Properties GetAll s "$BUS_IFACE" >/dev/null \
                || fail "Properties.GetAll as an ordinary user"
}

sa_main "$@"
