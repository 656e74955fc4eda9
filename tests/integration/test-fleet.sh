#!/bin/bash
# A fleet: two sauthd hosts, A and B, each on its own private bus with its
# own signing key, sharing one PostgreSQL store (and, as a fleet does, the
# API key pepper and the outbox key). What one host writes, the other
# sees at once. Always on PostgreSQL, whatever SAUTH_STORE_DRIVER says.
SAUTH_STORE_DRIVER=postgresql
. "$(dirname "$0")/lib.sh"
SAUTH_STORE_DRIVER=postgresql

PW="correct horse battery staple"
B_ADDRESS=""
B_PID=""

# fleet_prepare [section.key=value...] — the temp dir, the config and
# both buses, no sauthd yet: host B gets the same config as A but for its
# bus and its key ring.
fleet_prepare() {
        sa_prepare "$@"
        sa_start_bus
        mkdir -p "$T/b"
        sed "s|@DIR@|$T/b|g" "$TESTS_DIR/private-bus.conf.in" > "$T/b/bus.conf"
        sed "s|^key_file = .*|key_file = $T/b/jwt.key|" "$T/sauthd.conf" > "$T/b/sauthd.conf"
        chmod 600 "$T/b/sauthd.conf"
        B_ADDRESS="unix:path=$T/b/bus.sock"
        env "${NSS_ENV[@]}" dbus-daemon --config-file="$T/b/bus.conf" --nofork --nopidfile 2>> "$T/b/bus.log" &
        EXTRA_PIDS+=($!)
        local i
        for i in $(seq 1 200); do
                [ -S "$T/b/bus.sock" ] && break
                sleep 0.02
        done
        [ -S "$T/b/bus.sock" ] || fail "bus B did not start"
}

# fleet_setup [section.key=value...] — both hosts, each started once the
# one before it is up.
fleet_setup() {
        fleet_prepare "$@"
        sa_start_daemon
        fleet_start_b
}

# fleet_spawn_a / fleet_spawn_b — starts the host's sauthd in the
# background and returns at once; fleet_wait_ready waits for it.
fleet_spawn_a() {
        env "${NSS_ENV[@]}" "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" --verbose \
                >> "$T/sauthd.log" 2>&1 &
        SAUTHD_PID=$!
}

fleet_spawn_b() {
        env "${NSS_ENV[@]}" "$SAUTHD" --address "$B_ADDRESS" --config "$T/b/sauthd.conf" --verbose \
                >> "$T/b/sauthd.log" 2>&1 &
        B_PID=$!
        EXTRA_PIDS+=("$B_PID")
}

# fleet_wait_ready HOST ADDRESS PID LOG — waits (bounded) until the sauthd
# of PID owns its name on ADDRESS; fails if it exits first.
fleet_wait_ready() {
        local host=$1 address=$2 pid=$3 log=$4 i
        for i in $(seq 1 250); do
                timeout 5 busctl --address="$address" status "$BUS_NAME" >/dev/null 2>&1 && return 0
                kill -0 "$pid" 2>/dev/null || fail "sauthd $host exited at start: $(tail -n 5 "$log")"
                sleep 0.02
        done
        fail "sauthd $host did not take its bus name"
}

fleet_start_b() {
        fleet_spawn_b
        fleet_wait_ready B "$B_ADDRESS" "$B_PID" "$T/b/sauthd.log"
}

# fleet_forget PID — drops a process already waited for from EXTRA_PIDS,
# so the clean-up never signals a pid that may be reused.
fleet_forget() {
        local keep=() pid
        for pid in "${EXTRA_PIDS[@]}"; do
                [ "$pid" = "$1" ] || keep+=("$pid")
        done
        EXTRA_PIDS=("${keep[@]}")
}

# fleet_stop_b — a clean stop of B (SIGTERM), waited for; fails unless B
# exits 0.
fleet_stop_b() {
        local rc=0
        kill -TERM "$B_PID"
        wait "$B_PID" || rc=$?
        fleet_forget "$B_PID"
        B_PID=""
        expect_eq "$rc" 0 "exit status of B after SIGTERM"
}

# on_b CMD... — runs a helper of lib.sh against host B.
on_b() {
        local BUS_ADDRESS=$B_ADDRESS
        "$@"
}

