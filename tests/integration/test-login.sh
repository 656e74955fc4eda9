#!/bin/bash
# Registration, confirmation tokens, local logins, lockout, account status
# and who may call what — over a real bus.
. "$(dirname "$0")/lib.sh"

PW="correct horse battery staple"

test_register_token_first_password_login() {
        sa_setup
        local reply uid tok
        reply=$(sa_call Register sssss alice@example.org alice "Alice Liddell" "" "")
        uid=$(jget uid <<<"$reply")
        expect_match "$uid" '^x-[0-9a-f]{16}$' "uid"
        expect_match "$(jget contact_id <<<"$reply")" '^x-' "contact_id"
        expect_match "$(jget account_id <<<"$reply")" '^x-' "account_id"
        expect_eq "$(sa_wait_mails 1)" 1 "mails sent"
        tok=$(sa_mailed_token alice@example.org)
        expect_eq "${#tok}" 43 "token length"
        # The token is only in the mail: not in the reply, not in the store.
        expect_no_match "$reply" "$tok" "Register reply"
        if sa_sql_dump | grep -q -- "$tok"; then fail "token text stored in the database"; fi
        # Before the first password: no login, status says must change.
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" InvalidCredentials "login before password"
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" true "must change"
        sa_call ChangePassword sssss "$uid" "$PW" "$tok" "" "$PW" > /dev/null
        reply=$(sa_login alice "$PW")
        expect_eq "$(jget uid <<<"$reply")" "$uid" "login uid"
        expect_eq "$(jget username <<<"$reply")" alice "login username"
        expect_eq "$(jget roles <<<"$reply")" "user" "roles"
        expect_match "$(jget expires <<<"$reply")" '^[0-9]{10}$' "expires"
        for k in jwt_token account_id settings_id resources; do
                jq -e --arg k "$k" '.data[0] | has($k)' <<<"$reply" > /dev/null || fail "login reply lacks $k"
        done
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" false "must change after"
}

test_wrong_password_and_unknown_user_same_error() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(sa_error AccountLogin alice "wrong password" local '@a{sv} {}')" InvalidCredentials "wrong password"
        expect_eq "$(sa_error AccountLogin nobody "wrong password" local '@a{sv} {}')" InvalidCredentials "unknown user"
        # Same message text too.
        local a b
        a=$(gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" --method "$BUS_IFACE.AccountLogin" alice x local '@a{sv} {}' 2>&1 || true)
        b=$(gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" --method "$BUS_IFACE.AccountLogin" nobody x local '@a{sv} {}' 2>&1 || true)
        expect_eq "$a" "$b" "error text for wrong password vs unknown user"
        # Unknown users cost an Argon2id verify too: the log shows the attempt
        # went through the same path, and never the unknown name.
        expect_no_match "$(cat "$T/sauthd.log")" "nobody" "log"
}

# Unknown users cost an Argon2id verify on the pool like known ones. Seen
# without timing: with one worker and room for one job, while a login
# holds the pool, a login for an unknown user is refused for lack of room
# (LimitExceeded) exactly like one for a known user — it needed a hash too.
test_unknown_user_costs_a_hash() {
        sa_setup "password.hash_mem_kib=262144" "password.hash_ops=4" "daemon.workers=1" "daemon.max_queue=1"
        sa_user alice "$PW" > /dev/null
        sa_login alice "$PW" > "$T/first.out" &
        local client=$! i
        for i in $(seq 1 100); do
                grep -q "login attempt" "$T/sauthd.log" && break
                sleep 0.02
        done
        expect_eq "$(sa_error AccountLogin nobody "$PW" local '@a{sv} {}')" LimitExceeded "unknown user while the pool is full"
        expect_eq "$(sa_error AccountLogin alice wrong local '@a{sv} {}')" LimitExceeded "known user while the pool is full"
        wait "$client" || fail "the first login failed"
        # With the pool free again, the unknown user gets the usual answer.
        expect_eq "$(sa_error AccountLogin nobody "$PW" local '@a{sv} {}')" InvalidCredentials "unknown user"
}

test_token_reuse_refused() {
        sa_setup
        local uid tok
        uid=$(sa_register alice)
        tok=$(sa_mailed_token alice@example.org)
        sa_call ChangePassword sssss "$uid" "$PW" "$tok" "" "$PW" > /dev/null
        expect_eq "$(sa_error ChangePassword "$uid" "another fine horse battery" "$tok" "" "another fine horse battery")" InvalidToken "second use"
        sa_login alice "$PW" > /dev/null
}

test_token_of_other_uid_refused() {
        sa_setup
        local alice bob tok
        alice=$(sa_register alice)
        bob=$(sa_register bob)
        tok=$(sa_mailed_token alice@example.org)
        expect_eq "$(sa_error ChangePassword "$bob" "$PW" "$tok" "" "$PW")" InvalidToken "alice's token for bob"
        # Still good for alice: the refused attempt did not consume it.
        sa_call ChangePassword sssss "$alice" "$PW" "$tok" "" "$PW" > /dev/null
}

test_expired_token_refused() {
        # Lifetimes count in whole seconds: one of 1 s can end a moment after
        # registration, before the outbox has sent the mail (CI saw "expired
        # after 0 attempts"). Three leave the sender two seconds at least.
        sa_setup "tokens.confirm_lifetime=3"
        local uid tok
        uid=$(sa_register alice)
        tok=$(sa_mailed_token alice@example.org)
        sleep 3.2
        expect_eq "$(sa_error ChangePassword "$uid" "$PW" "$tok" "" "$PW")" InvalidToken "expired token"
}

test_garbage_token_refused() {
        sa_setup
        local uid
        uid=$(sa_register alice)
        expect_eq "$(sa_error ChangePassword "$uid" "$PW" "not-a-token" "" "$PW")" InvalidToken "garbage token"
        expect_eq "$(sa_error ChangePassword "$uid" "$PW" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" "$PW")" InvalidToken "well-formed unknown token"
}

