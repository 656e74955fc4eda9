# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared harness of the integration tests. Each test case runs in its own
# temp dir with its own dbus-daemon and sauthd, as direct children of the
# test shell; the EXIT trap stops them and waits for them.
#
# A script defines test_NAME functions and ends with `sa_main "$@"`.
# `script --list` prints the case names; `script NAME` runs one case.

set -eu -o pipefail

# SAUTH_STORE_DRIVER=postgresql runs a case on a private PostgreSQL
# (pg-lib.sh) instead of the SQLite file; the meson tests named *-pg do.
SAUTH_STORE_DRIVER=${SAUTH_STORE_DRIVER:-sqlite}
. "$(dirname "${BASH_SOURCE[0]}")/pg-lib.sh"

BUS_NAME=org.sessionauth.SessionAuth1
BUS_PATH=/org/sessionauth/SessionAuth1
BUS_IFACE=org.sessionauth.SessionAuth1
ERR=org.sessionauth.SessionAuth1.Error
PAM_WRAPPER_LIB=${PAM_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libpam_wrapper.so}
NSS_WRAPPER_LIB=${NSS_WRAPPER_LIB:-/usr/lib/x86_64-linux-gnu/libnss_wrapper.so}

T=""
BUS_PID=""
SAUTHD_PID=""
BUS_ADDRESS=""
EXTRA_PIDS=()
NSS_ENV=()
# An ASan build must not insist on coming first: nss_wrapper is preloaded.
export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0}
# A store call on the event loop of a PostgreSQL sauthd aborts it: whatever
# may wait on the database belongs on a store worker (store-work.h).
export SAUTH_STORE_STRICT=1

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

note() {
        echo "# $*" >&2
}

# ---------------------------------------------------------------- lifecycle

# sa_stop_extra PID — stops a helper started into EXTRA_PIDS, waits for it,
# and forgets it, so the clean-up never signals a pid that may be reused.
sa_stop_extra() {
        local stop=$1 keep=() pid
        [ -n "$stop" ] || return 0
        kill "$stop" 2>/dev/null || true
        wait "$stop" 2>/dev/null || true
        for pid in "${EXTRA_PIDS[@]}"; do
                [ "$pid" = "$stop" ] || keep+=("$pid")
        done
        EXTRA_PIDS=("${keep[@]}")
}

sa_cleanup() {
        local rc=$?
        # EXTRA_PIDS holds the helpers' children too: the SMTP sink, the
        # OIDC provider of oidc-lib.sh (oidc_start).
        for pid in "${EXTRA_PIDS[@]}" $SAUTHD_PID $BUS_PID; do
                kill -CONT "$pid" 2>/dev/null || true
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${EXTRA_PIDS[@]}" $SAUTHD_PID $BUS_PID; do
                wait "$pid" 2>/dev/null || true
        done
        pg_stop
        if [ -n "$T" ] && [ -f "$T/sauthd.log" ] &&
           grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/sauthd.log"; then
                echo "FAIL: sanitizer report in the sauthd log" >&2
                rc=1
        fi
        if [ -n "$T" ] && [ -d "$T" ]; then
                if [ "$rc" -ne 0 ] && [ -f "$T/sauthd.log" ]; then
                        echo "--- sauthd log (last 30 lines) ---" >&2
                        tail -n 30 "$T/sauthd.log" >&2 || true
                fi
                if [ "$rc" -ne 0 ] && [ -f "$T/oidc.log" ]; then
                        echo "--- OIDC provider log (last 20 lines) ---" >&2
                        tail -n 20 "$T/oidc.log" >&2 || true
                fi
                [ -n "${SA_KEEP:-}" ] || rm -rf "$T"
        fi
        exit "$rc"
}

# Makes the temp dir, the bus config and the daemon config. Extra config
# lines may be given as "section.key=value" arguments.
sa_prepare() {
        local base=${BUILD_DIR:-/tmp}/test-tmp
        mkdir -p "$base"
        T=$(mktemp -d "$base/sa.XXXXXX")
        chmod 711 "$T"   # other uids (setpriv tests) reach bus.sock, list nothing
        mkdir -p "$T/mail" "$T/pam.d"
        BUS_ADDRESS="unix:path=$T/bus.sock"
        sed "s|@DIR@|$T|g" "$TESTS_DIR/private-bus.conf.in" > "$T/bus.conf"
        : > "$T/pwquality.conf"
        sa_write_users
        trap sa_cleanup EXIT
        if [ "$SAUTH_STORE_DRIVER" = postgresql ]; then
                pg_start
                pg_conninfo
        fi
        sa_write_config "$@"
}

