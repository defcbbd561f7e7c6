//! DataLoaders keep the SQL statements of a request bounded by the depth of the query:
//! the same nested query over 60 or 120 contacts runs the same number of statements.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const NESTED: &str = r#"
query($first: Int!) {
  contacts(first: $first, filter: { kind: PERSON }) {
    edges { node {
      displayName
      emails { address isPec }
      phones { number }
      tags
      responsible { displayName teams { name } }
      organizations { jobTitle organization { displayName emails { address } } }
      matters {
        reference
        clients { displayName }
        team { role user { displayName } }
        communications(first: 5) { edges { node { subject participants { displayName } } } }
        deadlines(first: 5) { edges { node { title assignedUsers { displayName } } } }
      }
    } }
  }
}"#;

/// Adds `n` people, each with an email, a phone, a tag, an employer and a matter with a
/// communication and a deadline.
async fn add_people(app: &TestApp, from: usize, n: usize, lawyer: &str, org: &str) {
    for i in from..from + n {
        let person = create_person(
            app,
            "Giulia",
            &format!("Bianchi{i:03}"),
            json!({
                "emails": [{ "address": format!("giulia{i}@example.it") }],
                "phones": [{ "number": format!("+39 347 {:07}", 1_000_000 + i) }],
                "tags": ["client"],
                "responsibleUserId": lawyer,
                "affiliations": [{ "organizationId": org, "jobTitle": "CFO" }],
            }),
        )
        .await;
        let matter = create_matter(
            app,
            &format!("2026/{i:04}"),
            &person,
            json!({ "team": [{ "userId": lawyer, "role": "lead" }] }),
        )
        .await;
        app.data(
            "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }",
            json!({ "input": { "channel": "EMAIL", "direction": "INBOUND", "occurredAt": "2026-03-01T10:00:00Z",
                               "subject": "Parere", "matterId": matter, "participantIds": [person] } }),
        )
        .await;
        app.data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": "Deposito memoria", "kind": "FILING", "dueAt": "2026-05-01T09:00:00Z",
                               "matterId": matter, "assigneeUserIds": [lawyer] } }),
        )
        .await;
    }
}

async fn statements_for(app: &TestApp, first: usize) -> u64 {
    let before = app.db.statement_count();
    let data = app.data(NESTED, json!({ "first": first })).await;
    let after = app.db.statement_count();
    let edges = data["contacts"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), first);
    assert_eq!(edges[0]["node"]["matters"][0]["team"][0]["role"], "lead");
    assert_eq!(
        edges[0]["node"]["organizations"][0]["organization"]["displayName"],
        "Acme S.p.A."
    );
    after - before
}

async fn nested_query_statements_do_not_grow_with_rows(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let org = create_organization(&app, "Acme S.p.A.", json!({})).await;
    add_people(&app, 0, 60, &lawyer, &org).await;
    // Warm the pool so connection set-up is not counted.
    statements_for(&app, 60).await;
    // Each page of contacts is a set of data subjects for the access log: the first request
    // reading it stores it (two statements more: which sets are stored, insert the new one),
    // later ones find it stored. So each size runs cold (new set) and warm (stored set).
    let cold_10 = statements_for(&app, 10).await;
    let warm_10 = statements_for(&app, 10).await;
    let warm_60 = statements_for(&app, 60).await;
    add_people(&app, 60, 60, &lawyer, &org).await;
    // Those writes logged their changes and moved the chain's head past where the log's
    // writer left it: its next batch reads the head again (two statements more, once). A
    // request of another size takes that, so the next ones count what the size costs.
    statements_for(&app, 60).await;
    let cold_120 = statements_for(&app, 120).await;
    let warm_120 = statements_for(&app, 120).await;
    assert_eq!(warm_10, warm_60, "statements grew with the number of rows");
    assert_eq!(warm_60, warm_120, "statements grew with the number of rows");
    assert_eq!(cold_10, cold_120, "statements grew with the number of rows");
    assert_eq!(
        cold_10,
        warm_10 + 2,
        "a new subject set costs two statements"
    );
    // The principal and the list, then one statement per relation the query names, whatever
    // the rows: six at the second level (emails, phones, tags, responsible, organisations,
    // matters), six at the third (the responsible's teams, the organisations' emails, the
    // matters' clients, team, communications and deadlines), two at the fourth (participants,
    // assigned users); each relation through a link table joined to its rows. Plus the
    // access log's batch for the request (begin, move the chain's head, insert, commit).
    // (Before a user's teams and a deadline's assignees were joined: 22.)
    assert_eq!(warm_60, 2 + 6 + 6 + 2 + 4, "statements for a 5-level query");
}

