DROP TABLE invoice_payments;
DROP TABLE invoice_lines;
DROP TABLE time_entries;
DROP TABLE invoice_matters;
DROP TABLE invoices;
