DROP TRIGGER roles_generation_on_delete;
DROP TRIGGER roles_generation_on_update;
DROP TRIGGER roles_generation_on_insert;
DROP TABLE role_generation;
