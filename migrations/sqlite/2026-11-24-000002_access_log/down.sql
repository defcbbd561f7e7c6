DROP TABLE access_log_head;
DROP TABLE access_log_subjects;
DROP TABLE access_log;
