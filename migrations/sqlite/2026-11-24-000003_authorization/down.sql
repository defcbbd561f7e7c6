ALTER TABLE matters DROP COLUMN health_details;
ALTER TABLE matters DROP COLUMN criminal_proceedings_notes;
DROP TABLE roles;
