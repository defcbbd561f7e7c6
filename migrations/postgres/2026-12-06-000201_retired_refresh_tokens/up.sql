-- Refresh tokens rotated out of a session, kept (hashed) until the session goes: one
-- presented again means it was stolen or replayed, and the whole session is revoked
-- (refresh-token reuse detection, OAuth 2.0 Security Best Current Practice, 4.14).
CREATE TABLE retired_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    retired_at TIMESTAMP NOT NULL
);
CREATE INDEX retired_refresh_tokens_session_idx ON retired_refresh_tokens (session_id);
