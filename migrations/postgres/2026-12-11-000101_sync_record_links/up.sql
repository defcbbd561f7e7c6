-- Records of practice-management systems (issue 17, Clio Manage) kept as lexgate matters,
-- deadlines and time entries: which provider record each row is, a digest of what the
-- provider said last (an unchanged record writes nothing, so lexgate's own edits stand until
-- the provider changes it), the full listing that last saw it (a record missing from a
-- finished listing was deleted upstream) and when that was noticed. A matter's link keeps the
-- provider's id of its client, so a move to another client is recognised.
CREATE TABLE sync_record_links (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    stream TEXT NOT NULL CHECK (stream IN ('matters', 'deadlines', 'time_entries')),
    external_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    client_external_id TEXT,
    seen_generation INTEGER NOT NULL,
    removed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, stream, external_id)
);
CREATE INDEX sync_record_links_record_idx ON sync_record_links (stream, record_id);
