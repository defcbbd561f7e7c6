//! DataLoaders keep the SQL statements of a request bounded by the depth of the query:
//! the same nested query over 60 or 120 contacts runs the same number of statements.

use serde_json::json;

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
    // The list query plus at most one per relation the query names (22 of them, some sharing
    // a batch), far below one per row; plus the access log's one transaction for the request
    // (begin, lock and read the chain head, insert the entry, move the head, commit).
    assert!(
        warm_60 <= 23 + 5,
        "{warm_60} statements for a 5-level query"
    );
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

/// A lawyer's list of matters carries need-to-know in its SQL: the page query, its count and
/// one batched check per kind of row referenced (the clients), however many matters there
/// are. (Before `Scope`, nine SELECTs loaded the lawyer's matters, contacts and deadlines into
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
    // role are remembered while they stand still); count and page; the clients (parties,
    // contacts by ID) and deadlines loaders; one `Visible` check per kind of row the page
    // refers to (contacts, deadlines); and the access log's transaction (five). 12 on both
    // backends today.
    assert!(
        warm_10 <= 7 + 5,
        "{warm_10} statements for a lawyer's list of matters"
    );
    eprintln!("a lawyer's list of matters: {warm_10} statements");
}

on_both_backends!(
    nested_query_statements_do_not_grow_with_rows,
    a_lawyers_list_of_matters_costs_a_bounded_number_of_statements,
);
