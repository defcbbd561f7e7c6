DROP TABLE retired_refresh_tokens;
