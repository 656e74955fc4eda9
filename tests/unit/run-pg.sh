#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a unit test program against a private PostgreSQL (pg-lib.sh):
# SAUTH_TEST_PG_HOST names the server's socket directory.
#   run-pg.sh PROGRAM [ARGS...]
set -eu -o pipefail
TESTS_DIR=${TESTS_DIR:-$(dirname "$0")/..}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

. "$TESTS_DIR/integration/pg-lib.sh"

base=${BUILD_DIR:-/tmp}/test-tmp
mkdir -p "$base"
T=$(mktemp -d "$base/pg-unit.XXXXXX")
chmod 711 "$T"
cleanup() {
        local rc=$?
        pg_stop
        rm -rf "$T"
        exit "$rc"
}
trap cleanup EXIT
pg_start
SAUTH_TEST_PG_HOST=$PG_SOCKET_DIR "$@"
