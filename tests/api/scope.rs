//! Row-level need-to-know as SQL (`access_policy::Scope`): each predicate keeps exactly the
//! rows its rule names, on one seeded firm with every path into and out of view; and a
//! lawyer who sees more contacts than SQLite can bind as parameters still lists them.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use serde_json::json;

use lexgate::access_policy::{RowKind, Scope};
use lexgate::ids::{self, NodeType};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const AT: &str = "'2026-01-01 09:00:00'";

/// One firm: the lawyer `u` (on team `t`), a colleague `o` (on team `t2`), and rows named for
/// how `u` reaches them (`*_in`) or why they stay out of view (`*_out`).
fn firm_sql() -> String {
    let mut sql = String::new();
    let mut add = |statement: String| {
        sql.push_str(&statement);
        sql.push_str(";\n");
    };
    for user in ["u", "o"] {
        add(format!(
            "INSERT INTO users (id, email, display_name, role, active, created_at, updated_at) \
             VALUES ('{user}', '{user}@studio.it', '{user}', 'lawyer', TRUE, {AT}, {AT})"
        ));
    }
    for (team, member) in [("t", "u"), ("t2", "o")] {
        add(format!(
            "INSERT INTO teams (id, name, created_at, updated_at) VALUES ('{team}', '{team}', {AT}, {AT})"
        ));
        add(format!(
            "INSERT INTO team_members (team_id, user_id) VALUES ('{team}', '{member}')"
        ));
    }
    // On the team of m_team; responsible for m_led; neither for m_out.
    for (matter, responsible) in [("m_team", "o"), ("m_led", "u"), ("m_out", "o")] {
        add(format!(
            "INSERT INTO matters (id, reference, title, practice_area, status, responsible_user_id, created_at, updated_at) \
             VALUES ('{matter}', '{matter}', '{matter}', 'civil', 'open', '{responsible}', {AT}, {AT})"
        ));
    }
    add("INSERT INTO matter_team_members (matter_id, user_id) VALUES ('m_team', 'u'), ('m_out', 'o')".into());
    let contacts = [
        ("k_party_team_in", "person", "NULL"),
        ("k_party_led_in", "person", "NULL"),
        ("k_party_out", "person", "NULL"),
        ("k_participant_team_in", "person", "NULL"),
        ("k_participant_authored_in", "person", "NULL"),
        ("k_participant_out", "person", "NULL"),
        ("k_responsible_in", "person", "'u'"),
        ("k_responsible_out", "person", "'o'"),
        ("k_org_of_party_in", "organization", "NULL"),
        ("k_org_of_participant_in", "organization", "NULL"),
        ("k_org_of_responsible_in", "organization", "NULL"),
        ("k_org_of_out", "organization", "NULL"),
        ("k_colleague_at_org_out", "person", "NULL"),
        ("k_org_party_in", "organization", "NULL"),
        ("k_person_at_org_party_out", "person", "NULL"),
    ];
    for (id, kind, responsible) in contacts {
        add(format!(
            "INSERT INTO contacts (id, kind, display_name, sort_name, category, responsible_user_id, created_at, updated_at) \
             VALUES ('{id}', '{kind}', '{id}', '{id}', 'client', {responsible}, {AT}, {AT})"
        ));
    }
    add(
        "INSERT INTO matter_parties (matter_id, contact_id, role) VALUES \
         ('m_team', 'k_party_team_in', 'client'), ('m_led', 'k_party_led_in', 'client'), \
         ('m_out', 'k_party_out', 'client'), ('m_led', 'k_org_party_in', 'counterparty')"
            .into(),
    );
    // Affiliations lead from a person in view to their organisation, never back.
    add(
        "INSERT INTO affiliations (id, person_id, organization_id) VALUES \
         ('a1', 'k_party_team_in', 'k_org_of_party_in'), \
         ('a2', 'k_participant_authored_in', 'k_org_of_participant_in'), \
         ('a3', 'k_responsible_in', 'k_org_of_responsible_in'), \
         ('a4', 'k_party_out', 'k_org_of_out'), \
         ('a5', 'k_colleague_at_org_out', 'k_org_of_party_in'), \
         ('a6', 'k_person_at_org_party_out', 'k_org_party_in')"
            .into(),
    );
    // (id, matter, author)
    let communications = [
        ("c_team_in", "'m_team'", "'o'"),
        ("c_led_in", "'m_led'", "NULL"),
        ("c_authored_in", "'m_out'", "'u'"),
        ("c_loose_authored_in", "NULL", "'u'"),
        ("c_out", "'m_out'", "'o'"),
        ("c_loose_out", "NULL", "NULL"),
    ];
    for (id, matter, author) in communications {
        add(format!(
            "INSERT INTO communications (id, channel, direction, occurred_at, matter_id, author_user_id, created_at, updated_at) \
             VALUES ('{id}', 'email', 'inbound', {AT}, {matter}, {author}, {AT}, {AT})"
        ));
    }
    add(
        "INSERT INTO communication_participants (communication_id, contact_id) VALUES \
         ('c_team_in', 'k_participant_team_in'), ('c_authored_in', 'k_participant_authored_in'), \
         ('c_out', 'k_participant_out'), ('c_loose_out', 'k_participant_out')"
            .into(),
    );
    let deadlines = [
        ("d_team_in", "'m_team'"),
        ("d_led_in", "'m_led'"),
        ("d_assigned_in", "'m_out'"),
        ("d_team_assigned_in", "NULL"),
        ("d_out", "'m_out'"),
        ("d_loose_out", "NULL"),
        ("d_other_team_out", "NULL"),
    ];
    for (id, matter) in deadlines {
        add(format!(
            "INSERT INTO deadlines (id, title, kind, due_at, status, matter_id, created_at, updated_at) \
             VALUES ('{id}', '{id}', 'filing', {AT}, 'open', {matter}, {AT}, {AT})"
        ));
    }
    add("INSERT INTO deadline_user_assignees (deadline_id, user_id) VALUES ('d_assigned_in', 'u'), ('d_out', 'o')".into());
    add("INSERT INTO deadline_team_assignees (deadline_id, team_id) VALUES ('d_team_assigned_in', 't'), ('d_other_team_out', 't2')".into());
    for (id, matter) in [
        ("doc_team_in", "m_team"),
        ("doc_led_in", "m_led"),
        ("doc_out", "m_out"),
    ] {
        add(format!(
            "INSERT INTO documents (id, matter_id, title, href, status, created_at, imported_at, updated_at) \
             VALUES ('{id}', '{matter}', '{id}', 'https://dms.example/{id}', 'current', {AT}, {AT}, {AT})"
        ));
    }
    // (id, matter, who recorded it)
    for (id, matter, user) in [
        ("te_team_in", "m_team", "'o'"),
        ("te_led_in", "m_led", "NULL"),
        ("te_recorded_in", "m_out", "'u'"),
        ("te_out", "m_out", "'o'"),
    ] {
        add(format!(
            "INSERT INTO time_entries (id, matter_id, user_id, work_date, minutes, narrative, billable, rate_cents, created_at, updated_at) \
             VALUES ('{id}', '{matter}', {user}, '2026-01-01', 30, 'work', TRUE, 20000, {AT}, {AT})"
        ));
    }
    for id in ["inv_team_in", "inv_mixed_in", "inv_out"] {
        add(format!(
            "INSERT INTO invoices (id, kind, status, recipient_code, net_cents, cassa_rate_bp, cassa_cents, vat_rate_bp, vat_cents, \
             withholding_rate_bp, withholding_cents, paid_cents, created_at, updated_at) \
             VALUES ('{id}', 'invoice', 'draft', '0000000', 0, 0, 0, 0, 0, 0, 0, 0, {AT}, {AT})"
        ));
    }
    add("INSERT INTO invoice_matters (invoice_id, matter_id) VALUES \
         ('inv_team_in', 'm_team'), ('inv_mixed_in', 'm_out'), ('inv_mixed_in', 'm_led'), ('inv_out', 'm_out')"
        .into());
    sql
}

