ALTER TABLE processing_grounds DROP COLUMN basis_evidence;
UPDATE retention_policies SET purpose_id = 'purpose-profiling', purpose_category = NULL,
    name = 'Profiling on purchase and billing details', description = 'Garante per la protezione dei dati personali, 24 February 2005: 12 months for profiling'
    WHERE id = 'retention-profiling';
UPDATE retention_policies SET purpose_id = 'purpose-marketing-email', purpose_category = NULL, renew_on_contact = TRUE,
    name = 'Marketing on purchase and billing details', description = 'Garante per la protezione dei dati personali, 24 February 2005: 24 months for marketing'
    WHERE id = 'retention-marketing';
DELETE FROM retention_policies WHERE purpose_category IS NOT NULL;
ALTER TABLE retention_policies DROP CONSTRAINT retention_policies_one_scope_check;
ALTER TABLE retention_policies DROP CONSTRAINT retention_policies_scope_check;
ALTER TABLE retention_policies DROP COLUMN purpose_category;
ALTER TABLE retention_policies ADD CONSTRAINT retention_policies_check
    CHECK ((category = 'processing_ground') = (purpose_id IS NOT NULL));
ALTER TABLE purposes DROP COLUMN profiling;
