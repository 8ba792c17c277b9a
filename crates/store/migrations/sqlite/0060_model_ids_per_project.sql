-- Object ids are unique within a project, not across projects: the system folders carry
-- MicroStrategy's well-known ids, the same in every project. SQLite cannot change a primary key,
-- so the table is made again.
CREATE TABLE model_objects_by_project (
    id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name_key TEXT NOT NULL,
    folder_id TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
);
INSERT INTO model_objects_by_project (id, project_id, kind, name_key, folder_id, version, body)
    SELECT id, project_id, kind, name_key, folder_id, version, body FROM model_objects;
DROP TABLE model_objects;
ALTER TABLE model_objects_by_project RENAME TO model_objects;
CREATE UNIQUE INDEX model_objects_by_name ON model_objects(project_id, kind, folder_id, name_key);
CREATE INDEX model_objects_by_kind ON model_objects(project_id, kind);
CREATE INDEX model_objects_by_id ON model_objects(id);
