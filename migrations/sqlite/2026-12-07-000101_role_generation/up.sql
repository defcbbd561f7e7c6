-- A counter that every change to `roles` moves, in the changing transaction: each server
-- reads it per request and reloads its copy of the grants when it moved, so a change made
-- by another process (the command line) applies with its commit. A trigger rather than the
-- services, so that no path that writes `roles` can forget it.
CREATE TABLE role_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO role_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER roles_generation_on_insert AFTER INSERT ON roles
BEGIN
    UPDATE role_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER roles_generation_on_update AFTER UPDATE ON roles
BEGIN
    UPDATE role_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER roles_generation_on_delete AFTER DELETE ON roles
BEGIN
    UPDATE role_generation SET generation = generation + 1 WHERE id = 1;
END;
