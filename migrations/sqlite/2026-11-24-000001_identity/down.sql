DROP TABLE login_failures;
DROP TABLE api_keys;
DROP TABLE sessions;
ALTER TABLE users DROP COLUMN password_hash;
