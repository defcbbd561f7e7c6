-- Documents of a matter's case file as a document store holds them (issue 17): metadata
-- only, never the bytes. Imported by connectors (the `webdav` kind: one folder per matter).

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    matter_id TEXT NOT NULL REFERENCES matters (id) ON DELETE CASCADE,
    -- The file name as the store shows it (names of people often appear in it).
    title TEXT NOT NULL,
    -- Where the document lies in the store: the path of its URL.
    href TEXT NOT NULL,
    content_type TEXT,
    -- The store's version of the document (an ETag without W/ and quotes).
    etag TEXT,
    size_bytes BIGINT,
    -- Lower-case hex SHA-256 of the content; null when the store does not tell.
    sha256 TEXT,
    -- Who created and last changed it, and when, as the store reports them.
    created_by TEXT,
    modified_by TEXT,
    created_at TIMESTAMP NOT NULL,
    modified_at TIMESTAMP,
    -- The connector instance that imported it and the store's id of it (its href when the
    -- store has no stable id).
    instance_id TEXT REFERENCES connector_instances (id) ON DELETE SET NULL,
    external_id TEXT,
    -- current or deleted (at the store); a move keeps the row and records where it was.
    status TEXT NOT NULL,
    deleted_at TIMESTAMP,
    moved_from TEXT,
    moved_at TIMESTAMP,
    -- The full listing that last saw it: one that did not was deleted at the store.
    seen_generation INTEGER,
    imported_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (instance_id, external_id)
);
CREATE INDEX documents_matter_idx ON documents (matter_id, created_at);
