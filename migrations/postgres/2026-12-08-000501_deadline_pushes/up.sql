-- Deadlines and hearings pushed to a calendar (issue 15): one row per instance and deadline,
-- what lexgate last left there (href, UID, ETag, digest of what it sent) and how it went.
-- deadline_id is no foreign key: the row outlives a deleted deadline until its event is removed.
CREATE TABLE deadline_pushes (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    deadline_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    etag TEXT,
    digest TEXT NOT NULL,
    -- created, updated, unchanged, conflict, kept (edited upstream, not removed), removed
    outcome TEXT NOT NULL,
    pushed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, deadline_id)
);

-- What a run pushed: events written, removed, and left alone because edited upstream.
ALTER TABLE sync_runs ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN push_removed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN push_conflicts INTEGER NOT NULL DEFAULT 0;
