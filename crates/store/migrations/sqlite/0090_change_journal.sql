-- The change journal: one entry per committed write of the model, as a JSON document with the
-- columns a search narrows by; its number is the row id, growing with every entry. The objects
-- each entry names are indexed beside it. A changeset keeps the comment its requests gave for
-- the entry of its commit.
CREATE TABLE change_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX change_journal_by_project ON change_journal(project_id, at_ms);

CREATE TABLE change_journal_objects (
    entry_id INTEGER NOT NULL REFERENCES change_journal(id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    PRIMARY KEY (object_id, entry_id)
);

ALTER TABLE changesets ADD COLUMN journal_comment TEXT;
