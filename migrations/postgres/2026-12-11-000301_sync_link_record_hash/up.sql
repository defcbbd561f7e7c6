-- What a linked record looked like when it was last applied (a hash of it): a full resync
-- skips the records that did not change without reading their contacts.
ALTER TABLE sync_links ADD COLUMN record_hash TEXT;
