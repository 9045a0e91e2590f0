#!/usr/bin/env bash
# Runs the Telnyx Python SDK compatibility test (test_telnyx_sdk.py) against a running roomgate.
#
#   ROOMGATE_BASE_URL=http://127.0.0.1:8080/v2 ROOMGATE_API_KEY=rg_... bash compat/python/run.sh [pytest args]
#
# The venv lives in target/telnyx-venv inside this clone and is reused while requirements.txt is unchanged.
# pytest's exit code is the script's.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REQUIREMENTS="$REPO/compat/python/requirements.txt"
VENV="$REPO/target/telnyx-venv"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "run.sh: $PYTHON must be Python >= 3.10 (pytest 9 needs it)" >&2
    exit 2
fi

want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "${VENV:?}"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir -r "$REQUIREMENTS"
    echo "$want" >"$STAMP"
fi

cd "$REPO"
# The SDK also reads TELNYX_* variables; TELNYX_CLIENT_ID/SECRET would switch it to OAuth against api.telnyx.com.
# No bytecode or pytest cache is written into the work tree.
exec env -u TELNYX_API_KEY -u TELNYX_BASE_URL -u TELNYX_CLIENT_ID -u TELNYX_CLIENT_SECRET -u TELNYX_CUSTOM_HEADERS \
    PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider compat/python "$@"
