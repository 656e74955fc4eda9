#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Localised messages: sauthd's password feedback in the caller's locale
# (CheckPasswordWithLocale, ChangePasswordWithLocale) and the PAM module's
# prompts in the user's, with the German catalog built in the tree
# (SAUTH_LOCALEDIR=build/po) and a de_DE.UTF-8 locale made by localedef in
# the test dir (LOCPATH): the machine need not have it generated.
. "$(dirname "$0")/lib.sh"

: "${SAUTH_LOCALEDIR:=${BUILD_DIR:-.}/po}"
export SAUTH_LOCALEDIR

PW1='Violet-Tundra-Anchor-5821'
PW2='Copper-Lantern-Meadow-3307'
PW3='Saffron-Glacier-Beacon-7416'
DE=de_DE.UTF-8
MSG_CHAUTHTOK_OK='authentication token altered successfully'

# Makes de_DE.UTF-8 from the locales package's sources into $T/locale and
# points glibc there, for sauthd and pamtester alike.
i18n_locale_de() {
        [ -d /usr/share/i18n/locales ] || fail "no locale sources: install the locales package"
        [ -f "$SAUTH_LOCALEDIR/de/LC_MESSAGES/sessionauth.mo" ] || fail "no German catalog in $SAUTH_LOCALEDIR"
        mkdir -p "$T/locale"
        localedef -i de_DE -f UTF-8 "$T/locale/$DE" > "$T/localedef.log" 2>&1 \
                || fail "localedef failed: $(tail -n 3 "$T/localedef.log")"
        export LOCPATH="$T/locale"
}

i18n_setup() {
        sa_prepare "$@"
        i18n_locale_de
        sa_start_bus
        sa_start_daemon
}

# i18n_call METHOD ARGS... — gdbus call (an error is printed, not fatal):
# the error's message matters here, and busctl does not print it.
i18n_call() {
        local method=$1; shift
        gdbus call --address "$BUS_ADDRESS" --dest "$BUS_NAME" --object-path "$BUS_PATH" \
                --method "$BUS_IFACE.$method" -- "$@" 2>&1 || true
}

# The sentences of a message, one a line.
sentences() {
        sed 's/\([.!?]\) /\1\n/g' <<<"$1"
}

# No sentence of MESSAGE said twice.
expect_no_repeat() {
        local dup
        dup=$(sentences "$1" | sort | uniq -d)
        [ -z "$dup" ] || fail "${2:-message}: a sentence repeated: $dup"
}

test_check_password_german() {
        i18n_setup
        local de en
        de=$(sa_call CheckPasswordWithLocale sss alice password "$DE")
        en=$(sa_call CheckPassword ss alice password)
        expect_eq "$(jget ok <<<"$de")" false "ok"
        expect_match "$(jget message <<<"$de")" "^Das Passwort " "German message"
        expect_match "$(jget message <<<"$de")" "zu leicht zu erraten: Es verwendet ein häufiges Wort" "zxcvbn's part"
        expect_no_match "$(jget message <<<"$de")" "The password" "German message"
        expect_match "$(jget message <<<"$en")" "^The password .*too easy to guess" "English without a locale"
        # The codes are the contract, whatever the language.
        expect_eq "$(jget problems <<<"$de")" "$(jget problems <<<"$en")" "problems in German and English"
        expect_eq "$(jget score <<<"$de")" "$(jget score <<<"$en")" "score"
        # The locale is the call's: the next call without one is English.
        expect_match "$(sa_call CheckPassword ss alice password | jget message)" "^The password" "after a German call"
}

