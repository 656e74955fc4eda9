#!/bin/bash
# Passwords over a real bus: CheckPassword and ChangePassword judge with the
# same rules (a table of verdicts), the order of ChangePassword's checks,
# history, lockout through the old password, reset tokens bound to one uid,
# the CheckPassword rate limit and must-change.
#
# No password or token is ever printed: failure messages name table rows
# and say "the password" / "the token".
. "$(dirname "$0")/lib.sh"

PW1="correct horse battery staple"
PW2="monkey dishwasher Pluto 17"
PW3="zebra-sunset-quantum-42"
WRONG="not the right password at all"
NO_UID=x-0000000000000000

# ---------------------------------------------------------------- helpers

# Secrets go after "--": a token may start with '-', and busctl and gdbus
# would take it for an option (lib.sh's sa_call and sa_error do not do this
# yet, so they get no secrets here).

# pw_call METHOD SIGNATURE ARGS... — busctl as root; the reply as JSON.
pw_call() {
        local method=$1
        shift
        busctl --address="$BUS_ADDRESS" --json=short call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$method" "$@" \
                || fail "$method failed"
}

# pw_call_as UID METHOD SIGNATURE ARGS... — the same from another uid.
pw_call_as() {
        local uid=$1 method=$2
        shift 2
        setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                busctl --address="$BUS_ADDRESS" --json=short call -- "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$method" "$@"
}

pw_login() {
        pw_call AccountLogin sssa{sv} "$1" "$2" local 0
}

# pw_first_password UID PASSWORD IDENTITY — with the mailed confirm token.
pw_first_password() {
        local tok
        tok=$(sa_mailed_token "$3")
        pw_call ChangePassword sssss "$1" "$2" "$tok" "" "$2" > /dev/null
}

# pw_user USERNAME PASSWORD — a confirmed account with a password; prints uid.
pw_user() {
        local uid
        uid=$(sa_register "$1")
        pw_first_password "$uid" "$2" "$1@example.org"
        echo "$uid"
}

# pw_try METHOD ARGS... — a call by gdbus, as root. Prints "OK", or the
# short error name and the message ("WeakPassword: The password…"). The
# arguments are never printed.
pw_try() {
        local method=$1 out rc=0
        shift
        out=$(gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1) || rc=$?
        pw_result "$rc" "$out"
}

# pw_try_as UID METHOD ARGS... — the same from another uid.
pw_try_as() {
        local uid=$1 method=$2 out rc=0
        shift 2
        out=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1) || rc=$?
        pw_result "$rc" "$out"
}

