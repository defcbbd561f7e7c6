DROP TABLE tombstones;
DROP TABLE erasure_log;
DROP TABLE legal_holds;
DROP TABLE contact_changes;
DROP TABLE subject_requests;
