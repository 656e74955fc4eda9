#!/bin/sh
# A sendmail stand-in that fails on demand, for the outbox tests:
#   mail-flaky.sh FLAG DIR
# While the file FLAG exists, it keeps the message it read in DIR/failed/
# (the tests read the token from there while the message is still queued)
# and exits 1; otherwise it stores it in DIR like mail-capture.sh.
set -eu
flag=$1 dir=$2
umask 077
if [ -e "$flag" ]; then
        mkdir -p "$dir/failed"
        tmp=$(mktemp "$dir/failed/.tmp.XXXXXXXX")
        cat > "$tmp"
        mv "$tmp" "$dir/failed/$(date +%s%N)-$$.eml"
        exit 1
fi
tmp=$(mktemp "$dir/.tmp.XXXXXXXX")
cat > "$tmp"
mv "$tmp" "$dir/$(date +%s%N)-$$.eml"
