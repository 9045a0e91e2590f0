-- Lists read an account's number of rooms here instead of counting them (exact: the triggers below keep it in
-- the transaction that inserts or deletes a room, whichever code does it), and the per-account room limit is
-- checked against it.
ALTER TABLE accounts ADD COLUMN room_count INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET room_count = (SELECT COUNT(*) FROM rooms WHERE rooms.account_id = accounts.id);

CREATE TRIGGER rooms_count_insert AFTER INSERT ON rooms
BEGIN
    UPDATE accounts SET room_count = room_count + 1 WHERE id = NEW.account_id;
END;

CREATE TRIGGER rooms_count_delete AFTER DELETE ON rooms
BEGIN
    UPDATE accounts SET room_count = room_count - 1 WHERE id = OLD.account_id;
END;

-- filter[date_updated_at]: a range on this index instead of a scan of the account.
CREATE INDEX rooms_account_updated ON rooms (account_id, updated_at DESC, id DESC);
