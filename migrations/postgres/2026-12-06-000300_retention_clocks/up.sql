-- Retention clocks (issue 14): a processing-ground policy covers one purpose or every purpose
-- of a category (marketing, profiling); grounds start when their basis arose, with the
-- evidence of that date; only relationship and prospect clocks are renewed by contact.

-- Profiling purposes get the profiling clock (Garante, 24 February 2005: 12 months).
ALTER TABLE purposes ADD COLUMN profiling BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE purposes SET profiling = TRUE WHERE id = 'purpose-profiling';

-- marketing or profiling: the policy covers every purpose of that category.
ALTER TABLE retention_policies ADD COLUMN purpose_category TEXT CHECK (purpose_category IN ('marketing', 'profiling'));
ALTER TABLE retention_policies DROP CONSTRAINT retention_policies_check;
ALTER TABLE retention_policies ADD CONSTRAINT retention_policies_scope_check
    CHECK ((category = 'processing_ground') = (purpose_id IS NOT NULL OR purpose_category IS NOT NULL));
ALTER TABLE retention_policies ADD CONSTRAINT retention_policies_one_scope_check
    CHECK (purpose_id IS NULL OR purpose_category IS NULL);

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
UPDATE processing_grounds g SET started_at = c.given_at
    FROM consents c
    WHERE c.id = g.consent_id AND c.given_at < g.started_at;
