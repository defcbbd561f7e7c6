-- Campaign messages and the daily digest go through the same outbox as reminders. SQLite
-- cannot change a CHECK in place: the table is rebuilt (nothing references it).
CREATE TABLE outbox_messages_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('deadline_reminder', 'consent_confirmation', 'campaign', 'daily_digest')),
    -- One message per key, whoever enqueues it and however often: what makes enqueueing
    -- idempotent across processes and restarts.
    dedup_key TEXT NOT NULL UNIQUE,
    -- The record the message is about (a deadline, a consent), by kind.
    reference_id TEXT,
    recipient TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    contact_id TEXT REFERENCES contacts (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO outbox_messages_new (id, kind, dedup_key, reference_id, recipient, user_id, contact_id, subject, body, status, attempts, next_attempt_at, claimed_by, claimed_until, last_error, created_at, sent_at)
    SELECT id, kind, dedup_key, reference_id, recipient, user_id, contact_id, subject, body, status, attempts, next_attempt_at, claimed_by, claimed_until, last_error, created_at, sent_at FROM outbox_messages;
DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_new RENAME TO outbox_messages;
CREATE INDEX outbox_messages_due_idx ON outbox_messages (status, next_attempt_at);
CREATE INDEX outbox_messages_reference_idx ON outbox_messages (kind, reference_id);
CREATE INDEX outbox_messages_contact_idx ON outbox_messages (contact_id);
CREATE INDEX outbox_messages_user_idx ON outbox_messages (user_id);
