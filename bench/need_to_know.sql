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
-- its owner's rights, so the policy on contacts can use them without recursing into itself.

-- Matters whose team the lawyer is on, or which they lead.
CREATE OR REPLACE VIEW bench_need_to_know.own_matters AS
    SELECT matter_id AS id FROM public.matter_team_members
    WHERE user_id = current_setting('jwt.claims.user_id', true)
    UNION
    SELECT id FROM public.matters
    WHERE responsible_user_id = current_setting('jwt.claims.user_id', true);

-- Contacts the lawyer is responsible for (read by the contacts policy for affiliated people).
CREATE OR REPLACE VIEW bench_need_to_know.responsible_contacts AS
    SELECT id FROM public.contacts
    WHERE responsible_user_id = current_setting('jwt.claims.user_id', true);

GRANT SELECT ON ALL TABLES IN SCHEMA bench_need_to_know TO lexgate_bench_lawyer;

ALTER TABLE matters ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON matters;
CREATE POLICY need_to_know ON matters FOR SELECT TO lexgate_bench_lawyer USING (
    id IN (SELECT matter_id FROM matter_team_members
           WHERE user_id = current_setting('jwt.claims.user_id', true))
    OR responsible_user_id = current_setting('jwt.claims.user_id', true));

-- A contact the lawyer meets directly (a party of their matters, a participant of their
-- communications, one they are responsible for), or an organisation such a person is
-- affiliated to. Written as EXISTS per row, which PostgreSQL answers from the contact_id
-- indexes for the few contacts a page shows; the same rule as IN (the set of every contact
-- the lawyer meets) made it hash that whole set on every request: 110 ms instead of 3 ms
-- for Q5 at 2,000 contacts, and growing with the firm.
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON contacts;
CREATE POLICY need_to_know ON contacts FOR SELECT TO lexgate_bench_lawyer USING (
    responsible_user_id = current_setting('jwt.claims.user_id', true)
    OR EXISTS (SELECT 1 FROM matter_parties p WHERE p.contact_id = contacts.id
               AND p.matter_id IN (SELECT id FROM bench_need_to_know.own_matters))
    OR EXISTS (SELECT 1 FROM communication_participants cp
               JOIN communications k ON k.id = cp.communication_id
               WHERE cp.contact_id = contacts.id
               AND (k.matter_id IN (SELECT id FROM bench_need_to_know.own_matters)
                    OR k.author_user_id = current_setting('jwt.claims.user_id', true)))
    OR EXISTS (SELECT 1 FROM affiliations a WHERE a.organization_id = contacts.id
               AND (EXISTS (SELECT 1 FROM matter_parties p WHERE p.contact_id = a.person_id
                            AND p.matter_id IN (SELECT id FROM bench_need_to_know.own_matters))
                    OR EXISTS (SELECT 1 FROM communication_participants cp
                               JOIN communications k ON k.id = cp.communication_id
                               WHERE cp.contact_id = a.person_id
                               AND (k.matter_id IN (SELECT id FROM bench_need_to_know.own_matters)
                                    OR k.author_user_id
                                       = current_setting('jwt.claims.user_id', true)))
                    OR a.person_id IN (SELECT id FROM bench_need_to_know.responsible_contacts))));

ALTER TABLE deadlines ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS need_to_know ON deadlines;
CREATE POLICY need_to_know ON deadlines FOR SELECT TO lexgate_bench_lawyer USING (
    matter_id IN (SELECT id FROM bench_need_to_know.own_matters)
    OR id IN (SELECT deadline_id FROM deadline_user_assignees
              WHERE user_id = current_setting('jwt.claims.user_id', true))
    OR id IN (SELECT deadline_id FROM deadline_team_assignees
              WHERE team_id IN (SELECT team_id FROM team_members
                                WHERE user_id = current_setting('jwt.claims.user_id', true))));
