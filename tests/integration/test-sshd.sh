#!/bin/bash
# A real OpenSSH server using the module: /usr/sbin/sshd in a private mount
# namespace (ns-lib.sh) with its own host key and config, on a free
# loopback port, keyboard-interactive through PAM only; its users exist
# only in the test's passwd file (nss_wrapper). The client is paramiko
# (ssh-client.py) answering the prompts sshd relays from the module; the
# device-flow cases approve or deny the code at the test OIDC provider.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oidc-lib.sh"
. "$(dirname "$0")/ns-lib.sh"

PW1="correct horse battery staple"
PW2="tangerine acrobat quilted lighthouse"
PW_WRONG="not the password at all 42"
SSHD=/usr/sbin/sshd
SSHD_PID=""
SSHD_PORT=""
SSH_OUT=""
SSH_RC=0

# sshd forks a child per connection, in its own process group (setsid
# below): stop the group, wait for the listener (our child), then make
# sure (bounded) that no connection child is left.
sshd_stop() {
        [ -n "$SSHD_PID" ] || return 0
        kill -TERM -- "-$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
                kill -0 -- "-$SSHD_PID" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL -- "-$SSHD_PID" 2>/dev/null || true
        SSHD_PID=""
}

# Runs before lib.sh's cleanup, with the test's exit status kept.
sshd_cleanup() {
        local rc=$?
        sshd_stop
        # The module runs inside sshd: its sanitizer reports land in sshd's log.
        if [ -n "$T" ] && [ -f "$T/sshd.log" ] &&
           grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/sshd.log"; then
                echo "FAIL: sanitizer report in the sshd log" >&2
                rc=1
        fi
        if [ "$rc" -ne 0 ] && [ -n "$T" ] && [ -f "$T/sshd.log" ]; then
                echo "--- sshd log (last 20 lines) ---" >&2
                tail -n 20 "$T/sshd.log" >&2 || true
        fi
        # sa_cleanup reads the status from $?; set -e must not stop here.
        set +e
        (exit "$rc")
        sa_cleanup
}

