#!/usr/bin/env bash
# The Janus end-to-end test: Debian's Janus (installed when missing), roomgate, the bridge
# (`roomgate janus-bridge`), three headless Chromium pages (playwright-core) and the official Telnyx Python SDK.
#
#   bash compat/janus/run.sh            (after `cargo build -p roomgate`; CI runs it from .ci/run)
#
# Everything listens on loopback, on free ports, with configuration from compat/janus/conf in a temporary
# directory. Where Janus cannot be installed the test is skipped loudly, except in CI (CI=true), where that fails.
# The Python venv is compat/python's (target/telnyx-venv); playwright-core goes into target/janus-node.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN="$REPO/target/debug/roomgate"
JANUS_JS=/usr/share/javascript/janus-gateway/janus.js

skip_or_fail() {
    if [[ "${CI:-}" == true ]]; then
        echo "FATAL: $1 (CI must run the Janus end-to-end test)" >&2
        exit 1
    fi
    echo "WARNING: the Janus end-to-end test is SKIPPED: $1" >&2
    exit 0
}

if ! command -v janus >/dev/null 2>&1 || [[ ! -f "$JANUS_JS" ]]; then
    echo "installing Debian's janus and libjs-janus-gateway"
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q janus libjs-janus-gateway; }; then
        skip_or_fail "janus and libjs-janus-gateway cannot be installed here"
    fi
fi
command -v janus >/dev/null 2>&1 && [[ -f "$JANUS_JS" ]] || skip_or_fail "janus is still missing after installing it"
[[ -x /usr/bin/chromium ]] || { echo "run.sh: /usr/bin/chromium is missing (apt-get install -y chromium)" >&2; exit 2; }
[[ -x "$BIN" ]] || { echo "run.sh: $BIN is missing (cargo build -p roomgate)" >&2; exit 2; }

# The Janus plugins this test loads (VideoRoom, the HTTP transport, the HTTP event handler), wherever Debian put them.
LIBS_FROM="$(dirname "$(dirname "$(dpkg -L janus | grep '/plugins/libjanus_videoroom.so$' | head -n 1)")")"

# playwright-core (pinned by the lockfile; it downloads no browser), reinstalled only when the lockfile changes.
NODE_DIR="$REPO/target/janus-node"
want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$NODE_DIR/.package-lock.sha256" 2>/dev/null || true)" != "$want" ]] ||
    [[ ! -d "$NODE_DIR/node_modules/playwright-core" ]]; then
    rm -rf "${NODE_DIR:?}"
    mkdir -p "$NODE_DIR"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" >"$NODE_DIR/.package-lock.sha256"
fi

# The Telnyx SDK's venv, as compat/python/run.sh makes it.
REQUIREMENTS="$REPO/compat/python/requirements.txt"
VENV="$REPO/target/telnyx-venv"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$want" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "${VENV:?}"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir -r "$REQUIREMENTS"
    echo "$want" >"$VENV/.requirements.sha256"
fi

dir="$(mktemp -d)"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((status != 0)); then
        for log in roomgate bridge janus page; do
            echo "--- $log log (last 60 lines) ---" >&2
            tail -n 60 "$dir/$log.log" >&2 || true
        done
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # URL PID NAME
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "$3 exited early" >&2; exit 1; }
        sleep 0.1
    done
    echo "$3 did not answer at $1" >&2
    exit 1
}

# roomgate, as .ci/with-server starts it, with an API key.
rg_port=$(free_port)
db="sqlite://$dir/roomgate.db"
key=$("$BIN" api-keys create --database "$db" --account janus --name janus | tail -n 1)
RUST_LOG=${RUST_LOG:-warn} "$BIN" serve --listen "127.0.0.1:$rg_port" --database "$db" >"$dir/roomgate.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$rg_port/readyz" "${pids[-1]}" roomgate

# The bridge, before Janus, so that Janus's first events find it.
bridge_port=$(free_port) janus_port=$(free_port) admin_port=$(free_port)
admin_secret="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
videoroom_key="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
ROOMGATE_URL="http://127.0.0.1:$rg_port/v2" ROOMGATE_API_KEY="$key" \
    ROOMGATE_JANUS_ADMIN_SECRET="$admin_secret" ROOMGATE_JANUS_VIDEOROOM_ADMIN_KEY="$videoroom_key" \
    RUST_LOG=${RUST_LOG:-info} "$BIN" janus-bridge --listen "127.0.0.1:$bridge_port" \
    --janus-url "http://127.0.0.1:$janus_port/janus" --janus-admin-url "http://127.0.0.1:$admin_port/admin" \
    >"$dir/bridge.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$bridge_port/healthz" "${pids[-1]}" "the bridge"

# Janus, with this test's configuration and only the plugins it needs.
mkdir -p "$dir/conf" "$dir/libs"/{plugins,transports,events,loggers}
ln -s "$LIBS_FROM/plugins/libjanus_videoroom.so" "$dir/libs/plugins/"
ln -s "$LIBS_FROM/transports/libjanus_http.so" "$dir/libs/transports/"
ln -s "$LIBS_FROM/events/libjanus_sampleevh.so" "$dir/libs/events/"
for template in "$HERE"/conf/*.jcfg; do
    sed -e "s|@CONF@|$dir/conf|; s|@LIBS@|$dir/libs|; s|@ADMIN_SECRET@|$admin_secret|" \
        -e "s|@HTTP_PORT@|$janus_port|; s|@ADMIN_PORT@|$admin_port|; s|@VIDEOROOM_ADMIN_KEY@|$videoroom_key|" \
        -e "s|@EVENTS_URL@|http://127.0.0.1:$bridge_port/janus-events|" \
        "$template" >"$dir/conf/$(basename "$template")"
done
janus --configs-folder "$dir/conf" --config "$dir/conf/janus.jcfg" --disable-colors >"$dir/janus.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$janus_port/janus/info" "${pids[-1]}" Janus

# The application's page and Debian's janus.js, served from loopback like the rest (a real origin: Chromium lets a
# loopback page call loopback servers, and treats it as a secure context, which getUserMedia needs).
mkdir -p "$dir/www"
cp "$HERE/page.html" "$dir/www/index.html"
cp "$JANUS_JS" "$dir/www/janus.js"
page_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$dir/www" "$page_port" >"$dir/page.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$page_port/" "${pids[-1]}" "the page server"

cd "$REPO"
export ROOMGATE_JANUS_PAGE_URL="http://127.0.0.1:$page_port/"
export ROOMGATE_BASE_URL="http://127.0.0.1:$rg_port/v2" ROOMGATE_API_KEY="$key" \
    ROOMGATE_JANUS_BRIDGE_URL="http://127.0.0.1:$bridge_port" \
    ROOMGATE_JANUS_ADMIN_URL="http://127.0.0.1:$admin_port/admin" ROOMGATE_JANUS_ADMIN_SECRET="$admin_secret" \
    ROOMGATE_TELNYX_PYTHON="$VENV/bin/python" ROOMGATE_JANUS_TEST_DIR="$HERE" \
    ROOMGATE_BROWSER_NODE_DIR="$NODE_DIR"
node --test "$HERE/janus.test.mjs"

# Secrets, Janus tokens and participants' identities never reach the bridge's log.
for secret in "$key" "$admin_secret" "$videoroom_key" rgj- alice bob carol; do
    if grep -qF -- "$secret" "$dir/bridge.log"; then
        echo "FATAL: the bridge's log holds a secret, a Janus token or an identity" >&2
        exit 1
    fi
done
echo "the bridge's log holds no secret, Janus token or identity ($(wc -l <"$dir/bridge.log") lines)"