test_register_duplicates_and_empty_fields() {
        sa_setup
        sa_register alice > /dev/null
        expect_eq "$(sa_error Register other@example.org alice "A" "" "")" AlreadyRegistered "duplicate username"
        expect_eq "$(sa_error Register Alice+tag@Example.org alice2 "A" "" "")" AlreadyRegistered "duplicate identity (normalised)"
        expect_eq "$(sa_error Register "" carol "C" "" "")" InvalidArgument "empty identity"
        # An empty user name registers a person without an account (apicrud's
        # two-step registration, test-roles.sh); the identity must be free.
        expect_eq "$(sa_error Register alice@example.org "" "C" "" "")" AlreadyRegistered "empty username, identity taken"
        expect_eq "$(sa_error Register c@example.org carol "" "" "")" InvalidArgument "empty name"
        expect_eq "$(sa_error Register not-an-email carol "C" "" "")" InvalidArgument "bad identity"
        expect_eq "$(sa_error Register c@example.org "Bad Name" "C" "" "")" InvalidArgument "bad username"
        expect_eq "$(sa_error Register c@example.org carol "C" "../../etc/passwd" "")" InvalidArgument "bad template"
        # A failed registration leaves nothing behind: carol can register now.
        sa_register carol > /dev/null
}

test_disabled_account_refused() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        sa_call SetAccountStatus ss alice disabled > /dev/null
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountDisabled "disabled, right password, admin caller"
        expect_eq "$(sa_call AccountStatus s alice | jget status)" disabled "status"
        sa_call SetAccountStatus ss alice active > /dev/null
        sa_login alice "$PW" > /dev/null
        expect_eq "$(sa_error SetAccountStatus alice frozen)" InvalidArgument "bad status"
        expect_eq "$(sa_error SetAccountStatus nobody disabled)" NotFound "unknown account (admin caller)"
}

test_lockout_after_failures_persists() {
        sa_setup "lockout.deny=3" "lockout.unlock_time=600"
        sa_user alice "$PW" > /dev/null
        local i
        for i in 1 2 3; do
                expect_eq "$(sa_error AccountLogin alice wrong local '@a{sv} {}')" InvalidCredentials "failure $i"
        done
        # Root (admin) is told the account is locked, even with the right
        # password; the lock survives a restart.
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked "locked"
        expect_match "$(sa_call AccountStatus s alice | jget locked_until)" '^[1-9][0-9]+$' "locked_until"
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked "locked after restart"
}