test_register_on_a_login_on_b() {
        fleet_setup
        local uid
        uid=$(sa_user alice "$PW")
        expect_eq "$(on_b sa_login alice "$PW" | jget uid)" "$uid" "login on B"
        expect_eq "$(on_b sa_call AccountStatus s alice | jget exists)" true "status on B"
}

test_password_change_on_b_old_fails_on_a() {
        fleet_setup
        local uid new="quite another secret phrase 77"
        uid=$(sa_user alice "$PW")
        sa_login alice "$PW" > /dev/null
        on_b sa_call ChangePassword sssss "$uid" "$new" "" "$PW" "$new" > /dev/null
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" InvalidCredentials "old password on A"
        expect_eq "$(sa_login alice "$new" | jget username)" alice "new password on A"
}

# 50 uses of one reset token at once, 25 on each host: exactly one wins.
test_reset_token_single_use_across_hosts() {
        fleet_setup "lockout.deny=0" "daemon.workers=16"
        local uid tok i pids=() addr ok
        uid=$(sa_user alice "$PW")
        sa_call ForgotPassword sss "" alice "" > /dev/null
        sa_wait_mails 3 > /dev/null
        tok=$(sa_mailed_token alice@example.org)
        for i in $(seq 1 50); do
                addr=$BUS_ADDRESS
                [ $((i % 2)) = 0 ] && addr=$B_ADDRESS
                (
                        pw="parallel reset password number $i"
                        if busctl --address="$addr" --timeout=60 -- call "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" \
                                ChangePassword sssss "$uid" "$pw" "$tok" "" "$pw" >/dev/null 2>&1; then
                                echo "$i" > "$T/won.$i"
                        fi
                ) &
                pids+=($!)
        done
        for i in "${pids[@]}"; do wait "$i" || true; done
        ok=$(cat "$T"/won.* 2>/dev/null | wc -l)
        expect_eq "$ok" 1 "uses of one reset token that succeeded"
        i=$(cat "$T"/won.*)
        expect_eq "$(on_b sa_login alice "parallel reset password number $i" | jget username)" alice "winner on B"
        expect_eq "$(sa_login alice "parallel reset password number $i" | jget username)" alice "winner on A"
}

# Failures on A and on B add up to one count; the lock holds on both.
test_lockout_adds_up_across_hosts() {
        fleet_setup "lockout.deny=4" "lockout.unlock_time=600"
        sa_user alice "$PW" > /dev/null
        local i
        for i in 1 2; do
                expect_eq "$(sa_error AccountLogin alice wrong local '@a{sv} {}')" InvalidCredentials "A failure $i"
                expect_eq "$(on_b sa_error AccountLogin alice wrong local '@a{sv} {}')" InvalidCredentials "B failure $i"
        done
        # The refusal goes out before its failure is written: wait (bounded).
        for i in $(seq 1 100); do
                [ "$(sa_sql "SELECT failures FROM accounts WHERE username = 'alice'")" = 4 ] && break
                sleep 0.05
        done
        expect_eq "$(sa_sql "SELECT failures FROM accounts WHERE username = 'alice'")" 4 "failures counted"
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked "locked on A"
        expect_eq "$(on_b sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked "locked on B"
}

# apikey_refused_on_b_within KEY SECONDS — on B: polls ApiAccess (bounded)
# until it refuses KEY as InvalidCredentials; prints the milliseconds it
# took, fails after SECONDS. B learns of a revocation from the change
# feed, after A has answered.
apikey_refused_on_b_within() {
        local key=$1 limit_ms=$(($2 * 1000)) start now
        start=$(date +%s%3N)
        while :; do
                [ "$(on_b sa_error ApiAccess "'$key'" "['full']" 2>/dev/null)" = InvalidCredentials ] && break
                now=$(date +%s%3N)
                [ $((now - start)) -le "$limit_ms" ] || fail "B still accepts the key after $((now - start)) ms"
                sleep 0.05
        done
        echo $(($(date +%s%3N) - start))
}

