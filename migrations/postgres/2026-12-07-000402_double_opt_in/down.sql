ALTER TABLE consents DROP COLUMN lifts_suppression;
ALTER TABLE consents DROP COLUMN double_opt_in_user_agent;
ALTER TABLE consents DROP COLUMN double_opt_in_client_address;
ALTER TABLE consents DROP COLUMN double_opt_in_requested_at;
