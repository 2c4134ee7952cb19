-- Projection: full-text search over whole messages, tool call titles and
-- inputs, and plans (never over streamed chunks). `vpd reindex` rebuilds it
-- from the events; here it is filled from the events already stored.
CREATE VIRTUAL TABLE search USING fts5(
    text,
    session_id UNINDEXED,
    seq UNINDEXED,
    kind UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search (text, session_id, seq, kind)
SELECT json_extract(body, '$.text'), session_id, seq, kind FROM events
WHERE kind IN ('agent-message', 'user-message') AND json_extract(body, '$.text') IS NOT NULL;
INSERT INTO search (text, session_id, seq, kind)
SELECT json_extract(body, '$.title'), session_id, seq, kind FROM events
WHERE kind = 'tool-call' AND json_extract(body, '$.title') IS NOT NULL;
