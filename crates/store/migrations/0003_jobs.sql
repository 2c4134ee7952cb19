-- Primary record (not derived from events): the one-off job queue.
CREATE TABLE jobs (
    job_id       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    command      TEXT NOT NULL,
    directory_id TEXT NOT NULL,
    status       TEXT NOT NULL,
    session_id   TEXT,
    exit_code    INTEGER,
    detail       TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER
);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