const KINDS: [(RowKind, &str); 7] = [
    (RowKind::Matter, "m_"),
    (RowKind::Contact, "k_"),
    (RowKind::Deadline, "d_"),
    (RowKind::Communication, "c_"),
    (RowKind::Document, "doc_"),
    (RowKind::TimeEntry, "te_"),
    (RowKind::Invoice, "inv_"),
];

const ALL_IDS: &[&str] = &[
    "m_team",
    "m_led",
    "m_out",
    "k_party_team_in",
    "k_party_led_in",
    "k_party_out",
    "k_participant_team_in",
    "k_participant_authored_in",
    "k_participant_out",
    "k_responsible_in",
    "k_responsible_out",
    "k_org_of_party_in",
    "k_org_of_participant_in",
    "k_org_of_responsible_in",
    "k_org_of_out",
    "k_colleague_at_org_out",
    "k_org_party_in",
    "k_person_at_org_party_out",
    "d_team_in",
    "d_led_in",
    "d_assigned_in",
    "d_team_assigned_in",
    "d_out",
    "d_loose_out",
    "d_other_team_out",
    "c_team_in",
    "c_led_in",
    "c_authored_in",
    "c_loose_authored_in",
    "c_out",
    "c_loose_out",
    "doc_team_in",
    "doc_led_in",
    "doc_out",
    "te_team_in",
    "te_led_in",
    "te_recorded_in",
    "te_out",
    "inv_team_in",
    "inv_mixed_in",
    "inv_out",
];

