DROP TABLE invoice_external_ids;