# Test users through nss_wrapper: dbus-daemon and sauthd resolve callers'
# uids to names with these files, never with the system's.
#   alice 4242, bob 4243, carol 4244 (in sauth-admin), dave 4245
sa_write_users() {
        cat > "$T/passwd" <<PW
root:x:0:0:root:/root:/bin/sh
alice:x:4242:4242:Alice:/nonexistent:/bin/false
bob:x:4243:4243:Bob:/nonexistent:/bin/false
carol:x:4244:4244:Carol:/nonexistent:/bin/false
dave:x:4245:4245:Dave:/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
        cat > "$T/group" <<GR
root:x:0:
alice:x:4242:
bob:x:4243:
carol:x:4244:
dave:x:4245:
sauth-admin:x:4300:carol
nogroup:x:65534:
GR
        # DEEPBIND off: ASan builds abort on RTLD_DEEPBIND.
        NSS_ENV=(LD_PRELOAD="$NSS_WRAPPER_LIB" NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group"
                 NSS_WRAPPER_DISABLE_DEEPBIND=1)
}

sa_write_config() {
        declare -A kv=(
                [daemon.admin_group]=sauth-admin
                [daemon.workers]=2
                [store.path]="$T/sauth.db"
                [password.hash_ops]=1
                [password.hash_mem_kib]=8192
                [password.pwquality_conf]="$T/pwquality.conf"
                [tokens.key_file]="$T/jwt.key"
                [apikeys.pepper_file]="$T/apikey.key"
                [mail.outbox_key_file]="$T/outbox.key"
                [tokens.issuer]=test.example
                [mail.sender]="$TESTS_DIR/integration/mail-capture.sh $T/mail"
                [mail.from]=sauthd@test.example
                [mail.templates]="$TEMPLATES_DIR"
        )
        if [ "$SAUTH_STORE_DRIVER" = postgresql ]; then
                kv[store.driver]=postgresql
                kv[store.conninfo_file]="$T/conninfo"
        fi
        local arg
        for arg in "$@"; do
                kv[${arg%%=*}]=${arg#*=}
        done
        local section key
        : > "$T/sauthd.conf"
        for section in daemon store password lockout tokens apikeys mail roles login resources; do
                echo "[$section]" >> "$T/sauthd.conf"
                for key in "${!kv[@]}"; do
                        [ "${key%%.*}" = "$section" ] && echo "${key#*.} = ${kv[$key]}" >> "$T/sauthd.conf"
                done
        done
        chmod 600 "$T/sauthd.conf"
}

sa_start_bus() {
        env "${NSS_ENV[@]}" dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile 2>> "$T/bus.log" &
        BUS_PID=$!
        local i
        for i in $(seq 1 200); do
                [ -S "$T/bus.sock" ] && return 0
                sleep 0.02
        done
        fail "dbus-daemon did not start"
}

# A service folder in the bus config holding the activation file the build
# ships (Exec=/bin/false: activation is systemd's): with sauthd not
# running, dbus-daemon tries to start it and answers a
# org.freedesktop.DBus.Error.Spawn.* error. Call before sa_start_bus.
sa_bus_failing_activation() {
        mkdir -p "$T/services"
        cp "$BUILD_DIR/sauthd/data/$BUS_NAME.service" "$T/services/$BUS_NAME.service"
        grep -qxF "Exec=/bin/false" "$T/services/$BUS_NAME.service" ||
                fail "the shipped activation file starts something: $(grep '^Exec=' "$T/services/$BUS_NAME.service")"
        sed -i "s|</busconfig>|  <servicedir>$T/services</servicedir>\n</busconfig>|" "$T/bus.conf"
}

# Starts sauthd and waits until it owns its name.
sa_start_daemon() {
        env "${NSS_ENV[@]}" "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" --verbose "$@" >> "$T/sauthd.log" 2>&1 &
        SAUTHD_PID=$!
        local i
        for i in $(seq 1 250); do
                if timeout 5 busctl --address="$BUS_ADDRESS" status "$BUS_NAME" >/dev/null 2>&1; then
                        return 0
                fi
                kill -0 "$SAUTHD_PID" 2>/dev/null || { wait "$SAUTHD_PID" || true; SAUTHD_PID=""; fail "sauthd exited at start: $(tail -n 5 "$T/sauthd.log")"; }
                sleep 0.02
        done
        fail "sauthd did not take its bus name"
}

sa_stop_daemon() {
        [ -n "$SAUTHD_PID" ] || return 0
        kill -TERM "$SAUTHD_PID"
        local rc=0
        wait "$SAUTHD_PID" || rc=$?
        SAUTHD_PID=""
        return $rc
}

# The usual start: temp dir, bus, daemon.
sa_setup() {
        sa_prepare "$@"
        sa_start_bus
        sa_start_daemon
}

sa_main() {
        if [ "${1:-}" = "--list" ]; then
                declare -F | awk '{print $3}' | sed -n 's/^test_//p'
                exit 0
        fi
        [ $# -eq 1 ] || { echo "usage: $0 --list | CASE" >&2; exit 2; }
        : "${SAUTHD:?}" "${SAUTHCTL:?}" "${PAM_MODULE:?}" "${TESTS_DIR:?}" "${TEMPLATES_DIR:?}"
        declare -F "test_$1" >/dev/null || { echo "no such case: $1" >&2; exit 2; }
        "test_$1"
        echo "ok $1"
}

# sa_sql SQL — runs SQL on the store of the case, whichever the driver;
# one row a line, columns separated by |. sa_sql_dump: the whole database
# as text.
sa_sql() {
        if [ "$SAUTH_STORE_DRIVER" = postgresql ]; then
                pg_psql "$1"
        else
                sqlite3 "$T/sauth.db" "$1"
        fi
}

sa_sql_dump() {
        if [ "$SAUTH_STORE_DRIVER" = postgresql ]; then
                pg_dump -h "$PG_SOCKET_DIR" -U sauth "$PG_DB"
        else
                sqlite3 "$T/sauth.db" .dump
        fi
}

# ---------------------------------------------------------------- bus calls

# sa_call METHOD SIGNATURE ARGS... — busctl call; prints the reply as JSON.
# Fails the test if the call fails.
sa_call() {
        local method=$1; shift
        busctl --address="$BUS_ADDRESS" --json=short -- call "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$method" "$@" \
                || fail "$method failed"
}

# sa_call_as UID METHOD SIGNATURE ARGS... — the same call from another uid.
sa_call_as() {
        local uid=$1 method=$2; shift 2
        setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                busctl --address="$BUS_ADDRESS" --json=short -- call "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$method" "$@"
}

# sa_error METHOD GVARIANT-ARGS... — a call expected to fail; prints the
# short D-Bus error name (InvalidCredentials…). gdbus shows error names,
# busctl only messages.
sa_error() {
        local method=$1; shift
        local out rc=0
        out=$(gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1) || rc=$?
        [ $rc -ne 0 ] || fail "$method succeeded where an error was expected"
        sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' <<<"$out" | head -n 1 | sed "s/^$ERR\.//"
}

sa_error_as() {
        local uid=$1 method=$2; shift 2
        local out rc=0
        out=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1) || rc=$?
        [ $rc -ne 0 ] || fail "$method as $uid succeeded where an error was expected"
        sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' <<<"$out" | head -n 1 | sed "s/^$ERR\.//"
}

# sa_burst UID METHOD SIGNATURE COUNT ARGS... — COUNT calls over one
# connection as uid (0: root); prints "CALLS_THROUGH ERROR_NAME".
sa_burst() {
        local uid=$1; shift
        local run=()
        [ "$uid" = 0 ] || run=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
        run=(env BURST_THROUGH="${BURST_THROUGH:-}" "${run[@]}")
        "${run[@]}" /usr/bin/python3 "$TESTS_DIR/integration/call-burst.py" "$BUS_ADDRESS" "$BUS_NAME" "$BUS_PATH" \
                "$BUS_IFACE" "$@"
}

# Value of KEY in an a{sv} reply printed by sa_call.
jget() {
        jq -r --arg k "$1" '.data[0][$k].data | if type == "array" then join(" ") else tostring end'
}

# ---------------------------------------------------------------- accounts

# ---------------------------------------------------------------- mail outbox

# The number of messages in the outbox (MailQueue, as root).
sa_mail_queued() {
        sa_call MailQueue | jq -r '.data[0].messages.data | length'
}

# Waits (bounded, SECONDS, default 20) until the outbox is empty: every
# message written so far has been sent (or has expired). Fails otherwise.
sa_mail_drain() {
        local i n=""
        for i in $(seq 1 $((${1:-20} * 10))); do
                n=$(sa_mail_queued)
                [ "$n" = 0 ] && return 0
                sleep 0.1
        done
        fail "the outbox still holds $n messages"
}

# sa_register USERNAME [IDENTITY] [NAME] — prints the uid.
sa_register() {
        local user=$1 ident=${2:-$1@example.org} name=${3:-Test User}
        sa_call Register sssss "$ident" "$user" "$name" "" "" | jget uid
}

# The newest token mailed to IDENTITY (notices without a token are passed
# over). Mail is sent by a worker after the reply, so wait for it (bounded).
sa_mailed_token() {
        local ident=$1 f="" i
        for i in $(seq 1 250); do
                f=$(grep -l -i "^To: .*$ident" "$T"/mail/*.eml 2>/dev/null | sort \
                        | xargs -r grep -l -E '^    [A-Za-z0-9_-]{43}$' | tail -n 1) || true
                [ -n "$f" ] && break
                sleep 0.02
        done
        [ -n "$f" ] || fail "no mail for $ident"
        grep -oE '^    [A-Za-z0-9_-]{43}$' "$f" | tr -d ' ' | tail -n 1
}

# Waits until N mails have arrived (bounded); prints the count.
sa_wait_mails() {
        local n=$1 i
        for i in $(seq 1 250); do
                [ "$(sa_mail_count)" -ge "$n" ] && break
                sleep 0.02
        done
        sa_mail_count
}

sa_mail_count() {
        find "$T/mail" -name '*.eml' | wc -l
}

# sa_set_first_password UID PASSWORD (with the mailed confirm token)
sa_set_first_password() {
        local uid=$1 pw=$2 ident=$3 tok
        tok=$(sa_mailed_token "$ident")
        sa_call ChangePassword sssss "$uid" "$pw" "$tok" "" "$pw" >/dev/null
}

# sa_user USERNAME PASSWORD — a confirmed account with a password; prints uid.
sa_user() {
        local user=$1 pw=$2 uid
        uid=$(sa_register "$user")
        sa_set_first_password "$uid" "$pw" "$user@example.org"
        echo "$uid"
}

sa_login() {
        sa_call AccountLogin sssa{sv} "$1" "$2" local 0
}

# ---------------------------------------------------------------- PAM

# sa_pam_service NAME [MODULE ARGS...] — a PAM service file using the module.
sa_pam_service() {
        local name=$1; shift
        local args="bus=$BUS_ADDRESS $*"
        cat > "$T/pam.d/$name" <<PAM
auth     required $PAM_MODULE $args
account  required $PAM_MODULE $args
password required $PAM_MODULE $args
session  required $PAM_MODULE $args
PAM
        cp "$T/pam.d/$name" "$T/pam.d/other"
}

# sa_pam SERVICE USER OPS... — pamtester under pam_wrapper; answers on stdin.
# Prints pamtester's output; returns its exit code.
sa_pam() {
        local service=$1 user=$2; shift 2
        local preload=$PAM_WRAPPER_LIB asan
        # A sanitizer build of the module needs its runtime loaded first
        # into the (uninstrumented) pamtester; pamtester's own leaks are
        # not ours to report.
        asan=$(ldd "$PAM_MODULE" | awk '/libasan/ {print $3}')
        [ -z "$asan" ] || preload="$asan $preload"
        LD_PRELOAD="$preload" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
                ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
                pamtester -v "$service" "$user" "$@" 2>&1
}

# ---------------------------------------------------------------- asserts

expect_eq() {
        [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

expect_ne() {
        [ "$1" != "$2" ] || fail "${3:-value}: expected something other than '$2'"
}

expect_match() {
        grep -qE -- "$2" <<<"$1" || fail "${3:-output}: expected to match /$2/, got: $1"
}

expect_no_match() {
        ! grep -qE -- "$2" <<<"$1" || fail "${3:-output}: must not match /$2/"
}