fn ids_of(prefix: &str) -> Vec<String> {
    ALL_IDS
        .iter()
        .filter(|id| id.starts_with(prefix))
        .map(|id| (*id).to_owned())
        .collect()
}

fn expected_in(ids: &[String]) -> BTreeSet<String> {
    ids.iter()
        .filter(|id| !id.ends_with("_out"))
        .cloned()
        .collect()
}

async fn kept(app: &TestApp, scope: Scope, kind: RowKind, ids: Vec<String>) -> BTreeSet<String> {
    app.db
        .run(move |c| scope.visible_ids(c, kind, &ids))
        .await
        .expect("visible ids")
        .into_iter()
        .collect()
}

async fn each_predicate_keeps_exactly_its_rows(backend: Backend) {
    let app = TestApp::start(backend).await;
    let sql = firm_sql();
    app.db
        .run(move |c| Ok(c.batch_execute(&sql)?))
        .await
        .expect("firm seeded");
    for (kind, prefix) in KINDS {
        let ids = ids_of(prefix);
        assert!(ids.len() >= 3, "{kind:?}: too few rows seeded");
        let own = kept(&app, Scope::own_matters("u"), kind, ids.clone()).await;
        assert_eq!(
            own,
            expected_in(&ids),
            "{kind:?} under the lawyer's own matters"
        );
        let everything: BTreeSet<String> = ids.iter().cloned().collect();
        for scope in [Scope::Firm, Scope::system()] {
            let all = kept(&app, scope.clone(), kind, ids.clone()).await;
            assert_eq!(all, everything, "{kind:?} under {scope:?}");
        }
        assert!(
            kept(&app, Scope::Nothing, kind, ids.clone())
                .await
                .is_empty(),
            "{kind:?} under Nothing"
        );
        // A user on no matter, assigned nothing, responsible for no one sees nothing.
        assert!(
            kept(&app, Scope::own_matters("nobody"), kind, ids.clone())
                .await
                .is_empty(),
            "{kind:?} for a user with no work"
        );
    }
}

/// More contacts in view than SQLite's 32,766 bound parameters: the old design bound them
/// back as an `IN (…)` list, which SQLite refuses.
const MANY: usize = 33_000;

async fn a_lawyer_lists_more_contacts_than_sqlite_can_bind(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (lawyer, token) = app.sign_in("avv.rossi@studio.it", "lawyer").await;
    let lawyer = ids::decode(NodeType::User, &lawyer.into(), "id").expect("user id");
    let (colleague, _) = app.sign_in("avv.neri@studio.it", "lawyer").await;
    let colleague = ids::decode(NodeType::User, &colleague.into(), "id").expect("user id");
    let seed = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {total}) \
         INSERT INTO contacts (id, kind, display_name, sort_name, category, responsible_user_id, created_at, updated_at) \
         SELECT 'bulk-' || i, 'person', 'Cliente ' || i, 'cliente ' || i, 'client', \
                CASE WHEN i <= {MANY} THEN '{lawyer}' ELSE '{colleague}' END, {AT}, {AT} FROM n",
        total = MANY + 500,
    );
    app.db
        .run(move |c| Ok(c.batch_execute(&seed)?))
        .await
        .expect("contacts seeded");
    let body = app
        .gql_as(
            &token,
            "{ contacts(first: 3, orderBy: { field: NAME, direction: ASC }) { totalCount nodes { displayName } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["contacts"]["totalCount"], MANY);
    assert_eq!(
        body["data"]["contacts"]["nodes"][0]["displayName"],
        "Cliente 1"
    );
    // Responsible for contacts, on no matter: no matters come with them.
    let lawyers_matters = app
        .gql_as(&token, "{ matters(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(
        lawyers_matters["data"]["matters"]["totalCount"], 0,
        "{lawyers_matters:#}"
    );
}

on_both_backends!(
    each_predicate_keeps_exactly_its_rows,
    a_lawyer_lists_more_contacts_than_sqlite_can_bind,
);