const LAWYERS_MATTERS: &str = r#"
query {
  matters(first: 50) {
    totalCount
    nodes {
      reference
      clients { displayName }
      deadlines(first: 5) { edges { node { title } } }
    }
  }
}"#;

/// A lawyer's list of matters carries need-to-know in its SQL: the page query, its count, and
/// the clients' statement, which says which of them the lawyer may see, however many matters
/// there are. (Before `Scope`, nine SELECTs loaded the lawyer's matters, contacts and deadlines into
/// memory first, and the lists bound them back as `IN (…)` lists.)
async fn a_lawyers_list_of_matters_costs_a_bounded_number_of_statements(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (lawyer_id, token) = app.sign_in("avv.gialli@studio.it", "lawyer").await;
    let org = create_organization(&app, "Acme S.p.A.", json!({})).await;
    let lawyer = lawyer_id.as_str();
    let count_for = |n: usize| {
        let (app, token) = (&app, token.clone());
        async move {
            let before = app.db.statement_count();
            let body = app.gql_as(&token, LAWYERS_MATTERS, json!({})).await;
            let after = app.db.statement_count();
            assert!(body.get("errors").is_none(), "{body:#}");
            assert_eq!(body["data"]["matters"]["totalCount"], n);
            after - before
        }
    };
    add_people(&app, 0, 10, lawyer, &org).await;
    // A matter the lawyer is not on stays out of the list.
    let stranger = create_person(&app, "Paolo", "Neri", json!({})).await;
    create_matter(&app, "2026/9999", &stranger, json!({})).await;
    count_for(10).await;
    let warm_10 = count_for(10).await;
    add_people(&app, 10, 30, lawyer, &org).await;
    count_for(40).await;
    let warm_40 = count_for(40).await;
    assert_eq!(
        warm_10, warm_40,
        "statements grew with the number of matters"
    );
    // The generations of credentials and roles (one statement: the caller's principal and
    // role are remembered while they stand still); count and page; the clients (the parties
    // joined to their contacts, which also says which of them the lawyer may see) and the
    // deadlines; and the access log's transaction (five). 10 on both backends (12 before the
    // relations were joined and the `Visible` check of the clients went into their
    // statement).
    assert!(
        warm_10 <= 5 + 5,
        "{warm_10} statements for a lawyer's list of matters"
    );
    eprintln!("a lawyer's list of matters: {warm_10} statements");
}

const Q2: &str = include_str!("../../bench/queries/q2.lexgate.graphql");
const Q3: &str = include_str!("../../bench/queries/q3.lexgate.graphql");
const Q5: &str = include_str!("../../bench/queries/q5.lexgate.graphql");

/// The statements (all SELECTs: the access log is off) of one request, warmed up once.
async fn selects(app: &TestApp, bearer: Option<&str>, query: &str) -> (u64, Value) {
    let (statements, body) = counted(app, bearer, query).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    (statements, body["data"].clone())
}

