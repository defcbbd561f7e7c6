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

-- The sets the policies share, as views owned by the superuser: a view reads its tables with
-- its owner's rights, so a policy on contacts can use them without recursing into itself.

-- Matters whose team the lawyer is on, or which they lead.
CREATE OR REPLACE VIEW bench_need_to_know.own_matters AS
    SELECT matter_id AS id FROM public.matter_team_members
    WHERE user_id = current_setting('jwt.claims.user_id', true)
    UNION
    SELECT id FROM public.matters
    WHERE responsible_user_id = current_setting('jwt.claims.user_id', true);

-- Communications of those matters, and those the lawyer logged.
CREATE OR REPLACE VIEW bench_need_to_know.own_communications AS
    SELECT id FROM public.communications
    WHERE matter_id IN (SELECT id FROM bench_need_to_know.own_matters)
       OR author_user_id = current_setting('jwt.claims.user_id', true);

-- Contacts the lawyer meets directly: parties of their matters, participants of their
-- communications, those they are responsible for.
CREATE OR REPLACE VIEW bench_need_to_know.met_directly AS
    SELECT contact_id AS id FROM public.matter_parties
    WHERE matter_id IN (SELECT id FROM bench_need_to_know.own_matters)
    UNION
    SELECT contact_id FROM public.communication_participants
    WHERE communication_id IN (SELECT id FROM bench_need_to_know.own_communications)
    UNION
    SELECT id FROM public.contacts
    WHERE responsible_user_id = current_setting('jwt.claims.user_id', true);

GRANT SELECT ON ALL TABLES IN SCHEMA bench_need_to_know TO lexgate_bench_lawyer;

ALTER TABLE matters ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON matters;
CREATE POLICY need_to_know ON matters FOR SELECT TO lexgate_bench_lawyer USING (
    id IN (SELECT matter_id FROM matter_team_members
           WHERE user_id = current_setting('jwt.claims.user_id', true))
    OR responsible_user_id = current_setting('jwt.claims.user_id', true));

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON contacts;
CREATE POLICY need_to_know ON contacts FOR SELECT TO lexgate_bench_lawyer USING (
    id IN (SELECT id FROM bench_need_to_know.met_directly)
    -- and the organisations those people are affiliated to
    OR id IN (SELECT organization_id FROM affiliations
              WHERE person_id IN (SELECT id FROM bench_need_to_know.met_directly)));

ALTER TABLE deadlines ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON deadlines;
CREATE POLICY need_to_know ON deadlines FOR SELECT TO lexgate_bench_lawyer USING (
    matter_id IN (SELECT id FROM bench_need_to_know.own_matters)
    OR id IN (SELECT deadline_id FROM deadline_user_assignees
              WHERE user_id = current_setting('jwt.claims.user_id', true))
    OR id IN (SELECT deadline_id FROM deadline_team_assignees
              WHERE team_id IN (SELECT team_id FROM team_members
                                WHERE user_id = current_setting('jwt.claims.user_id', true))));
