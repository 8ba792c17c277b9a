-- The model: committed objects (folders, tables, attributes) as JSON documents, changesets and
-- their staged changes. A name is unique per project, kind and folder (case-insensitively).
CREATE TABLE model_objects (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name_key TEXT NOT NULL,
    folder_id TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX model_objects_by_name ON model_objects(project_id, kind, folder_id, name_key);
CREATE INDEX model_objects_by_kind ON model_objects(project_id, kind);

CREATE TABLE changesets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    schema_edit BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);

CREATE TABLE changeset_changes (
    changeset_id TEXT NOT NULL REFERENCES changesets(id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    base_version TEXT,
    body TEXT,
    PRIMARY KEY (changeset_id, object_id)
);