pw_result() {
        local line
        if [ "$1" -eq 0 ]; then
                echo OK
                return
        fi
        line=$(sed -n "s/.*GDBus\.Error:$ERR\.\([A-Za-z]*\): /\1: /p" <<<"$2" | head -n 1)
        # Not one of ours: the error name only; gdbus may quote arguments.
        [ -n "$line" ] || line=$(sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1: (message withheld)/p' <<<"$2" | head -n 1)
        echo "${line:-gdbus failed without a D-Bus error (output withheld)}"
}

# The error name of a pw_try result.
pw_name() {
        echo "${1%%:*}"
}

# pw_check USERNAME PASSWORD [UID] — CheckPassword's reply (busctl JSON).
pw_check() {
        if [ $# -ge 3 ]; then
                pw_call_as "$3" CheckPassword ss "$1" "$2" || fail "CheckPassword as $3 failed"
        else
                pw_call CheckPassword ss "$1" "$2"
        fi
}

# The checks every CheckPassword reply must pass, whatever the password:
# the keys and types of the contract, a consistent verdict, and no trace
# of the password in the message.
pw_verdict_sane() {
        local reply=$1 password=$2 label=$3
        jq -e '.data[0] | (.ok.type == "b") and (.score.type == "u") and (.guesses_log10.type == "d")
                and (.problems.type == "as") and (.message.type == "s")' <<<"$reply" > /dev/null \
                || fail "$label: CheckPassword reply lacks a key or has a wrong type"
        jq -e '.data[0] | .score.data >= 0 and .score.data <= 4' <<<"$reply" > /dev/null \
                || fail "$label: score out of 0-4"
        jq -e '.data[0] | if .ok.data then (.problems.data == [] and .message.data == "")
                else (.problems.data != [] and .message.data != "") end' <<<"$reply" > /dev/null \
                || fail "$label: ok, problems and message disagree"
        # One sentence per problem, none said twice (pwquality's own reason
        # is left out where one of our checks says the same).
        if sed 's/\([.!?]\) /\1\n/g' <<<"$(jget message <<<"$reply")" | sort | uniq -d | grep -q .; then
                fail "$label: a sentence repeated in the message"
        fi
        if [ ${#password} -ge 4 ] && jq -e --arg p "$password" '.data[0].message.data | contains($p)' \
                <<<"$reply" > /dev/null; then
                fail "$label: the message contains the password"
        fi
}

pw_has_problem() {
        jq -e --arg p "$2" '.data[0].problems.data | index($p) != null' <<<"$1" > /dev/null
}

# Moves the mails read so far aside, so the next token found is a new one.
pw_mail_archive() {
        mkdir -p "$T/mail.old"
        find "$T/mail" -maxdepth 1 -name '*.eml' -exec mv -t "$T/mail.old" {} +
}

# A fresh reset token for USERNAME / IDENTITY, asked for as root.
pw_reset_token() {
        local user=$1 ident=$2
        pw_mail_archive
        sa_call ForgotPassword sss "" "$user" "" > /dev/null
        sa_mailed_token "$ident"
        pw_mail_archive
}

# ---------------------------------------------------------------- the table

# Under the default rules (the harness's empty pwquality.conf, zxcvbn floor
# 8, max_length 256), for the account alice, "Alice Liddell",
# wonderland@example.org. Columns: verdict (true = accepted), a problem code
# the verdict must include (- for none), a label for messages, the password.
ROW_OK=()
ROW_PROBLEM=()
ROW_LABEL=()
ROW_PW=()

row() {
        ROW_OK+=("$1")
        ROW_PROBLEM+=("$2")
        ROW_LABEL+=("$3")
        ROW_PW+=("$4")
}

pw_table() {
        local long
        # 257 characters: too long, whatever else is wrong with it.
        long=$(printf 'Vq7#mK2p-Lx9!rT4%.0s' $(seq 1 16))x

        row false pwquality-dictionary "dictionary word and digits"        'password123'
        row false too-guessable      "leet word and a year"                'P@ssw0rd2024'
        row true  -                  "four random words"                   'correct horse battery staple'
        row false too-guessable      "keyboard row"                        'qwertyuiop'
        row false too-guessable      "one repeated letter"                 'aaaaaaaaaaaaaaaa'
        row false too-guessable      "two sequences"                       'abcdefgh12345678'
        row false too-guessable      "digit sequence"                      '12345678901234567890'
        row false pwquality-min-length "shorter than 8"                    'short1!'
        row false pwquality-min-length "short word and digits"             'xkcd936'
        row false too-guessable      "common phrase"                       'ilovemydog'
        row false too-guessable      "season and year"                     'Summer2024!'
        row false empty              "empty"                               ''
        row false control-character  "tab inside"                          $'tab\there long passphrase words'
        row false too-long           "257 characters"                      "$long"
        row false contains-username  "user name inside"                    'alice-rocks-2024!x'
        row false contains-username  "user name in capitals"               'ALICE rides the tall waves'
        row false contains-name      "a word of the display name"          'liddell lives by the sea'
        row false contains-identity  "local part of the e-mail"            'wonderland green tea cups'
        row true  -                  "random characters"                   '9mN#q2vL!x7Rz@4w'
        row true  -                  "words and hyphens"                   'zebra-sunset-quantum-42'
        row true  -                  "French with accents"                 'Élodie mange 7 pommes vertes'
        row true  -                  "Cyrillic words"                      'пароль для входа в систему'
        row true  -                  "words, capital and number"           'monkey dishwasher Pluto 17'
}

# pw_agree INDEX UID CALLER TOKEN-MODE — CheckPassword by CALLER ("" for
# root) and ChangePassword must agree on table row INDEX, and both must
# match the table. TOKEN-MODE "admin": root sets it without old password;
# "token": with the token in PW_TOKEN (refreshed after each success).
pw_agree() {
        local i=$1 uid=$2 caller=$3 mode=$4
        local pw=${ROW_PW[$i]} label="row $1 (${ROW_LABEL[$1]})"
        local reply ok msg res

        if [ -n "$caller" ]; then
                reply=$(pw_check alice "$pw" "$caller")
        else
                reply=$(pw_check alice "$pw")
        fi
        pw_verdict_sane "$reply" "$pw" "$label"
        ok=$(jq -r '.data[0].ok.data' <<<"$reply")
        msg=$(jq -r '.data[0].message.data' <<<"$reply")
        expect_eq "$ok" "${ROW_OK[$i]}" "$label: CheckPassword ok"
        if [ "${ROW_PROBLEM[$i]}" != - ]; then
                pw_has_problem "$reply" "${ROW_PROBLEM[$i]}" \
                        || fail "$label: problems lack ${ROW_PROBLEM[$i]}: $(jq -c '.data[0].problems.data' <<<"$reply")"
        fi

        if [ "$mode" = admin ]; then
                res=$(pw_try ChangePassword "$uid" "$pw" "" "" "$pw")
        elif [ -n "$caller" ]; then
                res=$(pw_try_as "$caller" ChangePassword "$uid" "$pw" "$PW_TOKEN" "" "$pw")
        else
                res=$(pw_try ChangePassword "$uid" "$pw" "$PW_TOKEN" "" "$pw")
        fi

        if [ "$ok" = true ]; then
                expect_eq "$res" OK "$label: ChangePassword of a password CheckPassword accepts"
                # It really is the password now.
                pw_login alice "$pw" > /dev/null
                [ "$mode" = admin ] || PW_TOKEN=$(pw_reset_token alice wonderland@example.org)
        else
                expect_eq "$(pw_name "$res")" WeakPassword "$label: ChangePassword of a password CheckPassword refuses"
                # The same reason, word for word.
                expect_eq "${res#*: }" "$msg" "$label: WeakPassword message vs CheckPassword message"
        fi
}

test_table_check_agrees_with_admin_change() {
        sa_setup
        local uid i
        uid=$(sa_register alice wonderland@example.org "Alice Liddell")
        pw_table
        [ ${#ROW_PW[@]} -ge 13 ] || fail "table too short"
        for i in "${!ROW_PW[@]}"; do
                pw_agree "$i" "$uid" "" admin
        done
}

# The same table on the token path, with alice herself (uid 4242 through
# nss_wrapper) as the caller of both methods: self sees the checks of her
# name and identity too.
test_table_check_agrees_with_token_change() {
        sa_setup "mail.resets_per_hour=100"
        local uid i
        uid=$(sa_register alice wonderland@example.org "Alice Liddell")
        PW_TOKEN=$(sa_mailed_token wonderland@example.org)   # the confirm token first
        pw_mail_archive
        pw_table
        for i in "${!ROW_PW[@]}"; do
                pw_agree "$i" "$uid" 4242 token
        done
}

# ---------------------------------------------------------------- rules

test_name_parts_refused() {
        sa_setup
        local uid reply res
        uid=$(sa_register alice wonderland@example.org "Alice Liddell")
        pw_first_password "$uid" "$PW1" wonderland@example.org
        # name, identity's local part, user name: each refused by both
        # methods, CheckPassword as alice herself, ChangePassword by her old
        # password.
        local pw code
        for code in contains-username contains-name contains-identity; do
                case $code in
                        contains-username) pw='the Alice of many tall waves' ;;
                        contains-name)     pw='liddell lives by the quiet sea' ;;
                        contains-identity) pw='WonderLand green tea cups' ;;
                esac
                reply=$(pw_check alice "$pw" 4242)
                expect_eq "$(jq -r '.data[0].ok.data' <<<"$reply")" false "$code: ok"
                pw_has_problem "$reply" "$code" || fail "$code: not among the problems"
                res=$(pw_try_as 4242 ChangePassword "$uid" "$pw" "" "$PW1" "$pw")
                expect_eq "$(pw_name "$res")" WeakPassword "$code: ChangePassword"
                expect_match "$res" "contains" "$code: reason in the message"
        done
        # The old password is still the password.
        pw_login alice "$PW1" > /dev/null
        # Someone else learns nothing of alice's account: judged on the user
        # name given only, the name part is not flagged for bob.
        reply=$(pw_check alice 'liddell lives by the quiet sea' 4243)
        pw_has_problem "$reply" contains-name && fail "another user's CheckPassword used alice's name"
        reply=$(pw_check alice 'the Alice of many tall waves' 4243)
        pw_has_problem "$reply" contains-username || fail "contains-username missing for the name given"
}

test_overlong_password_refused() {
        sa_setup "password.max_length=256"
        local uid p256 p257 res reply e256 e257 huge
        uid=$(pw_user alice "$PW1")
        # 256 and 257 characters with no pattern. Random text breaks a rule
        # about 1 time in 500 (cracklib's run of neighbouring characters, or
        # "test"/"user" of alice's name), so draw until one passes; the
        # 256-character checks below then test the length alone.
        local tries=0
        while :; do
                p256=$(head -c 192 /dev/urandom | base64 -w 0)
                [ "$(jq -r '.data[0].ok.data' <<<"$(pw_check alice "$p256")")" = true ] && break
                tries=$((tries + 1))
                [ "$tries" -lt 10 ] || fail "ten random 256-character passwords refused"
        done
        expect_eq "${#p256}" 256 "generated length"
        p257="${p256}Q"

        reply=$(pw_check alice "$p257")
        pw_has_problem "$reply" too-long || fail "257 characters: too-long missing"
        expect_eq "$(jq -r '.data[0].ok.data' <<<"$reply")" false "257 characters: ok"
        res=$(pw_try ChangePassword "$uid" "$p257" "" "$PW1" "$p257")
        expect_eq "$(pw_name "$res")" WeakPassword "257 characters: ChangePassword"
        expect_match "$res" "longer than 256 characters" "257 characters: reason"

        reply=$(pw_check alice "$p256")
        expect_eq "$(jq -r '.data[0].ok.data' <<<"$reply")" true "256 characters: ok"
        expect_eq "$(pw_try ChangePassword "$uid" "$p256" "" "$PW1" "$p256")" OK "256 characters: ChangePassword"
        pw_login alice "$p256" > /dev/null

        # Characters, not bytes: 256 × é (512 bytes) is not too long.
        e256=$(printf 'é%.0s' $(seq 1 256))
        e257="${e256}é"
        pw_has_problem "$(pw_check alice "$e256")" too-long && fail "256 × é counted as too long"
        pw_has_problem "$(pw_check alice "$e257")" too-long || fail "257 × é: too-long missing"

        # Far beyond what max_length could allow: refused before any work,
        # by both methods, as an invalid argument.
        huge=$(printf 'abcdefghijklmnop%.0s' $(seq 1 257))
        expect_eq "$(pw_name "$(pw_try CheckPassword alice "$huge")")" InvalidArgument "4112 bytes: CheckPassword"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$huge" "" "$p256" "$huge")")" InvalidArgument \
                "4112 bytes: ChangePassword"
        pw_login alice "$p256" > /dev/null
}

# A raw D-Bus client (EXTERNAL auth, Hello, then method calls with the
# bytes given): busctl and gdbus refuse to build a message holding invalid
# UTF-8, so this is the only way to put such bytes on the wire. Prints one
# line per call: "reply", "error", or "disconnected".
pw_raw_client() {
        cat > "$T/raw-dbus.py" <<'PY'
import os, socket, struct, sys

def align(b, n):
    b += b"\0" * ((-len(b)) % n)

def put_str(b, s):
    align(b, 4)
    b += struct.pack("<I", len(s)) + s + b"\0"

def put_sig(b, s):
    b.append(len(s))
    b += s + b"\0"

def message(serial, dest, path, iface, member, sig=b"", args=()):
    body = bytearray()
    for a in args:
        put_str(body, a)
    b = bytearray(b"l\x01\x00\x01") + struct.pack("<II", len(body), serial)
    lenpos = len(b)
    b += b"\0\0\0\0"
    align(b, 8)
    start = len(b)
    fields = [(1, b"o", path), (2, b"s", iface), (3, b"s", member), (6, b"s", dest)]
    if sig:
        fields.append((8, b"g", sig))
    for code, t, v in fields:
        align(b, 8)
        b.append(code)
        put_sig(b, t)
        put_sig(b, v) if t == b"g" else put_str(b, v)
    struct.pack_into("<I", b, lenpos, len(b) - start)
    align(b, 8)
    return bytes(b + body)

def recv_exact(s, n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c:
            return None
        d += c
    return d

def read_message(s):
    """(type, reply_serial) or None when the bus hung up."""
    h = recv_exact(s, 16)
    if h is None:
        return None
    body_len, _, flen = struct.unpack_from("<III", h, 4)
    rest = recv_exact(s, flen + (-flen) % 8 + body_len)
    if rest is None:
        return None
    f, i, reply_serial = rest[:flen], 0, None
    while i < len(f):
        code, sl = f[i], f[i + 1]
        sig = f[i + 2:i + 2 + sl]
        j = i + 3 + sl
        if sig in (b"s", b"o"):
            j += (-(j + 16)) % 4
            j += 4 + struct.unpack_from("<I", f, j)[0] + 1
        elif sig == b"g":
            j += 1 + f[j] + 1
        elif sig == b"u":
            j += (-(j + 16)) % 4
            if code == 5:
                reply_serial = struct.unpack_from("<I", f, j)[0]
            j += 4
        else:
            raise SystemExit("unexpected header field type")
        i = j + (-(j + 16)) % 8
    return h[1], reply_serial

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(sys.argv[1])
s.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
if not s.recv(4096).startswith(b"OK"):
    raise SystemExit("auth refused")
s.sendall(b"BEGIN\r\n")
s.sendall(message(1, b"org.freedesktop.DBus", b"/org/freedesktop/DBus", b"org.freedesktop.DBus", b"Hello"))
name = sys.argv[2].encode()
path = sys.argv[3].encode()
for serial, arg in enumerate(sys.argv[4:], start=2):
    pw = bytes.fromhex(arg)
    s.sendall(message(serial, name, path, name, b"CheckPassword", b"ss", (b"alice", pw)))
    while True:
        m = read_message(s)
        if m is None:
            print("disconnected")
            sys.exit(0)
        if m[1] == serial:
            print({2: "reply", 3: "error"}.get(m[0], "other"))
            break
PY
        /usr/bin/python3 "$T/raw-dbus.py" "$T/bus.sock" "$BUS_NAME" "$BUS_PATH" "$@"
}

test_invalid_utf8_refused() {
        sa_setup
        local bad=$'abc\xffdef ghi jkl' out rc=0 hex_ok hex_bad
        # The clients refuse to build the message: D-Bus strings must be
        # valid UTF-8.
        out=$(busctl --address="$BUS_ADDRESS" call "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" \
                CheckPassword ss alice "$bad" 2>&1) || rc=$?
        expect_ne "$rc" 0 "busctl with invalid UTF-8"
        expect_match "$out" "Invalid argument" "busctl's error"
        rc=0
        out=$(busctl --address="$BUS_ADDRESS" call "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" \
                ChangePassword sssss "$NO_UID" "$bad" "" "" "$bad" 2>&1) || rc=$?
        expect_ne "$rc" 0 "busctl ChangePassword with invalid UTF-8"
        expect_match "$out" "Invalid argument" "busctl's error (ChangePassword)"

        # On the wire: the bus checks every message and hangs up on a
        # sender of invalid UTF-8; sauthd never sees it. A valid call on the
        # same connection first shows the raw client itself works.
        hex_ok=$(printf '%s' "some valid text" | od -An -tx1 | tr -d ' \n')
        hex_bad=$(printf '%s' "$bad" | od -An -tx1 | tr -d ' \n')
        out=$(pw_raw_client "$hex_ok" "$hex_bad") || fail "raw D-Bus client failed"
        expect_eq "$(tr '\n' ' ' <<<"$out")" "reply disconnected " "valid then invalid UTF-8 on the wire"
        # Overlong encoding and a UTF-16 surrogate: the same.
        out=$(pw_raw_client "$(printf '%s' "ab" | od -An -tx1 | tr -d ' \n')c0af6364" ) || fail "raw client failed"
        expect_eq "$out" disconnected "overlong UTF-8 on the wire"
        out=$(pw_raw_client 6162eda080) || fail "raw client failed"
        expect_eq "$out" disconnected "surrogate on the wire"
        # sauthd is unharmed and still judges.
        pw_verdict_sane "$(pw_check alice "$PW1")" "$PW1" "after invalid UTF-8"
        kill -0 "$SAUTHD_PID" || fail "sauthd died"
}

# ---------------------------------------------------------------- history

test_history_refuses_current_and_recent() {
        sa_setup "password.history=5"
        local uid res
        uid=$(pw_user alice "$PW1")
        res=$(pw_try ChangePassword "$uid" "$PW1" "" "$PW1" "$PW1")
        expect_eq "$(pw_name "$res")" WeakPassword "the current password again"
        expect_match "$res" "used recently" "reason for the current password"
        # The admin path is held to the history too.
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW1" "" "" "$PW1")")" WeakPassword \
                "the current password again, admin path"

        expect_eq "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")" OK "a new password"
        res=$(pw_try ChangePassword "$uid" "$PW1" "" "$PW2" "$PW1")
        expect_eq "$(pw_name "$res")" WeakPassword "a recent password"
        expect_match "$res" "used recently" "reason for a recent password"
        # And with a reset token: refused, and the token not spent.
        local tok
        tok=$(pw_reset_token alice alice@example.org)
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW1" "$tok" "" "$PW1")")" WeakPassword \
                "a recent password, token path"
        expect_eq "$(pw_try ChangePassword "$uid" "$PW3" "$tok" "" "$PW3")" OK "the token after a refusal"
        # The refusals changed nothing along the way.
        pw_login alice "$PW3" > /dev/null
        expect_eq "$(pw_name "$(pw_try AccountLogin alice "$PW1" local '@a{sv} {}')")" InvalidCredentials "first password"
}

