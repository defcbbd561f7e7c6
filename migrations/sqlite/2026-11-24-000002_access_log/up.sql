-- The GDPR access log: who read or changed which contacts' personal data, and which fields.
-- Append-only and tamper-evident: every entry carries a SHA-256 hash chained to the previous
-- entry's, and `access_log_head` records the last seq and hash so that removing entries at the
-- end is noticed too. The triggers below refuse UPDATE and DELETE of log rows (SQLite has no
-- TRUNCATE, and a `DELETE FROM` without WHERE fires delete triggers like any other delete).

CREATE TABLE access_log (
    seq BIGINT PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    principal_kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    role TEXT NOT NULL,
    operation_name TEXT,
    client_address TEXT,
    user_agent TEXT,
    action TEXT NOT NULL,
    -- Field names ("Type.field"), sorted and joined with ','; never values.
    fields TEXT NOT NULL,
    subject_count BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX access_log_occurred_at_idx ON access_log (occurred_at);
CREATE INDEX access_log_principal_idx ON access_log (principal_id);

-- The data subjects (contact ids) of each entry. No foreign key to contacts: the log must
-- outlive contacts erased under the right to erasure.
CREATE TABLE access_log_subjects (
    seq BIGINT NOT NULL REFERENCES access_log (seq),
    contact_id TEXT NOT NULL,
    PRIMARY KEY (seq, contact_id)
);
CREATE INDEX access_log_subjects_contact_idx ON access_log_subjects (contact_id);

-- The end of the chain; writers update it first, which takes SQLite's write lock before any
-- read, so processes sharing the file append in one order.
CREATE TABLE access_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO access_log_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access log is append-only');
END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access log is append-only');
END;
CREATE TRIGGER access_log_subjects_no_update BEFORE UPDATE ON access_log_subjects
BEGIN
    SELECT RAISE(ABORT, 'access log is append-only');
END;
CREATE TRIGGER access_log_subjects_no_delete BEFORE DELETE ON access_log_subjects
BEGIN
    SELECT RAISE(ABORT, 'access log is append-only');
END;

-- The head moves forward only, and is never removed.
CREATE TRIGGER access_log_head_forward_only BEFORE UPDATE ON access_log_head
WHEN NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'access log head only moves forward');
END;
CREATE TRIGGER access_log_head_no_delete BEFORE DELETE ON access_log_head
BEGIN
    SELECT RAISE(ABORT, 'access log head only moves forward');
END;
