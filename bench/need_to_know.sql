-- Q5's need-to-know for PostGraphile: lexgate's row scope of a lawyer (src/access_policy/scope.rs,
-- `Scope::OwnMatters`) as PostgreSQL row-level security, so both servers answer Q5 for the same
-- lawyer under the same rules and the answer-equality check compares like with like.
--
-- PostGraphile reads as lexgate_bench_ro (BYPASSRLS: Q0-Q4 see the whole firm, as lexgate's
-- admin key does). For Q5 it verifies a JWT whose `role` claim switches the transaction to
-- lexgate_bench_lawyer and whose `user_id` claim names the lawyer: the policies below read it
-- as current_setting('jwt.claims.user_id'). The roles are created by bench.py (roles are
-- cluster-wide); this file is run as the superuser on the benchmark database and may be run
-- again (it replaces what it made).

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS bench_need_to_know;
GRANT USAGE ON SCHEMA public, bench_need_to_know TO lexgate_bench_lawyer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO lexgate_bench_lawyer;

-- What the policies read of the tables that have policies of their own, as views owned by the
-- superuser: a view reads its tables with its owner's rights, so the policy on contacts can
-- probe contacts (and matters) without recursing into a policy.

-- Who leads each matter.
CREATE OR REPLACE VIEW bench_need_to_know.matter_leads AS
    SELECT id, responsible_user_id FROM public.matters;

-- Who is responsible for each contact.
CREATE OR REPLACE VIEW bench_need_to_know.contact_owners AS
    SELECT id, responsible_user_id FROM public.contacts;

-- The views of earlier versions of this file (sets of what the lawyer may see).
DROP VIEW IF EXISTS bench_need_to_know.own_matters, bench_need_to_know.responsible_contacts;

GRANT SELECT ON ALL TABLES IN SCHEMA bench_need_to_know TO lexgate_bench_lawyer;

-- The policies are lexgate's conditions (src/access_policy/scope.rs) written out in SQL, probe
-- for probe: each asks about the row at hand with EXISTS over the indexed link tables, so a
-- page checks its own rows rather than the set of everything the lawyer may see (lexgate's
-- earlier `IN (that set)` form cost 1.1 s of a 50-matter page at the full size).

-- A matter whose team the lawyer is on, or which they lead.
ALTER TABLE matters ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON matters;
CREATE POLICY need_to_know ON matters FOR SELECT TO lexgate_bench_lawyer USING (
    EXISTS (SELECT 1 FROM matter_team_members t WHERE t.matter_id = matters.id
            AND t.user_id = current_setting('jwt.claims.user_id', true))
    OR responsible_user_id = current_setting('jwt.claims.user_id', true));

-- A contact the lawyer is responsible for, a party of their matters, a participant of their
-- communications, or an organisation such a person is affiliated to (the affiliation probe
-- carries `kind <> 'person'` as lexgate's does, which keeps PostgreSQL from hashing it).
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON contacts;
CREATE POLICY need_to_know ON contacts FOR SELECT TO lexgate_bench_lawyer USING (
    responsible_user_id = current_setting('jwt.claims.user_id', true)
    OR EXISTS (SELECT 1 FROM matter_parties p WHERE p.contact_id = contacts.id
               AND (EXISTS (SELECT 1 FROM matter_team_members t WHERE t.matter_id = p.matter_id
                            AND t.user_id = current_setting('jwt.claims.user_id', true))
                    OR EXISTS (SELECT 1 FROM bench_need_to_know.matter_leads l
                               WHERE l.id = p.matter_id
                               AND l.responsible_user_id
                                   = current_setting('jwt.claims.user_id', true))))
    OR EXISTS (SELECT 1 FROM communication_participants cp WHERE cp.contact_id = contacts.id
               AND EXISTS (SELECT 1 FROM communications k WHERE k.id = cp.communication_id
                           AND (EXISTS (SELECT 1 FROM matter_team_members t
                                        WHERE t.matter_id = k.matter_id
                                        AND t.user_id
                                            = current_setting('jwt.claims.user_id', true))
                                OR EXISTS (SELECT 1 FROM bench_need_to_know.matter_leads l
                                           WHERE l.id = k.matter_id
                                           AND l.responsible_user_id
                                               = current_setting('jwt.claims.user_id', true))
                                OR k.author_user_id
                                   = current_setting('jwt.claims.user_id', true))))
    OR EXISTS (SELECT 1 FROM affiliations a WHERE a.organization_id = contacts.id
               AND contacts.kind <> 'person'
               AND (EXISTS (SELECT 1 FROM matter_parties p WHERE p.contact_id = a.person_id
                            AND (EXISTS (SELECT 1 FROM matter_team_members t
                                         WHERE t.matter_id = p.matter_id
                                         AND t.user_id
                                             = current_setting('jwt.claims.user_id', true))
                                 OR EXISTS (SELECT 1 FROM bench_need_to_know.matter_leads l
                                            WHERE l.id = p.matter_id
                                            AND l.responsible_user_id
                                                = current_setting('jwt.claims.user_id', true))))
                    OR EXISTS (SELECT 1 FROM communication_participants cp
                               WHERE cp.contact_id = a.person_id
                               AND EXISTS (SELECT 1 FROM communications k
                                           WHERE k.id = cp.communication_id
                                           AND (EXISTS (SELECT 1 FROM matter_team_members t
                                                        WHERE t.matter_id = k.matter_id
                                                        AND t.user_id = current_setting(
                                                            'jwt.claims.user_id', true))
                                                OR EXISTS (SELECT 1
                                                           FROM bench_need_to_know.matter_leads l
                                                           WHERE l.id = k.matter_id
                                                           AND l.responsible_user_id
                                                               = current_setting(
                                                                   'jwt.claims.user_id', true))
                                                OR k.author_user_id = current_setting(
                                                    'jwt.claims.user_id', true))))
                    OR EXISTS (SELECT 1 FROM bench_need_to_know.contact_owners o
                               WHERE o.id = a.person_id
                               AND o.responsible_user_id
                                   = current_setting('jwt.claims.user_id', true)))));

-- A deadline of the lawyer's matters, or assigned to them or to a team of theirs.
ALTER TABLE deadlines ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON deadlines;
CREATE POLICY need_to_know ON deadlines FOR SELECT TO lexgate_bench_lawyer USING (
    EXISTS (SELECT 1 FROM matter_team_members t WHERE t.matter_id = deadlines.matter_id
            AND t.user_id = current_setting('jwt.claims.user_id', true))
    OR EXISTS (SELECT 1 FROM bench_need_to_know.matter_leads l WHERE l.id = deadlines.matter_id
               AND l.responsible_user_id = current_setting('jwt.claims.user_id', true))
    OR EXISTS (SELECT 1 FROM deadline_user_assignees a WHERE a.deadline_id = deadlines.id
               AND a.user_id = current_setting('jwt.claims.user_id', true))
    OR EXISTS (SELECT 1 FROM deadline_team_assignees a WHERE a.deadline_id = deadlines.id
               AND a.team_id IN (SELECT team_id FROM team_members
                                 WHERE user_id = current_setting('jwt.claims.user_id', true))));
