DROP TRIGGER api_keys_bump_credentials ON api_keys;
DROP TRIGGER users_bump_credentials ON users;
DROP TRIGGER sessions_bump_credentials ON sessions;
DROP FUNCTION bump_credential_generation();
ALTER TABLE role_generation DROP COLUMN credentials;
