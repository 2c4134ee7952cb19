-- Projection: the git repositories a session works in, as last recorded (JSON).
ALTER TABLE sessions ADD COLUMN git TEXT;
