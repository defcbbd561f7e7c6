DROP TABLE access_log_head;
DROP TABLE access_log_subjects;
DROP TABLE access_log;
DROP FUNCTION access_log_head_forward_only();
DROP FUNCTION access_log_refuse_change();
