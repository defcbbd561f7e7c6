DROP TABLE campaign_deliveries;
ALTER TABLE outbox_messages DROP COLUMN list_unsubscribe;
