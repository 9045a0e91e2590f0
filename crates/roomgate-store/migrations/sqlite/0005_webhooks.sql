-- Webhooks: the outbox of room events, written in the transaction of the change each reports (so a crash loses
-- none), and the key that signs their deliveries. Each room's events are delivered in `seq` order: only a room's
-- oldest pending event can be claimed. No foreign key to the room: a deleted room's last events still go out.
CREATE TABLE webhook_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    room_id         TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    -- What the payload reports.
    session_id      TEXT NOT NULL,
    participant_id  TEXT,
    context         TEXT,
    duration_secs   INTEGER,
    -- The room's webhook settings when the event occurred.
    url             TEXT,
    failover_url    TEXT,
    timeout_secs    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- Set while a replica delivers it; an expired claim (the replica died) is taken again.
    claimed_until   INTEGER,
    -- Delivered or given up (`outcome`).
    done_at         INTEGER,
    outcome         TEXT,
    last_error      TEXT
);
CREATE INDEX webhook_events_pending ON webhook_events (room_id, seq) WHERE done_at IS NULL;
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX webhook_events_done ON webhook_events (done_at) WHERE done_at IS NOT NULL;

-- The Ed25519 key that signs webhook deliveries (private half sealed by the master key when one is set). The
-- oldest one signs; it is never published but as the public key operators give their receivers.
CREATE TABLE webhook_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    private_key BLOB NOT NULL,
    public_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
