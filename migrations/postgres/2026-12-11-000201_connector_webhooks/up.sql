-- The webhooks lexgate keeps at a provider (issue 17: Clio Manage), one per instance and
-- model. A row is claimed by one replica at a time with a conditional UPDATE on `not_before`
-- (like matter_folder_requests) before the webhook is created or renewed. `status`: `pending`
-- from the claim that creates it until the provider's handshake, `active` after it (the
-- handshake's secret sealed in `secret`), `failing` while creating or renewing it fails.
-- `token_hash`: the SHA-256 (hex) of the random token in the URL the webhook was created
-- with; a handshake or delivery is accepted only with that token, so nobody who merely knows
-- the instance and model can answer the handshake first.
-- Ids, times and the provider's error only: no personal data.
CREATE TABLE connector_webhooks (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    remote_id TEXT,
    status TEXT NOT NULL,
    secret TEXT,
    token_hash TEXT,
    expires_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- The replica working on it; `not_before` is then when its claim lapses. Otherwise
    -- `not_before` is when the next creation or renewal is due.
    claimed_by TEXT,
    not_before TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, model)
);

CREATE INDEX connector_webhooks_due ON connector_webhooks (not_before);