test_history_zero_allows_reuse() {
        sa_setup "password.history=0"
        local uid
        uid=$(pw_user alice "$PW1")
        expect_eq "$(pw_try ChangePassword "$uid" "$PW1" "" "$PW1" "$PW1")" OK "the current password again"
        expect_eq "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")" OK "a new password"
        expect_eq "$(pw_try ChangePassword "$uid" "$PW1" "" "$PW2" "$PW1")" OK "the previous password"
        pw_login alice "$PW1" > /dev/null
}

# The history is a window, not a list forever: with history=1, a password
# three changes back is allowed again.
test_history_is_bounded() {
        sa_setup "password.history=1"
        local uid
        uid=$(pw_user alice "$PW1")
        expect_eq "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")" OK "second password"
        expect_eq "$(pw_try ChangePassword "$uid" "$PW3" "" "$PW2" "$PW3")" OK "third password"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW3" "" "$PW3" "$PW3")")" WeakPassword "current again"
        expect_eq "$(pw_try ChangePassword "$uid" "$PW1" "" "$PW3" "$PW1")" OK "first password, out of the window"
}

# ---------------------------------------------------------------- ChangePassword

# The issue's order: mismatch, then no active account, then weak, then
# credentials. Each step is shown with the later ones also failing.
test_change_order() {
        sa_setup
        local uid res
        uid=$(pw_user alice "$PW1")
        expect_eq "$(pw_name "$(pw_try ChangePassword "$NO_UID" 'password123' "" "$WRONG" 'password124')")" \
                PasswordMismatch "mismatch first (unknown uid, weak, wrong old)"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW3")")" \
                PasswordMismatch "mismatch with the right old password"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$NO_UID" 'password123' "" "$WRONG" 'password123')")" \
                NotFound "no account before weak"
        expect_eq "$(pw_name "$(pw_try ChangePassword "" "$PW2" "" "$PW1" "$PW2")")" \
                InvalidArgument "empty uid"

        # A disabled account has no active account for its uid.
        sa_call SetAccountStatus ss alice disabled > /dev/null
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")")" NotFound "disabled account"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "" "$PW2")")" NotFound "disabled account, admin"
        sa_call SetAccountStatus ss alice active > /dev/null

        # Weak before any credential: the reason is in the message.
        res=$(pw_try ChangePassword "$uid" 'password123' "" "$WRONG" 'password123')
        expect_eq "$(pw_name "$res")" WeakPassword "weak before a wrong old password"
        expect_match "$res" "dictionary|too easy to guess" "weak: the reason"
        res=$(pw_try ChangePassword "$uid" 'password123' "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" 'password123')
        expect_eq "$(pw_name "$res")" WeakPassword "weak before a bad token"

        # Then the credentials.
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2")")" \
                InvalidCredentials "wrong old password"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" "$PW2")")" \
                InvalidToken "unknown token"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "not-a-token" "" "$PW2")")" \
                InvalidToken "malformed token"
        # Nothing changed.
        pw_login alice "$PW1" > /dev/null
        expect_eq "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")" OK "right old password"
        pw_login alice "$PW2" > /dev/null
}

