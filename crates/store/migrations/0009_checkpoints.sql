-- Primary record: the checkpoints of each session's working tree, numbered
-- per session. `reference` is a git commit (kept by a ref under
-- refs/viewport/checkpoints) or a snapshot directory; `files` is JSON.
CREATE TABLE checkpoints (
    session_id TEXT NOT NULL,
    number     INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    root       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    files      TEXT NOT NULL,
    note       TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, number)
) STRICT;
