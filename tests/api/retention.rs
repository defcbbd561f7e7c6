//! Retention: expired grounds end, contacts left without a basis and inactive prospects are
//! erased (legal holds respected), closed matters lose their contents; dry runs change
//! nothing; a second run changes nothing more; every erasure is in the erasure log.

use serde_json::{json, Value};

use crate::fixtures::{create_matter, create_person};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const RUN: &str = "mutation($dry: Boolean!) { runRetention(dryRun: $dry) { dryRun groundsEnded contactsErased contactsPartlyKept mattersAnonymised } }";

fn source(acquired_at: &str) -> Value {
    json!({ "kind": "WEB_FORM", "detail": "Modulo contatti", "acquiredAt": acquired_at })
}

fn consent(purpose: &str) -> Value {
    json!({ "purpose": purpose, "legalBasis": "CONSENT", "consent": {
        "givenAt": "2023-06-01T10:00:00Z", "method": "WEB_FORM", "noticeVersion": "2023-01", "collectedBy": "Modulo" } })
}

/// Moves a contact's grounds' start back in time (as if recorded long ago).
async fn backdate_grounds(app: &TestApp, contact: &str, purpose_key: &str) {
    let (_, key) = lexgate::ids::parse(contact).expect("contact id");
    let purpose = format!("purpose-{}", purpose_key.replace('_', "-"));
    app.db
        .run(move |c| {
            use diesel::prelude::*;
            use lexgate::db::schema::processing_grounds as g;
            let then = chrono::NaiveDate::from_ymd_opt(2023, 6, 1)
                .and_then(|d| d.and_hms_opt(10, 0, 0))
                .unwrap_or_default();
            diesel::update(
                g::table
                    .filter(g::contact_id.eq(key))
                    .filter(g::purpose_id.eq(purpose)),
            )
            .set(g::started_at.eq(then))
            .execute(c)?;
            Ok(())
        })
        .await
        .expect("backdated");
}

