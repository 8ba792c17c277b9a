-- The directory (users, groups, privileges, projects, API tokens, settings) and the durable copies
-- of sessions and grants. Ids are 32-hex GUIDs; secrets are kept only as hex SHA-256 hashes.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL,
    source TEXT NOT NULL,
    password_hash TEXT,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE privileges (
    holder_id TEXT NOT NULL,
    privilege_id INTEGER NOT NULL,
    PRIMARY KEY (holder_id, privilege_id)
);

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
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
CREATE INDEX sessions_by_expiry ON sessions(expires_ms);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE grants (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    scope TEXT,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    origin TEXT
);
CREATE INDEX grants_by_expiry ON grants(expires_ms);
