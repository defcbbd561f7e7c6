DROP TABLE breach_subjects;
DROP TABLE breaches;
DROP TABLE processing_activity_purposes;
DROP TABLE processing_activities;
ALTER TABLE contacts DROP COLUMN family_details;
ALTER TABLE contacts DROP COLUMN personal_interests;
ALTER TABLE contacts DROP COLUMN birth_date;
