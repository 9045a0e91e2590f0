-- Revocations: which of a room's tokens are no longer honoured, in one total order per account (the feed media
-- servers follow). `accounts.revocation_seq` is the account's last number: an insert increments it in its own
-- transaction, so the row lock orders the account's inserts by commit and a reader that sees `revocation_seq = n`
-- can read every revocation numbered up to n (none can commit below it later).
ALTER TABLE accounts ADD COLUMN revocation_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE revocations (
    id            UUID PRIMARY KEY,
    account_id    UUID NOT NULL REFERENCES accounts (id),
    room_id       UUID NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    -- Exactly one selector.
    jti           UUID,
    identity      TEXT,
    issued_before BIGINT,
    -- Identity and issued_before: tokens whose iat (whole seconds) is below this are covered.
    iat_before    BIGINT,
    reason        TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    CHECK ((jti IS NOT NULL)::int + (identity IS NOT NULL)::int + (issued_before IS NOT NULL)::int = 1),
    CHECK ((jti IS NULL) = (iat_before IS NOT NULL))
);
CREATE UNIQUE INDEX revocations_account_seq ON revocations (account_id, seq);
CREATE INDEX revocations_room_seq ON revocations (room_id, seq);
CREATE INDEX revocations_room_jti ON revocations (room_id, jti) WHERE jti IS NOT NULL;
CREATE INDEX revocations_room_identity ON revocations (room_id, identity, iat_before) WHERE identity IS NOT NULL;
CREATE INDEX revocations_room_cutoff ON revocations (room_id, iat_before) WHERE issued_before IS NOT NULL;
CREATE INDEX revocations_expires ON revocations (expires_at);
