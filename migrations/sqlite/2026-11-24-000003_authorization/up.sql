-- Roles as data: the built-in roles the policy is written for, and the firm's own, each
-- acting as a built-in role minus the fields it denies. Special-category matter fields.

CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    description TEXT,
    base_role TEXT NOT NULL,
    -- "Type.field" names, one per line, that this role may not read or write.
    denied_fields TEXT NOT NULL DEFAULT '',
    built_in BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

INSERT INTO roles (name, description, base_role, denied_fields, built_in, created_at, updated_at) VALUES
    ('admin', 'Runs lexgate: users, teams, roles, API keys; sees all client work except special categories', 'admin', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('partner', 'Sees every matter of the firm', 'partner', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('lawyer', 'Sees the matters whose team they are on', 'lawyer', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('trainee', 'Sees the matters whose team they are on', 'trainee', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('staff', 'Contact details and deadlines; not what communications say', 'staff', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('marketing', 'Campaigns and the contact fields they need; no matters or communications', 'marketing', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('dpo', 'Data protection officer: GDPR records and the access log', 'dpo', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('integration', 'Firm tools and connectors', 'integration', '', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- Art. 10 (criminal convictions and offences) and Art. 9 (health) data of a matter.
ALTER TABLE matters ADD COLUMN criminal_proceedings_notes TEXT;
ALTER TABLE matters ADD COLUMN health_details TEXT;
