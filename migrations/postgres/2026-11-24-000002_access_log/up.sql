-- The GDPR access log: who read or changed which contacts' personal data, and which fields.
-- Append-only and tamper-evident: every entry carries a SHA-256 hash chained to the previous
-- entry's, and `access_log_head` records the last seq and hash so that removing entries at the
-- end is noticed too. The triggers below refuse UPDATE, DELETE and TRUNCATE of log rows.

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

-- The end of the chain. Writers lock this row first, so processes sharing the database append
-- in one order.
CREATE TABLE access_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO access_log_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION access_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER access_log_append_only
    BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_no_truncate
    BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_subjects_append_only
    BEFORE UPDATE OR DELETE ON access_log_subjects
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_subjects_no_truncate
    BEFORE TRUNCATE ON access_log_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();

-- The head moves forward only, and is never removed.
CREATE FUNCTION access_log_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'access log head only moves forward';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER access_log_head_forward_only
    BEFORE UPDATE OR DELETE ON access_log_head
    FOR EACH ROW EXECUTE FUNCTION access_log_head_forward_only();
CREATE TRIGGER access_log_head_no_truncate
    BEFORE TRUNCATE ON access_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();
