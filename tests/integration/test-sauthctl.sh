#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sauthctl against a real sauthd on a private bus: its verbs, its exit codes
# (0 done, 1 refused, 2 usage, 3 unreachable), secrets only from stdin and
# never in its output or the daemon's log.
. "$(dirname "$0")/lib.sh"

PW1='Vq7#mZ2!pLx9@wRt'
PW2='Kd4$nB8^sYe3&hJu'
PW3='Tg5%cN1*rWq6)aZe'
PW4='Hx2=fU9+mQb7~eDp'

# A uid: run sauthctl as that user. The harness's nss_wrapper users
# (alice 4242, bob 4243, carol 4244 in sauth-admin) have names for
# dbus-daemon and sauthd; sauthctl gets the same files to find its own.
CTL_AS=""

# ctl INPUT ARGS... — sauthctl on the test bus with INPUT (lines) on stdin,
# as root or as $CTL_AS. Sets OUT, ERR and RC; keeps everything it printed
# in ctl-all.log for the leak checks.
ctl() {
        local input=$1; shift
        local -a prefix=()
        if [ -n "$CTL_AS" ]; then
                prefix=(setpriv --reuid="$CTL_AS" --regid="$CTL_AS" --clear-groups env "${NSS_ENV[@]}")
        fi
        RC=0
        if [ -n "$input" ]; then
                "${prefix[@]}" "$SAUTHCTL" --address "$BUS_ADDRESS" "$@" \
                        > "$T/ctl.out" 2> "$T/ctl.err" <<<"$input" || RC=$?
        else
                "${prefix[@]}" "$SAUTHCTL" --address "$BUS_ADDRESS" "$@" \
                        > "$T/ctl.out" 2> "$T/ctl.err" < /dev/null || RC=$?
        fi
        OUT=$(cat "$T/ctl.out")
        ERR=$(cat "$T/ctl.err")
        cat "$T/ctl.out" "$T/ctl.err" >> "$T/ctl-all.log"
        rm -f "$T/ctl.out" "$T/ctl.err"
}

expect_rc() {
        [ "$RC" = "$1" ] || fail "${2:-sauthctl}: exit $RC, expected $1; stdout: $OUT; stderr: $ERR"
}

# Value of "key: value" in OUT.
field() {
        sed -n "s/^$1: //p" <<<"$OUT" | head -n 1
}

