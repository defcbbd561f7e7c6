DROP TABLE billing_pushes;
DROP TABLE sync_invoice_links;
