-- Access properties (filter rules, parameter and variable values, sorts) as JSON documents made
-- by the core: those a user holds, changed with a version check so that concurrent writers from
-- any node are serialised here; and those a bearer token carries, by the token's hash, until the
-- token expires.
CREATE TABLE user_access (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);

CREATE TABLE token_access (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX token_access_by_expiry ON token_access(expires_ms);
