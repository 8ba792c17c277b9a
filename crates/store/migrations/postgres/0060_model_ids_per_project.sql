-- Object ids are unique within a project, not across projects: the system folders carry
-- MicroStrategy's well-known ids, the same in every project.
ALTER TABLE model_objects DROP CONSTRAINT model_objects_pkey;
ALTER TABLE model_objects ADD PRIMARY KEY (project_id, id);
CREATE INDEX model_objects_by_id ON model_objects(id);
