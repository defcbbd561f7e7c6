-- Communications imported from mail connectors: the message's natural key (Message-ID) and
-- the instance that imported it, the body where the instance stores bodies, attachments as
-- metadata only (never their bytes), and where each message lies at the provider.

CREATE TABLE communication_imports (
    communication_id TEXT PRIMARY KEY REFERENCES communications (id) ON DELETE CASCADE,
    -- The Message-ID (without angle brackets): a message seen again, in another folder or
    -- after a full resync, is the same communication.
    message_id TEXT NOT NULL UNIQUE,
    instance_id TEXT REFERENCES connector_instances (id) ON DELETE SET NULL,
    -- The text body, only when the instance stores bodies.
    body TEXT,
    imported_at TIMESTAMP NOT NULL
);

CREATE TABLE communication_attachments (
    id TEXT PRIMARY KEY,
    communication_id TEXT NOT NULL REFERENCES communications (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX communication_attachments_communication_idx
    ON communication_attachments (communication_id);

-- One row per message location at the provider (e.g. folder, UIDVALIDITY and UID): a full
-- resync marks what it sees with its generation; locations not seen were deleted upstream.
CREATE TABLE sync_message_links (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    communication_id TEXT REFERENCES communications (id) ON DELETE CASCADE,
    seen_generation INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, external_id)
);
CREATE INDEX sync_message_links_communication_idx ON sync_message_links (communication_id);
