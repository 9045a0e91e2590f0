#!/usr/bin/env bash
# Runs schemathesis against a running roomgate and the OpenAPI document it serves (/v2/openapi.json).
#
#   ROOMGATE_ORIGIN=http://127.0.0.1:8080 ROOMGATE_API_KEY=rg_... bash compat/schemathesis/run.sh [schemathesis args]
#
# Every check is on: no 5xx, every status, content type, header and body as the document says, schema-valid data
# accepted, invalid data refused, auth not ignored; then stateful scenarios that follow the links between
# operations. Rooms and a refresh token are made first, so that the operations on one room get past 404 and 403;
# see schemathesis.toml and hooks.py. The venv lives in target/schemathesis-venv and is reused
# while requirements.txt is unchanged. The script fails if either schemathesis run does.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
REQUIREMENTS="$HERE/requirements.txt"
VENV="$REPO/target/schemathesis-venv"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"
: "${ROOMGATE_ORIGIN:?set ROOMGATE_ORIGIN (the server origin, e.g. http://127.0.0.1:8080)}"
: "${ROOMGATE_API_KEY:?set ROOMGATE_API_KEY}"

want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "${VENV:?}"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir -r "$REQUIREMENTS"
    echo "$want" >"$STAMP"
fi

api() {
    local path=$1 body=$2 field=$3
    curl -fsS -X POST "$ROOMGATE_ORIGIN/v2$path" -H "Authorization: Bearer $ROOMGATE_API_KEY" \
        -H 'Content-Type: application/json' -d "$body" |
        "$VENV/bin/python" -c "import json, sys; print(json.load(sys.stdin)['data']['$field'])"
}
ROOMGATE_ROOM_ID="$(api /rooms '{}' id)"
ROOMGATE_REFRESH_TOKEN="$(api "/rooms/$ROOMGATE_ROOM_ID/actions/create_access_token" \
    '{"refresh_token_ttl_secs":86400}' refresh_token)"
ROOMGATE_DELETE_ROOM_ID="$(api /rooms '{}' id)"
ROOMGATE_REVOKE_ROOM_ID="$(api /rooms '{}' id)"
# A live session in a room of its own (ending it revokes that room's tokens), with one admitted participant.
live_room="$(api /rooms '{}' id)"
live_token="$(api "/rooms/$live_room/actions/create_access_token" '{"identity":"schemathesis"}' access_token)"
ROOMGATE_PARTICIPANT_ID="$(api /room_participants "{\"access_token\":\"$live_token\"}" id)"
ROOMGATE_SESSION_ID="$(curl -fsS "$ROOMGATE_ORIGIN/v2/room_participants/$ROOMGATE_PARTICIPANT_ID" \
    -H "Authorization: Bearer $ROOMGATE_API_KEY" |
    "$VENV/bin/python" -c "import json, sys; print(json.load(sys.stdin)['data']['session_id'])")"
ROOMGATE_SCHEMATHESIS_HOOKS="$HERE/hooks.py"
export ROOMGATE_ROOM_ID ROOMGATE_REFRESH_TOKEN ROOMGATE_DELETE_ROOM_ID ROOMGATE_REVOKE_ROOM_ID ROOMGATE_SCHEMATHESIS_HOOKS \
    ROOMGATE_PARTICIPANT_ID ROOMGATE_SESSION_ID

out="$REPO/target/schemathesis"
mkdir -p "$out"
cd "$out"
st() {
    local config=$1; shift
    "$VENV/bin/schemathesis" --no-color --config-file "$HERE/$config" run "$ROOMGATE_ORIGIN/v2/openapi.json" \
        --url "$ROOMGATE_ORIGIN" --checks all --seed 1 "$@"
}
status=0
st schemathesis.toml --phases examples,coverage,fuzzing "$@" || status=$?
st stateful.toml --phases stateful "$@" || status=$?
exit "$status"
