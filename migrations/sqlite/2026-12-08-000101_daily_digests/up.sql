-- A user's daily digest of their deadlines and tasks: opted in or out, the local hour it is
-- sent at, in which time zone, and how many days after today it looks ahead.
CREATE TABLE daily_digests (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL,
    hour INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    time_zone TEXT NOT NULL,
    days_ahead INTEGER NOT NULL CHECK (days_ahead BETWEEN 0 AND 31),
    updated_at TIMESTAMP NOT NULL
);