# For a caller that is not admin, an unknown uid, a disabled account, a
# wrong old password and a bad token look alike: the same answers, and the
# same cost (an unknown uid's old password is verified against the dummy,
# so it takes a hash like a real one; the margin is wide: without the
# dummy it would take no hash at all).
test_change_unknown_uid_like_wrong_password() {
        sa_setup "password.hash_mem_kib=65536" "password.hash_ops=2"
        local uid bob_uid res i t0 t1 known=0 unknown=0
        uid=$(pw_user alice "$PW1")
        bob_uid=$(pw_user bob "$PW1")
        sa_call SetAccountStatus ss bob disabled > /dev/null

        for target in "$uid" "$NO_UID" "$bob_uid"; do
                expect_eq "$(pw_name "$(pw_try_as 4243 ChangePassword "$target" "$PW2" "" "$WRONG" "$PW2")")" \
                        InvalidCredentials "wrong old password (target $target)"
                expect_eq "$(pw_name "$(pw_try_as 4243 ChangePassword "$target" "$PW2" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" "$PW2")")" \
                        InvalidToken "bad token (target $target)"
                expect_eq "$(pw_name "$(pw_try_as 4243 ChangePassword "$target" "$PW2" "" "" "$PW2")")" \
                        InvalidCredentials "no credential (target $target)"
                res=$(pw_try_as 4243 ChangePassword "$target" "password123" "" "$WRONG" "password123")
                expect_eq "$(pw_name "$res")" WeakPassword "weak (target $target)"
        done
        # Even the right old password of a disabled account is refused alike.
        expect_eq "$(pw_name "$(pw_try_as 4243 ChangePassword "$bob_uid" "$PW2" "" "$PW1" "$PW2")")" \
                InvalidCredentials "disabled account, right old password"
        # Admins still learn that there is no active account.
        expect_eq "$(pw_name "$(pw_try ChangePassword "$NO_UID" "$PW2" "" "$WRONG" "$PW2")")" NotFound "admin caller"

        for i in 1 2 3; do
                t0=$(date +%s%N)
                pw_try_as 4243 ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2" > /dev/null
                t1=$(date +%s%N)
                known=$((known + (t1 - t0) / 1000))
                t0=$(date +%s%N)
                pw_try_as 4243 ChangePassword "$NO_UID" "$PW2" "" "$WRONG" "$PW2" > /dev/null
                t1=$(date +%s%N)
                unknown=$((unknown + (t1 - t0) / 1000))
        done
        note "wrong old password: known uid ${known} us, unknown uid ${unknown} us (3 each)"
        [ $((unknown * 2)) -ge "$known" ] || fail "an unknown uid costs far less than a known one: no dummy verify"
}

