CREATE TABLE accounts (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id         UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id),
    name       TEXT,
    prefix     TEXT NOT NULL,
    key_hash   BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE rooms (
    id                         UUID PRIMARY KEY,
    account_id                 UUID NOT NULL REFERENCES accounts (id),
    unique_name                TEXT,
    max_participants           INTEGER NOT NULL,
    enable_recording           BOOLEAN NOT NULL,
    webhook_event_url          TEXT,
    webhook_event_failover_url TEXT,
    webhook_timeout_secs       INTEGER,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE UNIQUE INDEX rooms_account_unique_name ON rooms (account_id, unique_name) WHERE unique_name IS NOT NULL;
CREATE INDEX rooms_account_created ON rooms (account_id, created_at DESC, id DESC);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    public_key  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    activate_at BIGINT NOT NULL,
    retire_at   BIGINT
);