test_locale_argument_checked() {
        i18n_setup
        local out long
        long=$(printf 'de%.0s' $(seq 1 40))
        for bad in "../../../tmp/x" "de_DE.ISO-8859-1" "de DE" "$long" "DE" "de_de" "C.latin1"; do
                out=$(i18n_call CheckPasswordWithLocale alice password "$bad")
                expect_match "$out" "$ERR.InvalidArgument" "locale '$bad'"
        done
        # Valid names the system lacks, and none: untranslated, not refused.
        for ok in "" "xx_YY.UTF-8" "C" "POSIX" "C.UTF-8" "fr" "sr_RS@latin"; do
                out=$(sa_call CheckPasswordWithLocale sss alice password "$ok" | jget message)
                expect_match "$out" "^The password" "locale '$ok'"
        done
        # A name without a codeset means its UTF-8 form.
        out=$(sa_call CheckPasswordWithLocale sss alice password de_DE | jget message)
        expect_match "$out" "^Das Passwort" "de_DE"
}

# The full rules of a change (the account's names) run on a hash worker:
# its message is German too, while English calls run beside it.
test_change_password_german() {
        i18n_setup
        local uid out i pids=()
        uid=$(sa_user alice "$PW1")
        out=$(i18n_call ChangePasswordWithLocale "$uid" "$PW2" "" "$PW1" "$PW1" "$DE")
        expect_match "$out" "$ERR.PasswordMismatch: Das neue Passwort und seine Bestätigung" "mismatch"
        out=$(i18n_call ChangePasswordWithLocale "$uid" password "" "$PW1" password "$DE")
        expect_match "$out" "$ERR.WeakPassword: Das Passwort" "weak, generic rules"
        # "Test User" is alice's display name: only the full rules know it.
        for i in 1 2 3; do
                sa_call CheckPassword ss alice "$PW1" > /dev/null &
                pids+=($!)
        done
        out=$(i18n_call ChangePasswordWithLocale "$uid" 'Test zebra quantum harbour 93' "" "$PW1" \
                'Test zebra quantum harbour 93' "$DE")
        wait "${pids[@]}"
        expect_match "$out" "$ERR.WeakPassword: Das Passwort enthält einen Teil des Namens\." "worker's rules"
        out=$(i18n_call ChangePassword "$uid" 'Test zebra quantum harbour 93' "" "$PW1" 'Test zebra quantum harbour 93')
        expect_match "$out" "$ERR.WeakPassword: The password contains a part of the name\." "English change"
        out=$(i18n_call ChangePasswordWithLocale "$uid" "$PW2" "" "wrong-$PW1" "$PW2" "$DE")
        expect_match "$out" "$ERR.InvalidCredentials: Das alte Passwort ist nicht korrekt" "wrong old password"
        out=$(i18n_call ChangePasswordWithLocale "$uid" "$PW2" "" "$PW1" "$PW2" "$DE")
        expect_match "$out" "account_id" "a good change"
        sa_login alice "$PW2" > /dev/null
}

# pwquality's reason has a code of its own, and no sentence is said twice
# (pwquality's "contains the user name in some form" and ours).
test_pwquality_codes_no_repeat() {
        i18n_setup
        local reply pw
        reply=$(sa_call CheckPassword ss alice 'password123')
        expect_match "$(jget problems <<<"$reply")" "(^| )pwquality-dictionary( |$)" "dictionary code"
        reply=$(sa_call CheckPassword ss alice 'Abba1221abbA')
        expect_match "$(jget problems <<<"$reply")" "(^| )pwquality-palindrome( |$)" "palindrome code"
        reply=$(sa_call CheckPassword ss alice 'alice-rocks-2024!x')
        expect_match "$(jget problems <<<"$reply")" "(^| )contains-username( |$)" "our user name check"
        expect_no_match "$(jget problems <<<"$reply")" "pwquality-username" "pwquality's user name check"
        for pw in password123 'Abba1221abbA' 'alice-rocks-2024!x' aaaaaaaaaaaaaaaa short1! 'ALICE rides alice waves' \
                  'Alice Alice Alice 1' qwertyuiop; do
                reply=$(sa_call CheckPassword ss alice "$pw")
                expect_no_repeat "$(jget message <<<"$reply")" "English"
                expect_no_match "$(jget problems <<<"$reply")" "(^| )pwquality( |$)" "the bare pwquality code"
                reply=$(sa_call CheckPasswordWithLocale sss alice "$pw" "$DE")
                expect_no_repeat "$(jget message <<<"$reply")" "German"
        done
}

