#!/bin/bash
# The real su (util-linux) and passwd (shadow) using the module, on a
# pseudo-terminal (pty-client.py, pexpect), run by an ordinary user as
# people run them: set-uid root, the real uid the user's. They run in a
# private mount namespace (ns-lib.sh) whose /etc/pam.d holds the test's
# `su` and `passwd` files.
#
# The users are the test's passwd and group files, bound over /etc/passwd
# and /etc/group inside the namespace only (NS_FILES=1): nss_wrapper cannot
# reach a set-uid program started by a user, because the loader ignores
# LD_PRELOAD in secure-execution mode. dbus-daemon and sauthd read the same
# files through nss_wrapper. For the same reason a sanitizer build of the
# module cannot be loaded here (libasan cannot be preloaded): meson.build
# registers these cases in plain builds only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ns-lib.sh"

PW1="correct horse battery staple"
PW2="tangerine acrobat quilted lighthouse"
PW_WRONG="not the password at all 42"
ALICE=4242
BOB=4243
PTY_OUT=""
PTY_RC=0

su_setup() {
        sa_prepare
        ns_users
        sa_start_bus
        sa_start_daemon
        ns_pam_file su
        ns_pam_file passwd
        # The bus socket and the module must be reachable by the users.
        chmod 711 "$T"
}

# pty_plan UID ARGV... -- STEP... — the plan: ARGV run as UID (set-uid
# programs keep their power), each STEP a JSON {expect, answer}.
pty_plan() {
        local uid=$1; shift
        local argv=()
        while [ "$1" != -- ]; do
                argv+=("$1")
                shift
        done
        shift
        local argv_json
        argv_json=$(/usr/bin/python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \
                setpriv --reuid="$uid" --regid="$uid" --clear-groups "${argv[@]}")
        (umask 077; printf '%s\n' "$@" | jq -s --argjson argv "$argv_json" '{argv: $argv, steps: .}' > "$T/plan.json")
}

step() {
        jq -cn --arg e "$1" --arg a "$2" '{expect: $e, answer: $a}'
}

# Runs the plan in the namespace; sets PTY_OUT (the transcript) and PTY_RC.
pty_run() {
        NS_FILES=1 ns_cmd
        PTY_RC=0
        timeout 150 "${NS_CMD[@]}" /usr/bin/python3 "$TESTS_DIR/integration/pty-client.py" \
                "$T/plan.json" "$T/transcript" >> "$T/pty-client.log" 2>&1 || PTY_RC=$?
        PTY_OUT=$(cat "$T/transcript" 2>/dev/null || true)
        cat "$T/transcript" >> "$T/transcripts" 2>/dev/null || true
        [ "$PTY_RC" -ne 124 ] || fail "the program did not finish: $PTY_OUT"
}

expect_pty_rc() {
        [ "$PTY_RC" -eq "$1" ] || fail "exit $PTY_RC, expected $1: $PTY_OUT $(cat "$T/pty-client.log")"
}

# The sessions of USER that sauthd lists, one "method service" a line.
sessions_of() {
        sa_call ListSessions s "$(sa_call AccountStatus s "$1" | jget uid)" |
                jq -r '.data[0].sessions.data[] | "\(.method.data) \(.service.data)"'
}

no_secret_logged() {
        expect_no_match "$(cat "$T/transcripts" "$T/sauthd.log" "$T/pty-client.log")" "$PW1|$PW2|$PW_WRONG" "a password in a log"
}

# bob becomes alice with her password; su opens and closes the session
# through the module on the handle it authenticated with.
test_su_right_password() {
        su_setup
        sa_user alice "$PW1" > /dev/null
        pty_plan $BOB su alice -c 'id -u' -- "$(step 'Password: ?' "$PW1")"
        pty_run
        expect_pty_rc 0
        expect_match "$PTY_OUT" "^$ALICE\\s*\$" "id -u as alice"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=ok.*SAUTH_SERVICE=su" "audit of the login"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=logout .*SAUTH_RESULT=ok" "session closed by su"
        expect_eq "$(sessions_of alice)" "" "sessions after su ended"
        no_secret_logged
}

test_su_wrong_password() {
        su_setup
        sa_user alice "$PW1" > /dev/null
        pty_plan $BOB su alice -c 'id -u' -- "$(step 'Password: ?' "$PW_WRONG")"
        pty_run
        expect_pty_rc 1
        expect_match "$PTY_OUT" "su: Authentication failure" "su's message"
        expect_no_match "$PTY_OUT" "^$ALICE\\s*\$" "no command as alice"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=failed.*SAUTH_SERVICE=su" "audit of the failure"
        no_secret_logged
}

# An expired password at su: the module says why, su runs the password
# phase (old, new, retype), then the command. The change ends every
# session of the account, the one su authenticated too: the module logs in
# again with the new password, so su's session opens and is closed.
test_su_must_change() {
        su_setup
        sa_user alice "$PW1" > /dev/null
        sa_call ExpirePassword s alice > /dev/null
        pty_plan $BOB su alice -c 'id -u' -- \
                "$(step 'Password: ?' "$PW1")" \
                "$(step 'You are required to change your password immediately \(administrator enforced\)\.?\s+(.*\s+)?Current password: ?' "$PW1")" \
                "$(step 'New password: ?' "$PW2")" \
                "$(step 'Retype new password: ?' "$PW2")"
        pty_run
        expect_pty_rc 0
        expect_match "$PTY_OUT" "^$ALICE\\s*\$" "id -u as alice"
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" false "must change after the change"
        expect_eq "$(grep -c 'SAUTH_EVENT=login .*SAUTH_RESULT=ok.*SAUTH_SERVICE=su' "$T/sauthd.log")" 2 "logins (before and after the change)"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=logout .*SAUTH_RESULT=ok" "session closed by su"
        expect_eq "$(sessions_of alice)" "" "sessions after su ended"
        sa_login alice "$PW2" > /dev/null
        no_secret_logged
}

