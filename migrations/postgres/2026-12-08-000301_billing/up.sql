-- Billing (issue 16): time recorded against matters, invoices made from it, their lines,
-- matters and payments. Money is integer cents; rates are cents per hour.
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'parcella')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'issued', 'paid', 'cancelled')),
    fiscal_year INTEGER,
    number INTEGER,
    client_contact_id TEXT REFERENCES contacts (id) ON DELETE SET NULL,
    client_name TEXT,
    client_codice_fiscale TEXT,
    client_partita_iva TEXT,
    client_street TEXT,
    client_postal_code TEXT,
    client_city TEXT,
    client_province TEXT,
    client_country TEXT,
    recipient_code TEXT NOT NULL,
    recipient_pec TEXT,
    issue_date DATE,
    due_date DATE,
    net_cents BIGINT NOT NULL CHECK (net_cents >= 0),
    cassa_rate_bp INTEGER NOT NULL,
    cassa_cents BIGINT NOT NULL,
    vat_rate_bp INTEGER NOT NULL,
    vat_cents BIGINT NOT NULL,
    withholding_rate_bp INTEGER NOT NULL,
    withholding_cents BIGINT NOT NULL,
    paid_cents BIGINT NOT NULL,
    notes TEXT,
    created_by TEXT,
    paid_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (fiscal_year, number)
);
CREATE INDEX invoices_client_idx ON invoices (client_contact_id);
CREATE INDEX invoices_issue_idx ON invoices (issue_date);

CREATE TABLE invoice_matters (
    invoice_id TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    matter_id TEXT NOT NULL REFERENCES matters (id) ON DELETE CASCADE,
    PRIMARY KEY (invoice_id, matter_id)
);
CREATE INDEX invoice_matters_matter_idx ON invoice_matters (matter_id);

CREATE TABLE time_entries (
    id TEXT PRIMARY KEY,
    matter_id TEXT NOT NULL REFERENCES matters (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    work_date DATE NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    task_code TEXT,
    activity_code TEXT,
    narrative TEXT NOT NULL,
    billable BOOLEAN NOT NULL,
    rate_cents BIGINT NOT NULL CHECK (rate_cents >= 0),
    invoice_id TEXT REFERENCES invoices (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX time_entries_matter_idx ON time_entries (matter_id, work_date);
CREATE INDEX time_entries_user_idx ON time_entries (user_id);
CREATE INDEX time_entries_invoice_idx ON time_entries (invoice_id);

CREATE TABLE invoice_lines (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    time_entry_id TEXT REFERENCES time_entries (id) ON DELETE SET NULL,
    matter_id TEXT REFERENCES matters (id) ON DELETE SET NULL,
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    work_date DATE NOT NULL,
    description TEXT NOT NULL,
    task_code TEXT,
    activity_code TEXT,
    minutes INTEGER NOT NULL,
    rate_cents BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    UNIQUE (invoice_id, position)
);
CREATE INDEX invoice_lines_entry_idx ON invoice_lines (time_entry_id);

CREATE TABLE invoice_payments (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    paid_on DATE NOT NULL,
    method TEXT NOT NULL,
    reference TEXT,
    recorded_by TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX invoice_payments_invoice_idx ON invoice_payments (invoice_id);
CREATE INDEX invoice_payments_paid_idx ON invoice_payments (paid_on);
