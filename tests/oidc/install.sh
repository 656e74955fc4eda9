#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the test OIDC provider's npm packages (package-lock.json, exactly)
# into tests/oidc/node_modules, once: nothing happens when they are there and
# match the lock. Quiet unless something fails.
set -eu -o pipefail
cd "$(dirname "$0")"

command -v node >/dev/null 2>&1 || { echo "$0: node is not installed (Debian: nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "$0: npm is not installed (Debian: npm)" >&2; exit 1; }

# npm ci writes node_modules/.package-lock.json; it matches the lock when the
# install finished. A newer lock (a version bump) installs again.
if [ -f node_modules/.package-lock.json ] && [ -d node_modules/oidc-provider ] &&
   [ node_modules/.package-lock.json -nt package-lock.json ]; then
        exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund --loglevel=error > "$log" 2>&1 < /dev/null; then
        cat "$log" >&2
        echo "$0: npm ci failed" >&2
        exit 1
fi
node -e 'import("oidc-provider").then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })' \
        || { echo "$0: oidc-provider does not load with node $(node --version)" >&2; exit 1; }
