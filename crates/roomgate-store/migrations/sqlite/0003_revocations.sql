-- Revocations: which of a room's tokens are no longer honoured, in one total order per account (the feed media
-- servers follow). `accounts.revocation_seq` is the account's last number, incremented by each insert in its own
-- transaction (SQLite has one writer at a time, so numbers are taken in commit order).
ALTER TABLE accounts ADD COLUMN revocation_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE revocations (
    id            TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    room_id       TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    -- Exactly one selector.
    jti           TEXT,
    identity      TEXT,
    issued_before INTEGER,
    -- Identity and issued_before: tokens whose iat (whole seconds) is below this are covered.
    iat_before    INTEGER,
    reason        TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    CHECK ((jti IS NOT NULL) + (identity IS NOT NULL) + (issued_before IS NOT NULL) = 1),
    CHECK ((jti IS NULL) = (iat_before IS NOT NULL))
);
CREATE UNIQUE INDEX revocations_account_seq ON revocations (account_id, seq);
CREATE INDEX revocations_room_seq ON revocations (room_id, seq);
CREATE INDEX revocations_room_jti ON revocations (room_id, jti) WHERE jti IS NOT NULL;
CREATE INDEX revocations_room_identity ON revocations (room_id, identity, iat_before) WHERE identity IS NOT NULL;
CREATE INDEX revocations_room_cutoff ON revocations (room_id, iat_before) WHERE issued_before IS NOT NULL;
CREATE INDEX revocations_expires ON revocations (expires_at);