# Mails to IDENTITY of one kind ("Confirm", "Password reset"), oldest first.
mails_of() {
        local f
        for f in $(ls "$T"/mail/*.eml 2>/dev/null | sort); do
                grep -qi "^To: .*$1" "$f" && grep -q "^Subject: $2" "$f" && echo "$f"
        done
        return 0
}

mail_count() {
        mails_of "$1" "$2" | wc -l
}

# Mail goes out from a worker after the reply, and a "password changed"
# notice may land between: wait (bounded) until IDENTITY has more than N
# mails of the kind, then print the token of the newest.
mailed_token() {
        local ident=$1 kind=$2 n=$3 i f tok
        for i in $(seq 1 500); do
                [ "$(mail_count "$ident" "$kind")" -gt "$n" ] && break
                sleep 0.02
        done
        f=$(mails_of "$ident" "$kind" | tail -n 1)
        [ -n "$f" ] || fail "no '$kind' mail for $ident"
        tok=$(grep -oE '^    [A-Za-z0-9_-]{43}$' "$f" | tr -d ' ' | tail -n 1)
        [ -n "$tok" ] || fail "no token in the '$kind' mail"
        echo "$tok"
}

# ctl_user USERNAME PASSWORD — registers with sauthctl, sets the first
# password with the mailed token piped on stdin; prints the uid.
ctl_user() {
        local user=$1 pw=$2 uid tok
        ctl "" register "$user@example.org" "$user" --name "Test $user"
        expect_rc 0 "register $user"
        uid=$(field uid)
        [ -n "$uid" ] || fail "register printed no uid: $OUT"
        tok=$(mailed_token "$user@example.org" Confirm 0)
        ctl "$tok"$'\n'"$pw"$'\n'"$pw" passwd --token --uid "$uid"
        expect_rc 0 "passwd --token $user"
        echo "$uid"
}

# No password or token may show in what sauthctl printed or sauthd logged.
expect_no_secret() {
        local s
        for s in "$@"; do
                [ -n "$s" ] || continue
                if grep -qF -- "$s" "$T/ctl-all.log" 2>/dev/null; then
                        fail "a secret appears in sauthctl's output"
                fi
                if grep -qF -- "$s" "$T/sauthd.log" 2>/dev/null; then
                        fail "a secret appears in the daemon log"
                fi
        done
}

# ---------------------------------------------------------------- cases

test_register_passwd_login() {
        sa_setup
        local uid tok
        ctl "" register alice@example.org alice --name "Alice Example"
        expect_rc 0 register
        uid=$(field uid)
        expect_ne "$uid" "" uid
        expect_ne "$(field contact_id)" "" contact_id
        expect_ne "$(field account_id)" "" account_id

        # A new account has no password: logins fail until it is set.
        ctl "$PW1" login-test alice
        expect_rc 1 "login before the first password"

        tok=$(mailed_token alice@example.org Confirm 0)
        ctl "$tok"$'\n'"$PW1"$'\n'"$PW1" passwd --token --uid "$uid"
        expect_rc 0 "passwd --token"
        expect_match "$OUT" "^Password changed" "passwd output"

        # The token is single-use.
        ctl "$tok"$'\n'"$PW2"$'\n'"$PW2" passwd --token --uid "$uid"
        expect_rc 1 "second use of the token"
        expect_match "$ERR" "^sauthctl: (InvalidToken|ExpiredToken): " "reused token"

        ctl "$PW1" login-test alice
        expect_rc 0 login-test
        expect_eq "$(head -n 1 <<<"$OUT")" "ok" "first line"
        expect_eq "$(field uid)" "$uid" "login uid"
        expect_match "$OUT" "^roles: " "roles line"
        expect_match "$OUT" "^expires: " "expires line"
        expect_no_match "$OUT" "jwt_token|eyJ" "login-test output"

        # --json: the reply dict, still without the token.
        ctl "$PW1" --json login-test alice
        expect_rc 0 "login-test --json"
        expect_eq "$(jq -r .uid <<<"$OUT")" "$uid" "json uid"
        expect_eq "$(jq -r 'has("jwt_token")' <<<"$OUT")" "false" "json without token"
        expect_eq "$(jq -r '.roles | type' <<<"$OUT")" "array" "json roles"

        # Root changes a password without the old one.
        ctl "$PW2"$'\n'"$PW2" passwd alice
        expect_rc 0 "admin passwd"
        ctl "$PW2" login-test alice
        expect_rc 0 "login with the new password"
        ctl "$PW1" login-test alice
        expect_rc 1 "login with the old password"
}

# Only --show-token prints the session token, a JWT.
# The session token is printed only when asked for. sauthd signs no
# tokens yet (the sessions work): the key is there and empty, and the test
# checks that it is shown with --show-token and hidden without.
test_show_token() {
        sa_setup
        ctl_user alice "$PW1" >/dev/null
        ctl "$PW1" --json --show-token login-test alice
        expect_rc 0 "login-test --json --show-token"
        expect_eq "$(jq -r 'has("jwt_token")' <<<"$OUT")" true "jwt_token key in JSON with --show-token"
        ctl "$PW1" --json login-test alice
        expect_rc 0 "login-test --json"
        expect_eq "$(jq -r 'has("jwt_token")' <<<"$OUT")" false "jwt_token key in JSON without --show-token"
        ctl "$PW1" --show-token login-test alice
        expect_rc 0 "login-test --show-token"
        expect_match "$OUT" '^jwt_token:' "jwt line with --show-token"
        ctl "$PW1" login-test alice
        expect_no_match "$OUT" 'jwt_token' "no jwt line without --show-token"
}

test_login_wrong_password() {
        sa_setup
        ctl_user alice "$PW1" >/dev/null
        ctl "$PW2" login-test alice
        expect_rc 1 "wrong password"
        expect_match "$ERR" "^sauthctl: InvalidCredentials: " "error line"
        expect_eq "$OUT" "" "stdout"

        # An unknown user reads the same.
        ctl "$PW2" login-test nobody-here
        expect_rc 1 "unknown user"
        expect_match "$ERR" "^sauthctl: InvalidCredentials: " "unknown user error"
}

test_status_unknown_root() {
        sa_setup
        ctl "" status nobody-here
        expect_rc 0 "status of an unknown user"
        expect_eq "$(field exists)" "no" exists

        ctl "" --json status nobody-here
        expect_rc 0 "status --json"
        expect_eq "$(jq -r .exists <<<"$OUT")" "false" "json exists"
}

test_status_known() {
        sa_setup
        local uid
        uid=$(ctl_user alice "$PW1")
        ctl "" status alice
        expect_rc 0 status
        expect_eq "$(field exists)" "yes" exists
        expect_eq "$(field status)" "active" status
        expect_eq "$(field password_must_change)" "no" password_must_change
        expect_eq "$(field uid)" "$uid" uid
        expect_eq "$(field locked_until)" "-" locked_until
}

test_nonroot_self() {
        sa_setup
        local alice bob
        alice=$(ctl_user alice "$PW1")
        bob=$(ctl_user bob "$PW2")

        # Alice reads her own status, with or without naming herself.
        CTL_AS=4242 ctl "" status
        expect_rc 0 "own status"
        expect_eq "$(field exists)" "yes" "own exists"
        expect_eq "$(field uid)" "$alice" "own uid"
        CTL_AS=4242 ctl "" status alice
        expect_rc 0 "own status by name"

        # Not Bob's.
        CTL_AS=4242 ctl "" status bob
        expect_rc 1 "status of another user"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "other's status"

        # As a user, passwd asks the current password first.
        CTL_AS=4242 ctl "$PW1"$'\n'"$PW3"$'\n'"$PW3" passwd
        expect_rc 0 "own passwd"
        ctl "$PW3" login-test alice
        expect_rc 0 "login with the changed password"

        # A wrong current password changes nothing.
        CTL_AS=4242 ctl "wrong-old-password"$'\n'"$PW1"$'\n'"$PW1" passwd
        expect_rc 1 "passwd with a wrong old password"
        expect_match "$ERR" "^sauthctl: InvalidCredentials: " "wrong old password"

        # Bob's password cannot be set by Alice without his old one.
        CTL_AS=4242 ctl "$PW3"$'\n'"$PW1"$'\n'"$PW1" passwd --uid "$bob"
        expect_rc 1 "passwd of another user"
        ctl "$PW2" login-test bob
        expect_rc 0 "bob's password unchanged"

        # Admin verbs are refused.
        CTL_AS=4242 ctl "" disable bob
        expect_rc 1 "disable as a user"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "disable as a user"
        expect_no_secret "$PW1" "$PW2" "$PW3"
}

# A member of admin_group who is not root: admin verbs work, and passwd
# still asks the current password (only root skips it).
test_admin_group() {
        sa_setup
        ctl_user alice "$PW1" >/dev/null
        CTL_AS=4244 ctl "" status alice
        expect_rc 0 "status by an admin"
        expect_eq "$(field exists)" "yes" "admin reads status"
        CTL_AS=4244 ctl "" disable alice
        expect_rc 0 "disable by an admin"
        ctl "" status alice
        expect_eq "$(field status)" "disabled" "disabled by carol"
        CTL_AS=4244 ctl "" enable alice
        expect_rc 0 "enable by an admin"
        CTL_AS=4244 ctl "$PW1" login-test alice
        expect_rc 0 "login-test by an admin"
        # Three lines are read: current, new, retype. Had the first been
        # taken as the new password, the daemon would say PasswordMismatch.
        CTL_AS=4244 ctl "not-alices-password"$'\n'"$PW2"$'\n'"$PW2" passwd alice
        expect_match "$RC" "^[01]$" "passwd by an admin"
        expect_no_match "$ERR" "PasswordMismatch" "current password asked"
}

test_passwd_mismatch() {
        sa_setup
        local uid
        uid=$(ctl_user alice "$PW1")
        ctl "$PW2"$'\n'"$PW3" passwd alice
        expect_rc 1 "mismatched retype"
        expect_match "$ERR" "^sauthctl: PasswordMismatch: " "mismatch"
        ctl "$PW1" login-test alice
        expect_rc 0 "password unchanged"

        # Too few lines: nothing is sent.
        ctl "$PW2" passwd --uid "$uid"
        expect_rc 2 "missing retype"
        expect_no_secret "$PW1" "$PW2" "$PW3"
}

test_disable_enable() {
        sa_setup
        ctl_user alice "$PW1" >/dev/null
        ctl "" disable alice
        expect_rc 0 disable
        expect_eq "$OUT" "" "disable prints nothing"
        ctl "" status alice
        expect_eq "$(field status)" "disabled" "status after disable"

        ctl "$PW1" login-test alice
        expect_rc 1 "login of a disabled account"
        expect_match "$ERR" "^sauthctl: AccountDisabled: " "disabled"

        ctl "" enable alice
        expect_rc 0 enable
        ctl "$PW1" login-test alice
        expect_rc 0 "login after enable"

        ctl "" disable nobody-here
        expect_rc 1 "disable of an unknown user"
        expect_match "$ERR" "^sauthctl: NotFound: " "unknown user"
}

test_set_admin() {
        sa_setup
        ctl_user alice "$PW1" >/dev/null
        ctl "" set-admin alice yes
        expect_rc 0 "set-admin yes"
        ctl "$PW1" --json login-test alice
        expect_eq "$(jq -r '.roles | index("admin") != null' <<<"$OUT")" "true" "admin role"
        ctl "" set-admin alice no
        expect_rc 0 "set-admin no"
        ctl "$PW1" --json login-test alice
        expect_eq "$(jq -r '.roles | index("admin") != null' <<<"$OUT")" "false" "admin role taken"
}

test_expire() {
        sa_setup
        ctl_user alice "$PW1" >/dev/null
        ctl "" status alice
        expect_eq "$(field password_must_change)" "no" "before expire"
        ctl "" expire alice
        expect_rc 0 expire
        ctl "" status alice
        expect_eq "$(field password_must_change)" "yes" "after expire"
}

# Register makes a person with an account, or without one when the user
# name is empty (apicrud's two-step registration); AccountAdd gives such a
# person an account.
test_account_add() {
        sa_setup
        local uid puid
        uid=$(ctl_user alice "$PW1")
        ctl "" --json register pat@example.org "" --name Pat
        expect_rc 0 "register without a user name"
        puid=$(jq -r .uid <<<"$OUT")
        expect_eq "$(jq -r .account_id <<<"$OUT")" "" "no account yet"
        ctl "" account-add pat "$puid"
        expect_rc 0 "account-add"
        expect_match "$OUT" "^username: pat$" "account made"
        ctl "" account-add alice2 "$uid"
        expect_rc 1 "account-add to a person with an account"
        expect_match "$ERR" "^sauthctl: AlreadyRegistered: " "taken"
        ctl "" account-add bob2 no-such-person
        expect_rc 1 "account-add to nobody"
        expect_match "$ERR" "^sauthctl: NotFound: " "no person"
        ctl "" --json account-add bob2 no-such-person
        expect_rc 1 "account-add --json error"
        expect_eq "$OUT" "" "no JSON on error"
}

test_methods() {
        sa_setup
        ctl "" methods
        expect_rc 0 methods
        expect_match "$(field items)" "(^|, )local(,|$)" items
        expect_match "$(field policies)" "login_internal=" policies
        ctl "" --json methods
        expect_eq "$(jq -r '.items | index("local") != null' <<<"$OUT")" "true" "json items"
}

test_check_password() {
        sa_setup
        ctl "password" check-password alice
        expect_rc 1 "weak password"
        expect_eq "$(field ok)" "no" "weak ok"
        expect_match "$OUT" "^problem: |^message: ." "weak explained"

        ctl "$PW1" check-password alice
        expect_rc 0 "strong password"
        expect_eq "$(field ok)" "yes" "strong ok"

        ctl "$PW1" --json check-password alice
        expect_rc 0 "check-password --json"
        expect_eq "$(jq -r '.ok' <<<"$OUT")" "true" "json ok"
        expect_eq "$(jq -r '.problems | type' <<<"$OUT")" "array" "json problems"
        expect_no_secret "$PW1"
}

test_forgot() {
        sa_setup
        local uid tok
        uid=$(ctl_user alice "$PW1")
        ctl "" forgot alice@example.org
        expect_rc 0 "forgot by identity"
        expect_eq "$OUT" "If an account matches, a reset message was sent." "forgot output"
        tok=$(mailed_token alice@example.org "Password reset" 0)
        expect_eq "$(mail_count alice@example.org "Password reset")" 1 "one reset mail"
        ctl "$tok"$'\n'"$PW2"$'\n'"$PW2" passwd --token --uid "$uid"
        expect_rc 0 "passwd with the reset token"
        ctl "$PW2" login-test alice
        expect_rc 0 "login after reset"

        # By user name, and for nobody: the same answer.
        ctl "" forgot alice
        expect_rc 0 "forgot by username"
        mailed_token alice@example.org "Password reset" 1 > /dev/null
        expect_eq "$(mail_count alice@example.org "Password reset")" 2 "reset mail by username"
        ctl "" forgot nobody@example.org
        expect_rc 0 "forgot for nobody"
        expect_eq "$OUT" "If an account matches, a reset message was sent." "same answer"
        expect_no_secret "$PW1" "$PW2" "$tok"
}

test_usage() {
        sa_prepare
        ctl "" ; expect_rc 2 "no command"
        ctl "" frobnicate; expect_rc 2 "unknown command"
        expect_match "$ERR" "unknown command" "unknown command message"
        ctl "" status a b; expect_rc 2 "too many arguments"
        ctl "" register only-one; expect_rc 2 "too few arguments"
        ctl "" login-test; expect_rc 2 "login-test without user"
        # Secrets are never taken from the command line.
        ctl "" login-test alice "$PW1"; expect_rc 2 "password as an argument"
        ctl "" passwd alice "$PW1"; expect_rc 2 "passwd with a password argument"
        ctl "" passwd alice --password "$PW1"; expect_rc 2 "--password"
        ctl "" status --name x alice; expect_rc 2 "option of another verb"
        expect_match "$ERR" "does not take --name" "option message"
        ctl "" set-admin alice maybe; expect_rc 2 "set-admin value"
        ctl "" --timeout abc status alice; expect_rc 2 "bad timeout"
        local t
        for t in 0 -1 +5 " 5" 5x 3601 ""; do
                ctl "" --timeout "$t" status alice; expect_rc 2 "bad timeout '$t'"
        done
        ctl "" passwd alice --uid x; expect_rc 2 "USER and --uid"
        ctl "" passwd --token --old; expect_rc 2 "--token and --old"
        # A code or state from elsewhere may begin with '-': the message
        # names what getopt saw and says how to pass it; after '--' it is
        # an argument, and sauthctl goes on to call sauthd (not started in
        # this case: 3, unreachable).
        ctl "" oauth-callback web -Xcode state; expect_rc 2 "argument that looks like an option"
        expect_match "$ERR" "invalid option '-X'.*'--'" "the option named, and the way out"
        ctl "" oauth-callback web --xcode state; expect_rc 2 "argument that looks like a long option"
        expect_match "$ERR" "invalid option '--xcode'" "the long option named"
        ctl "" oauth-callback web -- -Xcode state; expect_rc 3 "an argument after --"

        ctl "" help; expect_rc 0 help
        local v
        for v in status register account-add passwd login-test check-password forgot \
                 enable disable set-admin expire roles member methods; do
                expect_match "$OUT" "^  $v( |$)" "help lists $v"
        done
        ctl "" help passwd; expect_rc 0 "help passwd"
        expect_match "$OUT" "^Usage: sauthctl \[OPTIONS\] passwd" "help passwd"
        ctl "" help nope; expect_rc 2 "help of an unknown command"
        ctl "" --help; expect_rc 0 "--help"
        ctl "" status --help; expect_rc 0 "status --help"
        ctl "" --version; expect_rc 0 "--version"
        expect_match "$OUT" "^sauthctl [0-9]" version
        expect_no_secret "$PW1"
}

# unlock, like faillock --reset: a PAM stack's failures (root's, counted
# toward the account lock) lock alice; status shows the count and the
# lock; enable leaves the lock; unlock clears it and the in-memory counts
# of ordinary callers (bob's, which only stop bob), and is audited. Only
# admins may unlock.
test_unlock() {
        sa_setup lockout.deny=3 lockout.unlock_time=600 lockout.caller_backoff=600
        ctl_user alice "$PW1" > /dev/null
        local i
        # Bob (an ordinary caller) tries: after deny failures he is
        # answered RateLimited for this account, in memory only.
        CTL_AS=4243
        for i in 1 2 3; do
                ctl "$PW2" login-test alice
        done
        ctl "$PW2" login-test alice
        expect_match "$ERR" "^sauthctl: RateLimited: " "bob is held back"
        CTL_AS=""
        for i in 1 2 3; do
                ctl "$PW2" login-test alice
                expect_rc 1 "wrong password $i"
        done

        ctl "" status alice
        expect_rc 0 "status"
        expect_match "$(field locked_until)" "^[0-9]{4}-" "status shows the lock"
        expect_eq "$(field failures)" 3 "status shows the failures"
        ctl "" --json status alice
        expect_eq "$(jq -r .failures <<<"$OUT")" 3 "failures in --json"

        # enable is about disabled accounts: the lock stays.
        ctl "" enable alice
        expect_rc 0 "enable"
        ctl "$PW1" login-test alice
        expect_rc 1 "still locked after enable"
        expect_match "$ERR" "^sauthctl: AccountLocked: " "locked"

        # Not for alice herself, nor for an unknown name.
        CTL_AS=4242
        ctl "" unlock alice
        expect_rc 1 "self unlock"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "self unlock refused"
        CTL_AS=""
        ctl "" unlock nobody-here
        expect_rc 1 "unknown user"
        expect_match "$ERR" "^sauthctl: NotFound: " "unknown user"

        ctl "" unlock alice
        expect_rc 0 "unlock"
        expect_eq "$OUT" "" "unlock prints nothing"
        ctl "" status alice
        expect_eq "$(field locked_until)" "-" "no lock after unlock"
        expect_eq "$(field failures)" 0 "no failures after unlock"
        ctl "$PW1" login-test alice
        expect_rc 0 "login after unlock"
        CTL_AS=4243
        ctl "$PW2" login-test alice
        expect_match "$ERR" "^sauthctl: InvalidCredentials: " "bob's count was cleared too"
        CTL_AS=""
        grep -q "SAUTH_EVENT=account_unlock SAUTH_RESULT=ok SAUTH_USER=alice SAUTH_CALLER_UID=0" "$T/sauthd.log" \
                || fail "no account_unlock audit record"
        expect_no_secret "$PW1" "$PW2"
}

# Every command of `sauthctl help` has --help: exit 0 and its usage on
# stdout. Two-word commands ("apikey create") are taken with their area.
test_every_verb_help() {
        sa_prepare
        local first second n=0
        ctl "" help
        expect_rc 0 help
        local help=$OUT
        while read -r first second; do
                ctl "" $first --help
                expect_rc 0 "$first --help"
                expect_match "$OUT" "^Usage: sauthctl \[OPTIONS\] $first( |\$)" "$first --help"
                if [ -n "$second" ]; then
                        ctl "" $first $second --help
                        expect_rc 0 "$first $second --help"
                        expect_match "$OUT" "^Usage: sauthctl \[OPTIONS\] $first $second( |\$)" "$first $second --help"
                        ctl "" help $first
                        if [ "$(grep -c '^Usage:' <<<"$OUT")" -gt 1 ]; then
                                ctl "" help $first $second
                                expect_rc 0 "help $first $second"
                        fi
                fi
                n=$((n + 1))
        done < <(awk '/^  [a-z]/ { print $1, ($2 ~ /^[a-z][a-z-]*$/ ? $2 : "") }' <<<"$help")
        [ "$n" -ge 25 ] || fail "only $n commands in the help"
        # The exit codes, as the help and docs/sauthctl.md state them.
        expect_match "$help" "Exit status: 0 done, 1 refused by the daemon, 2 usage, 3 daemon unreachable" "help: exit codes"
        local doc=$TESTS_DIR/../docs/sauthctl.md code
        for code in 0 1 2 3; do
                grep -qE "^\| $code \| " "$doc" || fail "docs/sauthctl.md: exit code $code undocumented"
        done
}

# Every listing takes --json and prints JSON that jq parses: status,
# methods, roles, sessions, apikey list, mail, token verify.
test_listings_json() {
        sa_setup
        local uid tok
        uid=$(ctl_user alice "$PW1")
        ctl "$PW1" --json --show-token login-test alice
        expect_rc 0 "login-test --json"
        tok=$(jq -r .jwt_token <<<"$OUT")
        ctl "" apikey create alice --name ci
        expect_rc 0 "apikey create"
        ctl "" member add alice list_member 42 member
        expect_rc 0 "member add"
        local -a listing
        while IFS='|' read -r -a listing; do
                ctl "" --json "${listing[@]}"
                expect_rc 0 "${listing[*]} --json"
                jq -e . <<<"$OUT" > /dev/null || fail "${listing[*]} --json is not JSON: $OUT"
                expect_eq "$(wc -l <<<"$OUT")" 1 "${listing[*]} --json: one line"
        done <<LISTINGS
status|alice
methods
roles|alice
sessions|alice
apikey|list|alice
mail
LISTINGS
        ctl "$tok" --json token verify
        expect_rc 0 "token verify --json"
        expect_eq "$(jq -r .uid <<<"$OUT")" "$uid" "token verify --json uid"
        ctl "" --json sessions alice
        expect_eq "$(jq -r 'type' <<<"$OUT")" array "sessions --json is a list"
        expect_eq "$(jq -r 'length' <<<"$OUT")" 1 "one session"
        ctl "" --json apikey list alice
        expect_eq "$(jq -r '.[0].name' <<<"$OUT")" ci "apikey list --json"
        ctl "" --json roles alice
        expect_match "$(jq -r '.roles | join(" ")' <<<"$OUT")" "list-42-member" "roles --json"
        # The token was printed on purpose (--show-token); the password never.
        expect_no_secret "$PW1"
}

# The bash completion file loads in bash, registers itself for sauthctl
# and completes commands, areas' second words and options from the
# program's own help.
test_completion() {
        local file=$TESTS_DIR/../sauthctl/sauthctl.bash-completion out
        [ -f "$file" ] || fail "no completion file"
        out=$(PATH="$(dirname "$SAUTHCTL"):$PATH" bash --norc --noprofile -c '
                set -u
                . "$1" || exit 1
                complete -p sauthctl
                comp() {
                        COMP_WORDS=("$@")
                        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                        COMPREPLY=()
                        _sauthctl
                        echo "${COMP_WORDS[*]}: ${COMPREPLY[*]}"
                }
                comp sauthctl ap
                comp sauthctl apikey c
                comp sauthctl apikey ""
                comp sauthctl st
                comp sauthctl --js
                comp sauthctl --address unix:path=/x un
                comp sauthctl set-admin alice ""
                comp sauthctl help tok
                comp sauthctl ""
        ' bash "$file") || fail "completion: bash failed: $out"
        expect_match "$out" "^complete -F _sauthctl sauthctl$" "complete -p"
        expect_match "$out" "^sauthctl ap: apikey$" "ap<TAB>"
        expect_match "$out" "^sauthctl apikey c: create$" "apikey c<TAB>"
        expect_match "$out" "^sauthctl apikey : create list revoke$" "apikey <TAB>"
        expect_match "$out" "^sauthctl st: status$" "st<TAB>"
        expect_match "$out" "^sauthctl --js: --json$" "--js<TAB>"
        expect_match "$out" "^sauthctl --address unix:path=/x un: unlock$" "after an option's argument"
        expect_match "$out" "^sauthctl set-admin alice : yes no$" "set-admin USER <TAB>"
        expect_match "$out" "^sauthctl help tok: token$" "help tok<TAB>"
        local all
        all=$(sed -n 's/^sauthctl : //p' <<<"$out")
        local v
        for v in status register passwd login-test unlock token key apikey mail help member roles; do
                expect_match " $all " " $v " "all commands: $v"
        done
}

test_unreachable() {
        sa_prepare
        local -a inputs
        # No bus at all.
        RC=0
        "$SAUTHCTL" --address "unix:path=$T/missing.sock" status alice > "$T/out" 2> "$T/err" < /dev/null || RC=$?
        OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
        expect_rc 3 "missing socket"
        expect_match "$ERR" "^sauthctl: cannot connect to the bus at unix:path=.*missing\.sock: " "message"
        # An address sd-bus cannot parse is no absent daemon: exit 1, not 3,
        # with a message saying what is wrong. That includes the addresses
        # sd-bus answers with ECONNREFUSED (unknown or no transport, an
        # empty entry), in --address and in DBUS_SYSTEM_BUS_ADDRESS.
        local addr
        for addr in "unix:foo=bar" "garbage" "unx:path=$T/missing.sock" "unix:path=$T/missing.sock;" ";" ""; do
                RC=0
                "$SAUTHCTL" --address "$addr" status alice > "$T/out" 2> "$T/err" < /dev/null || RC=$?
                OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
                expect_rc 1 "malformed address '$addr'"
                expect_match "$ERR" "^sauthctl: not a valid D-Bus address: '$addr'" "malformed address message"
                expect_eq "$(wc -l <<<"$ERR")" 1 "one line"
        done
        RC=0
        DBUS_SYSTEM_BUS_ADDRESS=garbage "$SAUTHCTL" status alice > "$T/out" 2> "$T/err" < /dev/null || RC=$?
        OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
        expect_rc 1 "malformed DBUS_SYSTEM_BUS_ADDRESS"
        expect_match "$ERR" "DBUS_SYSTEM_BUS_ADDRESS" "names the variable"

        # A bus without sauthd.
        sa_start_bus
        ctl "" status alice
        expect_rc 3 "no daemon"
        expect_match "$ERR" "^sauthctl: Unreachable: " "no daemon message"
        ctl "$PW1" login-test alice
        expect_rc 3 "login-test without daemon"
        ctl "" register a@example.org a
        expect_rc 3 "register without daemon"
        expect_no_secret "$PW1"
}

# Activation without systemd: an activation file whose Exec= fails and no
# sauthd. dbus-daemon answers Spawn.ChildExited; that is "unreachable",
# exit 3, and the message names the D-Bus error.
test_activation_failed() {
        sa_prepare
        sa_bus_failing_activation
        sa_start_bus
        ctl "" status alice
        expect_rc 3 "failed activation"
        expect_match "$ERR" "^sauthctl: Unreachable: .*org\.freedesktop\.DBus\.Error\.Spawn\.ChildExited" "message"
        ctl "$PW1" login-test alice
        expect_rc 3 "login-test, failed activation"
        expect_no_secret "$PW1"
}

test_timeout() {
        sa_setup
        # A daemon that stopped answering: the call times out, exit 3.
        kill -STOP "$SAUTHD_PID"
        ctl "" --timeout 1 status alice
        kill -CONT "$SAUTHD_PID"
        expect_rc 3 "timed out"
        expect_match "$ERR" "^sauthctl: Unreachable: " "timeout message"
        ctl "" status alice
        expect_rc 0 "answers again"
}

test_no_secret_leak() {
        sa_setup
        local uid tok tok2
        ctl "" register alice@example.org alice
        uid=$(field uid)
        tok=$(mailed_token alice@example.org Confirm 0)
        ctl "$tok"$'\n'"$PW1"$'\n'"$PW1" --json passwd --token --uid "$uid"
        expect_rc 0 "passwd --json"
        ctl "$PW1" login-test alice
        ctl "$PW2" login-test alice
        ctl "$PW1" --json login-test alice
        ctl "$PW2"$'\n'"$PW3" passwd alice
        expect_rc 1 "mismatch"
        ctl "$PW1"$'\n'"$PW2"$'\n'"$PW2" --old passwd alice
        expect_rc 0 "passwd --old"
        ctl "$PW3"$'\n'"$PW3" passwd alice
        expect_rc 0 "admin passwd"
        ctl "" forgot alice
        tok2=$(mailed_token alice@example.org "Password reset" 0)
        ctl "$tok2"$'\n'"$PW4"$'\n'"$PW4" passwd --token --uid "$uid"
        expect_rc 0 "reset"
        ctl "$PW4" check-password alice
        expect_no_secret "$PW1" "$PW2" "$PW3" "$PW4" "$tok" "$tok2"
}

# ---------------------------------------------------------------- tokens and API keys

# A session token, straight from the bus: had sauthctl printed it, the
# leak checks could not tell that from a leak.
bus_token() {
        sa_login "$1" "$2" | jget jwt_token
}

test_token_verify() {
        sa_setup
        local uid tok
        uid=$(ctl_user alice "$PW1")
        tok=$(bus_token alice "$PW1")
        expect_ne "$tok" "" "a session token"

        # From stdin, the way the help recommends.
        ctl "$tok" token verify
        expect_rc 0 "token verify"
        expect_eq "$(field uid)" "$uid" "uid"
        expect_ne "$(field account_id)" "" "account_id"
        expect_match "$(field roles)" "(^|, )user(,|$)" "roles"
        expect_match "$OUT" "^expires: [0-9]{4}-" "expires as a date"
        expect_eq "$(field method)" local "method"
        ctl "$tok" token verify -
        expect_rc 0 "token verify -"
        expect_eq "$(field uid)" "$uid" "uid from -"

        ctl "$tok" --json token verify
        expect_rc 0 "token verify --json"
        expect_eq "$(jq -r .uid <<<"$OUT")" "$uid" "json uid"
        expect_eq "$(jq -r '.roles | type' <<<"$OUT")" array "json roles"
        expect_match "$(jq -r .jti <<<"$OUT")" "." "json jti"
        expect_match "$(jq -r .expires <<<"$OUT")" "^[0-9]+$" "json expires"

        # As an argument too (visible in ps, but it works).
        ctl "" token verify "$tok"
        expect_rc 0 "token verify TOKEN"
        expect_eq "$(field uid)" "$uid" "uid from the argument"

        # Refusals: exit 1 with the error name; anyone may ask.
        ctl "not.a.token" token verify
        expect_rc 1 "garbage token"
        expect_match "$ERR" "^sauthctl: InvalidToken: " "garbage token error"
        expect_eq "$OUT" "" "nothing on stdout"
        CTL_AS=4243 ctl "$tok" token verify
        expect_rc 0 "anyone holding the token"
        ctl "" token verify
        expect_rc 2 "no token on stdin"
        ctl "$(head -c 9000 /dev/zero | tr '\0' a)" token verify
        expect_rc 2 "over-long token on stdin"
        ctl "" token verify "$(head -c 9000 /dev/zero | tr '\0' a)"
        expect_rc 2 "over-long token argument"
        expect_no_secret "$PW1" "$tok"
}

test_token_expired() {
        sa_setup "tokens.session_lifetime=1"
        local tok
        ctl_user alice "$PW1" > /dev/null
        tok=$(bus_token alice "$PW1")
        sleep 2.1
        ctl "$tok" token verify
        expect_rc 1 "expired token"
        expect_match "$ERR" "^sauthctl: ExpiredToken: " "expired token error"
        expect_no_secret "$tok"
}

test_sessions_logout() {
        sa_setup
        local uid tok tok2 jti2
        uid=$(ctl_user alice "$PW1")
        ctl_user bob "$PW2" > /dev/null
        tok=$(bus_token alice "$PW1")
        tok2=$(sa_call AccountLogin sssa{sv} alice "$PW1" local 3 service s sshd tty s pts/3 rhost s 192.0.2.7 |
                jget jwt_token)
        ctl "$tok2" --json token verify
        jti2=$(jq -r .jti <<<"$OUT")

        ctl "" sessions alice
        expect_rc 0 sessions
        expect_match "$(head -n 1 <<<"$OUT")" "^JTI +METHOD +SERVICE +TTY +RHOST +ISSUED +EXPIRES$" "header"
        expect_eq "$(wc -l <<<"$OUT")" 3 "header and two sessions"
        expect_match "$(grep -F -- "$jti2" <<<"$OUT")" " local +sshd +pts/3 +192\.0\.2\.7 +[0-9]{4}-" "sshd row"
        ctl "" --json sessions alice
        expect_rc 0 "sessions --json"
        expect_eq "$(jq -r 'type' <<<"$OUT")" array "json array"
        expect_eq "$(jq -r 'length' <<<"$OUT")" 2 "two sessions"
        expect_eq "$(jq -r --arg j "$jti2" '.[] | select(.jti == $j) | .rhost' <<<"$OUT")" 192.0.2.7 "json rhost"
        expect_match "$(jq -r '.[0].expires' <<<"$OUT")" "^[0-9]+$" "json expires"

        # Only alice herself (or an admin) may list or end her sessions.
        CTL_AS=4242 ctl "" sessions alice
        expect_rc 0 "own sessions"
        CTL_AS=4243 ctl "" sessions alice
        expect_rc 1 "bob lists alice's sessions"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "bob's refusal"
        CTL_AS=4243 ctl "" logout --session "$jti2" alice
        expect_rc 1 "bob ends alice's session"
        ctl "$tok2" token verify
        expect_rc 0 "still valid"

        # Logout by the token (stdin), then by the listed jti.
        ctl "$tok" logout
        expect_rc 0 logout
        expect_eq "$OUT" "" "logout prints nothing"
        ctl "$tok" token verify
        expect_rc 1 "verify after logout"
        expect_match "$ERR" "^sauthctl: InvalidToken: " "ended session"
        ctl "$tok" --json logout
        expect_rc 0 "logout of an ended session"
        expect_eq "$OUT" "{}" "logout --json"
        CTL_AS=4242 ctl "" logout --session "$jti2" alice
        expect_rc 0 "alice ends her listed session"
        ctl "$tok2" token verify
        expect_rc 1 "verify after logout --session"
        ctl "" --json sessions alice
        expect_eq "$OUT" "[]" "no sessions left"
        ctl "" sessions alice
        expect_eq "$OUT" "$(printf 'JTI  METHOD  SERVICE  TTY  RHOST  ISSUED  EXPIRES')" "header only"
        ctl "" logout --session "$jti2" alice
        expect_rc 1 "ended already"
        expect_match "$ERR" "^sauthctl: NotFound: " "ended already error"
        ctl "" sessions nobody-here
        expect_rc 1 "sessions of an unknown user"
        expect_match "$ERR" "^sauthctl: NotFound: " "unknown user"
        expect_no_secret "$PW1" "$PW2" "$tok" "$tok2"
}

test_key_rotate() {
        sa_setup
        local kid1 kid2 tok
        ctl_user alice "$PW1" > /dev/null
        tok=$(bus_token alice "$PW1")
        ctl "" key rotate
        expect_rc 0 "key rotate"
        kid1=$(field kid)
        expect_ne "$kid1" "" kid
        expect_eq "$(wc -l <<<"$OUT")" 1 "only the kid"
        ctl "" --json key rotate
        expect_rc 0 "key rotate --json"
        kid2=$(jq -r .kid <<<"$OUT")
        expect_ne "$kid2" "$kid1" "a new kid"
        expect_match "$(jq -r .public_key <<<"$OUT")" "^[A-Za-z0-9_-]{43}$" "json public_key"
        ctl "$tok" token verify
        expect_rc 0 "old token still verifies"
        CTL_AS=4242 ctl "" key rotate
        expect_rc 1 "a user may not rotate"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "rotate refused"
}

# The key's secret is printed once, on stdout: never on stderr, never in
# a listing, never in the daemon's log.
expect_key_hidden() {
        local key=$1
        grep -qF -- "${key#*.}" "$T/sauthd.log" && fail "the API key secret is in the daemon log"
        [[ "$ERR" != *"${key#*.}"* ]] || fail "the API key secret is on sauthctl's stderr"
}

test_apikey() {
        sa_setup
        local uid id key id2 key2 row
        uid=$(ctl_user alice "$PW1")
        ctl_user bob "$PW2" > /dev/null

        ctl "" apikey create alice --name ci
        expect_rc 0 "apikey create"
        expect_eq "$ERR" "" "nothing on stderr"
        id=$(field id) key=$(field key)
        expect_match "$key" '^[a-z2-7]{8}\.[A-Za-z0-9]{32}$' "key format"
        expect_eq "${key%%.*}" "$id" "id is the key's first part"
        expect_eq "$(wc -l <<<"$OUT")" 2 "id and key only"
        expect_eq "$(sa_call ApiAccess sas "$key" 1 full | jget uid)" "$uid" "the key works, scope full by default"
        expect_key_hidden "$key"

        # Self, with --json, a scope and an expiry.
        CTL_AS=4242 ctl "" --json apikey create alice --name ro --scope readonly --expires $(( $(date +%s) + 3600 ))
        expect_rc 0 "apikey create --json as alice"
        id2=$(jq -r .id <<<"$OUT") key2=$(jq -r .apikey <<<"$OUT")
        expect_eq "${key2%%.*}" "$id2" "json id and key"
        expect_key_hidden "$key2"
        expect_eq "$(sa_call ApiAccess sas "$key2" 0 | jget scopes)" readonly "scope readonly"

        # The daemon's refusals: limit (2 per user here), scope, owner.
        ctl "" apikey create alice --name third
        expect_rc 1 "third key"
        expect_match "$ERR" "^sauthctl: LimitExceeded: " "limit"
        ctl "" apikey create bob --scope nope
        expect_rc 1 "unknown scope"
        expect_match "$ERR" "^sauthctl: InvalidArgument: " "unknown scope error"
        ctl "" apikey create bob --expires 1
        expect_rc 1 "expiry in the past"
        CTL_AS=4243 ctl "" apikey create alice
        expect_rc 1 "bob makes alice a key"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "bob refused"
        ctl "" apikey create nobody-here
        expect_rc 1 "key for an unknown user"
        expect_match "$ERR" "^sauthctl: NotFound: " "unknown user"

        # The list: a table, or the JSON array; no secrets.
        ctl "" apikey list alice
        expect_rc 0 "apikey list"
        expect_match "$(head -n 1 <<<"$OUT")" "^ID +NAME +SCOPES +CREATED +EXPIRES +LAST_USED$" "header"
        row=$(grep "^$id " <<<"$OUT")
        expect_match "$row" "^$id +ci +full +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +never +[0-9]{4}-" "first key's row"
        row=$(grep "^$id2 " <<<"$OUT")
        expect_match "$row" "^$id2 +ro +readonly +[0-9-]{10} [0-9:]{8} +[0-9-]{10} [0-9:]{8} +[0-9-]{10}" "second key's row"
        CTL_AS=4242 ctl "" --json apikey list alice
        expect_rc 0 "apikey list --json as alice"
        expect_eq "$(jq -r 'length' <<<"$OUT")" 2 "two keys"
        # Keys made in the same second come in id order: pick by id.
        row=$(jq -c --arg id "$id" '.[] | select(.id == $id)' <<<"$OUT")
        expect_eq "$(jq -r '.name' <<<"$row")" ci "json name"
        expect_eq "$(jq -r '.scopes | join(",")' <<<"$row")" full "json scopes"
        expect_eq "$(jq -r '.expires' <<<"$row")" 0 "json expires"
        expect_match "$(jq -r '.last_used' <<<"$row")" "^[1-9][0-9]+$" "json last_used"
        expect_match "$(jq -r '.created' <<<"$row")" "^[1-9][0-9]+$" "json created"
        [[ "$OUT" != *"${key#*.}"* && "$OUT" != *"${key2#*.}"* ]] || fail "a secret is listed"
        CTL_AS=4243 ctl "" apikey list alice
        expect_rc 1 "bob lists alice's keys"
        ctl "" apikey list bob
        expect_rc 0 "an empty list"
        expect_eq "$(wc -l <<<"$OUT")" 1 "header only"

        # Revoke: the owner or an admin; not bob.
        CTL_AS=4243 ctl "" apikey revoke "$id2"
        expect_rc 1 "bob revokes alice's key"
        expect_match "$ERR" "^sauthctl: AccessDenied: " "bob's revoke refused"
        CTL_AS=4242 ctl "" apikey revoke "$id2"
        expect_rc 0 "alice revokes her key"
        expect_eq "$OUT" "" "revoke prints nothing"
        ctl "" --json apikey revoke "$id"
        expect_rc 0 "apikey revoke --json"
        expect_eq "$OUT" "{}" "revoke --json"
        ctl "" apikey revoke "$id"
        expect_rc 1 "revoked already"
        expect_match "$ERR" "^sauthctl: NotFound: " "revoked already error"
        ctl "" --json apikey list alice
        expect_eq "$OUT" "[]" "no keys left"
        expect_no_secret "$PW1" "$PW2"
}

test_tokens_usage() {
        sa_prepare
        local i
        local -a many=()
        for i in $(seq 1 17); do many+=(--scope "s$i"); done
        ctl "" apikey; expect_rc 2 "apikey alone"
        expect_match "$ERR" "'apikey' needs a command" "apikey alone message"
        expect_match "$ERR" "apikey create USER" "apikey usages"
        ctl "" apikey frob alice; expect_rc 2 "apikey frob"
        expect_match "$ERR" "unknown command 'apikey frob'" "apikey frob message"
        ctl "" apikey create; expect_rc 2 "apikey create without USER"
        ctl "" apikey create alice bob; expect_rc 2 "apikey create with two users"
        ctl "" apikey create alice --expires soon; expect_rc 2 "--expires soon"
        ctl "" apikey create alice --expires -1; expect_rc 2 "--expires -1"
        ctl "" apikey create alice --scope ""; expect_rc 2 "empty --scope"
        ctl "" apikey create alice "${many[@]}"; expect_rc 2 "17 scopes"
        ctl "" apikey create alice --session x; expect_rc 2 "--session on apikey create"
        expect_match "$ERR" "apikey create does not take --session" "option message"
        ctl "" apikey list; expect_rc 2 "apikey list without USER"
        ctl "" apikey list alice --scope full; expect_rc 2 "--scope on apikey list"
        ctl "" apikey revoke; expect_rc 2 "apikey revoke without ID"
        ctl "" token; expect_rc 2 "token alone"
        ctl "" token verify a b; expect_rc 2 "token verify with two tokens"
        ctl "" token verify --expires 0; expect_rc 2 "--expires on token verify"
        ctl "" sessions; expect_rc 2 "sessions without USER"
        ctl "" logout a b; expect_rc 2 "logout with two arguments"
        ctl "" logout --session j; expect_rc 2 "logout --session without USER"
        ctl "" logout --session "" alice; expect_rc 2 "logout --session ''"
        ctl "" key; expect_rc 2 "key alone"
        ctl "" key rotate now; expect_rc 2 "key rotate with an argument"
        ctl "" keys rotate; expect_rc 2 "unknown area"

        ctl "" help; expect_rc 0 help
        local v
        for v in "token verify" sessions logout "key rotate" "apikey create" "apikey list" "apikey revoke"; do
                expect_match "$OUT" "^  $v( |$)" "help lists $v"
        done
        expect_match "$OUT" "visible|see it in ps" "help warns about token arguments"
        ctl "" help apikey create; expect_rc 0 "help apikey create"
        expect_match "$OUT" "^Usage: sauthctl \[OPTIONS\] apikey create USER" "help apikey create"
        ctl "" help apikey; expect_rc 0 "help apikey"
        expect_eq "$(grep -c '^Usage:' <<<"$OUT")" 3 "help apikey lists its three commands"
        ctl "" apikey --help; expect_rc 0 "apikey --help"
        ctl "" logout --help; expect_rc 0 "logout --help"
        expect_match "$OUT" "--session JTI USER" "logout help"
        ctl "" help apikey nope; expect_rc 2 "help of an unknown subcommand"
}

sa_main "$@"
