DROP TABLE retention_runs;
ALTER TABLE matters DROP COLUMN retention_applied_at;
DROP TABLE retention_policies;
