-- Double opt-in: a consent for a purpose that requires it waits for the person to confirm
-- through the link lexgate mails them (requested, then confirmed with the client's address
-- and user agent as evidence); until then it does not count for audiences. A re-consent of
-- someone on the suppression list lifts the suppression for its purpose once confirmed.
ALTER TABLE consents ADD COLUMN double_opt_in_requested_at TIMESTAMP;
ALTER TABLE consents ADD COLUMN double_opt_in_client_address TEXT;
ALTER TABLE consents ADD COLUMN double_opt_in_user_agent TEXT;
ALTER TABLE consents ADD COLUMN lifts_suppression BOOLEAN NOT NULL DEFAULT FALSE;
