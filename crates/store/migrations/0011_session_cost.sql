-- Projection: the session's cost in USD, as its agent last reported.
ALTER TABLE sessions ADD COLUMN cost_usd REAL;
