-- The generation of each project's committed objects: every write of them (a commit, a direct
-- write, the project's deletion, from any node or the command line) raises it inside its own
-- transaction, so a node that cached the objects of one generation knows from one small read
-- whether they are still the committed ones. A project without a row is at generation 0; rows
-- are never deleted (a project made again must not meet an old number).
CREATE TABLE model_generations (
    project_id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
