-- lexgate's time entries pushed to a practice-management system (issue 17, Clio Manage): one
-- row per instance and entry, the provider's id for it and the digest of what lexgate sent.
-- A row means "sent, never again"; time_entry_id is no foreign key: the row outlives the
-- entry's deletion in lexgate, as the provider's copy does.
CREATE TABLE time_entry_pushes (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    time_entry_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    pushed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, time_entry_id)
);
