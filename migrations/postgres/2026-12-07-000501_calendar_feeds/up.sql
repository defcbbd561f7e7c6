-- Per-user iCalendar feeds: the URL's token is a bearer secret, kept only as its SHA-256.
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX calendar_feeds_user_idx ON calendar_feeds (user_id);
