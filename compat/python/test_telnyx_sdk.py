"""roomgate driven by the official, unmodified Telnyx Python SDK (``telnyx`` on PyPI).

Proves that an SDK user only has to point ``base_url`` at roomgate. Needs a running server:

    ROOMGATE_BASE_URL  e.g. http://127.0.0.1:8080/v2
    ROOMGATE_API_KEY   an API key of an account on that server

Missing settings fail the run (CI always provides them); nothing is skipped.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import math
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import telnyx

ROOM_FIELDS = {
    "id",
    "unique_name",
    "max_participants",
    "enable_recording",
    "webhook_event_url",
    "webhook_event_failover_url",
    "webhook_timeout_secs",
    "active_session_id",
    "created_at",
    "updated_at",
    "record_type",
}
PAGE_META_FIELDS = {"page_number", "page_size", "total_pages", "total_results"}


# --- helpers -----------------------------------------------------------------------------------


def roomgate_settings() -> tuple[str, str]:
    """ROOMGATE_BASE_URL and ROOMGATE_API_KEY; fails (never skips) when either is missing."""
    names = ("ROOMGATE_BASE_URL", "ROOMGATE_API_KEY")
    values = {name: os.environ.get(name, "").strip() for name in names}
    missing = [name for name in names if not values[name]]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not set: start roomgate and export ROOMGATE_BASE_URL "
            "(e.g. http://127.0.0.1:8080/v2) and ROOMGATE_API_KEY; see compat/python/README.md",
            pytrace=False,
        )
    return values["ROOMGATE_BASE_URL"], values["ROOMGATE_API_KEY"]


def unique_name(label: str) -> str:
    return f"compat-py-{label}-{uuid.uuid4().hex[:12]}"


def jwt_segment(token: str, index: int) -> dict:
    """Decode one JWT segment (0 = header, 1 = payload) without verifying anything."""
    segments = token.split(".")
    assert len(segments) == 3, f"not a compact JWS: {token!r}"
    raw = segments[index]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def assert_utc(value: object) -> None:
    """The SDK parsed a timestamp into an aware UTC datetime (it leaves unparseable strings as str)."""
    assert isinstance(value, datetime), f"not parsed as a datetime: {value!r}"
    assert value.utcoffset() == timedelta(0), f"not UTC: {value!r}"


def assert_wire_timestamp(value: object) -> None:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), f"timestamp without UTC offset: {value!r}"


def assert_api_error(err: telnyx.APIStatusError, status: int, code: str, pointer: str | None = None) -> None:
    """Status and Telnyx error body: {"errors": [{"code", "title", "detail", "source": {"pointer"}}]}."""
    assert err.status_code == status
    assert isinstance(err.body, dict), f"error body is not JSON: {err.body!r}"
    first = err.body["errors"][0]
    assert first["code"] == code, first
    assert isinstance(first["title"], str) and first["title"], first
    assert isinstance(first["detail"], str) and first["detail"], first
    if pointer is not None:
        assert first["source"]["pointer"] == pointer, first


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[telnyx.Telnyx]:
    """The SDK as a user configures it: api_key and base_url, default retries (a 30 s timeout, not 60)."""
    base_url, api_key = roomgate_settings()
    with telnyx.Telnyx(api_key=api_key, base_url=base_url, timeout=30) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def no_retry(client: telnyx.Telnyx) -> telnyx.Telnyx:
    """For error tests: an error surfaces at once instead of after backoff."""
    return client.with_options(max_retries=0)


@pytest.fixture
def rooms_to_delete(client: telnyx.Telnyx) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    for room_id in ids:
        with contextlib.suppress(telnyx.NotFoundError):
            client.rooms.delete(room_id)


@pytest.fixture
def make_room(client: telnyx.Telnyx, rooms_to_delete: list[str]):
    def make(**params):
        params.setdefault("unique_name", unique_name("room"))
        room = client.rooms.create(**params).data
        rooms_to_delete.append(room.id)
        return room

    return make


@pytest.fixture
def room(make_room):
    """A fresh room, deleted after the test (unless the test deleted it)."""
    return make_room(max_participants=5)


@pytest.fixture
def three_rooms(make_room):
    """Three rooms sharing a unique prefix, in creation order."""
    prefix = unique_name("list")
    return [make_room(unique_name=f"{prefix}-{i}") for i in range(3)]


@pytest.fixture
def tokens(client: telnyx.Telnyx, room):
    return client.rooms.actions.generate_join_client_token(
        room.id, token_ttl_secs=600, refresh_token_ttl_secs=3600
    ).data


# --- rooms -------------------------------------------------------------------------------------


def test_create_room(client, rooms_to_delete):
    name = unique_name("create")
    room = client.rooms.create(unique_name=name, max_participants=7).data
    rooms_to_delete.append(room.id)

    assert uuid.UUID(room.id)
    assert room.unique_name == name
    assert room.max_participants == 7
    assert room.enable_recording is False
    assert room.record_type == "room"
    assert room.active_session_id is None
    assert_utc(room.created_at)
    assert_utc(room.updated_at)
    assert room.updated_at >= room.created_at


def test_retrieve_room(client, room):
    fetched = client.rooms.retrieve(room.id).data
    assert fetched.model_dump() == room.model_dump()


def test_update_room(client, room):
    updated = client.rooms.update(room.id, max_participants=12).data

    assert updated.id == room.id
    assert updated.max_participants == 12
    assert updated.unique_name == room.unique_name, "fields not sent must keep their values"
    assert updated.created_at == room.created_at
    assert_utc(updated.updated_at)
    assert updated.updated_at >= room.updated_at
    assert updated.updated_at >= updated.created_at
    assert client.rooms.retrieve(room.id).data.max_participants == 12


def test_delete_room(client, no_retry, room):
    assert client.rooms.delete(room.id) is None

    with pytest.raises(telnyx.NotFoundError) as exc:
        no_retry.rooms.retrieve(room.id)
    assert_api_error(exc.value, 404, "10005")
    with pytest.raises(telnyx.NotFoundError):
        no_retry.rooms.delete(room.id)


def test_list_auto_paginates_newest_first(client, three_rooms):
    first_page = client.rooms.list(page_size=2)
    total = first_page.meta.total_results
    assert total >= 3

    # Bounded, so a server that ignores page[number] fails here instead of looping forever.
    seen = [r.id for r in itertools.islice(first_page, total + 3)]

    assert len(seen) == total
    assert len(set(seen)) == total, "a room showed up on two pages"
    positions = [seen.index(r.id) for r in three_rooms]
    assert positions == sorted(positions, reverse=True), "rooms must be listed newest first"


def test_list_pages_report_meta(client, three_rooms):
    first_page = client.rooms.list(page_size=2)
    total = first_page.meta.total_results
    total_pages = first_page.meta.total_pages
    assert total_pages == max(1, math.ceil(total / 2))

    pages = list(itertools.islice(first_page.iter_pages(), total_pages + 1))

    assert [p.meta.page_number for p in pages] == list(range(1, total_pages + 1))
    assert all(len(p.data) <= 2 for p in pages)
    assert sum(len(p.data) for p in pages) == total


def test_list_filters_by_unique_name(client, three_rooms):
    wanted = three_rooms[1]

    page = client.rooms.list(filter={"unique_name": wanted.unique_name}, page_size=2)

    assert [r.id for r in page] == [wanted.id]
    assert page.meta.total_results == 1


def test_list_filter_without_match_is_empty(client):
    page = client.rooms.list(filter={"unique_name": unique_name("absent")})

    assert list(page) == []
    assert page.meta.total_results == 0


# --- rooms: the raw wire, through the SDK's with_raw_response ----------------------------------


def test_wire_room_shape(client, rooms_to_delete):
    response = client.rooms.with_raw_response.create(unique_name=unique_name("wire"), max_participants=4)
    body = response.json()
    rooms_to_delete.append(body["data"]["id"])

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    room = body["data"]
    assert ROOM_FIELDS <= room.keys(), f"missing: {ROOM_FIELDS - room.keys()}"
    assert room["record_type"] == "room"
    assert type(room["max_participants"]) is int
    assert type(room["enable_recording"]) is bool
    assert room["webhook_timeout_secs"] is None or type(room["webhook_timeout_secs"]) is int
    for field in ("webhook_event_url", "webhook_event_failover_url", "active_session_id"):
        assert room[field] is None or isinstance(room[field], str), field
    assert_wire_timestamp(room["created_at"])
    assert_wire_timestamp(room["updated_at"])

    retrieved = client.rooms.with_raw_response.retrieve(room["id"])
    assert retrieved.status_code == 200
    assert retrieved.json() == {"data": room}


def test_wire_list_shape(client, three_rooms):
    response = client.rooms.with_raw_response.list(page_size=2)
    body = response.json()

    assert response.status_code == 200
    assert isinstance(body["data"], list) and len(body["data"]) == 2
    meta = body["meta"]
    assert PAGE_META_FIELDS <= meta.keys(), f"missing: {PAGE_META_FIELDS - meta.keys()}"
    assert all(type(meta[k]) is int for k in PAGE_META_FIELDS), meta
    assert meta["page_number"] == 1
    assert meta["page_size"] == 2


def test_wire_delete_is_204_without_body(client, room):
    response = client.rooms.with_raw_response.delete(room.id)

    assert response.status_code == 204
    assert response.read() == b""


# --- tokens ------------------------------------------------------------------------------------


def test_generate_join_client_token(room, tokens):
    assert tokens.token and tokens.refresh_token
    assert_utc(tokens.token_expires_at)
    assert_utc(tokens.refresh_token_expires_at)

    assert jwt_segment(tokens.token, 0)["typ"] == "JWT"
    access = jwt_segment(tokens.token, 1)
    refresh = jwt_segment(tokens.refresh_token, 1)
    assert access["typ"] == "access"
    assert refresh["typ"] == "refresh"
    for claims in (access, refresh):
        assert claims["grants"][0]["resources"] == [f"telnyx:video:rooms:{room.id}"]
        assert claims["grants"][0]["actions"] == ["join"]
    assert access["exp"] - access["iat"] == 600
    assert refresh["exp"] - refresh["iat"] == 3600
    assert access["jti"] != refresh["jti"]
    assert abs(tokens.token_expires_at.timestamp() - access["exp"]) <= 1
    assert abs(tokens.refresh_token_expires_at.timestamp() - refresh["exp"]) <= 1


def test_generate_join_client_token_defaults(client, room):
    tokens = client.rooms.actions.generate_join_client_token(room.id).data

    access = jwt_segment(tokens.token, 1)
    refresh = jwt_segment(tokens.refresh_token, 1)
    assert access["exp"] - access["iat"] == 600
    assert refresh["exp"] - refresh["iat"] == 3600


def test_refresh_client_token(client, room, tokens):
    refreshed = client.rooms.actions.refresh_client_token(
        room.id, refresh_token=tokens.refresh_token, token_ttl_secs=120
    ).data

    assert_utc(refreshed.token_expires_at)
    claims = jwt_segment(refreshed.token, 1)
    assert claims["typ"] == "access"
    assert claims["grants"][0]["resources"] == [f"telnyx:video:rooms:{room.id}"]
    assert claims["exp"] - claims["iat"] == 120
    assert claims["jti"] != jwt_segment(tokens.token, 1)["jti"]
    assert abs(refreshed.token_expires_at.timestamp() - claims["exp"]) <= 1

    again = client.rooms.actions.refresh_client_token(room.id, refresh_token=tokens.refresh_token).data
    assert jwt_segment(again.token, 1)["typ"] == "access", "a refresh token is reusable until it expires"


def test_participant_extension_through_extra_body(client, no_retry, room):
    """roomgate's identity/permissions extension, sent with the SDK's own extra_body, survives a refresh."""
    participant = {
        "identity": "alice",
        "name": "Alice",
        "metadata": json.dumps({"seat": 3}),
        "permissions": {"can_publish_sources": ["camera"], "can_publish_data": False, "room_admin": True},
    }
    tokens = client.rooms.actions.generate_join_client_token(
        room.id, token_ttl_secs=300, extra_body=participant
    ).data
    refreshed = client.rooms.actions.refresh_client_token(room.id, refresh_token=tokens.refresh_token).data
    for token in (tokens.token, tokens.refresh_token, refreshed.token):
        claims = jwt_segment(token, 1)
        assert claims["grants_version"] == "2.0.0", claims
        assert claims["sub"] == "alice"
        assert claims["name"] == "Alice"
        assert json.loads(claims["metadata"]) == {"seat": 3}
        assert claims["grants"][0]["actions"] == ["join", "publish:camera", "subscribe", "admin"]
        assert claims["grants"][0]["resources"] == [f"telnyx:video:rooms:{room.id}"]
    assert jwt_segment(tokens.token, 1)["exp"] - jwt_segment(tokens.token, 1)["iat"] == 300

    with pytest.raises(telnyx.UnprocessableEntityError) as exc:
        no_retry.rooms.actions.generate_join_client_token(
            room.id, extra_body={"permissions": {"can_publsh": False}}
        )
    assert_api_error(exc.value, 422, "10033", "/permissions/can_publsh")


def test_wire_tokens_are_201(client, room):
    created = client.rooms.actions.with_raw_response.generate_join_client_token(room.id)
    assert created.status_code == 201
    data = created.json()["data"]
    assert {"token", "token_expires_at", "refresh_token", "refresh_token_expires_at"} <= data.keys()
    assert_wire_timestamp(data["token_expires_at"])
    assert_wire_timestamp(data["refresh_token_expires_at"])

    refreshed = client.rooms.actions.with_raw_response.refresh_client_token(
        room.id, refresh_token=data["refresh_token"]
    )
    assert refreshed.status_code == 201
    assert {"token", "token_expires_at"} <= refreshed.json()["data"].keys()


def test_refresh_needs_no_valid_api_key(client, room, tokens):
    """Refresh is unauthenticated (browsers call it); the SDK still sends its Bearer header."""
    stranger = client.with_options(api_key="rg_this-is-not-a-key", max_retries=0)

    refreshed = stranger.rooms.actions.refresh_client_token(room.id, refresh_token=tokens.refresh_token).data

    assert jwt_segment(refreshed.token, 1)["typ"] == "access"


# --- errors: the SDK picks its exception class from the HTTP status ----------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda sdk, room: sdk.rooms.list(), id="list"),
        pytest.param(lambda sdk, room: sdk.rooms.create(unique_name=unique_name("nokey")), id="create"),
        pytest.param(lambda sdk, room: sdk.rooms.retrieve(room.id), id="retrieve"),
        pytest.param(lambda sdk, room: sdk.rooms.actions.generate_join_client_token(room.id), id="token"),
    ],
)
def test_bad_api_key_is_authentication_error(no_retry, room, call):
    stranger = no_retry.with_options(api_key="rg_this-is-not-a-key")

    with pytest.raises(telnyx.AuthenticationError) as exc:
        call(stranger, room)
    assert_api_error(exc.value, 401, "10009")


def test_token_ttl_out_of_range_is_unprocessable(no_retry, room):
    with pytest.raises(telnyx.UnprocessableEntityError) as exc:
        no_retry.rooms.actions.generate_join_client_token(room.id, token_ttl_secs=5)
    assert_api_error(exc.value, 422, "10033", pointer="/token_ttl_secs")


@pytest.mark.parametrize("which", ["garbage", "access token", "other room's refresh token"])
def test_bad_refresh_token_is_permission_denied(no_retry, make_room, room, tokens, which):
    refresh_token = {
        "garbage": "not.a.jwt",
        "access token": tokens.token,
        "other room's refresh token": tokens.refresh_token,
    }[which]
    target = make_room().id if which == "other room's refresh token" else room.id

    with pytest.raises(telnyx.PermissionDeniedError) as exc:
        no_retry.rooms.actions.refresh_client_token(target, refresh_token=refresh_token)
    assert_api_error(exc.value, 403, "10010")


def test_unknown_room_is_not_found(no_retry):
    missing = str(uuid.uuid4())

    with pytest.raises(telnyx.NotFoundError) as exc:
        no_retry.rooms.retrieve(missing)
    assert_api_error(exc.value, 404, "10005")

    with pytest.raises(telnyx.NotFoundError) as exc:
        no_retry.rooms.actions.generate_join_client_token(missing)
    assert_api_error(exc.value, 404, "10005")


# --- the live room: sessions and participants --------------------------------------------------
# The media server's part (admitting a participant) is roomgate's extension, not in the SDK: raw HTTP. Everything
# a backend does with sessions and participants goes through the SDK.


def admit(access_token: str, context: str | None = None) -> dict:
    """What a media server does when a participant joins: 201 and the participant."""
    base_url, api_key = roomgate_settings()
    import httpx

    resp = httpx.post(
        f"{base_url}/room_participants",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"access_token": access_token, "context": context},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def join(client: telnyx.Telnyx, room_id: str, identity: str) -> dict:
    minted = client.rooms.actions.generate_join_client_token(
        room_id, extra_body={"identity": identity}
    ).data
    return admit(minted.token, context=f"ctx-{identity}")


def test_sessions_and_participants_through_the_sdk(client, room):
    alice = join(client, room.id, "alice")
    bob = join(client, room.id, "bob")
    session_id = alice["session_id"]
    assert bob["session_id"] == session_id
    assert client.rooms.retrieve(room.id).data.active_session_id == session_id

    session = client.rooms.sessions.retrieve(session_id, include_participants=True).data
    assert session.id == session_id and session.room_id == room.id and session.active is True
    assert session.record_type == "room_session" and session.ended_at is None
    assert_utc(session.created_at)
    assert {p.id for p in session.participants} == {alice["id"], bob["id"]}

    listed = [s.id for s in client.rooms.sessions.list_0(filter={"room_id": room.id, "active": True})]
    assert listed == [session_id]
    assert [s.id for s in client.rooms.sessions.list_1(room.id)] == [session_id]

    participants = list(client.rooms.sessions.retrieve_participants(session_id))
    assert {p.id for p in participants} == {alice["id"], bob["id"]}
    one = client.room_participants.retrieve(alice["id"]).data
    assert one.session_id == session_id and one.context == "ctx-alice" and one.record_type == "room_participant"
    assert_utc(one.joined_at)
    by_context = list(client.room_participants.list(filter={"context": "ctx-bob", "session_id": session_id}))
    assert [p.id for p in by_context] == [bob["id"]]


def test_session_actions_through_the_sdk(client, no_retry, room):
    alice = join(client, room.id, "alice")
    bob = join(client, room.id, "bob")
    carol = join(client, room.id, "carol")
    session_id = alice["session_id"]
    actions = client.rooms.sessions.actions

    assert actions.mute(session_id, participants="all", exclude=[carol["id"]]).data.result == "ok"
    assert actions.unmute(session_id, participants=[bob["id"]]).data.result == "ok"
    assert actions.kick(session_id, participants=[alice["id"]]).data.result == "ok"
    assert client.room_participants.retrieve(alice["id"]).data.left_at is not None
    assert client.room_participants.retrieve(bob["id"]).data.left_at is None

    with pytest.raises(telnyx.UnprocessableEntityError) as err:
        no_retry.rooms.sessions.actions.kick(session_id, participants=["not-an-id"])
    assert_api_error(err.value, 422, "10026", "/participants/0")

    assert actions.end(session_id).data.result == "ok"
    ended = client.rooms.sessions.retrieve(session_id, include_participants=True).data
    assert ended.active is False and ended.ended_at is not None
    assert all(p.left_at is not None for p in ended.participants)
    assert client.rooms.retrieve(room.id).data.active_session_id is None
    assert [s.id for s in client.rooms.sessions.list_0(filter={"room_id": room.id, "active": False})] == [session_id]


def test_unknown_sessions_and_participants_are_not_found(no_retry):
    missing = str(uuid.uuid4())
    for call in (
        lambda: no_retry.rooms.sessions.retrieve(missing),
        lambda: no_retry.room_participants.retrieve(missing),
        lambda: no_retry.rooms.sessions.actions.end(missing),
        lambda: no_retry.rooms.sessions.actions.kick(missing, participants="all"),
    ):
        with pytest.raises(telnyx.NotFoundError) as err:
            call()
        assert_api_error(err.value, 404, "10005")


# --- webhooks ----------------------------------------------------------------------------------
# roomgate must be started with --webhook-allow-private-targets: the receiver below listens on 127.0.0.1.


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A receiver on 127.0.0.1 that records each delivery's body and headers and answers 200."""
    import http.server
    import threading

    received: list[tuple[str, dict[str, str]]] = []
    arrived = threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode("utf-8")
            with arrived:
                received.append((body, dict(self.headers.items())))
                arrived.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()