test_lockout_hidden_from_non_admin() {
        sa_setup "lockout.deny=2"
        sa_user alice "$PW" > /dev/null
        sa_error AccountLogin alice wrong local '@a{sv} {}' > /dev/null
        sa_error AccountLogin alice wrong local '@a{sv} {}' > /dev/null
        # Someone else only ever learns "invalid credentials".
        expect_eq "$(sa_error_as 4243 AccountLogin alice "$PW" local '@a{sv} {}')" InvalidCredentials "locked, non-admin"
}

test_success_resets_failure_count() {
        sa_setup "lockout.deny=3"
        sa_user alice "$PW" > /dev/null
        sa_error AccountLogin alice wrong local '@a{sv} {}' > /dev/null
        sa_error AccountLogin alice wrong local '@a{sv} {}' > /dev/null
        sa_login alice "$PW" > /dev/null
        sa_error AccountLogin alice wrong local '@a{sv} {}' > /dev/null
        sa_error AccountLogin alice wrong local '@a{sv} {}' > /dev/null
        sa_login alice "$PW" > /dev/null
}

test_rehash_when_cost_changes() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        expect_match "$(sa_sql "select password from accounts where username='alice'")" 'm=8192,t=1,' "hash cost before"
        sa_stop_daemon
        sa_write_config "password.hash_mem_kib=16384" "password.hash_ops=2"
        sa_start_daemon
        sa_login alice "$PW" > /dev/null
        expect_match "$(sa_sql "select password from accounts where username='alice'")" 'm=16384,t=2,' "hash cost after"
        sa_login alice "$PW" > /dev/null
}

test_non_admin_callers_limited() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        expect_eq "$(sa_error_as 4243 Register x@example.org xuser X "" "")" AccessDenied "Register (register=admin)"
        expect_eq "$(sa_error_as 4243 AccountStatus alice)" AccessDenied "AccountStatus of another"
        expect_eq "$(sa_error_as 4243 SetAccountStatus alice disabled)" AccessDenied "SetAccountStatus"
        expect_eq "$(sa_error_as 4243 SetAccountAdmin alice true)" AccessDenied "SetAccountAdmin"
        expect_eq "$(sa_error_as 4243 ExpirePassword alice)" AccessDenied "ExpirePassword"
        # Anyone may log in and list methods.
        sa_call_as 4243 Methods > /dev/null || fail "Methods as bob"
        sa_call_as 4243 AccountLogin sssa{sv} alice "$PW" local 0 > /dev/null || fail "login as bob"
}

test_self_reads_own_status_only() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        sa_user bob "$PW" > /dev/null
        # Unix user alice (uid 4242) is "self" for the account alice.
        expect_eq "$(sa_call_as 4242 AccountStatus s alice | jget exists)" true "alice reads her status"
        expect_eq "$(sa_error_as 4242 AccountStatus bob)" AccessDenied "alice reads bob's status"
}

test_admin_group_member_is_admin() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        # carol (4244) is in sauth-admin; dave (4245) is not.
        sa_call_as 4244 SetAccountStatus ss alice disabled > /dev/null || fail "carol, admin group, could not disable"
        expect_eq "$(sa_call AccountStatus s alice | jget status)" disabled "status set by carol"
        expect_eq "$(sa_error_as 4245 SetAccountStatus alice active)" AccessDenied "dave is not admin"
}

test_open_registration() {
        sa_setup "login.register=open"
        sa_call_as 4243 Register sssss x@example.org xuser X "" "" > /dev/null || fail "open Register as bob"
        # Names of Unix users are not for strangers: PAM would take the
        # stranger's password for them.
        expect_eq "$(sa_error_as 4243 Register evil@example.org root X "" "")" AccessDenied "bob registers root"
        expect_eq "$(sa_error_as 4243 Register evil@example.org alice X "" "")" AccessDenied "bob registers alice"
        sa_call_as 4243 Register sssss bob@example.org bob Bob "" "" > /dev/null || fail "bob registers bob"
        sa_call Register sssss alice@example.org alice Alice "" "" > /dev/null || fail "root registers alice"
}