/// The statements of one request, warmed up once, and its whole answer, errors and all.
async fn counted(app: &TestApp, bearer: Option<&str>, query: &str) -> (u64, Value) {
    let ask = || async {
        match bearer {
            Some(token) => app.gql_as(token, query, json!({})).await,
            None => app.gql(query, json!({})).await,
        }
    };
    ask().await;
    let before = app.db.statement_count();
    let body = ask().await;
    (app.db.statement_count() - before, body)
}

/// The `extensions.code` of each error of an answer, in order.
fn error_codes(body: &Value) -> Vec<&Value> {
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| &e["extensions"]["code"])
        .collect()
}

/// The benchmark's Q2, Q3 and Q5 (`bench/queries`) cost one statement for the caller's
/// principal and one per level of the query: a relation through a link table (parties,
/// team, participants, affiliations, a contact's matters) is one statement joining the link
/// table to its rows, and a lawyer's need-to-know is part of those statements, not a
/// `Visible` check of its own. (Before issue 20's joins: Q2 7, Q3 9, Q5 6.)
async fn the_benchmark_queries_cost_one_statement_per_level(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.access_log = false).await;
    let (lawyer, token) = app.sign_in("avv.gialli@studio.it", "lawyer").await;
    let org = create_organization(&app, "Acme S.p.A.", json!({})).await;
    add_people(&app, 0, 12, &lawyer, &org).await;
    // A matter the lawyer is not on, whose client is also a counterparty in one of theirs:
    // the lawyer sees the client, and not the client's other matter.
    let stranger = create_person(&app, "Paolo", "Neri", json!({})).await;
    let hidden = create_matter(&app, "2026/9999", &stranger, json!({})).await;
    let theirs = create_matter(
        &app,
        "2026/8888",
        &org,
        json!({ "counterpartyIds": [stranger], "team": [{ "userId": lawyer, "role": "lead" }] }),
    )
    .await;

    // Q2 (admin): matters, clients, team with users, deadlines.
    let (q2, data) = selects(&app, None, Q2).await;
    let matters = data["matters"]["nodes"].as_array().expect("matters");
    assert_eq!(matters.len(), 14);
    assert_eq!(matters[0]["clients"][0]["displayName"], "Giulia Bianchi000");
    assert_eq!(matters[0]["team"][0]["user"]["displayName"], "Test User");
    assert_eq!(
        matters[0]["deadlines"]["nodes"][0]["title"],
        "Deposito memoria"
    );
    assert_eq!(q2, 5, "Q2: principal, matters, parties, team, deadlines");

    // Q3 (admin): clients, their matters, communications, participants, organisations.
    let (q3, data) = selects(&app, None, Q3).await;
    let named = |data: &Value, name: &str| {
        data["contacts"]["nodes"]
            .as_array()
            .expect("contacts")
            .iter()
            .find(|c| c["displayName"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing: {data:#}"))
    };
    let giulia = named(&data, "Giulia Bianchi000");
    let participant = &giulia["matters"][0]["communications"]["nodes"][0]["participants"][0];
    assert_eq!(participant["displayName"], "Giulia Bianchi000");
    assert_eq!(
        participant["organizations"][0]["organization"]["displayName"],
        "Acme S.p.A."
    );
    let paolo = named(&data, "Paolo Neri");
    assert_eq!(paolo["matters"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        q3, 6,
        "Q3: principal, contacts, matters, communications, participants, organisations"
    );

    // Q5 (the lawyer): their matters, clients, deadlines.
    let (q5, data) = selects(&app, Some(&token), Q5).await;
    let references: Vec<&str> = data["matters"]["nodes"]
        .as_array()
        .expect("matters")
        .iter()
        .filter_map(|m| m["reference"].as_str())
        .collect();
    assert_eq!(references.len(), 13, "{references:?}");
    assert!(!references.contains(&"2026/9999"));
    assert_eq!(
        data["matters"]["nodes"][0]["clients"][0]["displayName"],
        "Giulia Bianchi000"
    );
    assert_eq!(q5, 4, "Q5: principal, matters, parties, deadlines");

    // The lawyer's Q3: need-to-know inside the relations' statements, and what they may not
    // see still left out (Paolo's matter they are not on, which has no responsible lawyer: a
    // NULL the relation's visibility column must read as false).
    let (lawyer_q3, data) = selects(&app, Some(&token), Q3).await;
    // The lawyer sees Paolo, a counterparty of theirs.
    let paolo = named(&data, "Paolo Neri");
    let paolos: Vec<&Value> = paolo["matters"]
        .as_array()
        .expect("matters")
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(paolos, vec![&json!(theirs)], "{hidden} must stay hidden");
    assert_eq!(lawyer_q3, 6, "the lawyer's Q3: as the admin's");
}

const ORGANISATIONS_WITH_PEOPLE: &str = r#"
query {
  contacts(first: 10, filter: { kind: ORGANIZATION }) {
    nodes { displayName members { jobTitle person { displayName } } }
  }
}"#;

/// An organisation's people are one statement joining the affiliations to the people's
/// rows, which also says which of them the caller may see: a person the caller may not see
/// answers `null` with `FORBIDDEN`, and so does their job title, with no `Visible` check of
/// its own. (Before: the affiliations, the people by ID and, for a lawyer, the checks of the
/// people and of the job titles: 6 statements for the lawyer, 4 for the admin.)
async fn an_organisations_people_cost_one_statement(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.access_log = false).await;
    let (lawyer, token) = app.sign_in("avv.gialli@studio.it", "lawyer").await;
    let org = create_organization(&app, "Acme S.p.A.", json!({})).await;
    add_people(&app, 0, 3, &lawyer, &org).await;
    // Someone at Acme the lawyer has nothing to do with.
    create_person(
        &app,
        "Paolo",
        "Neri",
        json!({ "affiliations": [{ "organizationId": org, "jobTitle": "Consulente" }] }),
    )
    .await;

    let (admin, data) = selects(&app, None, ORGANISATIONS_WITH_PEOPLE).await;
    let people: Vec<&Value> = data["contacts"]["nodes"][0]["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| &m["person"]["displayName"])
        .collect();
    assert_eq!(people.len(), 4, "{data:#}");
    assert!(people.contains(&&json!("Paolo Neri")), "{data:#}");
    assert_eq!(
        admin, 3,
        "the admin: principal, organisations, their people"
    );

    let (lawyer_statements, body) = counted(&app, Some(&token), ORGANISATIONS_WITH_PEOPLE).await;
    let members = body["data"]["contacts"]["nodes"][0]["members"]
        .as_array()
        .expect("members");
    assert_eq!(members.len(), 4, "{body:#}");
    let withheld: Vec<&Value> = members.iter().filter(|m| m["person"].is_null()).collect();
    assert_eq!(
        withheld.len(),
        1,
        "Paolo is withheld from the lawyer: {body:#}"
    );
    assert_eq!(withheld[0]["jobTitle"], Value::Null, "{body:#}");
    assert!(!body.to_string().contains("Paolo"), "{body:#}");
    assert!(!body.to_string().contains("Consulente"), "{body:#}");
    assert_eq!(
        error_codes(&body),
        vec!["FORBIDDEN", "FORBIDDEN"],
        "{body:#}"
    );
    assert_eq!(lawyer_statements, 3, "the lawyer: as the admin");
}

const DEADLINES_WITH_ASSIGNEES: &str = r#"
query {
  deadlines(first: 10) {
    nodes {
      title
      assignedUsers { displayName teams { name members { email } } }
      assignedTeams { name }
    }
  }
}"#;

/// A deadline's assigned users and teams, a user's teams and a team's members are each one
/// statement joining the link table to the rows. (Before: the link table, then the rows by
/// ID through a second loader, 10 statements for this query.)
async fn assignees_and_teams_cost_one_statement_each(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.access_log = false).await;
    let lawyer = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let secretary = create_user(&app, "segreteria@studio.it", "staff").await;
    let team = app
        .data(
            "mutation { createTeam(input: { name: \"Contenzioso\" }) { team { id } } }",
            json!({}),
        )
        .await["createTeam"]["team"]["id"]
        .as_str()
        .expect("team")
        .to_owned();
    for user in [&lawyer, &secretary] {
        app.data(
            "mutation($input: TeamMembershipInput!) { addTeamMember(input: $input) { team { id } } }",
            json!({ "input": { "teamId": team, "userId": user } }),
        )
        .await;
    }
    for i in 0..3 {
        app.data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": format!("Udienza {i}"), "kind": "HEARING",
                               "dueAt": "2026-05-01T09:00:00Z",
                               "assigneeUserIds": [lawyer], "assigneeTeamIds": [team] } }),
        )
        .await;
    }
    let (statements, data) = selects(&app, None, DEADLINES_WITH_ASSIGNEES).await;
    let deadlines = data["deadlines"]["nodes"].as_array().expect("deadlines");
    assert_eq!(deadlines.len(), 3, "{data:#}");
    for deadline in deadlines {
        assert_eq!(
            deadline["assignedTeams"],
            json!([{ "name": "Contenzioso" }])
        );
        let users = deadline["assignedUsers"].as_array().expect("users");
        assert_eq!(users.len(), 1, "{data:#}");
        let members: Vec<&Value> = users[0]["teams"][0]["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| &m["email"])
            .collect();
        assert_eq!(members.len(), 2, "{data:#}");
        assert!(
            members.contains(&&json!("segreteria@studio.it")),
            "{data:#}"
        );
    }
    assert_eq!(
        statements, 6,
        "principal, deadlines, their users, their teams, the users' teams, the teams' members"
    );
}