# alice changes her own password with passwd: old, new, retype (after
# su_setup or pau_setup).
passwd_change_own() {
        sa_user alice "$PW1" > /dev/null
        pty_plan $ALICE passwd -- \
                "$(step 'Current password: ?' "$PW1")" \
                "$(step 'New password: ?' "$PW2")" \
                "$(step 'Retype new password: ?' "$PW2")"
        pty_run
        expect_pty_rc 0
        expect_match "$PTY_OUT" "password updated successfully" "passwd's message"
        sa_login alice "$PW2" > /dev/null
        expect_eq "$(sa_error AccountLogin alice "$PW1" local '{}')" InvalidCredentials "the old password"
        no_secret_logged
}

test_passwd_user_changes_own() {
        su_setup
        passwd_change_own
}

# A wrong old password changes nothing (the daemon checks it with the change).
test_passwd_wrong_old_password() {
        su_setup
        sa_user alice "$PW1" > /dev/null
        pty_plan $ALICE passwd -- \
                "$(step 'Current password: ?' "$PW_WRONG")" \
                "$(step 'New password: ?' "$PW2")" \
                "$(step 'Retype new password: ?' "$PW2")"
        pty_run
        expect_ne "$PTY_RC" 0 "passwd exit"
        expect_match "$PTY_OUT" "passwd: Authentication failure" "passwd's message"
        sa_login alice "$PW1" > /dev/null
        no_secret_logged
}

# ---------------------------------------------------------------- the profile

# The packaged pam-auth-update profile, wired in by the real pam-auth-update
# as an administrator would (`pam-auth-update --enable sessionauth`), then
# used by Debian's own su and passwd files through the common-* files it
# wrote. It runs on copies: the machine's /etc/pam.d and pam-configs under
# $T/pau (its --root), its debconf database bound over /var/cache/debconf
# in the namespace. The module line has no bus=: the namespace's
# /run/dbus/system_bus_socket is the test's bus. alice and bob have no Unix
# password ('*'), so pam_unix, first in the stack, refuses them and the
# module's try_first_pass takes the password it read.
pau_setup() {
        su_setup
        sed -i -E 's#^(alice|bob):x:#\1:*:#' "$T/passwd"
        local root=$T/pau
        mkdir -p "$root/usr/share" "$root/var/lib/pam" "$root/etc"
        rm -rf "$T/etc-pam.d"
        cp -a /etc/pam.d "$T/etc-pam.d"
        ln -s "$T/etc-pam.d" "$root/etc/pam.d"
        cp -a /usr/share/pam-configs "$root/usr/share/pam-configs"
        # The profile meson configured, pointing at the module under test.
        sed "s#[^[:space:]]*/pam_sessionauth\.so#$PAM_MODULE#" \
                "$BUILD_DIR/sauthd/data/sessionauth" > "$root/usr/share/pam-configs/sessionauth"
        cp -a /var/cache/debconf "$T/debconf"
        NS_SYSTEM_BUS=1
        NS_DEBCONF="$T/debconf"
        ns_cmd
        DEBIAN_FRONTEND=noninteractive "${NS_CMD[@]}" pam-auth-update --root "$root" --force \
                --enable sessionauth < /dev/null > "$T/pau.log" 2>&1 ||
                fail "pam-auth-update: $(cat "$T/pau.log")"
        local f
        for f in auth account password session; do
                grep -q "^$f.*$PAM_MODULE .*unavail=ignore" "$T/etc-pam.d/common-$f" ||
                        fail "common-$f has no module line: $(grep -v '^#' "$T/etc-pam.d/common-$f")"
        done
        grep -q "^Value: .*sessionauth" "$T/debconf/config.dat" || fail "the profile is not recorded as enabled"
        chmod 755 "$T/etc-pam.d"
}

test_pam_auth_update_su() {
        pau_setup
        # pam_unix's line jumps over the module's on success, the module's
        # over pam_deny: a sauthd password opens su.
        expect_match "$(grep -v '^#' "$T/etc-pam.d/common-auth")" \
                "success=2 default=ignore\][[:space:]]+pam_unix.so" "pam_unix first, jumping past the module"
        sa_user alice "$PW1" > /dev/null
        pty_plan $BOB su alice -c 'id -u' -- "$(step 'Password: ?' "$PW1")"
        pty_run
        expect_pty_rc 0
        expect_match "$PTY_OUT" "^$ALICE\\s*\$" "id -u as alice"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=ok.*SAUTH_SERVICE=su" "audit of the login"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=logout .*SAUTH_RESULT=ok" "session closed through common-session"

        pty_plan $BOB su alice -c 'id -u' -- "$(step 'Password: ?' "$PW_WRONG")"
        pty_run
        expect_pty_rc 1
        expect_match "$PTY_OUT" "su: Authentication failure" "su's message"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=failed.*SAUTH_SERVICE=su" "audit of the failure"
        no_secret_logged
}

# Debian's passwd file through common-password: pam_unix cannot change
# alice's password and lets the module do it with the passwords it read.
test_pam_auth_update_passwd() {
        pau_setup
        passwd_change_own
}

sa_main "$@"
