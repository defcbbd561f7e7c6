-- A counter that every change to `roles` moves, in the changing transaction: each server
-- reads it per request and reloads its copy of the grants when it moved, so a revoked
-- permission stops on every replica with the change's commit. A trigger rather than the
-- services, so that no path that writes `roles` can forget it.
CREATE TABLE role_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO role_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION bump_role_generation() RETURNS trigger AS $$
BEGIN
    UPDATE role_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER roles_bump_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION bump_role_generation();
