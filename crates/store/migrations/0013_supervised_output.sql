-- How far a supervised program's output is stored, per session: the offset
-- a daemon asks its supervisor to resume from after a restart. Written in
-- the same transaction as the events made of that output, so a restart
-- neither loses nor repeats any of them. A primary record: reindex keeps it.
CREATE TABLE supervised_output (
    session_id TEXT PRIMARY KEY,
    output_offset INTEGER NOT NULL
) STRICT;
