ALTER TABLE sync_links DROP COLUMN record_hash;