test_wrong_old_password_counts_toward_lockout() {
        sa_setup "lockout.deny=2" "lockout.unlock_time=600"
        local uid
        uid=$(pw_user alice "$PW1")
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2")")" InvalidCredentials "first wrong old"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2")")" InvalidCredentials "second wrong old"
        # Locked: root is told so even with the right password, and the
        # right old password cannot change it either.
        expect_eq "$(pw_name "$(pw_try AccountLogin alice "$PW1" local '@a{sv} {}')")" AccountLocked "login after two wrong old passwords"
        expect_match "$(sa_call AccountStatus s alice | jget locked_until)" '^[1-9][0-9]+$' "locked_until"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")")" AccountLocked \
                "right old password while locked"
}

# ChangePassword and AccountLogin count on the same counter.
test_wrong_old_password_and_login_share_count() {
        sa_setup "lockout.deny=2"
        local uid
        uid=$(pw_user alice "$PW1")
        # An ordinary caller (alice herself) counts against herself only:
        # wrong old password and wrong login together stop her, RateLimited,
        # and never lock the account.
        expect_eq "$(pw_name "$(pw_try_as 4242 ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2")")" InvalidCredentials \
                "wrong old password, as alice"
        expect_eq "$(pw_name "$(pw_try_as 4242 AccountLogin alice "$WRONG" local '@a{sv} {}')")" InvalidCredentials \
                "wrong login, as alice"
        expect_eq "$(pw_name "$(pw_try_as 4242 AccountLogin alice "$PW1" local '@a{sv} {}')")" RateLimited \
                "alice must wait"
        pw_login alice "$PW1" > /dev/null
        # An admin caller's (a PAM stack's) failures share the account's count.
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2")")" InvalidCredentials \
                "wrong old password, as root"
        expect_eq "$(pw_name "$(pw_try AccountLogin alice "$WRONG" local '@a{sv} {}')")" InvalidCredentials "wrong login"
        expect_eq "$(pw_name "$(pw_try AccountLogin alice "$PW1" local '@a{sv} {}')")" AccountLocked "locked"
}

