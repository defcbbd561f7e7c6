-- Invoices' identifiers in other systems (issue 16), one per source system and record: a
-- FatturaPA import's natural key (seller partita IVA, year, number as printed), ...

CREATE TABLE invoice_external_ids (
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX invoice_external_ids_invoice_idx ON invoice_external_ids (invoice_id);
