-- A second counter beside the roles' one, moved in the changing transaction by every change
-- that can end or change what a credential stands for: a session revoked (logout, password
-- change) or deleted, a user deactivated, given another role or deleted, an API key revoked,
-- re-dated, re-roled or deleted. Each server caches the principal behind a credential and
-- reads both counters in one primary-key lookup per request, so a revocation committed by
-- any replica stops the credential on every replica at its next request. Triggers rather
-- than the services, so that no path that writes these tables can forget it; new sessions,
-- new keys and last-used times do not move it.
ALTER TABLE role_generation ADD COLUMN credentials BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bump_credential_generation() RETURNS trigger AS $$
BEGIN
    UPDATE role_generation SET credentials = credentials + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_bump_credentials
    AFTER UPDATE OF revoked_at, user_id OR DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_generation();

CREATE TRIGGER users_bump_credentials
    AFTER UPDATE OF active, role OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_generation();

CREATE TRIGGER api_keys_bump_credentials
    AFTER UPDATE OF revoked_at, expires_at, role, prefix, key_hash, created_by OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_generation();