test_user_changes_own_password_with_old() {
        sa_setup
        local uid reply
        uid=$(pw_user alice "$PW1")
        reply=$(pw_call_as 4242 ChangePassword sssss "$uid" "$PW2" "" "$PW1" "$PW2") \
                || fail "ChangePassword as alice with her old password failed"
        expect_eq "$(jget uid <<<"$reply")" "$uid" "reply uid"
        expect_eq "$(jget username <<<"$reply")" alice "reply username"
        expect_match "$(jget account_id <<<"$reply")" '^x-' "reply account_id"
        pw_login alice "$PW2" > /dev/null
        expect_eq "$(pw_name "$(pw_try AccountLogin alice "$PW1" local '@a{sv} {}')")" InvalidCredentials "old password after change"
}

test_non_admin_needs_old_password_or_token() {
        sa_setup
        local uid
        uid=$(pw_user alice "$PW1")
        expect_eq "$(pw_name "$(pw_try_as 4242 ChangePassword "$uid" "$PW2" "" "" "$PW2")")" InvalidCredentials \
                "alice without old password or token"
        expect_eq "$(pw_name "$(pw_try_as 4243 ChangePassword "$uid" "$PW2" "" "" "$PW2")")" InvalidCredentials \
                "bob without old password or token"
        # carol, in the admin group, may; like root.
        expect_eq "$(pw_try_as 4244 ChangePassword "$uid" "$PW2" "" "" "$PW2")" OK "carol (admin group)"
        pw_login alice "$PW2" > /dev/null
}

