ALTER TABLE processing_grounds DROP COLUMN basis_evidence;
UPDATE retention_policies SET purpose_id = 'purpose-profiling', purpose_category = NULL,
    name = 'Profiling on purchase and billing details', description = 'Garante per la protezione dei dati personali, 24 February 2005: 12 months for profiling'
    WHERE id = 'retention-profiling';
UPDATE retention_policies SET purpose_id = 'purpose-marketing-email', purpose_category = NULL, renew_on_contact = TRUE,
    name = 'Marketing on purchase and billing details', description = 'Garante per la protezione dei dati personali, 24 February 2005: 24 months for marketing'
    WHERE id = 'retention-marketing';
DELETE FROM retention_policies WHERE purpose_category IS NOT NULL;
CREATE TABLE retention_policies_old (
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
    CHECK ((category = 'processing_ground') = (purpose_id IS NOT NULL))
);
INSERT INTO retention_policies_old (id, name, category, purpose_id, months, renew_on_contact, description, active, created_at, updated_at)
    SELECT id, name, category, purpose_id, months, renew_on_contact, description, active, created_at, updated_at
    FROM retention_policies;
DROP TABLE retention_policies;
ALTER TABLE retention_policies_old RENAME TO retention_policies;
ALTER TABLE purposes DROP COLUMN profiling;
