-- Connectors and the sync engine: configured instances (secrets sealed with AEAD), cursors,
-- links from provider records to contacts, runs, the lease that keeps one sync per instance,
-- the review queue of imports without a legal basis, webhook deduplication, pending OAuth
-- authorisations and the register of disclosures to connectors (for access requests).

CREATE TABLE connector_instances (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    -- JSON: the OAuth registration without its secret, page size.
    settings TEXT NOT NULL,
    -- Sealed (key_id:ciphertext) JSON of the client secret and tokens; never sent out.
    credentials TEXT,
    webhook_secret TEXT,
    -- JSON: source detail and the legal basis per record origin.
    provenance TEXT NOT NULL,
    schedule_minutes INTEGER,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Where the next pull of a stream starts. A full resync bumps `generation`; links not seen
-- in the current generation when the full listing ends were deleted at the provider.
CREATE TABLE sync_cursors (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    stream TEXT NOT NULL,
    cursor TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    full_sync BOOLEAN NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, stream)
);

-- One row per provider record: the key of idempotent upserts.
CREATE TABLE sync_links (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    contact_id TEXT REFERENCES contacts (id) ON DELETE SET NULL,
    seen_generation INTEGER NOT NULL,
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, external_id)
);
CREATE INDEX sync_links_contact_idx ON sync_links (contact_id);

CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    holder TEXT NOT NULL,
    status TEXT NOT NULL,
    full_sync BOOLEAN NOT NULL DEFAULT 0,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    linked INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    review INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    -- JSON array of {externalId, message}; messages name fields, never values.
    errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX sync_runs_instance_idx ON sync_runs (instance_id, started_at);

-- Who may sync an instance now: one holder until the lease expires or is released.
CREATE TABLE sync_leases (
    instance_id TEXT PRIMARY KEY REFERENCES connector_instances (id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Imports that would have created a contact without a legal basis.
CREATE TABLE sync_review_items (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    -- JSON of the provider's record.
    record TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolution TEXT,
    resolved_by TEXT,
    contact_id TEXT REFERENCES contacts (id) ON DELETE SET NULL,
    UNIQUE (instance_id, external_id)
);

CREATE TABLE webhook_events (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, event_id)
);

-- Authorisations started and not yet called back: the state is stored hashed, the PKCE
-- verifier sealed.
CREATE TABLE oauth_pending (
    state_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    pkce_verifier TEXT NOT NULL,
    started_by TEXT,
    expires_at TIMESTAMP NOT NULL
);

-- Personal data disclosed to a connector's provider (Art. 15(1)(c): the recipients).
CREATE TABLE data_recipients (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    instance_id TEXT REFERENCES connector_instances (id) ON DELETE SET NULL,
    recipient TEXT NOT NULL,
    fields TEXT NOT NULL,
    external_id TEXT,
    disclosed_at TIMESTAMP NOT NULL
);
CREATE INDEX data_recipients_contact_idx ON data_recipients (contact_id);