test_change_mails_notice() {
        sa_setup
        local uid f n
        uid=$(pw_user alice "$PW1")
        # Stopping the daemon waits for its mail queue: after a restart,
        # every mail of the registration is in.
        sa_stop_daemon
        sa_start_daemon
        pw_mail_archive
        # A refused change mails nothing; a done one mails the notice.
        expect_eq "$(pw_name "$(pw_try ChangePassword "$uid" "$PW2" "" "$WRONG" "$PW2")")" InvalidCredentials "wrong old"
        expect_eq "$(pw_try ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")" OK "change"
        expect_eq "$(sa_wait_mails 1)" 1 "mails after the change"
        sa_stop_daemon   # nothing else comes
        expect_eq "$(sa_mail_count)" 1 "mails after the daemon stopped"
        f=$(find "$T/mail" -name '*.eml')
        grep -qi '^To: .*alice@example.org' "$f" || fail "notice not addressed to the identity"
        grep -q '^Subject: Your password was changed' "$f" || fail "not the password_changed notice"
        grep -q 'alice' "$f" || fail "notice does not name the account"
        if grep -qF -- "$PW2" "$f" || grep -qF -- "$PW1" "$f"; then fail "the notice contains a password"; fi
        n=$(grep -cE '^    [A-Za-z0-9_-]{43}$' "$f" || true)
        expect_eq "$n" 0 "token lines in the notice"
}

