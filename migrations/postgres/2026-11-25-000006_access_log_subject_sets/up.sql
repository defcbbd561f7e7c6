-- The data subjects of access-log entries, stored once per distinct set of contacts instead
-- of once per entry: requests of one shape read the same contacts again and again (a list
-- page, a contact's own page), and one row per contact per entry made the log's inserts the
-- bulk of a request's cost (1000 index-maintained rows for a 1000-contact page, each with a
-- foreign-key check). An entry now names its set (`subject_set`); a set's id is the SHA-256
-- of its sorted contact ids (computed by the writer), so writing a set again changes nothing.
--
-- The hash chain still covers each entry's subjects, read back through its set: a changed,
-- added or removed set row breaks the hash of every entry naming the set.
--
-- Entries written before this migration keep their own set, named 'seq:' || seq.

CREATE TABLE access_log_subject_sets (
    set_id TEXT NOT NULL,
    -- No foreign key to contacts: the log must outlive contacts erased under the right to
    -- erasure.
    contact_id TEXT NOT NULL,
    PRIMARY KEY (set_id, contact_id)
);
-- "Which entries touched contact X": its sets here, then their entries by `subject_set`.
CREATE INDEX access_log_subject_sets_contact_idx ON access_log_subject_sets (contact_id);

INSERT INTO access_log_subject_sets (set_id, contact_id)
SELECT 'seq:' || seq, contact_id FROM access_log_subjects;

-- The empty default serves rows inserted without naming a set: the set '' has no rows.
ALTER TABLE access_log ADD COLUMN subject_set TEXT NOT NULL DEFAULT '';
-- Naming the legacy sets is the one update the append-only log ever gets: it changes no
-- hashed value, and the migration runs before any writer.
ALTER TABLE access_log DISABLE TRIGGER access_log_append_only;
UPDATE access_log SET subject_set = 'seq:' || seq;
ALTER TABLE access_log ENABLE TRIGGER access_log_append_only;
CREATE INDEX access_log_subject_set_idx ON access_log (subject_set);

DROP TABLE access_log_subjects;

CREATE TRIGGER access_log_subject_sets_append_only
    BEFORE UPDATE OR DELETE ON access_log_subject_sets
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_subject_sets_no_truncate
    BEFORE TRUNCATE ON access_log_subject_sets
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();