# ---------------------------------------------------------------- PAM

pt_chauthtok() {
        PAM_RC=0
        PAM_OUT=$(printf '%s\n' "$@" | sa_pam sa alice 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)') || PAM_RC=$?
        echo "$PAM_OUT" >> "$T/pamtester.log"
}

# LANG=de_DE.UTF-8 (no LC_ALL): the module's prompt and the daemon's
# reason for a refused password are German.
test_pam_german_prompt() {
        i18n_setup
        sa_user alice "$PW1" > /dev/null
        sa_pam_service sa
        unset LC_ALL LC_MESSAGES LANGUAGE
        LANG=$DE pt_chauthtok "$PW1" password password "$PW2" "$PW2"
        [ "$PAM_RC" -eq 0 ] || fail "pamtester failed ($PAM_RC): $PAM_OUT"
        expect_match "$PAM_OUT" "$MSG_CHAUTHTOK_OK" "pamtester"
        expect_match "$PAM_OUT" "Aktuelles Passwort: " "German prompt"
        expect_match "$PAM_OUT" "Das Passwort ist zu leicht zu erraten" "German reason"
        expect_no_match "$PAM_OUT" "Current password" "English prompt"
        sa_login alice "$PW2" > /dev/null
}

# C.UTF-8 with LANGUAGE=de (a machine without de_DE.UTF-8): glibc's
# gettext takes the language from LANGUAGE. Plain C.UTF-8 stays English.
test_pam_language_variable() {
        i18n_setup
        sa_user alice "$PW1" > /dev/null
        sa_pam_service sa
        unset LC_MESSAGES LANG LOCPATH
        LC_ALL=C.UTF-8 LANGUAGE=de pt_chauthtok "$PW1" "$PW2" "$PW2"
        expect_match "$PAM_OUT" "Aktuelles Passwort: " "German prompt with LANGUAGE=de"
        LC_ALL=C.UTF-8 LANGUAGE= pt_chauthtok "$PW2" "$PW3" "$PW3"
        expect_match "$PAM_OUT" "Current password: " "English prompt in C.UTF-8"
        expect_match "$PAM_OUT" "$MSG_CHAUTHTOK_OK" "pamtester"
}

# A screen locker makes a PAM transaction per unlock, all in one process.
# glibc leaks a little whenever a locale object that gettext used is freed,
# and libpam unloads its modules at pam_end(): the module stays loaded and
# keeps its locale objects, so German transactions (each showing the
# translated must-change notice) leave no more behind than transactions in
# the C locale, which make none. Before, each German one left about 300
# bytes more (200 rounds: 483 against 173 bytes a round); now 57 against
# 89. The margin is wide: what a round leaves varies by tens of bytes.
pam_rounds() {
        echo "$PW1" | ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
                "$BUILD_DIR/tests/integration/pam-rounds" "$T/pam.d" sa alice "$1" 200 2>&1
}

test_pam_locale_kept_across_transactions() {
        i18n_setup
        sa_user alice "$PW1" > /dev/null
        sa_call ExpirePassword s alice > /dev/null
        sa_pam_service sa
        local de c n_de n_c
        de=$(pam_rounds "$DE") || fail "pam-rounds failed: $de"
        c=$(pam_rounds C) || fail "pam-rounds failed: $c"
        expect_match "$de" "notice=Sie müssen Ihr Passwort sofort ändern" "German notice"
        expect_match "$c" "notice=You are required to change your password" "English notice"
        n_de=${de#bytes_per_round=}
        n_de=${n_de%% *}
        n_c=${c#bytes_per_round=}
        n_c=${n_c%% *}
        note "bytes left per transaction: $n_de in German, $n_c in C"
        [ "$n_de" -le $((n_c + 150)) ] || fail "a German transaction left $n_de bytes, one in C $n_c"
}

sa_main "$@"
