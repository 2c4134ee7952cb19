-- Primary record (not derived from events): runs of config workflows, each
-- step with its status and session (`steps` is JSON).
CREATE TABLE workflow_runs (
    run_id       TEXT PRIMARY KEY,
    workflow     TEXT NOT NULL,
    directory_id TEXT NOT NULL,
    cwd          TEXT NOT NULL,
    status       TEXT NOT NULL,
    steps        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    ended_at     INTEGER
) STRICT;
