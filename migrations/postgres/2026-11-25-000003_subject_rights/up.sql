-- Data-subject rights (Art. 12-22 GDPR): the register of requests, the history of changes to
-- contacts (rectification), legal holds that stop an erasure, the erasure log and the
-- tombstones that let a later import recognise an erased person without keeping their data.

-- One request from a data subject. `contact_id` is a plain reference, not a foreign key: the
-- request (kind, dates, outcome) must outlive the contact it erased, like the access log.
CREATE TABLE subject_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'portability', 'rectification', 'erasure', 'restriction', 'objection')),
    status TEXT NOT NULL CHECK (status IN ('received', 'identity_verified', 'executed', 'refused')),
    contact_id TEXT,
    received_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
    -- Who asked and how to answer them; cleared when the person is erased.
    requester_name TEXT,
    requester_contact TEXT,
    identity_verified_at TIMESTAMP,
    identity_verified_by TEXT,
    identity_method TEXT,
    -- Art. 12(3): one month from receipt, extendable by two further months with reasons.
    due_on DATE NOT NULL,
    extended_due_on DATE,
    extension_reason TEXT,
    refusal_reason TEXT,
    executed_at TIMESTAMP,
    notes TEXT,
    handled_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX subject_requests_contact_idx ON subject_requests (contact_id);
CREATE INDEX subject_requests_status_idx ON subject_requests (status, due_on);

-- Every change to a contact's personal fields: who, when, which field, old and new value.
-- No foreign key: an erasure keeps the field names and times and clears the values.
CREATE TABLE contact_changes (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX contact_changes_contact_idx ON contact_changes (contact_id, changed_at);

-- Data the firm must keep despite an erasure request (Art. 17(3)): on a contact, a matter
-- (all its parties) or a contact within a matter.
CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY,
    contact_id TEXT REFERENCES contacts (id) ON DELETE CASCADE,
    matter_id TEXT REFERENCES matters (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    until_on DATE,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    released_at TIMESTAMP,
    released_by TEXT,
    CHECK (contact_id IS NOT NULL OR matter_id IS NOT NULL)
);
CREATE INDEX legal_holds_contact_idx ON legal_holds (contact_id);
CREATE INDEX legal_holds_matter_idx ON legal_holds (matter_id);

-- What each erasure did: categories erased and kept, and why kept. Never the erased data.
CREATE TABLE erasure_log (
    id TEXT PRIMARY KEY,
    -- What caused the erasure: a data subject's request, or a retention policy that expired.
    request_id TEXT REFERENCES subject_requests (id),
    retention_policy_id TEXT,
    contact_id TEXT NOT NULL,
    executed_at TIMESTAMP NOT NULL,
    executed_by TEXT NOT NULL,
    contact_deleted BOOLEAN NOT NULL,
    erased_categories TEXT NOT NULL,
    kept_categories TEXT NOT NULL,
    hold_reasons TEXT NOT NULL,
    CHECK (request_id IS NOT NULL OR retention_policy_id IS NOT NULL)
);
CREATE INDEX erasure_log_contact_idx ON erasure_log (contact_id);

-- Keyed hashes of an erased person's identifiers, so a connector sync recognises them.
CREATE TABLE tombstones (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'tax_code', 'external_id')),
    value_hash TEXT NOT NULL,
    connector TEXT,
    request_id TEXT REFERENCES subject_requests (id),
    erased_at TIMESTAMP NOT NULL
);
CREATE INDEX tombstones_hash_idx ON tombstones (kind, value_hash);
