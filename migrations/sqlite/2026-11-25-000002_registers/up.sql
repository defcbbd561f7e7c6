-- GDPR registers: the record of processing activities (Art. 30), the breach register
-- (Art. 33/34) with the data subjects a breach touched, and the optional personal contact
-- fields that data minimisation can switch off.

-- Optional personal fields; `disabled_contact_fields` in the settings can refuse them.
ALTER TABLE contacts ADD COLUMN birth_date DATE;
ALTER TABLE contacts ADD COLUMN personal_interests TEXT;
ALTER TABLE contacts ADD COLUMN family_details TEXT;

-- One processing activity of the record. Lists (categories, recipients, transfers) are JSON
-- arrays: they are read and written with their activity, never queried on their own.
CREATE TABLE processing_activities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    controller_contact TEXT NOT NULL,
    joint_controller_contact TEXT,
    representative_contact TEXT,
    dpo_contact TEXT,
    data_subject_categories TEXT NOT NULL,
    personal_data_categories TEXT NOT NULL,
    recipient_categories TEXT NOT NULL,
    processors TEXT NOT NULL,
    transfers TEXT NOT NULL,
    retention TEXT NOT NULL,
    retention_months INTEGER,
    security_measures TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE processing_activity_purposes (
    activity_id TEXT NOT NULL REFERENCES processing_activities (id) ON DELETE CASCADE,
    purpose_id TEXT NOT NULL REFERENCES purposes (id),
    PRIMARY KEY (activity_id, purpose_id)
);

-- Personal data breaches. The 72-hour notification deadline is computed from detected_at.
CREATE TABLE breaches (
    id TEXT PRIMARY KEY,
    detected_at TIMESTAMP NOT NULL,
    natures TEXT NOT NULL,
    description TEXT NOT NULL,
    subject_categories TEXT NOT NULL,
    approximate_subjects BIGINT,
    record_categories TEXT NOT NULL,
    approximate_records BIGINT,
    likely_consequences TEXT,
    measures TEXT,
    authority_notification_required BOOLEAN NOT NULL,
    no_notification_reason TEXT,
    authority_notified_at TIMESTAMP,
    subjects_notification_required BOOLEAN NOT NULL,
    subjects_notified_at TIMESTAMP,
    dpo_notes TEXT,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX breaches_detected_idx ON breaches (detected_at);

-- The data subjects a breach touched, from the access log: contact IDs without a foreign
-- key, like the log's own, so the record survives the contact's erasure.
CREATE TABLE breach_subjects (
    breach_id TEXT NOT NULL REFERENCES breaches (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (breach_id, contact_id)
);