# An API key made on A works on B; revoked on A, B refuses it within a
# second (the change feed).
test_apikey_across_hosts() {
        fleet_setup
        local uid key id ms
        uid=$(sa_user alice "$PW")
        key=$(sa_call CreateApiKey ssast "$uid" ci 1 full 0)
        id=$(jget id <<<"$key")
        key=$(jget apikey <<<"$key")
        expect_eq "$(on_b sa_call ApiAccess sas "$key" 1 full | jget uid)" "$uid" "key from A on B"
        sa_call RevokeApiKey s "$id" > /dev/null
        ms=$(apikey_refused_on_b_within "$key" 1)
        note "refused on B after $ms ms"
}

# VERIFY_WITHIN TOKEN SECONDS — on B: polls VerifyToken (bounded) until it
# refuses the token; prints the milliseconds it took, fails after SECONDS.
refused_on_b_within() {
        local tok=$1 limit_ms=$(($2 * 1000)) start now
        start=$(date +%s%3N)
        while :; do
                on_b sa_error VerifyToken "'$tok'" 2>/dev/null | grep -q InvalidToken && break
                now=$(date +%s%3N)
                [ $((now - start)) -le "$limit_ms" ] || fail "B still accepts the token after $((now - start)) ms"
                sleep 0.05
        done
        echo $(($(date +%s%3N) - start))
}

# Each host signs with its own key; the public keys are in the store, so a
# token from A verifies on B (and the other way), and AuthParams on either
# lists both hosts' keys.
test_token_from_a_verifies_on_b() {
        fleet_setup
        local uid ta tb kids
        uid=$(sa_user alice "$PW")
        ta=$(sa_login alice "$PW" | jget jwt_token)
        tb=$(on_b sa_login alice "$PW" | jget jwt_token)
        expect_eq "$(on_b sa_call VerifyToken s "$ta" | jget uid)" "$uid" "A's token on B"
        expect_eq "$(sa_call VerifyToken s "$tb" | jget uid)" "$uid" "B's token on A"
        expect_ne "$(sa_call AuthParams s "$ta" | jget public_key)" "$(on_b sa_call AuthParams s "$tb" | jget public_key)" \
                "each host its own key"
        for host in sa_call "on_b sa_call"; do
                kids=$($host AuthParams s "$ta" | jget jwks | jq -r '.keys | length')
                expect_eq "$kids" 2 "keys listed by $host"
        done
        expect_eq "$(sa_sql "SELECT COUNT(*) FROM signing_keys")" 2 "keys in the store"
}

