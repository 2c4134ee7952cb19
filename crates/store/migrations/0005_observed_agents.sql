-- What the daemon follows of an observed session's agent, to pick it up
-- again after a restart: its transcript and how far it was read, its process.
CREATE TABLE observed_agents (
    session_id TEXT PRIMARY KEY,
    -- Whose transcript format: `claude` or `codex`.
    agent TEXT NOT NULL,
    transcript_path TEXT,
    transcript_offset INTEGER NOT NULL DEFAULT 0,
    pid INTEGER
) STRICT;