# Open registration is bounded per caller and in total; admins are not.
test_open_registration_rate_limited() {
        sa_setup "login.register=open" "login.registrations_per_caller=3" "login.registrations_per_hour=5"
        local i
        for i in 1 2 3; do
                sa_call_as 4243 Register sssss "b$i@example.org" "bu$i" B "" "" > /dev/null || fail "bob's registration $i"
        done
        expect_eq "$(sa_error_as 4243 Register b4@example.org bu4 B "" "")" RateLimited "bob's fourth"
        # Another caller has its own allowance, up to the total of 5.
        sa_call_as 4245 Register sssss d1@example.org du1 D "" "" > /dev/null || fail "dave's first"
        sa_call_as 4245 Register sssss d2@example.org du2 D "" "" > /dev/null || fail "dave's second"
        expect_eq "$(sa_error_as 4245 Register d3@example.org du3 D "" "")" RateLimited "over the total"
        sa_call Register sssss r@example.org ruser R "" "" > /dev/null || fail "root is not limited"
        expect_eq "$(sa_call AccountStatus s bu4 | jget exists)" false "nothing made for a refused one"
        grep -q "SAUTH_EVENT=register SAUTH_RESULT=refused .*SAUTH_REASON=rate_limit" "$T/sauthd.log" ||
                fail "refusal not audited"
}

# A registration never confirmed expires with its token: purged (at start
# and hourly), its name and identity free again.
test_unconfirmed_registration_expires() {
        sa_setup "tokens.confirm_lifetime=1"
        local uid
        sa_register bob > /dev/null
        # alice's password is set by an admin (a confirmation token of one
        # second may run out on a slow machine before it is used): kept.
        uid=$(sa_register alice)
        sa_call ChangePassword sssss "$uid" "correct horse battery staple" "" "" "correct horse battery staple" > /dev/null
        sleep 2.1
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(sa_call AccountStatus s bob | jget exists)" false "bob purged"
        expect_eq "$(sa_call AccountStatus s alice | jget exists)" true "alice, with a password, kept"
        sa_register bob > /dev/null
        expect_eq "$(sa_call AccountStatus s bob | jget exists)" true "the name is free again"
}

test_register_refuses_control_characters() {
        sa_setup
        expect_eq "$(sa_error Register c@example.org carol "$(printf 'Carol\nBcc: x@example.org')" "" "")" InvalidArgument "newline in name"
}

# Parallel attempts: one worker, three wrong passwords queued, then the
# right one. Its hash is checked after the lock was set by the others, so
# it must be refused — not let through and the lock cleared.
test_lockout_holds_for_parallel_attempts() {
        # One hashing worker (admin_workers=0: these logins come from root,
        # which a kept worker would hash beside the others): the attempts
        # end in the order they came.
        sa_setup "lockout.deny=3" "daemon.workers=1" "daemon.admin_workers=0" "password.hash_mem_kib=65536" "password.hash_ops=3"
        sa_user alice "$PW" > /dev/null
        local pids=() i n
        for i in 1 2 3; do
                sa_error AccountLogin alice "wrong $i" local '@a{sv} {}' > "$T/wrong.$i" &
                pids+=($!)
        done
        for i in $(seq 1 250); do
                n=$(grep -c "login attempt" "$T/sauthd.log" || true)
                [ "$n" -ge 3 ] && break
                sleep 0.02
        done
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked "right password after the lock"
        for i in "${pids[@]}"; do wait "$i"; done
        expect_eq "$(cat "$T"/wrong.* | sort -u)" InvalidCredentials "the wrong ones"
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" AccountLocked "still locked"
}

# One local user cannot fill the hash pool: with max_queue=4, a non-admin
# uid holds at most one job; another uid and root still get through.
test_hash_jobs_capped_per_caller() {
        sa_setup "daemon.workers=1" "daemon.max_queue=4" "password.hash_mem_kib=262144" "password.hash_ops=4"
        sa_user alice "$PW" > /dev/null
        sa_error_as 4243 AccountLogin alice wrong local '@a{sv} {}' > "$T/first" &
        local client=$! i
        for i in $(seq 1 100); do
                grep -q "login attempt" "$T/sauthd.log" && break
                sleep 0.02
        done
        expect_eq "$(sa_error_as 4243 AccountLogin alice wrong local '@a{sv} {}')" LimitExceeded "bob's second job"
        expect_eq "$(sa_error_as 4245 AccountLogin nobody wrong local '@a{sv} {}')" InvalidCredentials "dave still served"
        sa_login alice "$PW" > /dev/null
        wait "$client"
        expect_eq "$(cat "$T/first")" InvalidCredentials "bob's first job"
}

