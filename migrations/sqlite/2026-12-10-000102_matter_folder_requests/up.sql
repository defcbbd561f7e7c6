-- Case-file folders to make for new matters (issue 17). createMatter records one row per
-- document-store instance whose settings say `matterFolders`, in the matter's own transaction,
-- so a crash cannot lose the request; a worker on any replica then makes the folder (MKCOL and
-- PROPPATCH, idempotent) at once, and retries a failure later with backoff.
CREATE TABLE matter_folder_requests (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    matter_id TEXT NOT NULL REFERENCES matters (id) ON DELETE CASCADE,
    requested_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- The replica working on it; `not_before` is then when its claim lapses. Otherwise
    -- `not_before` is when the next attempt is due.
    claimed_by TEXT,
    not_before TIMESTAMP NOT NULL,
    made_at TIMESTAMP,
    PRIMARY KEY (instance_id, matter_id)
);

CREATE INDEX matter_folder_requests_due ON matter_folder_requests (not_before) WHERE made_at IS NULL;
CREATE INDEX matter_folder_requests_matter ON matter_folder_requests (matter_id);