/// An assessment's purposes are one statement joining them to the purposes' rows (before:
/// the purpose IDs, then the purposes by ID).
async fn an_assessments_purposes_cost_one_statement(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.access_log = false).await;
    lia(&app, &["newsletter", "marketing_email"], "APPROVED").await;
    lia(&app, &["events"], "APPROVED").await;
    let token = dpo(&app).await;
    let (statements, data) = selects(
        &app,
        Some(&token),
        "{ assessments { title purposes { key } } }",
    )
    .await;
    let mut keys: Vec<Value> = data["assessments"]
        .as_array()
        .expect("assessments")
        .iter()
        .map(|a| a["purposes"].clone())
        .collect();
    keys.sort_by_key(|k| k.to_string());
    assert_eq!(
        keys,
        vec![
            json!([{ "key": "events" }]),
            json!([{ "key": "marketing_email" }, { "key": "newsletter" }]),
        ]
    );
    assert_eq!(statements, 3, "principal, assessments, their purposes");
}

const DEADLINES_WITH_REFERENCES: &str = r#"
query {
  deadlines(first: 10) { nodes { title matter { reference } contact { displayName } } }
}"#;

/// A row another row refers to (a deadline's matter and contact) is read with whether the
/// caller may see it, in one statement per kind and level: a lawyer assigned a deadline on a
/// matter they are not on sees the deadline, and its matter and contact answer `null` with
/// `FORBIDDEN`. (Before: the rows by ID, then a `Visible` check of each kind: 6 statements.)
async fn a_references_visibility_is_read_with_it(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.access_log = false).await;
    let (lawyer, token) = app.sign_in("avv.gialli@studio.it", "lawyer").await;
    let theirs_client = create_person(&app, "Giulia", "Bianchi", json!({})).await;
    deadlines_on_and_off_a_lawyers_matter(&app, &lawyer, &theirs_client).await;
    let (statements, body) = counted(&app, Some(&token), DEADLINES_WITH_REFERENCES).await;
    let deadlines = body["data"]["deadlines"]["nodes"]
        .as_array()
        .expect("deadlines");
    let by_title = |title: &str| {
        deadlines
            .iter()
            .find(|d| d["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("{title} missing: {body:#}"))
    };
    let udienza = by_title("Udienza");
    assert_eq!(udienza["matter"]["reference"], "2026/0001", "{body:#}");
    assert_eq!(
        udienza["contact"]["displayName"], "Giulia Bianchi",
        "{body:#}"
    );
    let memoria = by_title("Memoria");
    assert_eq!(memoria["matter"], Value::Null, "{body:#}");
    assert_eq!(memoria["contact"], Value::Null, "{body:#}");
    assert!(!body.to_string().contains("Paolo"), "{body:#}");
    assert_eq!(
        error_codes(&body),
        vec!["FORBIDDEN", "FORBIDDEN"],
        "{body:#}"
    );
    assert_eq!(
        statements, 4,
        "principal, deadlines, their matters, their contacts"
    );
}

/// The recorded statements of one request (without bind values), after a warm-up request.
async fn recorded(app: &TestApp, query: &str) -> (Vec<String>, Value) {
    app.data(query, json!({})).await;
    app.db.record_statements();
    let data = app.data(query, json!({})).await;
    (app.db.recorded_statements(), data)
}

/// Whether a statement reads one of the contact row's columns beyond the summary.
fn reads_whole_contact(sql: &str) -> bool {
    let sql = sql.replace(['"', '`'], "");
    sql.contains("contacts.given_name") || sql.contains("contacts.notes")
}

fn reads_whole_contacts(statements: &[String]) -> bool {
    statements.iter().any(|sql| reads_whole_contact(sql))
}

/// A list of contacts whose selection needs only the summary columns (id, kind, category,
/// name, and relations read by the contact's ID) reads only those; a field beyond them, also
/// through a fragment, makes it read the whole row, and both answer the same.
async fn a_contact_list_reads_the_columns_its_selection_needs(backend: Backend) {
    let app = TestApp::start(backend).await;
    let org = create_organization(
        &app,
        "Acme S.p.A.",
        json!({ "partitaIva": "01234567897", "notes": "Cliente storico" }),
    )
    .await;
    create_person(
        &app,
        "Giulia",
        "Bianchi",
        json!({
            "codiceFiscale": "BNCGLI80A41F205F",
            "notes": "Preferisce la PEC",
            "emails": [{ "address": "giulia@example.it" }],
            "affiliations": [{ "organizationId": org, "jobTitle": "CFO" }],
        }),
    )
    .await;

    let summary_fields = "__typename id kind category displayName emails { address } tags \
                          organizations { jobTitle organization { id displayName } }";
    let (statements, summary) = recorded(
        &app,
        &format!(
            "{{ contacts(first: 10) {{ nodes {{ {summary_fields} }} \
             edges {{ cursor node {{ id displayName }} }} totalCount }} }}"
        ),
    )
    .await;
    assert!(
        statements.iter().any(|sql| sql.contains("display_name")),
        "{statements:#?}"
    );
    assert!(!reads_whole_contacts(&statements), "{statements:#?}");

    let whole_query = format!(
        "{{ contacts(first: 10) {{ nodes {{ {summary_fields} givenName notes codiceFiscale }} }} }}"
    );
    let (whole_statements, whole) = recorded(&app, &whole_query).await;
    assert!(
        reads_whole_contacts(&whole_statements),
        "{whole_statements:#?}"
    );
    let nodes = whole["contacts"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2, "{whole:#}");
    let giulia = nodes
        .iter()
        .find(|n| n["displayName"] == "Giulia Bianchi")
        .expect("Giulia");
    assert_eq!(giulia["givenName"], "Giulia");
    assert_eq!(giulia["notes"], "Preferisce la PEC");
    assert_eq!(giulia["codiceFiscale"], "BNCGLI80A41F205F");
    // The summary's answer is the whole row's, field for field.
    for (read, node) in summary["contacts"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .zip(nodes)
    {
        let mut node = node.clone();
        for field in ["givenName", "notes", "codiceFiscale"] {
            node.as_object_mut().expect("node").remove(field);
        }
        assert_eq!(read, &node);
    }
    assert_eq!(summary["contacts"]["totalCount"], 2);

    // A field beyond the summary inside a fragment reads the whole row in the page's one
    // statement, not the row again by ID.
    let (fragment_statements, fragment) = recorded(
        &app,
        "{ contacts(first: 10, filter: { kind: PERSON }) { edges { node { ...Names } } } }
         fragment Names on Contact { id ... on Contact { givenName } }",
    )
    .await;
    assert_eq!(
        fragment["contacts"]["edges"][0]["node"]["givenName"],
        "Giulia"
    );
    assert!(
        reads_whole_contacts(&fragment_statements),
        "{fragment_statements:#?}"
    );
    let (plain_statements, _) = recorded(
        &app,
        "{ contacts(first: 10, filter: { kind: PERSON }) { edges { node { id givenName } } } }",
    )
    .await;
    assert_eq!(fragment_statements.len(), plain_statements.len());
}

/// A matter's clients and a communication's participants are read with the columns their
/// selection needs too: the summary, or the whole row in the same one statement per level.
async fn a_relations_contacts_are_read_with_the_columns_they_need(backend: Backend) {
    let app = TestApp::start(backend).await;
    let person = create_person(
        &app,
        "Giulia",
        "Bianchi",
        json!({ "notes": "Preferisce la PEC" }),
    )
    .await;
    let matter = create_matter(&app, "2026/0001", &person, json!({})).await;
    app.data(
        "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }",
        json!({ "input": { "channel": "EMAIL", "direction": "INBOUND", "occurredAt": "2026-03-01T10:00:00Z",
                           "subject": "Parere", "matterId": matter, "participantIds": [person] } }),
    )
    .await;
    let query = |client: &str, participant: &str| {
        format!(
            "{{ matters(first: 10) {{ nodes {{ title clients {{ id displayName {client} }} \
             communications(first: 5) {{ nodes {{ subject participants {{ id {participant} }} }} }} }} }} }}"
        )
    };

    let (summary_statements, summary) = recorded(&app, &query("", "displayName")).await;
    assert!(
        !reads_whole_contacts(&summary_statements),
        "{summary_statements:#?}"
    );
    let matter_node = &summary["matters"]["nodes"][0];
    assert_eq!(matter_node["clients"][0]["displayName"], "Giulia Bianchi");
    assert_eq!(
        matter_node["communications"]["nodes"][0]["participants"][0]["displayName"],
        "Giulia Bianchi"
    );

    let (whole_statements, whole) = recorded(&app, &query("givenName", "notes")).await;
    let matter_node = &whole["matters"]["nodes"][0];
    assert_eq!(matter_node["clients"][0]["givenName"], "Giulia");
    assert_eq!(
        matter_node["communications"]["nodes"][0]["participants"][0]["notes"],
        "Preferisce la PEC"
    );
    let whole_reads = whole_statements
        .iter()
        .filter(|sql| reads_whole_contact(sql))
        .count();
    assert_eq!(
        whole_reads, 2,
        "clients and participants: {whole_statements:#?}"
    );
    assert_eq!(
        whole_statements.len(),
        summary_statements.len(),
        "no row read again by ID: {whole_statements:#?}"
    );
}

on_both_backends!(
    nested_query_statements_do_not_grow_with_rows,
    a_relations_contacts_are_read_with_the_columns_they_need,
    a_contact_list_reads_the_columns_its_selection_needs,
    a_references_visibility_is_read_with_it,
    an_assessments_purposes_cost_one_statement,
    assignees_and_teams_cost_one_statement_each,
    an_organisations_people_cost_one_statement,
    a_lawyers_list_of_matters_costs_a_bounded_number_of_statements,
    the_benchmark_queries_cost_one_statement_per_level,
);