async fn exists(app: &TestApp, id: &str) -> bool {
    let body = app
        .data(
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    !body["contact"].is_null()
}

async fn expired_data_is_erased_once_and_holds_are_respected(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let prospect = |name: &str, acquired: &str| json!({ "category": "PROSPECT", "emails": [{ "address": format!("{name}@example.com") }], "source": source(acquired) });
    // A prospect nobody has talked to since 2023: erased.
    let stale = create_person(
        &app,
        "Stale",
        "Prospect",
        prospect("stale", "2023-01-10T09:00:00Z"),
    )
    .await;
    // The same, but called last month: the call renews the clock.
    let called = create_person(
        &app,
        "Called",
        "Prospect",
        prospect("called", "2023-01-10T09:00:00Z"),
    )
    .await;
    app.data(
        "mutation($p: ID!) { logCommunication(input: { channel: PHONE, direction: OUTBOUND, occurredAt: \"2026-10-20T10:00:00Z\", subject: \"Follow-up\", participantIds: [$p] }) { communication { id } } }",
        json!({ "p": called }),
    )
    .await;
    // The same, but a party to an open matter: only what the hold does not need goes.
    let held = create_person(
        &app,
        "Held",
        "Prospect",
        prospect("held", "2023-01-10T09:00:00Z"),
    )
    .await;
    create_matter(&app, "2026/0007", &held, json!({})).await;
    // Marketing consent from 2023 expires (24 months); the contract basis stays.
    let client = create_person(&app, "Client", "Subscriber", json!({ "emails": [{ "address": "client@example.com" }], "grounds": [{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }, consent("marketing_email")] })).await;
    backdate_grounds(&app, &client, "marketing_email").await;
    // Profiling consent only, from 2023 (12 months): no basis left, so erased.
    let profiled = create_person(&app, "Only", "Profiled", json!({ "category": "OTHER", "emails": [{ "address": "profiled@example.com" }], "grounds": [consent("profiling")] })).await;
    backdate_grounds(&app, &profiled, "profiling").await;
    // A matter closed in 2014: its contents go, its reference stays.
    let old_client = create_person(&app, "Old", "Client", json!({})).await;
    let old_matter = create_matter(
        &app,
        "2010/0001",
        &old_client,
        json!({ "openedOn": "2010-01-15" }),
    )
    .await;
    app.data(
        "mutation($m: ID!, $p: ID!) { logCommunication(input: { channel: LETTER, direction: OUTBOUND, occurredAt: \"2013-05-01T10:00:00Z\", subject: \"Parere\", summary: \"Contenuto riservato\", matterId: $m, participantIds: [$p] }) { communication { id } } }",
        json!({ "m": old_matter, "p": old_client }),
    )
    .await;
    app.data(
        "mutation($m: ID!) { updateMatter(input: { id: $m, status: CLOSED, closedOn: \"2014-03-01\", description: \"Dettagli della causa\" }) { matter { id } } }",
        json!({ "m": old_matter }),
    )
    .await;

    // A dry run says what would change and changes nothing.
    let expected = json!({ "groundsEnded": 2, "contactsErased": 3, "contactsPartlyKept": 1, "mattersAnonymised": 1 });
    let dry = app.gql_as(&dpo, RUN, json!({ "dry": true })).await;
    let mut dry_summary = dry["data"]["runRetention"].clone();
    assert_eq!(dry_summary["dryRun"], true, "{dry:#}");
    dry_summary.as_object_mut().map(|o| o.remove("dryRun"));
    assert_eq!(dry_summary, expected, "{dry:#}");
    assert!(exists(&app, &stale).await && exists(&app, &profiled).await);

    let real = app.gql_as(&dpo, RUN, json!({ "dry": false })).await;
    let mut summary = real["data"]["runRetention"].clone();
    summary.as_object_mut().map(|o| o.remove("dryRun"));
    assert_eq!(summary, expected, "{real:#}");
    assert!(!exists(&app, &stale).await, "stale prospect erased");
    assert!(!exists(&app, &profiled).await, "no basis left: erased");
    assert!(exists(&app, &called).await, "a call renews the clock");
    assert!(exists(&app, &client).await, "the contract basis remains");
    let held_now = app
        .data("query($id: ID!) { contact(id: $id) { emails { address } matters { reference } restriction { reason } } }", json!({ "id": held }))
        .await;
    assert_eq!(held_now["contact"]["emails"], json!([]), "{held_now:#}");
    assert_eq!(
        held_now["contact"]["matters"],
        json!([{ "reference": "2026/0007" }])
    );
    assert!(held_now["contact"]["restriction"]["reason"].is_string());
    let grounds = app
        .data(
            "query($id: ID!) { contact(id: $id) { processingGrounds { purpose { key } } } }",
            json!({ "id": client }),
        )
        .await;
    assert_eq!(
        grounds["contact"]["processingGrounds"],
        json!([{ "purpose": { "key": "client_relationship" } }])
    );
    let matter = app
        .data("query($id: ID!) { matter(id: $id) { title description communications(first: 10) { totalCount } } }", json!({ "id": old_matter }))
        .await;
    assert_eq!(matter["matter"]["title"], "2010/0001");
    assert_eq!(matter["matter"]["description"], Value::Null);
    assert_eq!(matter["matter"]["communications"]["totalCount"], 0);
    // The erasures are logged with the policy that caused them, never with erased values.
    let log = app
        .gql_as(
            &dpo,
            "{ erasureLog(first: 20) { totalCount nodes { requestId retentionPolicyId erasedCategories } } }",
            json!({}),
        )
        .await;
    let entries = log["data"]["erasureLog"]["nodes"]
        .as_array()
        .expect("entries")
        .clone();
    assert_eq!(
        entries.len(),
        4,
        "three contacts and the old matter's party: {log:#}"
    );
    assert!(entries
        .iter()
        .all(|e| e["requestId"].is_null() && e["retentionPolicyId"].is_string()));
    let text = log.to_string();
    assert!(!text.contains("stale@example.com") && !text.contains("Contenuto riservato"));

    // Running again changes nothing more.
    let again = app.gql_as(&dpo, RUN, json!({ "dry": false })).await;
    let mut summary = again["data"]["runRetention"].clone();
    summary.as_object_mut().map(|o| o.remove("dryRun"));
    assert_eq!(
        summary,
        json!({ "groundsEnded": 0, "contactsErased": 0, "contactsPartlyKept": 0, "mattersAnonymised": 0 }),
        "{again:#}"
    );
    let log = app
        .gql_as(&dpo, "{ erasureLog { totalCount } }", json!({}))
        .await;
    assert_eq!(log["data"]["erasureLog"]["totalCount"], 4);
}

async fn policies_are_the_dpos_and_validated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let (_, staff) = app.sign_in("staff@studio.it", "staff").await;
    let list = app
        .gql_as(
            &dpo,
            "{ retentionPolicies { name category months renewOnContact purpose { key } } }",
            json!({}),
        )
        .await;
    let policies = list["data"]["retentionPolicies"]
        .as_array()
        .expect("policies")
        .clone();
    assert!(policies.contains(&json!({ "name": "Profiling on purchase and billing details", "category": "PROCESSING_GROUND", "months": 12, "renewOnContact": false, "purpose": { "key": "profiling" } })), "{list:#}");
    assert!(policies
        .iter()
        .any(|p| p["category"] == "CLOSED_MATTER" && p["months"] == 120));
    let create = "mutation($i: CreateRetentionPolicyInput!) { createRetentionPolicy(input: $i) { policy { id name months } } }";
    for (input, field) in [
        (
            json!({ "name": "x", "category": "PROCESSING_GROUND", "months": 12 }),
            "input.purpose",
        ),
        (
            json!({ "name": "x", "category": "INACTIVE_PROSPECT", "months": 12, "purpose": "newsletter" }),
            "input.purpose",
        ),
        (
            json!({ "name": "x", "category": "INACTIVE_PROSPECT", "months": 0 }),
            "input.months",
        ),
    ] {
        let body = app.gql_as(&dpo, create, json!({ "i": input })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
    }
    let made = app
        .gql_as(&dpo, create, json!({ "i": { "name": "Newsletter subscribers", "category": "PROCESSING_GROUND", "purpose": "newsletter", "months": 36, "renewOnContact": true } }))
        .await;
    assert_eq!(
        made["data"]["createRetentionPolicy"]["policy"]["months"], 36,
        "{made:#}"
    );
    let denied = app.gql_as(&staff, RUN, json!({ "dry": true })).await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let denied = app
        .gql_as(
            &staff,
            create,
            json!({ "i": { "name": "y", "category": "CLOSED_MATTER", "months": 1 } }),
        )
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

on_both_backends!(
    expired_data_is_erased_once_and_holds_are_respected,
    policies_are_the_dpos_and_validated,
);
