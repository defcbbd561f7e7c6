-- Campaign messages and the daily digest go through the same outbox as reminders.
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_kind_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_kind_check
    CHECK (kind IN ('deadline_reminder', 'consent_confirmation', 'campaign', 'daily_digest'));