# ChangePassword tells a caller without credentials nothing about the
# account's names; the full rules apply once the old password is right.
test_change_password_rules_after_credentials() {
        sa_setup
        local uid
        uid=$(sa_register alice alice@example.org "Alice Liddell")
        sa_set_first_password "$uid" "$PW" alice@example.org
        local weak="Liddell-from-wonderland-1865"
        expect_eq "$(sa_error_as 4243 ChangePassword "$uid" "$weak" "" "" "$weak")" InvalidCredentials "stranger, no credentials"
        expect_eq "$(sa_error_as 4243 ChangePassword "$uid" "$weak" "" "wrong old" "$weak")" InvalidCredentials "stranger, wrong old password"
        expect_eq "$(sa_error_as 4243 ChangePassword "$uid" "$weak" "" "$PW" "$weak")" WeakPassword "right old password"
}

test_closed_internal_login() {
        sa_setup "login.internal=closed"
        expect_eq "$(sa_error AccountLogin alice "$PW" local '@a{sv} {}')" UnsupportedMethod "closed"
        expect_eq "$(sa_call Methods | jget items)" "" "no local item"
        expect_eq "$(sa_error AccountLogin alice "$PW" github '@a{sv} {}')" UnsupportedMethod "unknown method"
}

test_admin_role_and_account_add() {
        sa_setup
        local uid reply tok
        uid=$(sa_user alice "$PW")
        sa_call SetAccountAdmin sb alice true > /dev/null
        expect_eq "$(sa_login alice "$PW" | jget roles)" "admin user" "roles of an admin"
        expect_eq "$(sa_error AccountAdd alice2 "$uid")" AlreadyRegistered "second account for a person"
        expect_eq "$(sa_error AccountAdd bob x-0000000000000000)" NotFound "unknown person"
}

test_context_dict_accepted() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        sa_call AccountLogin sssa{sv} alice "$PW" local 3 service s sshd rhost s 192.0.2.1 extra u 7 > /dev/null
        expect_match "$(cat "$T/sauthd.log")" "service 'sshd', rhost '192.0.2.1'" "context logged"
}

test_context_wrong_type_refused() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        # A known key must hold a string; an unknown one of any type is skipped (above).
        expect_eq "$(sa_error AccountLogin alice "$PW" local '{"service": <uint32 7>}')" InvalidArgument "service as u"
}

test_oversized_arguments_refused() {
        sa_setup
        local long
        long=$(head -c 5000 /dev/zero | tr '\0' a)
        expect_eq "$(sa_error AccountLogin "$long" x local '@a{sv} {}')" InvalidCredentials "long user name"
        expect_eq "$(sa_error Register "$long@example.org" u U "" "")" InvalidArgument "long identity"
}

test_no_password_in_log() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        sa_login alice "$PW" > /dev/null
        sa_error AccountLogin alice "hunter2-secret" local '@a{sv} {}' > /dev/null
        if grep -q -e "$PW" -e hunter2 "$T/sauthd.log"; then fail "a password is in the log"; fi
}

# ---------------------------------------------------------------- lockout per source (rule 8)

# ctx SERVICE TTY RHOST — a PAM stack's login context, as gdbus takes it.
ctx() {
        echo "@a{sv} {'service': <'$1'>, 'tty': <'$2'>, 'rhost': <'$3'>}"
}

# Six wrong passwords from an ordinary uid stop that uid (RateLimited),
# slowed down on the way, and never lock the account for its owner.
test_ordinary_caller_cannot_lock_account() {
        sa_setup
        sa_user alice "$PW" > /dev/null
        local i t0 took
        t0=$(date +%s%N)
        for i in 1 2 3 4 5; do
                expect_eq "$(sa_error_as 4243 AccountLogin alice "wrong $i" local '@a{sv} {}')" InvalidCredentials \
                        "uid 4243, failure $i"
        done
        took=$((($(date +%s%N) - t0) / 1000000))
        [ "$took" -ge 3000 ] || fail "five failures in $took ms: not slowed down"
        expect_eq "$(sa_error_as 4243 AccountLogin alice "wrong 6" local '@a{sv} {}')" RateLimited "uid 4243, sixth"
        expect_eq "$(sa_error_as 4243 AccountLogin alice "$PW" local '@a{sv} {}')" RateLimited "uid 4243, right password"
        # Alice is not locked: through a PAM stack (root) and on her own.
        expect_eq "$(sa_call AccountStatus s alice | jget locked_until)" 0 "locked_until"
        sa_login alice "$PW" > /dev/null
        sa_call_as 4242 AccountLogin sssa{sv} alice "$PW" local 0 > /dev/null || fail "alice as herself"
        # Another ordinary uid is not held back by 4243's failures.
        expect_eq "$(sa_error_as 4245 AccountLogin alice wrong local '@a{sv} {}')" InvalidCredentials "uid 4245"
}

