-- The event log: the source of truth. seq 0 of a session is its genesis
-- record (how it was launched); its updates are seq 1, 2, 3, ... with no holes.
CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

-- Projection: one row per session, folded from its events.
CREATE TABLE sessions (
    session_id      TEXT PRIMARY KEY,
    directory_id    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    agent           TEXT NOT NULL,
    cwd             TEXT NOT NULL,
    title           TEXT,
    state           TEXT NOT NULL,
    disconnected    INTEGER NOT NULL,
    end_reason      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL,
    pending_prompts INTEGER NOT NULL
);
CREATE INDEX sessions_by_creation ON sessions (created_at DESC);

-- Projection: permission prompts that wait for an answer.
CREATE TABLE pending_prompts (
    prompt_id  TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX pending_prompts_by_session ON pending_prompts (session_id, seq);

-- Primary record (not derived from events): registered directories.
CREATE TABLE directories (
    directory_id TEXT PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
