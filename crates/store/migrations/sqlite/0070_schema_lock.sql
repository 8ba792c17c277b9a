-- The schema lock of each project (at most one, held by one session: the hash of its token, as
-- changesets keep it) and the schema tasks (reloads), as JSON documents with the columns their
-- lookups need. A task's heartbeat is renewed while it runs, apart from its body.
CREATE TABLE schema_locks (
    project_id TEXT PRIMARY KEY,
    lock_type TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    machine_name TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE schema_tasks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX schema_tasks_by_project ON schema_tasks(project_id, start_ms);
CREATE INDEX schema_tasks_running ON schema_tasks(status, heartbeat_ms);
