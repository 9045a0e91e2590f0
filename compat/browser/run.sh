#!/usr/bin/env bash
# Loads /docs of a running roomgate in headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
# and checks that it lists the token endpoints and that "Try it out" on GET /healthz answers 200 in the page.
#
#   ROOMGATE_ORIGIN=http://127.0.0.1:8080 bash compat/browser/run.sh
#
# playwright-core (pinned in package-lock.json; it downloads no browser) is installed with `npm ci` into
# target/browser-node, again only when the lockfile changes. Screenshots go to target/browser/.
# The exit code is node's test runner's.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NODE_DIR="$REPO/target/browser-node"
STAMP="$NODE_DIR/.package-lock.sha256"
: "${ROOMGATE_ORIGIN:?set ROOMGATE_ORIGIN (the server origin, e.g. http://127.0.0.1:8080)}"

if [[ ! -x /usr/bin/chromium ]]; then
    echo "run.sh: /usr/bin/chromium is missing (apt-get install -y chromium)" >&2
    exit 2
fi

want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]] || [[ ! -d "$NODE_DIR/node_modules/playwright-core" ]]; then
    rm -rf "${NODE_DIR:?}"
    mkdir -p "$NODE_DIR"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" >"$STAMP"
fi

cd "$REPO"
export ROOMGATE_BROWSER_NODE_DIR="$NODE_DIR" ROOMGATE_BROWSER_SCREENSHOTS="$REPO/target/browser"
exec node --test "$HERE/docs.test.mjs"