free_port() {
        /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sshd_setup [MODULE ARGS...] — bus, sauthd with the provider "idp" (device
# flow), the OIDC provider, and sshd with a PAM file "sshd" using the
# module with ARGS.
sshd_setup() {
        [ -x "$SSHD" ] || fail "$SSHD is missing (Debian: openssh-server)"
        sa_prepare
        trap sshd_cleanup EXIT
        ns_users
        oidc_start
        oidc_config_section idp device >> "$T/sauthd.conf"
        echo "timeout = 5" >> "$T/sauthd.conf"
        sa_start_bus
        sa_start_daemon
        ns_pam_file sshd "$@"
        sshd_start
}

sshd_start() {
        mkdir -m 700 "$T/ssh"
        ssh-keygen -q -t ed25519 -N '' -C sauth-test -f "$T/ssh/host_ed25519_key" || fail "ssh-keygen"
        SSHD_PORT=$(free_port)
        cat > "$T/ssh/sshd_config" <<CONF
ListenAddress 127.0.0.1:$SSHD_PORT
HostKey $T/ssh/host_ed25519_key
PidFile none
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
AuthenticationMethods keyboard-interactive
PermitRootLogin no
UseDNS no
LoginGraceTime 90
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
CONF
        ns_cmd
        # setsid: sshd and its connection children get a process group of
        # their own, which sshd_stop ends. No fork: $! is sshd.
        setsid "${NS_CMD[@]}" env LD_PRELOAD="$(ns_preload)" NSS_WRAPPER_PASSWD="$T/passwd" \
                NSS_WRAPPER_GROUP="$T/group" NSS_WRAPPER_DISABLE_DEEPBIND=1 \
                ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
                "$SSHD" -D -e -f "$T/ssh/sshd_config" >> "$T/sshd.log" 2>&1 < /dev/null &
        SSHD_PID=$!
        local i
        for i in $(seq 1 250); do
                grep -q "Server listening on 127.0.0.1 port $SSHD_PORT" "$T/sshd.log" && return 0
                if ! kill -0 "$SSHD_PID" 2>/dev/null; then
                        wait "$SSHD_PID" || true
                        SSHD_PID=""
                        fail "sshd exited at start: $(tail -n 5 "$T/sshd.log")"
                fi
                sleep 0.02
        done
        fail "sshd did not listen on port $SSHD_PORT"
}

# ssh_plan STEP... — writes the client's plan; each STEP is a JSON object
# (see ssh-client.py). SSH_COMMAND, if set, runs once logged in.
ssh_plan() {
        local key
        key=$(awk '{ print $2 }' "$T/ssh/host_ed25519_key.pub")
        (umask 077; printf '%s\n' "$@" | jq -s --arg key "$key" --arg cmd "${SSH_COMMAND:-}" \
                '{host_key: $key, steps: ., command: $cmd}' > "$T/plan.json")
}

# step EXPECT ANSWER [ACTION] [CAPTURE] — one step of a plan, as JSON.
step() {
        jq -cn --arg e "$1" --arg a "$2" --arg act "${3:-}" --arg c "${4:-}" \
                '{expect: $e, answer: $a, action: $act, capture: $c}'
}

# ssh_login USER — runs the client with the plan; sets SSH_OUT (the
# transcript: prompts and results, never answers) and SSH_RC.
ssh_login() {
        SSH_RC=0
        timeout 150 /usr/bin/python3 "$TESTS_DIR/integration/ssh-client.py" "$SSHD_PORT" "$1" \
                "$T/plan.json" "$T/transcript" >> "$T/ssh-client.log" 2>&1 || SSH_RC=$?
        SSH_OUT=$(cat "$T/transcript" 2>/dev/null || true)
        cat "$T/transcript" >> "$T/transcripts" 2>/dev/null || true
        [ "$SSH_RC" -ne 124 ] || fail "the SSH client did not finish: $SSH_OUT"
}

expect_ssh_ok() {
        [ "$SSH_RC" -eq 0 ] || fail "ssh login failed ($SSH_RC): $SSH_OUT $(cat "$T/ssh-client.log")"
}

expect_ssh_refused() {
        [ "$SSH_RC" -eq 1 ] || fail "ssh login not refused ($SSH_RC): $SSH_OUT $(cat "$T/ssh-client.log")"
}

# The sessions of USER, as sauthd lists them, one "method service rhost" a line.
sessions_of() {
        sa_call ListSessions s "$(sa_call AccountStatus s "$1" | jget uid)" |
                jq -r '.data[0].sessions.data[] | "\(.method.data) \(.service.data) \(.rhost.data)"'
}

# The keyboard-interactive dialog of a login with a password and a command
# run as the user. sshd runs keyboard-interactive PAM authentication in a
# forked child: the session token the module keeps there (pam_set_data)
# never reaches the handle sshd opens the session with, so the session
# phase finds no token (PAM_IGNORE; pam_permit in the PAM file) and the
# login's session is not ended at logout (docs/pam.md, "sshd").
test_password_login() {
        sshd_setup
        sa_user alice "$PW1" > /dev/null
        SSH_COMMAND="id -u" ssh_plan "$(step '^Password: ?$' "$PW1")"
        ssh_login alice
        expect_ssh_ok
        expect_match "$SSH_OUT" "command exit 0, output: 4242" "the command ran as alice"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=ok.*SAUTH_SERVICE=sshd.*SAUTH_RHOST=127.0.0.1" "audit of the login"
        expect_no_match "$(cat "$T/sshd.log" "$T/transcripts" "$T/sauthd.log")" "$PW1" "the password in a log"
}

test_wrong_password() {
        sshd_setup
        sa_user alice "$PW1" > /dev/null
        ssh_plan "$(step '^Password: ?$' "$PW_WRONG")"
        ssh_login alice
        expect_ssh_refused
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=failed.*SAUTH_SERVICE=sshd" "audit of the failure"
        expect_eq "$(sessions_of alice)" "" "sessions"
        expect_no_match "$(cat "$T/sshd.log" "$T/transcripts" "$T/sauthd.log")" "$PW_WRONG" "the password in a log"
}

# An empty password starts the device flow. sshd shows the module's text
# only as a prompt's: the URL, the code and the QR code arrive in one. The
# first two answers come while the approval is pending: each is one poll,
# spaced by the interval (2 s here), and the module asks again.
test_device_login() {
        sshd_setup device=idp
        sa_user alice "$PW1" > /dev/null
        oidc_interval 2
        local uri="$OIDC_ISSUER/device"
        SSH_COMMAND="id -u" ssh_plan \
                "$(step '^Password: ?$' "")" \
                "$(step "open $uri\\nand enter the code [A-Z-]+\\nor scan this code with your phone:\\n.*█.*Press Enter once you have approved, or type r for a new code: \$" "" "" 'enter the code ([A-Z-]+)')" \
                "$(step 'not approved yet.*Press Enter once you have approved' "")" \
                "$(step 'not approved yet.*Press Enter once you have approved' "" "approve alice")"
        ssh_login alice
        expect_ssh_ok
        expect_match "$SSH_OUT" "command exit 0, output: 4242" "the command ran as alice"
        expect_match "$SSH_OUT" "code: [A-Z]" "the code was read from the prompt"
        expect_eq "$(oidc_polls)" 3 "one poll per answer"
        local gap
        for gap in $(oidc_poll_gaps); do
                [ "$gap" -ge 1950 ] || fail "polls $gap ms apart, interval 2 s: $(oidc_poll_report)"
        done
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=login .*SAUTH_RESULT=ok.*SAUTH_METHOD=idp" "audit of the device login"
}

# Denied at the provider: the next answer polls, the login fails.
test_device_denied() {
        sshd_setup device=idp
        sa_user alice "$PW1" > /dev/null
        ssh_plan \
                "$(step '^Password: ?$' "")" \
                "$(step 'enter the code .*Press Enter once you have approved' "" "deny" 'enter the code ([A-Z-]+)')"
        ssh_login alice
        expect_ssh_refused
        expect_eq "$(oidc_polls)" 1 "polls"
        expect_eq "$(sessions_of alice)" "" "sessions"
}

# An expired password over SSH: sshd runs the password phase in the same
# keyboard-interactive dialog; the module says why before it asks.
test_must_change() {
        sshd_setup
        sa_user alice "$PW1" > /dev/null
        sa_call ExpirePassword s alice > /dev/null
        SSH_COMMAND="id -u" ssh_plan \
                "$(step '^Password: ?$' "$PW1")" \
                "$(step '^You are required to change your password immediately \(administrator enforced\)\.?\n(.*\n)?Current password: ?$' "$PW1")" \
                "$(step '^New password: ?$' "$PW2")" \
                "$(step '^Retype new password: ?$' "$PW2")"
        ssh_login alice
        expect_ssh_ok
        expect_match "$SSH_OUT" "command exit 0, output: 4242" "the command ran as alice"
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" false "must change after the change"
        sa_login alice "$PW2" > /dev/null
        expect_eq "$(sa_error AccountLogin alice "$PW1" local '{}')" InvalidCredentials "the old password"
        expect_no_match "$(cat "$T/sshd.log" "$T/transcripts" "$T/sauthd.log")" "$PW1|$PW2" "a password in a log"
}

sa_main "$@"
