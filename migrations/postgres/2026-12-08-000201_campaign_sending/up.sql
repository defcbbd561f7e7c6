-- Campaigns that are sent (issue 18): one outbox message per recipient, and per recipient a
-- send record with the basis the send rested on (the consent or the legitimate interest it
-- relied on, as the audience rules found it at send time) and, once they use it, when the
-- person unsubscribed through the message's one-click link (RFC 8058).
ALTER TABLE outbox_messages ADD COLUMN list_unsubscribe TEXT;
CREATE TABLE campaign_deliveries (
    id TEXT PRIMARY KEY,
    -- No cascade: a campaign that has been sent keeps its send records.
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- The message sent; its status is the delivery's.
    outbox_message_id TEXT NOT NULL UNIQUE REFERENCES outbox_messages (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    -- 'consent', 'legitimate_interest', 'soft_spam' or 'other_ground' (AudienceBasis).
    basis TEXT NOT NULL,
    ground_id TEXT,
    consent_id TEXT,
    assessment_id TEXT,
    queued_at TIMESTAMP NOT NULL,
    unsubscribed_at TIMESTAMP
);
CREATE INDEX campaign_deliveries_campaign_idx ON campaign_deliveries (campaign_id, contact_id);
CREATE INDEX campaign_deliveries_contact_idx ON campaign_deliveries (contact_id);
