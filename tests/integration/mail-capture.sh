#!/bin/sh
# A sendmail stand-in for tests: stores the message read on stdin as a file
# in the folder given, mode 0600 (it holds a token). Names sort by time.
set -eu
dir=$1
umask 077
tmp=$(mktemp "$dir/.tmp.XXXXXXXX")
cat > "$tmp"
mv "$tmp" "$dir/$(date +%s%N)-$$.eml"
