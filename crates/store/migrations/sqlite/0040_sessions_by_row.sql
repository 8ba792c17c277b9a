-- Sessions are addressed by their row (kept in memory beside each session), not by the token
-- hash: new rows append to the end of the table, where the random token hash as key (and the
-- index by user) put each new session on a different page of its own.
CREATE TABLE sessions_by_row (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL,
    cookie_hash TEXT,
    user_id TEXT NOT NULL,
    login_mode INTEGER NOT NULL,
    scope TEXT,
    created_ms INTEGER NOT NULL,
    last_active_ms INTEGER NOT NULL,
    expiry_kind TEXT NOT NULL,
    server_secs INTEGER,
    http_secs INTEGER,
    expires_ms INTEGER NOT NULL
);
INSERT INTO sessions_by_row (token_hash, cookie_hash, user_id, login_mode, scope, created_ms,
    last_active_ms, expiry_kind, server_secs, http_secs, expires_ms)
SELECT token_hash, cookie_hash, user_id, login_mode, scope, created_ms, last_active_ms,
    expiry_kind, server_secs, http_secs, expires_ms
FROM sessions ORDER BY created_ms;
DROP TABLE sessions;
ALTER TABLE sessions_by_row RENAME TO sessions;
CREATE INDEX sessions_by_expiry ON sessions(expires_ms);
