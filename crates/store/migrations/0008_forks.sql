-- Projection: the session and update a fork was made from (JSON).
ALTER TABLE sessions ADD COLUMN forked_from TEXT;
