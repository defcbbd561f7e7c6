ALTER TABLE sync_runs DROP COLUMN push_conflicts;
ALTER TABLE sync_runs DROP COLUMN push_removed;
ALTER TABLE sync_runs DROP COLUMN pushed;
DROP TABLE deadline_pushes;
