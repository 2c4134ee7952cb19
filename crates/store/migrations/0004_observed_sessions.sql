-- Observed sessions: the agent's own session id, to find them again.
ALTER TABLE sessions ADD COLUMN external_id TEXT;
CREATE INDEX sessions_by_external_id ON sessions (external_id) WHERE external_id IS NOT NULL;