# A PAM stack's failures (root, with a remote host) lock the account, and
# the lock shows in sauthctl status.
test_pam_stack_failures_lock() {
        sa_setup "lockout.deny=3"
        sa_user alice "$PW" > /dev/null
        local i out
        for i in 1 2 3; do
                expect_eq "$(sa_error AccountLogin alice "wrong $i" local "$(ctx sshd ssh 198.51.100.$i)")" \
                        InvalidCredentials "failure $i"
        done
        expect_eq "$(sa_error AccountLogin alice "$PW" local "$(ctx sshd ssh 198.51.100.9)")" AccountLocked "locked"
        expect_eq "$(sa_error_as 4242 AccountLogin alice "$PW" local '@a{sv} {}')" InvalidCredentials \
                "alice herself while locked"
        out=$("$SAUTHCTL" --address "$BUS_ADDRESS" status alice)
        expect_match "$(grep locked_until <<<"$out")" '[0-9]{4}-[0-9]{2}-[0-9]{2}' "sauthctl status: $out"
        sleep 0.3       # the batch is written: the lock is in the store too
        sa_stop_daemon
        sa_start_daemon
        expect_eq "$(sa_error AccountLogin alice "$PW" local "$(ctx sshd ssh 198.51.100.9)")" AccountLocked \
                "locked after restart"
}

# One source guessing across accounts is stopped ([lockout]
# deny_per_source), real names and unknown ones alike; others are not.
test_per_source_limit_across_accounts() {
        sa_setup "lockout.deny_per_source=4"
        sa_user alice "$PW" > /dev/null
        sa_user bob "$PW" > /dev/null
        local name
        for name in alice ghost1 bob ghost2; do
                expect_eq "$(sa_error AccountLogin "$name" wrong local "$(ctx sshd ssh 203.0.113.7)")" \
                        InvalidCredentials "$name from 203.0.113.7"
        done
        expect_eq "$(sa_error AccountLogin alice "$PW" local "$(ctx sshd ssh 203.0.113.7)")" RateLimited \
                "203.0.113.7 stopped"
        expect_eq "$(sa_error AccountLogin ghost3 wrong local "$(ctx sshd ssh 203.0.113.7)")" RateLimited \
                "203.0.113.7, a new name"
        sa_call AccountLogin sssa{sv} alice "$PW" local 1 rhost s 192.0.2.1 > /dev/null || fail "another host"
        for name in alice ghost1 bob ghost2; do
                expect_eq "$(sa_error_as 4243 AccountLogin "$name" wrong local '@a{sv} {}')" InvalidCredentials \
                        "$name from uid 4243"
        done
        expect_eq "$(sa_error_as 4243 AccountLogin ghost4 wrong local '@a{sv} {}')" RateLimited "uid 4243 stopped"
}

# Unknown user names lock (for PAM stacks) and stop a caller (for anyone
# else) exactly like real ones.
test_unknown_users_lock() {
        sa_setup "lockout.deny=2"
        sa_user alice "$PW" > /dev/null
        local name
        for name in alice ghost; do
                sa_error AccountLogin "$name" wrong local '@a{sv} {}' > /dev/null
                sa_error AccountLogin "$name" wrong local '@a{sv} {}' > /dev/null
                expect_eq "$(sa_error AccountLogin "$name" wrong local '@a{sv} {}')" AccountLocked "$name, root"
        done
        # Registered, no password yet (the confirmation not used): a PAM
        # stack must not tell it from an unknown name by its lock.
        sa_register carol > /dev/null
        sa_error AccountLogin carol wrong local '@a{sv} {}' > /dev/null
        sa_error AccountLogin carol wrong local '@a{sv} {}' > /dev/null
        expect_eq "$(sa_error AccountLogin carol wrong local '@a{sv} {}')" AccountLocked "carol (no password yet), root"
        for name in bob ghost2; do
                sa_error_as 4243 AccountLogin "$name" wrong local '@a{sv} {}' > /dev/null
                sa_error_as 4243 AccountLogin "$name" wrong local '@a{sv} {}' > /dev/null
                expect_eq "$(sa_error_as 4243 AccountLogin "$name" wrong local '@a{sv} {}')" RateLimited "$name, uid 4243"
        done
}

