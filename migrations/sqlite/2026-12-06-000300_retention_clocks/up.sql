-- Retention clocks (issue 14): a processing-ground policy covers one purpose or every purpose
-- of a category (marketing, profiling); grounds start when their basis arose, with the
-- evidence of that date; only relationship and prospect clocks are renewed by contact.

-- Profiling purposes get the profiling clock (Garante, 24 February 2005: 12 months).
ALTER TABLE purposes ADD COLUMN profiling BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE purposes SET profiling = TRUE WHERE id = 'purpose-profiling';

-- SQLite cannot change a CHECK constraint: the table is rebuilt (nothing refers to it).
CREATE TABLE retention_policies_new (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL CHECK (category IN ('processing_ground', 'inactive_prospect', 'closed_matter')),
    purpose_id TEXT REFERENCES purposes (id),
    months INTEGER NOT NULL CHECK (months > 0),
    renew_on_contact BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- marketing or profiling: the policy covers every purpose of that category (last, as
    -- PostgreSQL adds it).
    purpose_category TEXT CHECK (purpose_category IN ('marketing', 'profiling')),
    CHECK ((category = 'processing_ground') = (purpose_id IS NOT NULL OR purpose_category IS NOT NULL)),
    CHECK (purpose_id IS NULL OR purpose_category IS NULL)
);
INSERT INTO retention_policies_new (id, name, category, purpose_id, purpose_category, months, renew_on_contact, description, active, created_at, updated_at)
    SELECT id, name, category, purpose_id, NULL, months, renew_on_contact, description, active, created_at, updated_at
    FROM retention_policies;
DROP TABLE retention_policies;
ALTER TABLE retention_policies_new RENAME TO retention_policies;

UPDATE retention_policies SET purpose_id = NULL, purpose_category = 'profiling',
    name = 'Profiling', description = 'Garante per la protezione dei dati personali, 24 February 2005: 12 months for every profiling purpose'
    WHERE id = 'retention-profiling';
UPDATE retention_policies SET purpose_id = NULL, purpose_category = 'marketing', renew_on_contact = FALSE,
    name = 'Marketing', description = 'Garante per la protezione dei dati personali, 24 February 2005: 24 months for every marketing purpose'
    WHERE id = 'retention-marketing';
UPDATE retention_policies SET renew_on_contact = FALSE
    WHERE purpose_id IN (SELECT id FROM purposes WHERE marketing OR profiling);

-- A ground's clock starts when its basis arose: the consent's date for consent grounds,
-- otherwise the date recorded with its evidence (a contract's date and reference).
ALTER TABLE processing_grounds ADD COLUMN basis_evidence TEXT;
UPDATE processing_grounds SET started_at = (SELECT given_at FROM consents WHERE consents.id = processing_grounds.consent_id)
    WHERE consent_id IS NOT NULL
      AND (SELECT given_at FROM consents WHERE consents.id = processing_grounds.consent_id) < started_at;