test_reset_token_bound_to_its_account() {
        sa_setup
        local alice bob tok
        alice=$(pw_user alice "$PW1")
        bob=$(pw_user bob "$PW1")
        tok=$(pw_reset_token alice alice@example.org)
        expect_eq "$(pw_name "$(pw_try ChangePassword "$bob" "$PW2" "$tok" "" "$PW2")")" InvalidToken "alice's token for bob"
        expect_eq "$(pw_name "$(pw_try_as 4243 ChangePassword "$bob" "$PW2" "$tok" "" "$PW2")")" InvalidToken \
                "alice's token for bob, as bob"
        pw_login bob "$PW1" > /dev/null
        # Still good for alice (the refusals did not spend it), then spent.
        expect_eq "$(pw_try_as 4242 ChangePassword "$alice" "$PW2" "$tok" "" "$PW2")" OK "alice's token for alice"
        expect_eq "$(pw_name "$(pw_try ChangePassword "$alice" "$PW3" "$tok" "" "$PW3")")" InvalidToken "second use"
        pw_login alice "$PW2" > /dev/null
}

# ---------------------------------------------------------------- CheckPassword limit

# ratelimit.h: CHECK_BURST 60, then 20 per second, per caller uid. A
# dialog checking as the user types stays far below; a loop hits it.
test_check_password_rate_limited() {
        sa_setup
        local allowed limited
        read -r allowed limited < <(sa_burst 0 CheckPassword ss 300 alice "$PW1")
        expect_eq "$limited" RateLimited "after a burst of $allowed checks"
        [ "$allowed" -ge 20 ] || fail "limited after only $allowed checks: a typing dialog would be"
        # Per caller: others are not held back by root's burst.
        expect_eq "$(pw_try_as 4242 CheckPassword alice "$PW1")" OK "another caller"
        expect_eq "$(pw_try_as 4243 CheckPassword bob "$PW1")" OK "a third caller"
        # Logins are not rate limited with it.
        pw_user carol "$PW1" > /dev/null
        pw_login carol "$PW1" > /dev/null
}

# A password dialog calling CheckPassword on every keystroke of a person
# typing 10 keys a second, in real time for 8 seconds (80 calls, as one
# user): none is refused. (With 5 a second after a burst of 30, the 71st
# call was RateLimited.)
test_check_password_typing_dialog() {
        sa_setup
        local allowed limited
        read -r allowed limited < <(CALL_INTERVAL=0.1 sa_burst 4242 CheckPassword ss 80 alice "$PW1")
        expect_eq "$limited" - "a typing dialog was refused after $allowed checks"
        expect_eq "$allowed" 80 "checks answered"
}

# ---------------------------------------------------------------- must change

test_expire_password_must_change() {
        sa_setup
        local uid reply
        uid=$(pw_user alice "$PW1")
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" false "before"
        expect_eq "$(sa_error_as 4243 ExpirePassword alice)" AccessDenied "ExpirePassword by bob"
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" false "after bob tried"
        sa_call ExpirePassword s alice > /dev/null
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" true "after ExpirePassword"
        # Login still works, with the pwchange role.
        reply=$(pw_login alice "$PW1")
        expect_match "$(jget roles <<<"$reply")" '(^| )pwchange( |$)' "roles when expired"
        # A change clears it.
        expect_eq "$(pw_try_as 4242 ChangePassword "$uid" "$PW2" "" "$PW1" "$PW2")" OK "change"
        expect_eq "$(sa_call AccountStatus s alice | jget password_must_change)" false "after the change"
        reply=$(pw_login alice "$PW2")
        expect_no_match "$(jget roles <<<"$reply")" 'pwchange' "roles after the change"
}

sa_main "$@"
