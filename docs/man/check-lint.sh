#!/bin/bash
# Lints each man page given: `mandoc -T lint -W warning` and
# `man --warnings -l` must print nothing. Fails naming the page and the
# message.
set -u -o pipefail

# scdoc (1.11) writes ".P" right after every ".SH" and ".SS" and before
# the next heading; mandoc skips those empty paragraphs with a warning.
# They are scdoc's, not ours, and change nothing in the output: these
# three messages only are dropped.
scdoc_noise='WARNING: skipping paragraph macro: PP (empty|after SH|after SS)$'

status=0
for page in "$@"; do
        name=${page##*/}
        out=$(mandoc -T lint -W warning "$page" 2>&1 | grep -Ev "$scdoc_noise")
        if [ -n "$out" ]; then
                printf '%s: mandoc:\n%s\n' "$name" "$out"
                status=1
        fi
        # man-db runs groff with its warnings on; anything on stderr is one.
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        if [ -n "$out" ]; then
                printf '%s: man --warnings:\n%s\n' "$name" "$out"
                status=1
        fi
        [ "$status" -eq 0 ] && printf 'ok %s\n' "$name"
done
exit "$status"