# Rule 11: a failed login, then at once a cheap call, from an ordinary uid,
# one attempt per name: the cheap call's time must not tell real accounts
# from unknown names. Chance is 0.5; the bound is generous for a busy CI
# machine. The failed logins themselves cost the same (rule 4), at the
# default hash cost (t=2, 64 MiB), where a difference would show most.
test_probe_cannot_classify_accounts() {
        sa_setup "lockout.deny_per_source=0" "password.hash_ops=2" "password.hash_mem_kib=65536"
        local known="" unknown="" i out rate ratio
        for i in $(seq 1 16); do
                sa_user "real$i" "$PW" > /dev/null
                known+="${known:+,}real$i"
                unknown+="${unknown:+,}ghost$i"
        done
        sleep 0.3
        out=$(setpriv --reuid=4243 --regid=4243 --clear-groups \
                "$PROBE" --address "$BUS_ADDRESS" --known "$known" --unknown "$unknown") || fail "probe failed: $out"
        note "logins: $out"
        rate=$(sed -nE 's/.*classification_rate=([0-9.]+).*/\1/p' <<<"$out")
        ratio=$(sed -nE 's/.*unknown_over_known=([0-9.]+).*/\1/p' <<<"$out")
        awk -v r="$rate" 'BEGIN { exit !(r <= 0.85) }' || fail "the probe classified $rate of the names"
        awk -v r="$ratio" 'BEGIN { exit !(r >= 0.75 && r <= 1.25) }' || fail "unknown/known failed login $ratio"
        out=$(setpriv --reuid=4243 --regid=4243 --clear-groups \
                "$PROBE" --address "$BUS_ADDRESS" --known "$known" --unknown "$unknown" --forgot) || fail "probe failed: $out"
        note "resets: $out"
        rate=$(sed -nE 's/.*classification_rate=([0-9.]+).*/\1/p' <<<"$out")
        awk -v r="$rate" 'BEGIN { exit !(r <= 0.85) }' || fail "the reset probe classified $rate of the names"
}

# ---------------------------------------------------------------- load

# One uid flooding: calls held per connection and connections per uid are
# capped (LimitExceeded); root's PAM login still goes through.
test_flood_caps_limit_exceeded() {
        sa_setup "daemon.workers=1" "daemon.max_calls_per_connection=2" "daemon.max_connections_per_uid=2" \
                "password.hash_mem_kib=65536" "password.hash_ops=3"
        sa_user alice "$PW" > /dev/null
        local out pids=() i
        out=$(setpriv --reuid=4243 --regid=4243 --clear-groups \
                "$BUS_LOAD" --address "$BUS_ADDRESS" logins --user alice --count 6 --concurrency 6 <<<"$PW")
        note "one connection: $out"
        expect_match "$out" "first_error=$ERR.LimitExceeded" "calls per connection"
        expect_match "$out" " errors=4( |$)" "four of six refused"
        for i in 1 2 3; do
                setpriv --reuid=4243 --regid=4243 --clear-groups \
                        "$BUS_LOAD" --address "$BUS_ADDRESS" logins --user alice --count 2 --concurrency 2 \
                        <<<"$PW" > "$T/conn.$i" &
                pids+=($!)
                sleep 0.1
        done
        sa_login alice "$PW" > /dev/null
        for i in "${pids[@]}"; do wait "$i"; done
        note "three connections: $(cat "$T"/conn.*)"
        grep -q "first_error=$ERR.LimitExceeded" "$T"/conn.* || fail "a third connection was not refused"
}

