DELETE FROM outbox_messages WHERE kind IN ('campaign', 'daily_digest');
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_kind_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_kind_check
    CHECK (kind IN ('deadline_reminder', 'consent_confirmation'));
