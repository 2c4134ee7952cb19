-- Terminal sessions: a unique name, what they run, and how they exited.
ALTER TABLE sessions ADD COLUMN name TEXT;
ALTER TABLE sessions ADD COLUMN command TEXT;
ALTER TABLE sessions ADD COLUMN template TEXT;
ALTER TABLE sessions ADD COLUMN exit_code INTEGER;
-- Not UNIQUE: the daemon checks names before it stores a session, and a
-- constraint failing inside a group commit would refuse other sessions' events.
CREATE INDEX sessions_by_name ON sessions (name) WHERE name IS NOT NULL;
