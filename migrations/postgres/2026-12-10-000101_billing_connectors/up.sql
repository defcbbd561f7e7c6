-- Billing connectors (issue 16), e.g. Stripe.
--
-- The invoices an instance imports: which of its records each invoice row is, and the full
-- listing that last saw it (a record missing from a finished listing was deleted upstream).
CREATE TABLE sync_invoice_links (
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    seen_generation INTEGER NOT NULL,
    removed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, external_id)
);
CREATE INDEX sync_invoice_links_invoice_idx ON sync_invoice_links (invoice_id);

-- A matter's unbilled time pushed to a billing system: one row per invoice item (a time
-- entry) and one for the invoice that takes them, all of one bill sharing the invoice row's
-- key. Each row is written before its remote call (pending, remote_id null, with the
-- Idempotency-Key sent) and completed after it, so a retry after a crash looks the item up by
-- its key instead of creating it again.
CREATE TABLE billing_pushes (
    idempotency_key TEXT PRIMARY KEY,
    bill_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('item', 'invoice')),
    instance_id TEXT NOT NULL REFERENCES connector_instances (id) ON DELETE CASCADE,
    matter_id TEXT NOT NULL REFERENCES matters (id) ON DELETE CASCADE,
    time_entry_id TEXT REFERENCES time_entries (id) ON DELETE SET NULL,
    customer TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    remote_id TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX billing_pushes_bill_idx ON billing_pushes (bill_key);
-- At most one unfinished bill per instance and matter: a second one would push the same time.
CREATE UNIQUE INDEX billing_pushes_open_bill_idx ON billing_pushes (instance_id, matter_id)
    WHERE kind = 'invoice' AND remote_id IS NULL;
