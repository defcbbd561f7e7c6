DROP TRIGGER roles_bump_generation ON roles;
DROP FUNCTION bump_role_generation();
DROP TABLE role_generation;
