-- Primary record (not derived from events): who may use the daemon besides
-- its owner. Browser logins and paired viewports keep a SHA-256 of their
-- token; viewports paired through the relay keep their public key instead.
CREATE TABLE viewers (
    viewer_id    TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_sha256 TEXT UNIQUE,
    relay_key    TEXT UNIQUE,
    origin       TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    CHECK (token_sha256 IS NOT NULL OR relay_key IS NOT NULL)
);