# Issue 10's flood: one ordinary uid, eight connections, each keeping
# eight calls of one kind in flight (CheckPassword, AccountLogin, Register,
# ForgotPassword). Every kind is stopped by its own rule: the calls held
# per connection and connections per uid (LimitExceeded) for the logins
# and resets, the dialog rate limit (RateLimited) for CheckPassword, and
# Register is an admin's (AccessDenied). Root's login goes through
# meanwhile; sauthd answers afterwards.
test_mixed_flood_capped() {
        sa_setup "daemon.workers=1" "daemon.max_calls_per_connection=2" "daemon.max_connections_per_uid=4" \
                "password.hash_mem_kib=65536" "password.hash_ops=3"
        sa_user alice "$PW" > /dev/null
        local pid out k
        setpriv --reuid=4243 --regid=4243 --clear-groups "$BUS_LOAD" --address "$BUS_ADDRESS" flood \
                --method CheckPassword,AccountLogin,Register,ForgotPassword --user alice \
                --connections 8 --depth 8 --seconds 4 <<<"$PW" > "$T/flood.out" 2>&1 &
        pid=$!
        sleep 1
        kill -0 "$pid" 2>/dev/null || fail "the flood ended early: $(cat "$T/flood.out")"
        expect_eq "$(sa_login alice "$PW" | jget username)" alice "root's login during the flood"
        wait "$pid" || fail "bus-load: $(cat "$T/flood.out")"
        out=$(cat "$T/flood.out")
        note "flood: $out"
        # Which rule answers first depends on the store: on PostgreSQL the
        # calls wait for a store worker, so the per-connection cap also
        # meets CheckPassword and Register before their own rules do.
        for k in AccountLogin ForgotPassword; do
                expect_match "$out" "$k\.limit_exceeded=[1-9]" "$k capped"
        done
        expect_match "$out" "CheckPassword\.first_error=$ERR\.(RateLimited|LimitExceeded)( |$)" "CheckPassword stopped"
        expect_match "$out" "Register\.first_error=$ERR\.(AccessDenied|LimitExceeded)( |$)" "Register refused"
        expect_match "$out" "Register\.calls=([0-9]+) Register\.errors=\1 " "no Register let through"
        expect_eq "$(sa_sql "SELECT COUNT(*) FROM people WHERE identity LIKE '%@flood.example'")" 0 "accounts made by the flood"
        sa_call Methods > /dev/null || fail "Methods after the flood"
}

# Calls that do not hash are answered by the loop while every worker
# hashes.
test_cheap_calls_while_pool_saturated() {
        # One worker and none kept for admin callers (the logins below come
        # from root): one core hashes, as on a host with a worker per core
        # minus the loop's; with the kept worker as well, two 256 MiB hashes
        # of an ASan build on this test's two cores measured the machine.
        sa_setup "daemon.workers=1" "daemon.admin_workers=0" "password.hash_mem_kib=262144" "password.hash_ops=6"
        local uid key jwt m t0 took
        uid=$(sa_user alice "$PW")
        key=$(sa_call CreateApiKey ssast "$uid" k 1 full 0 | jget apikey)
        jwt=$(sa_login alice "$PW" | jget jwt_token)
        "$BUS_LOAD" --address "$BUS_ADDRESS" logins --user alice --count 3 --concurrency 3 <<<"$PW" > "$T/bg" &
        local bg=$!
        sleep 0.3
        for m in Methods AccountStatus ApiAccess VerifyToken GetRoles; do
                t0=$(date +%s%N)
                case $m in
                Methods) sa_call Methods > /dev/null ;;
                AccountStatus) sa_call AccountStatus s alice > /dev/null ;;
                ApiAccess) sa_call ApiAccess sas "$key" 1 full > /dev/null ;;
                VerifyToken) sa_call VerifyToken s "$jwt" > /dev/null ;;
                GetRoles) sa_call GetRoles ssss "$uid" "" "" "" > /dev/null ;;
                esac
                took=$((($(date +%s%N) - t0) / 1000000))
                note "$m: $took ms"
                [ "$took" -lt 500 ] || fail "$m took $took ms while the pool hashed"
        done
        [ ! -s "$T/bg" ] || fail "the logins were done before the cheap calls: $(cat "$T/bg")"
        wait "$bg"
}

sa_main "$@"
