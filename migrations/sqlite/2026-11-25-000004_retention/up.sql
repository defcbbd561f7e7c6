-- Retention (Art. 5(1)(e)): how long data is kept per purpose and data category, and the
-- runs that delete or anonymise what has expired.

CREATE TABLE retention_policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- processing_ground: a purpose's grounds end after `months` (renewed by a call or meeting
    --   when renew_on_contact), and a contact left without any basis is erased;
    -- inactive_prospect: prospects not contacted for `months` are erased;
    -- closed_matter: matters closed `months` ago lose their contents and party links.
    category TEXT NOT NULL CHECK (category IN ('processing_ground', 'inactive_prospect', 'closed_matter')),
    purpose_id TEXT REFERENCES purposes (id),
    months INTEGER NOT NULL CHECK (months > 0),
    renew_on_contact BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((category = 'processing_ground') = (purpose_id IS NOT NULL))
);

INSERT INTO retention_policies (id, name, category, purpose_id, months, renew_on_contact, description, active, created_at, updated_at) VALUES
    ('retention-profiling', 'Profiling on purchase and billing details', 'processing_ground', 'purpose-profiling', 12, FALSE, 'Garante per la protezione dei dati personali, 24 February 2005: 12 months for profiling', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('retention-marketing', 'Marketing on purchase and billing details', 'processing_ground', 'purpose-marketing-email', 24, TRUE, 'Garante per la protezione dei dati personali, 24 February 2005: 24 months for marketing', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('retention-prospects', 'Prospects not contacted', 'inactive_prospect', NULL, 24, TRUE, 'Prospects the firm has had no call or meeting with for two years', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('retention-closed-matters', 'Closed matters', 'closed_matter', NULL, 120, FALSE, 'Professional retention duty: ten years after the mandate ends', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- When a closed matter's contents were removed, so a second run leaves it alone.
ALTER TABLE matters ADD COLUMN retention_applied_at TIMESTAMP;

CREATE TABLE retention_runs (
    id TEXT PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    dry_run BOOLEAN NOT NULL,
    triggered_by TEXT NOT NULL,
    grounds_ended INTEGER NOT NULL,
    contacts_erased INTEGER NOT NULL,
    contacts_partly_kept INTEGER NOT NULL,
    matters_anonymised INTEGER NOT NULL
);