# Logout on A: B refuses the token within a second (the change feed), and
# again after B's feed connection was cut and came back (a full reload).
test_logout_on_a_refused_on_b() {
        fleet_setup
        local ta tb ms uid
        uid=$(sa_user alice "$PW")
        ta=$(sa_login alice "$PW" | jget jwt_token)
        tb=$(sa_login alice "$PW" | jget jwt_token)
        on_b sa_call VerifyToken s "$ta" > /dev/null
        on_b sa_call VerifyToken s "$tb" > /dev/null
        sa_call Logout s "$ta" > /dev/null
        ms=$(refused_on_b_within "$ta" 1)
        note "refused on B after $ms ms"
        expect_eq "$(on_b sa_call VerifyToken s "$tb" | jget uid)" "$uid" "the other session lives"
        # Cut every connection of the hosts (as a failover does), revoke
        # meanwhile: B learns it from the reload once its feed is back.
        local pids i
        pids=$(sa_sql "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
                WHERE application_name = 'sauthd' AND pid <> pg_backend_pid()")
        [ -n "$pids" ] || fail "no sauthd connections to cut"
        sa_sql "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid IN ($pids)" > /dev/null
        # Gone, not only told to go: a statement a backend is still running
        # when it dies fails (as in a failover), and is not what this tests.
        for i in $(seq 1 100); do
                [ "$(sa_sql "SELECT COUNT(*) FROM pg_stat_activity WHERE pid IN ($pids)")" = 0 ] && break
                sleep 0.05
        done
        sa_call Logout s "$tb" > /dev/null
        ms=$(refused_on_b_within "$tb" 5)
        note "refused on B after a reconnect in $ms ms"
        grep -q "change feed back" "$T/b/sauthd.log" || fail "B did not log its feed's return"
}

# Both hosts pump the one outbox: each message goes out once.
test_mail_sent_once_across_hosts() {
        fleet_setup
        local i
        for i in $(seq 1 10); do
                sa_register "a$i" > /dev/null
                on_b sa_register "b$i" > /dev/null
        done
        sa_mail_drain 30
        on_b sa_mail_drain 30
        sleep 1
        expect_eq "$(sa_mail_count)" 20 "messages sent"
        expect_eq "$(grep -l '^To: ' "$T"/mail/*.eml | xargs grep -h '^To: ' | sort | uniq -d | wc -l)" 0 \
                "recipients mailed twice"
}

# millis CMD... — runs CMD; prints how long it took in ms (its output and
# status are dropped).
millis() {
        local start
        start=$(date +%s%3N)
        ("$@") > /dev/null 2>&1 || true
        echo $(($(date +%s%3N) - start))
}

# One host whose database stops answering ([store] timeout = 2): a call
# that needs the store fails within the timeout as StoreUnavailable (PAM:
# AUTHINFO_UNAVAIL), later ones at once; what needs no database still
# answers; once the database is back, so is the service.
test_store_unreachable_bounded() {
        sa_setup "store.timeout=2"
        local tok ms out rc=0 i
        sa_user alice "$PW" > /dev/null
        tok=$(sa_login alice "$PW" | jget jwt_token)
        sa_pam_service sa
        pg_freeze
        ms=$(millis sa_error AccountLogin alice "$PW" local '@a{sv} {}')
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" StoreUnavailable "login, store frozen"
        [ "$ms" -lt 4500 ] || fail "the first login waited $ms ms for a frozen store"
        ms=$(millis sa_error AccountLogin alice "$PW" local '@a{sv} {}')
        [ "$ms" -lt 1000 ] || fail "a later login waited $ms ms"
        ms=$(millis sa_call Methods)
        [ "$ms" -lt 1000 ] || fail "Methods took $ms ms"
        ms=$(millis sa_call VerifyToken s "$tok")
        [ "$ms" -lt 1000 ] || fail "VerifyToken took $ms ms"
        expect_eq "$(sa_call VerifyToken s "$tok" | jget method)" local "VerifyToken from memory"
        out=$(echo "$PW" | sa_pam sa alice authenticate) || rc=$?
        [ "$rc" -ne 0 ] || fail "PAM succeeded with the store frozen"
        expect_match "$out" "Authentication service cannot retrieve authentication info" "PAM, store frozen"
        pg_thaw
        for i in $(seq 1 100); do
                (sa_login alice "$PW") > /dev/null 2>&1 && break
                sleep 0.1
        done
        expect_eq "$(sa_login alice "$PW" | jget username)" alice "login once the store is back"
}

# While calls wait on a database that stopped answering, the loop still
# answers what it holds in memory (Methods, VerifyToken, AuthParams,
# ApiAccess): those calls come back while the waiting ones are still
# waiting. More waiting calls than store workers ([store] pool_size = 2)
# all get StoreUnavailable, the queued ones too, within about the timeout.
test_loop_answers_while_store_waits() {
        sa_setup "store.timeout=3" "store.pool_size=2"
        local uid tok key i pids=() rc start ms
        uid=$(sa_user alice "$PW")
        tok=$(sa_login alice "$PW" | jget jwt_token)
        key=$(sa_call CreateApiKey ssast "$uid" ci 1 full 0 | jget apikey)
        pg_freeze
        start=$(date +%s%3N)
        for i in 1 2 3 4 5 6; do
                sa_error AccountStatus alice > "$T/waiting.$i" 2>&1 &
                pids+=($!)
        done
        sleep 0.3
        expect_match "$(sa_call Methods)" "local" "Methods while the store waits"
        expect_eq "$(sa_call VerifyToken s "$tok" | jget uid)" "$uid" "VerifyToken while the store waits"
        expect_match "$(sa_call AuthParams s "$tok" | jget issuer)" "." "AuthParams while the store waits"
        expect_eq "$(sa_call ApiAccess sas "$key" 1 full | jget uid)" "$uid" "ApiAccess while the store waits"
        # The answers came while every worker still waited on the store.
        kill -0 "${pids[0]}" 2>/dev/null || fail "the waiting calls ended before the cheap ones were answered"
        for i in "${!pids[@]}"; do
                rc=0
                wait "${pids[$i]}" || rc=$?
                expect_eq "$rc" 0 "waiting call $((i + 1)) answered"
        done
        ms=$(($(date +%s%3N) - start))
        for i in 1 2 3 4 5 6; do
                expect_eq "$(cat "$T/waiting.$i")" StoreUnavailable "waiting call $i"
        done
        # Three seconds for the two that reached the store; the four queued
        # behind them expire with them, not three seconds later each.
        [ "$ms" -lt 6000 ] || fail "six calls on a frozen store took $ms ms"
        pg_thaw
        for i in $(seq 1 100); do
                [ "$(sa_call AccountStatus s alice 2>/dev/null | jget exists)" = true ] && break
                sleep 0.1
        done
        expect_eq "$(sa_call AccountStatus s alice | jget exists)" true "the store is back"
}

# Two hosts started at the same moment on an empty database: one migrates
# it, the other finds the work done (the migration lock, and each step
# looked at again under the write lock). Every schema version is recorded
# once, neither host logs an error or a warning, and both serve the one
# store. A race: a double migration shows in most runs, not every one.
test_empty_database_migrated_once() {
        fleet_prepare
        local want uid
        # A database of its own, made here: nothing in it yet.
        PG_DB=sauth_fresh
        pg_conninfo "$PG_DB"
        expect_eq "$(sa_sql "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")" 0 \
                "tables in the fresh database"
        want=$(sed -n 's/^#define STORE_SCHEMA_VERSION \([0-9][0-9]*\)$/\1/p' "$TESTS_DIR/../sauthd/store/store.h")
        [ -n "$want" ] || fail "no STORE_SCHEMA_VERSION in store.h"
        fleet_spawn_a
        fleet_spawn_b
        fleet_wait_ready A "$BUS_ADDRESS" "$SAUTHD_PID" "$T/sauthd.log"
        fleet_wait_ready B "$B_ADDRESS" "$B_PID" "$T/b/sauthd.log"
        expect_eq "$(sa_sql "SELECT COUNT(*), COUNT(DISTINCT version), MIN(version), MAX(version)
                FROM schema_version")" "$want|$want|1|$want" "schema_version rows, distinct, first, last"
        uid=$(sa_user alice "$PW")
        expect_eq "$(on_b sa_login alice "$PW" | jget uid)" "$uid" "registered on A, login on B"
        on_b sa_register bob > /dev/null
        expect_eq "$(sa_call AccountStatus s bob | jget exists)" true "registered on B, seen on A"
        # Levels 0 to 4 (emergency to warning), and any word of a clash.
        expect_no_match "$(cat "$T/sauthd.log")" "^<[0-4]>|duplicate|already exists" "log of A"
        expect_no_match "$(cat "$T/b/sauthd.log")" "^<[0-4]>|duplicate|already exists" "log of B"
}

# The database really restarts (a fast shutdown: every connection cut, the
# socket gone; then a start on the same data dir and socket). Meanwhile a
# call that needs the store fails as StoreUnavailable within the
# configured [store] timeout on both hosts, and what needs no database
# (Methods) is still answered. Once the database is back, logins work
# again on both hosts (a bounded wait), with neither sauthd restarted.
test_database_restart_both_hosts_recover() {
        local timeout_s=2
        fleet_setup "store.timeout=$timeout_s"
        local ms i out start log host run
        sa_user alice "$PW" > /dev/null
        expect_eq "$(on_b sa_login alice "$PW" | jget username)" alice "login on B before the restart"
        pg_down
        for host in A B; do
                run=""
                [ "$host" = A ] || run=on_b
                start=$(date +%s%3N)
                expect_eq "$($run sa_error AccountLogin alice "$PW" local '@a{sv} {}')" StoreUnavailable \
                        "login on $host, database down"
                ms=$(($(date +%s%3N) - start))
                [ "$ms" -lt $((timeout_s * 1000 + 2500)) ] ||
                        fail "login on $host waited $ms ms for a database that is down"
                ms=$($run millis sa_call Methods)
                [ "$ms" -lt 1000 ] || fail "Methods on $host took $ms ms with the database down"
                expect_match "$($run sa_call Methods)" "local" "Methods on $host, database down"
        done
        pg_up
        start=$(date +%s%3N)
        for host in A B; do
                run=""
                [ "$host" = A ] || run=on_b
                out=""
                for i in $(seq 1 150); do
                        out=$($run sa_login alice "$PW" 2> /dev/null) && break
                        out=""
                        sleep 0.1
                done
                [ -n "$out" ] || fail "no login on $host within 15 s of the database's return"
                note "login on $host $(($(date +%s%3N) - start)) ms after the database's return"
                expect_eq "$(jget username <<<"$out")" alice "login on $host after the restart"
        done
        # Each connection of a host that found the database gone has a
        # thread of its own trying again every second; the first to get
        # through wakes the others, so from the first login that works,
        # every one does, on whichever store worker it lands (before, one
        # failed up to a second later, its connection's thread asleep).
        for host in A B; do
                run=""
                [ "$host" = A ] || run=on_b
                for i in 1 2 3 4 5 6 7 8; do
                        expect_eq "$($run sa_login alice "$PW" | jget username)" alice "login $i on $host, at once"
                done
        done
        # Each host's change feed is back too (bounded), so what one host
        # writes reaches the other's caches again.
        for log in "$T/sauthd.log" "$T/b/sauthd.log"; do
                for i in $(seq 1 150); do
                        grep -q "change feed back" "$log" && break
                        sleep 0.1
                done
                grep -q "change feed back" "$log" || fail "no change feed back within 15 s in $log"
        done
        kill -0 "$SAUTHD_PID" 2>/dev/null || fail "sauthd A is gone"
        kill -0 "$B_PID" 2>/dev/null || fail "sauthd B is gone"
        expect_eq "$(grep -c "ready:" "$T/sauthd.log")" 1 "starts of A"
        expect_eq "$(grep -c "ready:" "$T/b/sauthd.log")" 1 "starts of B"
}

# last_used of an API key is noted in memory by the host the key was used
# on and written in batches. Used on B, then revoked on A: B's write (at
# the revocation's notice or at B's clean stop) neither undoes the
# revocation nor is lost with the entry B drops.
test_apikey_last_used_on_b_survives_revoke_on_a() {
        fleet_setup
        local uid key id before used revoked
        uid=$(sa_user alice "$PW")
        key=$(sa_call CreateApiKey ssast "$uid" ci 1 full 0)
        id=$(jget id <<<"$key")
        key=$(jget apikey <<<"$key")
        # B hears the key's notice and reloads alice's keys, writing what it
        # counted first: let that land before the use, or it may write it.
        sleep 1
        before=$(date +%s)
        expect_eq "$(on_b sa_call ApiAccess sas "$key" 1 full | jget uid)" "$uid" "key from A used on B"
        used=$(on_b sa_call ListApiKeys s "$uid" | jq -r '.data[0].keys.data[0].last_used.data')
        [ "$used" -ge "$before" ] || fail "last_used on B $used, expected >= $before"
        expect_eq "$(sa_sql "SELECT last_used FROM api_keys WHERE id = '$id'")" 0 "last_used not yet in the store"
        sa_call RevokeApiKey s "$id" > /dev/null
        apikey_refused_on_b_within "$key" 1 > /dev/null
        fleet_stop_b
        revoked=$(sa_sql "SELECT revoked FROM api_keys WHERE id = '$id'")
        [ "$revoked" -ge "$before" ] || fail "the key is no longer revoked in the store (revoked = '$revoked')"
        expect_eq "$(sa_sql "SELECT last_used FROM api_keys WHERE id = '$id'")" "$used" "last_used from B in the store"
        expect_eq "$(sa_error ApiAccess "'$key'" "['full']")" InvalidCredentials "still revoked on A"
}

# [store] conninfo_file holds a secret (it may hold a password): a file
# that group or other may read is refused at start, naming the file and
# never showing what it holds. Made 0600, the same file is taken.
test_conninfo_file_0644_refused() {
        sa_prepare
        sa_start_bus
        chmod 644 "$T/conninfo"
        local rc=0 out
        timeout 30 env "${NSS_ENV[@]}" "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" \
                > "$T/out" 2>&1 || rc=$?
        expect_ne "$rc" 0 "exit code"
        expect_ne "$rc" 124 "exit code (still running after 30 s)"
        out=$(cat "$T/out")
        expect_match "$out" "$T/conninfo: refused, it holds a secret and group or other may access it \(mode 0644\)" \
                "message"
        expect_no_match "$out" "dbname=|user=sauth|host=" "conninfo text in the message"
        chmod 600 "$T/conninfo"
        sa_start_daemon
        sa_call Methods > /dev/null
}

# kill -9 of A during a flood of writes: everything A acknowledged is in
# the store, and B answers throughout: a loop of logins on B, from before
# the kill to after it, has none fail.
test_sigkill_of_a_loses_nothing_acknowledged() {
        fleet_setup
        local uid client user missing=0 i b_loop killed_at
        uid=$(sa_user pwuser "$PW")
        sa_user bob "$PW" > /dev/null
        : > "$T/acked"
        : > "$T/b-ok"
        : > "$T/b-failed"
        # Logins on B one after the other until told to stop (60 s at
        # most); each one's end time goes to b-ok or b-failed.
        (
                end=$(($(date +%s) + 60))
                while [ ! -e "$T/b-stop" ] && [ "$(date +%s)" -lt "$end" ]; do
                        if (on_b sa_login bob "$PW") > /dev/null 2>&1; then
                                date +%s%3N >> "$T/b-ok"
                        else
                                date +%s%3N >> "$T/b-failed"
                        fi
                done
        ) &
        b_loop=$!
        EXTRA_PIDS+=("$b_loop")
        /usr/bin/python3 "$TESTS_DIR/integration/flood.py" "$BUS_ADDRESS" "$BUS_NAME" "$BUS_PATH" \
                "$BUS_IFACE" "fl" "$uid" "$T/acked" &
        client=$!
        for i in $(seq 1 500); do
                [ "$(grep -c '^register' "$T/acked")" -ge 3 ] && break
                sleep 0.02
        done
        expect_eq "$(on_b sa_login bob "$PW" | jget username)" bob "B during the flood"
        sleep "0.$((RANDOM % 5 + 1))"
        kill -KILL "$SAUTHD_PID"
        wait "$SAUTHD_PID" 2>/dev/null || true
        SAUTHD_PID=""
        killed_at=$(date +%s%3N)
        wait "$client" 2>/dev/null || true
        grep -q "^register" "$T/acked" || fail "the flood acknowledged nothing"
        while read -r kind user; do
                [ "$kind" = register ] || continue
                [ "$(sa_sql "SELECT COUNT(*) FROM accounts WHERE username = '$user'")" = 1 ] ||
                        { note "lost: $user"; missing=$((missing + 1)); }
        done < "$T/acked"
        expect_eq "$missing" 0 "acknowledged registrations lost"
        while read -r kind user; do
                [ "$kind" = reset ] || continue
                [ "$(sa_sql "SELECT COUNT(*) FROM tokens t JOIN accounts a ON a.uid = t.uid
                        WHERE a.username = '$user' AND t.purpose = 'reset'")" -ge 1 ] ||
                        { note "reset lost: $user"; missing=$((missing + 1)); }
        done < "$T/acked"
        expect_eq "$missing" 0 "acknowledged reset tokens lost"
        expect_eq "$(on_b sa_login bob "$PW" | jget username)" bob "B after A died"
        # The loop on B ran across the kill: logins ended before it and
        # after it (waited for, bounded), and none failed.
        for i in $(seq 1 100); do
                [ "$(tail -n 1 "$T/b-ok")" -gt "$killed_at" ] 2>/dev/null && break
                sleep 0.05
        done
        touch "$T/b-stop"
        wait "$b_loop" || true
        fleet_forget "$b_loop"
        [ "$(head -n 1 "$T/b-ok")" -lt "$killed_at" ] || fail "no login on B ended before A was killed"
        [ "$(tail -n 1 "$T/b-ok")" -gt "$killed_at" ] || fail "no login on B ended after A was killed"
        note "logins on B: $(wc -l < "$T/b-ok") ok, $(wc -l < "$T/b-failed") failed"
        expect_eq "$(wc -l < "$T/b-failed")" 0 "logins on B that failed"
}

sa_main "$@"
