#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Completes an authorization code login at the test provider without a
# browser: follows AUTH_URL (the `location` a client built, with state, PKCE
# challenge and nonce) with curl and a cookie jar through the provider's login
# page, signs in as ACCOUNT (or denies with --deny), and prints the URL the
# provider sends the browser back to: REDIRECT_URI?code=...&state=... (or
# ?error=access_denied&state=...). Nothing is fetched from the redirect URI.
#
#   code-flow-login.sh AUTH_URL ACCOUNT
#   code-flow-login.sh --deny AUTH_URL
#
# Loopback only; every request is time-bound and the redirects are counted.
set -eu -o pipefail

deny=""
if [ "${1:-}" = "--deny" ]; then
        deny=1
        shift
fi
[ $# -ge 1 ] || { echo "usage: $0 AUTH_URL ACCOUNT | --deny AUTH_URL" >&2; exit 2; }
url=$1
account=${2:-}
[ -n "$deny" ] || [ -n "$account" ] || { echo "$0: ACCOUNT missing" >&2; exit 2; }

# The issuer: scheme://host:port of AUTH_URL, which must be on loopback.
origin=$(sed -nE 's|^(http://(127\.[0-9.]+\|\[::1\]\|localhost)(:[0-9]+)?)(/.*)?$|\1|p' <<<"$url")
[ -n "$origin" ] || { echo "$0: not a loopback http URL: $url" >&2; exit 2; }

jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
CURL=(curl -sS --max-time 10 --noproxy '*' -b "$jar" -c "$jar")

# hop METHOD URL [curl args] — one request; prints the status and the
# absolute redirect target (empty when none).
hop() {
        local method=$1 u=$2; shift 2
        "${CURL[@]}" -X "$method" -o /dev/null -w '%{http_code} %{redirect_url}\n' "$@" "$u"
}

status="" next=$url
for _ in $(seq 1 10); do
        read -r status next < <(hop GET "$next")
        case "$next" in
        "$origin"/interaction/*) break ;;
        "$origin"/*) continue ;;
        "") echo "$0: provider answered $status without a redirect" >&2; exit 1 ;;
        *) echo "$next"; exit 0 ;;   # back to the client at once (e.g. an error)
        esac
done
case "$next" in
"$origin"/interaction/*) ;;
*) echo "$0: no login page reached" >&2; exit 1 ;;
esac

# The login page, then its form (login and consent in one step).
hop GET "$next" >/dev/null
if [ -n "$deny" ]; then
        read -r status next < <(hop POST "$next/login" --data-urlencode "deny=1")
else
        read -r status next < <(hop POST "$next/login" --data-urlencode "login=$account")
fi
[ -n "$next" ] || { echo "$0: login refused ($status)" >&2; exit 1; }

# Back through the authorization endpoint to the client's redirect URI.
for _ in $(seq 1 10); do
        case "$next" in
        "$origin"/*) read -r status next < <(hop GET "$next") ;;
        "") echo "$0: provider answered $status without a redirect" >&2; exit 1 ;;
        *) echo "$next"; exit 0 ;;
        esac
done
echo "$0: too many redirects" >&2
exit 1
