-- Lists read an account's number of rooms here instead of counting them (exact: the triggers below keep it in
-- the transaction that inserts or deletes a room, whichever code does it), and the per-account room limit is
-- checked against it.

-- No room may be inserted or deleted between the backfill and the triggers (a replica of the previous version
-- may still be serving while this one migrates).
LOCK TABLE rooms IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE accounts ADD COLUMN room_count BIGINT NOT NULL DEFAULT 0;
UPDATE accounts a SET room_count = c.n
FROM (SELECT account_id, COUNT(*) AS n FROM rooms GROUP BY account_id) c
WHERE c.account_id = a.id;

-- Statement-level, over the transition table: a bulk insert updates each account's row once, not once a room
-- (a million updates of one row in one transaction would leave a million versions of it to walk).
CREATE FUNCTION rooms_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts a SET room_count = a.room_count + c.n
    FROM (SELECT account_id, COUNT(*) AS n FROM inserted GROUP BY account_id) c
    WHERE c.account_id = a.id;
    RETURN NULL;
END $$;

CREATE FUNCTION rooms_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts a SET room_count = a.room_count - c.n
    FROM (SELECT account_id, COUNT(*) AS n FROM deleted GROUP BY account_id) c
    WHERE c.account_id = a.id;
    RETURN NULL;
END $$;

CREATE TRIGGER rooms_count_insert AFTER INSERT ON rooms
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION rooms_count_inserted();
CREATE TRIGGER rooms_count_delete AFTER DELETE ON rooms
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION rooms_count_deleted();

-- filter[date_updated_at]: a range on this index instead of a scan of the account.
CREATE INDEX rooms_account_updated ON rooms (account_id, updated_at DESC, id DESC);
