"""The backend's side of the end-to-end test, through the official Telnyx Python SDK pointed at roomgate.

    python sdk.py setup                      -> a room for two, and tokens for alice, bob and carol (JSON)
    python sdk.py kick SESSION PARTICIPANT ROOM REFRESH_TOKEN
                                             -> kicks the participant, then checks its refresh is refused
    python sdk.py mute|unmute SESSION PARTICIPANT
                                             -> mutes (unmutes) the participant's audio and video
    python sdk.py records SESSION            -> the session and its participants as roomgate records them (JSON)

Reads ROOMGATE_BASE_URL (the API root, .../v2) and ROOMGATE_API_KEY.
"""

import json
import os
import sys
import time
import uuid

import telnyx


def client() -> telnyx.Telnyx:
    return telnyx.Telnyx(
        api_key=os.environ["ROOMGATE_API_KEY"], base_url=os.environ["ROOMGATE_BASE_URL"], timeout=30, max_retries=0
    )


def setup(sdk: telnyx.Telnyx) -> dict:
    room = sdk.rooms.create(unique_name=f"janus-{uuid.uuid4()}", max_participants=2).data
    tokens = {}
    for identity in ("alice", "bob", "carol"):
        participant = {"identity": identity}
        if identity == "bob":
            # Bob may watch, not publish.
            participant["permissions"] = {"can_publish": False}
        if identity == "carol":
            # Carol may publish, not watch.
            participant["permissions"] = {"can_subscribe": False}
        minted = sdk.rooms.actions.generate_join_client_token(
            room.id, token_ttl_secs=600, refresh_token_ttl_secs=3600, extra_body=participant
        ).data
        tokens[identity] = {"token": minted.token, "refresh_token": minted.refresh_token}
    return {"room_id": room.id, "tokens": tokens}


def kick(sdk: telnyx.Telnyx, session_id: str, participant_id: str, room_id: str, refresh_token: str) -> dict:
    result = sdk.rooms.sessions.actions.kick(session_id, participants=[participant_id]).data.result
    assert result == "ok", result
    answered = int(time.time() * 1000)
    try:
        sdk.rooms.actions.refresh_client_token(room_id, refresh_token=refresh_token)
    except telnyx.PermissionDeniedError as refused:
        return {"kicked": True, "refresh_status": refused.status_code, "answered_ms": answered}
    raise AssertionError("the kicked participant's refresh was accepted")


def mute(sdk: telnyx.Telnyx, session_id: str, participant_id: str) -> dict:
    return {"result": sdk.rooms.sessions.actions.mute(session_id, participants=[participant_id]).data.result}


def unmute(sdk: telnyx.Telnyx, session_id: str, participant_id: str) -> dict:
    return {"result": sdk.rooms.sessions.actions.unmute(session_id, participants=[participant_id]).data.result}


def records(sdk: telnyx.Telnyx, session_id: str) -> dict:
    session = sdk.rooms.sessions.retrieve(session_id, include_participants=True).data
    return {
        "active": session.active,
        "ended_at": str(session.ended_at) if session.ended_at else None,
        "participants": [
            {
                "id": p.id,
                "joined_at": str(p.joined_at) if p.joined_at else None,
                "left_at": str(p.left_at) if p.left_at else None,
            }
            for p in session.participants or []
        ],
    }


def main() -> None:
    with client() as sdk:
        command, *args = sys.argv[1:]
        out = {"setup": setup, "kick": kick, "mute": mute, "unmute": unmute, "records": records}[command](sdk, *args)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
