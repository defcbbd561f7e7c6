//! A query sent again runs with its fields decided for the caller's role in advance
//! (`graphql::admission`) instead of field by field: the same answer, the same errors and
//! the same access-log entry as the first time, and a field the role may not read is still
//! refused however often it is asked for.

use serde_json::{json, Value};

use crate::fixtures::{create_organization, create_person, deadlines_on_and_off_a_lawyers_matter};
use crate::harness::{Backend, TestApp};
use crate::metrics::{sample, scrape, TOKEN};
use crate::on_both_backends;

/// An answer with its errors in a fixed order: GraphQL gives their order no meaning, and
/// sibling fields waiting on different loads add theirs in whichever order the loads end.
pub fn in_fixed_order(mut body: Value) -> Value {
    if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
        errors.sort_by_key(|e| e.to_string());
    }
    body
}

/// How many requests of `operation` the server decided in advance.
async fn decided_in_advance(app: &TestApp, operation: &str) -> f64 {
    let text = scrape(app, Some(&format!("Bearer {TOKEN}")))
        .await
        .text()
        .await
        .expect("metrics text");
    let series = format!("lexgate_graphql_checked_in_advance_total{{operation=\"{operation}\"}}");
    sample(&text, &series).unwrap_or(0.0)
}

/// The access log's entries of `operation`, as the DPO reads them.
async fn logged(app: &TestApp, dpo: &str, operation: &str) -> Vec<Value> {
    let log = app
        .gql_as(
            dpo,
            "{ accessLog(first: 100) { nodes { operationName action role fields subjects } } }",
            json!({}),
        )
        .await;
    log["data"]["accessLog"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{log:#}"))
        .iter()
        .filter(|e| e["operationName"] == operation)
        .cloned()
        .collect()
}

async fn a_query_sent_again_answers_and_logs_the_same(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.metrics_token = Some(TOKEN.to_owned())).await;
    let (lawyer, lawyer_token) = app.sign_in("avv.rossi@studio.it", "lawyer").await;
    let (_, marketing) = app.sign_in("marketing@studio.it", "marketing").await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let org = create_organization(&app, "Acme SpA", json!({})).await;
    let client = create_person(
        &app,
        "Giulia",
        "Bianchi",
        json!({
            "emails": [{ "address": "giulia@acme.it" }],
            "phones": [{ "number": "+39 02 1234 5678" }],
            "affiliations": [{ "organizationId": org, "jobTitle": "CFO" }],
        }),
    )
    .await;
    deadlines_on_and_off_a_lawyers_matter(&app, &lawyer, &client).await;
    let b = format!("{backend:?}");
    let admin = None;
    let cases: Vec<(String, Option<&str>, String)> = vec![
        // Personal fields at two levels, through a relation and a fragment, with an alias.
        (
            format!("People{b}"),
            admin,
            format!(
                "query People{b} {{ contacts(first: 10, orderBy: {{ field: NAME }}) {{ nodes {{ ...Person \
                 who: displayName organizations {{ jobTitle organization {{ displayName }} }} }} }} }} \
                 fragment Person on Contact {{ id emails {{ address }} phones {{ number }} }}"
            ),
        ),
        // Nothing personal: no entry either time.
        (
            format!("Refs{b}"),
            admin,
            format!("query Refs{b} {{ matters(first: 10) {{ nodes {{ reference status }} }} }}"),
        ),
        // A lawyer: rows they may not see answer null with FORBIDDEN, folded the same way.
        (
            format!("Deadlines{b}"),
            Some(lawyer_token.as_str()),
            format!(
                "query Deadlines{b} {{ deadlines(first: 10) {{ nodes {{ title \
                 matter {{ reference }} contact {{ displayName }} }} }} }}"
            ),
        ),
        // `node` with a type condition, and a literal @skip of a field.
        (
            format!("Node{b}"),
            admin,
            format!(
                "query Node{b} {{ node(id: \"{client}\") {{ ... on Contact {{ id displayName \
                 phones @skip(if: true) {{ number }} }} }} }}"
            ),
        ),
    ];
    for (operation, token, query) in &cases {
        let ask = || async {
            match token {
                Some(token) => app.gql_as(token, query, json!({})).await,
                None => app.gql(query, json!({})).await,
            }
        };
        let first = in_fixed_order(ask().await);
        assert!(first["data"].is_object(), "{operation}: {first:#}");
        let second = in_fixed_order(ask().await);
        assert_eq!(first, second, "{operation}");
        let third = in_fixed_order(ask().await);
        assert_eq!(first, third, "{operation}");
        assert_eq!(
            decided_in_advance(&app, operation).await,
            2.0,
            "{operation}: the first request is checked field by field, the others in advance"
        );
    }
    // The lawyer's withheld matter and contact: the same errors on every path.
    let deadlines = app.gql_as(&lawyer_token, &cases[2].2, json!({})).await;
    let codes: Vec<&Value> = deadlines["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| &e["extensions"]["code"])
        .collect();
    assert_eq!(codes, vec!["FORBIDDEN", "FORBIDDEN"], "{deadlines:#}");
    assert!(!deadlines.to_string().contains("Paolo"), "{deadlines:#}");

    // Each request logged what it read, and the entries of one document are all alike.
    // (The lawyer's deadlines were asked a fourth time above.)
    let read = [
        (
            &cases[0].0,
            3,
            vec![
                "Contact.displayName",
                "Contact.emails",
                "Contact.organizations",
                "Contact.phones",
            ],
        ),
        (&cases[2].0, 4, vec!["Contact.displayName"]),
        (&cases[3].0, 3, vec!["Contact.displayName"]),
    ];
    for (operation, requests, fields) in read {
        let entries = logged(&app, &dpo, operation).await;
        assert_eq!(entries.len(), requests, "{operation}: {entries:#?}");
        for entry in &entries {
            assert_eq!(entry["action"], "READ", "{entry:#}");
            assert_eq!(entry["fields"], entries[0]["fields"], "{entries:#?}");
            assert_eq!(entry["subjects"], entries[0]["subjects"], "{entries:#?}");
        }
        for field in fields {
            assert!(
                entries[0]["fields"]
                    .as_array()
                    .is_some_and(|f| f.contains(&json!(field))),
                "{operation}: {field} missing from {entries:#?}"
            );
        }
        assert!(
            entries[0]["subjects"]
                .as_array()
                .is_some_and(|s| s.contains(&json!(client))),
            "{operation}: {entries:#?}"
        );
    }
    // What the @skip left out was not read.
    assert_eq!(
        logged(&app, &dpo, &cases[3].0).await[0]["fields"],
        json!(["Contact.displayName"])
    );
    assert!(logged(&app, &dpo, &cases[1].0).await.is_empty());
    let deadline_subjects = &logged(&app, &dpo, &cases[2].0).await[0]["subjects"];
    assert_eq!(
        deadline_subjects,
        &json!([client]),
        "only what the lawyer saw"
    );

    // A field the role may not read is refused every time, and never decided in advance.
    let denied = format!("Denied{b}");
    let query = format!(
        "query {denied} {{ contacts(first: 5) {{ nodes {{ displayName phones {{ number }} }} }} }}"
    );
    for _ in 0..3 {
        let body = app.gql_as(&marketing, &query, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body:#}"
        );
        assert!(!body.to_string().contains("1234"), "{body:#}");
    }
    assert_eq!(decided_in_advance(&app, &denied).await, 0.0);
    // The same document is decided for each role on its own: the admin may read it whole.
    for _ in 0..2 {
        let body = app.gql(&query, json!({})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert!(body.to_string().contains("+39"), "{body:#}");
    }
    assert_eq!(decided_in_advance(&app, &denied).await, 2.0);
}

on_both_backends!(a_query_sent_again_answers_and_logs_the_same);
