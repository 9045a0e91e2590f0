-- The live room: sessions, their participants, and the commands media servers carry out. A session is active
-- while `ended_at` is NULL, at most one per room. Every change takes the room's row lock first (see `live`), so
-- admissions, leaves and moderation of one room are serialized on every replica.
CREATE TABLE room_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE UNIQUE INDEX room_sessions_active ON room_sessions (room_id) WHERE ended_at IS NULL;
CREATE INDEX room_sessions_account ON room_sessions (account_id, created_at, id);
CREATE INDEX room_sessions_room ON room_sessions (room_id, created_at, id);

CREATE TABLE room_participants (
    id               TEXT PRIMARY KEY NOT NULL,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    room_id          TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    session_id       TEXT NOT NULL REFERENCES room_sessions (id) ON DELETE CASCADE,
    identity         TEXT,
    name             TEXT,
    context          TEXT,
    -- The admitted token's permissions, as the API shows them (JSON).
    permissions      TEXT NOT NULL,
    -- The admitted access token's jti and iat (whole seconds): what a kick revokes when there is no identity.
    jti              TEXT NOT NULL,
    token_iat        INTEGER NOT NULL,
    joined_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    left_at          INTEGER,
    lease_expires_at INTEGER NOT NULL
);
CREATE INDEX room_participants_live ON room_participants (session_id, identity) WHERE left_at IS NULL;
CREATE INDEX room_participants_session ON room_participants (session_id, joined_at, id);
CREATE INDEX room_participants_account ON room_participants (account_id, joined_at, id);
CREATE INDEX room_participants_lease ON room_participants (lease_expires_at) WHERE left_at IS NULL;

-- Numbered from the same per-account sequence as revocations (`accounts.revocation_seq`), so the control feed is
-- one total order of both. No foreign key to the room: a deleted room's `session_end` must still reach the media
-- servers.
CREATE TABLE room_commands (
    id             TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    room_id        TEXT NOT NULL,
    session_id     TEXT,
    participant_id TEXT,
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    -- mute/unmute: the track kinds, comma-separated.
    kinds          TEXT,
    reason         TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX room_commands_account_seq ON room_commands (account_id, seq);
CREATE INDEX room_commands_expires ON room_commands (expires_at);
