-- GDPR core: where every contact came from, the purposes the firm processes personal data
-- for, the legal basis per contact and purpose, consent evidence, objections, the
-- suppression list, restriction of processing and the assessments (LIA/DPIA) bases rely on.

-- Purposes of processing are data: the firm adds its own beside the built-in ones.
CREATE TABLE purposes (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    -- Direct marketing (campaigns, newsletters, profiling): the stricter basis rules apply.
    marketing BOOLEAN NOT NULL DEFAULT 0,
    built_in BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

INSERT INTO purposes (id, key, name, description, marketing, built_in, created_at, updated_at) VALUES
    ('purpose-client-relationship', 'client_relationship', 'Client relationship', 'Managing the relationship with clients and prospects who asked for a quote', FALSE, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('purpose-matter-handling', 'matter_handling', 'Matter handling', 'Handling mandates and cases: parties, counterparties, correspondents, courts', FALSE, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('purpose-marketing-email', 'marketing_email', 'Marketing e-mail', 'E-mail about the firm''s services', TRUE, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('purpose-newsletter', 'newsletter', 'Newsletter', 'The firm''s legal newsletter', TRUE, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('purpose-profiling', 'profiling', 'Profiling', 'Analysing interests and history to tailor offers', TRUE, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('purpose-events', 'events', 'Events', 'Invitations to seminars, conferences and events', TRUE, TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- How a contact was acquired: at least one row per contact, the first one at creation.
CREATE TABLE contact_sources (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    -- The connector instance, for connector imports.
    connector TEXT,
    external_id TEXT,
    acquired_at TIMESTAMP NOT NULL,
    -- The firm's user who acquired the contact, when one did.
    acquired_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    recorded_at TIMESTAMP NOT NULL,
    -- The principal that recorded the source ("user:ID", "api_key:ID", "system:seed", ...).
    recorded_by TEXT
);
CREATE INDEX contact_sources_contact_idx ON contact_sources (contact_id);
CREATE INDEX contact_sources_external_idx ON contact_sources (connector, external_id);

-- Contacts recorded before provenance was tracked keep an honest source.
INSERT INTO contact_sources (id, contact_id, kind, detail, acquired_at, recorded_at)
SELECT 'source-' || id, id, 'manual_entry', 'Recorded before acquisition sources were tracked', created_at, CURRENT_TIMESTAMP
FROM contacts;

-- Campaigns about services analogous to those a client already bought may reach that client
-- without consent unless they objected (art. 130(4) Codice Privacy, "soft spam").
ALTER TABLE campaigns ADD COLUMN analogous_services BOOLEAN NOT NULL DEFAULT 0;

-- Restriction of processing (Art. 18): the contact is kept but used for nothing else.
ALTER TABLE contacts ADD COLUMN restricted_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN restriction_reason TEXT;

-- Legitimate-interest assessments and data-protection impact assessments.
CREATE TABLE assessments (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('lia', 'dpia')),
    title TEXT NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT,
    assessed_on DATE NOT NULL,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    review_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE assessment_purposes (
    assessment_id TEXT NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    purpose_id TEXT NOT NULL REFERENCES purposes (id),
    PRIMARY KEY (assessment_id, purpose_id)
);

-- Consent evidence. Never overwritten: a withdrawal fills the withdrawal columns once, a
-- renewed consent is a new row.
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose_id TEXT NOT NULL REFERENCES purposes (id),
    given_at TIMESTAMP NOT NULL,
    method TEXT NOT NULL,
    notice_version TEXT NOT NULL,
    collected_by TEXT NOT NULL,
    proof_reference TEXT,
    double_opt_in_at TIMESTAMP,
    withdrawn_at TIMESTAMP,
    withdrawal_method TEXT,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by TEXT
);
CREATE INDEX consents_contact_idx ON consents (contact_id, purpose_id);

-- The legal basis (Art. 6(1)) on which the firm processes a contact's data for a purpose.
-- A ground ends (ended_at) rather than being deleted, so the history stays.
CREATE TABLE processing_grounds (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose_id TEXT NOT NULL REFERENCES purposes (id),
    legal_basis TEXT NOT NULL,
    consent_id TEXT REFERENCES consents (id),
    assessment_id TEXT REFERENCES assessments (id),
    note TEXT,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    end_reason TEXT,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by TEXT
);
CREATE INDEX processing_grounds_contact_idx ON processing_grounds (contact_id, purpose_id);
CREATE INDEX processing_grounds_purpose_idx ON processing_grounds (purpose_id, ended_at);

-- Objections (Art. 21): to one purpose, or to all direct marketing when purpose_id is null.
CREATE TABLE objections (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose_id TEXT REFERENCES purposes (id),
    received_at TIMESTAMP NOT NULL,
    method TEXT NOT NULL,
    note TEXT,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by TEXT
);
CREATE INDEX objections_contact_idx ON objections (contact_id);

-- Addresses and numbers that must not be contacted, as keyed hashes (HMAC-SHA256 under the
-- instance's GDPR key) so the list survives the contact's erasure without keeping the value.
-- purpose_id null: suppressed for all direct marketing.
CREATE TABLE suppressions (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'phone')),
    value_hash TEXT NOT NULL,
    purpose_id TEXT REFERENCES purposes (id),
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT
);
CREATE INDEX suppressions_hash_idx ON suppressions (channel, value_hash);

-- The key for keyed hashes when none is configured (generated once, so hashes stay comparable).
CREATE TABLE instance_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