def wait_for(received: list, n: int, within: float = 20.0) -> list:
    import time

    deadline = time.monotonic() + within
    while len(received) < n:
        assert time.monotonic() < deadline, f"{len(received)} of {n} webhooks arrived: {received}"
        time.sleep(0.05)
    return list(received)


def webhook_public_key() -> str:
    import httpx

    base_url, api_key = roomgate_settings()
    resp = httpx.get(f"{base_url}/webhook_public_key", headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["public_key"]


def test_webhooks_unwrap_with_the_sdk_and_refuse_a_changed_byte_or_an_old_timestamp(client, make_room, monkeypatch):
    key = webhook_public_key()
    with webhook_receiver() as (url, received):
        room = make_room(max_participants=5, webhook_event_url=url)
        alice = join(client, room.id, "alice")
        client.rooms.sessions.actions.end(alice["session_id"])
        deliveries = wait_for(received, 4)

    events = []
    for body, headers in deliveries:
        event = client.webhooks.unwrap(body, headers=headers, key=key)
        events.append(event)
        data = json.loads(body)["data"]
        assert data["record_type"] == "event" and data["payload"]["room_id"] == room.id
        assert json.loads(body)["meta"] == {"attempt": 1, "delivered_to": url}
    assert [json.loads(b)["data"]["event_type"] for b, _ in deliveries] == [
        "video.room.session.started",
        "video.room.participant.joined",
        "video.room.participant.left",
        "video.room.session.ended",
    ]
    joined = json.loads(deliveries[1][0])["data"]["payload"]
    assert joined["participant_id"] == alice["id"] and joined["context"] == "ctx-alice"

    body, headers = deliveries[1]
    # One byte changed: the signature no longer holds.
    changed = body.replace("ctx-alice", "ctx-alicf")
    with pytest.raises(ValueError, match="Signature verification failed"):
        client.webhooks.unwrap(changed, headers=headers, key=key)
    # Another key: refused.
    other = base64.b64encode(bytes(32)).decode()
    with pytest.raises(ValueError):
        client.webhooks.unwrap(body, headers=headers, key=other)
    # The same delivery, checked ten minutes later (a replay): the SDK refuses its timestamp.
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 600)
    with pytest.raises(ValueError, match="too old"):
        client.webhooks.unwrap(body, headers=headers, key=key)
