CREATE TABLE access_log_subjects (
    seq BIGINT NOT NULL REFERENCES access_log (seq),
    contact_id TEXT NOT NULL,
    PRIMARY KEY (seq, contact_id)
);
CREATE INDEX access_log_subjects_contact_idx ON access_log_subjects (contact_id);
INSERT INTO access_log_subjects (seq, contact_id)
SELECT l.seq, s.contact_id
FROM access_log l JOIN access_log_subject_sets s ON s.set_id = l.subject_set;
CREATE TRIGGER access_log_subjects_append_only
    BEFORE UPDATE OR DELETE ON access_log_subjects
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_subjects_no_truncate
    BEFORE TRUNCATE ON access_log_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();

DROP INDEX access_log_subject_set_idx;
ALTER TABLE access_log DROP COLUMN subject_set;
DROP TABLE access_log_subject_sets;
