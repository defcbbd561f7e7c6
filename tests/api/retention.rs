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
            "{ retentionPolicies { name category months renewOnContact purpose { key } purposeCategory } }",
            json!({}),
        )
        .await;
    let policies = list["data"]["retentionPolicies"]
        .as_array()
        .expect("policies")
        .clone();
    // The built-in clocks cover every purpose of their category, not one purpose's key.
    assert!(policies.contains(&json!({ "name": "Profiling", "category": "PROCESSING_GROUND", "months": 12, "renewOnContact": false, "purpose": null, "purposeCategory": "PROFILING" })), "{list:#}");
    assert!(policies.contains(&json!({ "name": "Marketing", "category": "PROCESSING_GROUND", "months": 24, "renewOnContact": false, "purpose": null, "purposeCategory": "MARKETING" })), "{list:#}");
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
        (
            json!({ "name": "x", "category": "PROCESSING_GROUND", "months": 12, "purpose": "newsletter", "purposeCategory": "MARKETING" }),
            "input.purposeCategory",
        ),
        (
            json!({ "name": "x", "category": "CLOSED_MATTER", "months": 12, "purposeCategory": "PROFILING" }),
            "input.purposeCategory",
        ),
        // A call renews only the relationship and prospect clocks.
        (
            json!({ "name": "x", "category": "PROCESSING_GROUND", "purpose": "newsletter", "months": 36, "renewOnContact": true }),
            "input.renewOnContact",
        ),
    ] {
        let body = app.gql_as(&dpo, create, json!({ "i": input })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
    }
    let made = app
        .gql_as(&dpo, create, json!({ "i": { "name": "Newsletter subscribers", "category": "PROCESSING_GROUND", "purpose": "newsletter", "months": 36 } }))
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

fn months_ago(months: u32) -> String {
    (chrono::Utc::now() - chrono::Months::new(months)).to_rfc3339()
}

fn consent_given(purpose: &str, given_at: &str) -> Value {
    json!({ "purpose": purpose, "legalBasis": "CONSENT", "consent": {
        "givenAt": given_at, "method": "WEB_FORM", "noticeVersion": "2023-01", "collectedBy": "Modulo" } })
}

async fn active_purposes(app: &TestApp, contact: &str) -> Vec<String> {
    let body = app
        .data(
            "query($id: ID!) { contact(id: $id) { processingGrounds { purpose { key } } } }",
            json!({ "id": contact }),
        )
        .await;
    let mut keys: Vec<String> = body["contact"]["processingGrounds"]
        .as_array()
        .unwrap_or_else(|| panic!("{body:#}"))
        .iter()
        .filter_map(|g| g["purpose"]["key"].as_str().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// Every marketing purpose runs on the 24-month clock and every profiling purpose on the
/// 12-month one, through the purpose's category; clocks start when the basis arose (the
/// consent's date, a contract's date given with evidence), not when it was entered; a call
/// renews neither.
async fn clocks_follow_the_purpose_category_from_the_basis_date(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let old = months_ago(30);
    // A newsletter consent given 30 months ago and entered today expires; the contract
    // from the same date has no clock.
    let reader = create_person(
        &app,
        "Nadia",
        "Lettrice",
        json!({ "grounds": [
            { "purpose": "client_relationship", "legalBasis": "CONTRACT", "basisAroseAt": old, "basisEvidence": "Engagement letter 2024/118" },
            consent_given("newsletter", &old),
        ] }),
    )
    .await;
    let contract = app
        .data(
            "query($id: ID!) { contact(id: $id) { processingGrounds { purpose { key } startedAt basisEvidence } } }",
            json!({ "id": reader }),
        )
        .await;
    let grounds = contract["contact"]["processingGrounds"]
        .as_array()
        .expect("grounds")
        .clone();
    for ground in &grounds {
        let started = crate::fixtures::time(&ground["startedAt"]);
        let expected = crate::fixtures::time(&json!(old));
        assert!(
            (started - expected).num_seconds().abs() < 2,
            "the clock starts when the basis arose: {contract:#}"
        );
    }
    assert!(grounds
        .iter()
        .any(|g| g["basisEvidence"] == "Engagement letter 2024/118"));
    // An events consent as old, with a call last week: the call does not renew marketing.
    let guest = create_person(
        &app,
        "Guido",
        "Ospite",
        json!({ "category": "OTHER", "grounds": [consent_given("events", &old)] }),
    )
    .await;
    app.data(
        "mutation($p: ID!, $at: DateTime!) { logCommunication(input: { channel: PHONE, direction: OUTBOUND, occurredAt: $at, subject: \"Invito\", participantIds: [$p] }) { communication { id } } }",
        json!({ "p": guest, "at": months_ago(0) }),
    )
    .await;
    // The firm's own profiling purpose: 13 months is past the profiling clock, while the
    // newsletter consent of 20 months is within the marketing one.
    let purpose = app
        .gql_as(
            &dpo,
            "mutation($i: CreatePurposeInput!) { createPurpose(input: $i) { purpose { key profiling } } }",
            json!({ "i": { "key": "buying_patterns", "name": "Buying patterns", "marketing": true, "profiling": true } }),
        )
        .await;
    assert_eq!(
        purpose["data"]["createPurpose"]["purpose"]["profiling"], true,
        "{purpose:#}"
    );
    let profiled = create_person(
        &app,
        "Paola",
        "Profilata",
        json!({ "category": "OTHER", "grounds": [
            consent_given("buying_patterns", &months_ago(13)),
            consent_given("newsletter", &months_ago(20)),
        ] }),
    )
    .await;

    let real = app.gql_as(&dpo, RUN, json!({ "dry": false })).await;
    let mut summary = real["data"]["runRetention"].clone();
    summary.as_object_mut().map(|o| o.remove("dryRun"));
    assert_eq!(
        summary,
        json!({ "groundsEnded": 3, "contactsErased": 1, "contactsPartlyKept": 0, "mattersAnonymised": 0 }),
        "{real:#}"
    );
    assert_eq!(
        active_purposes(&app, &reader).await,
        ["client_relationship"]
    );
    assert!(!exists(&app, &guest).await, "no basis left: erased");
    assert_eq!(active_purposes(&app, &profiled).await, ["newsletter"]);

    // A date without evidence, or on a consent basis, is refused.
    for (ground, field) in [
        (
            json!({ "purpose": "client_relationship", "legalBasis": "CONTRACT", "basisAroseAt": old }),
            "input.grounds[0].basisEvidence",
        ),
        (
            json!({ "purpose": "newsletter", "legalBasis": "CONSENT", "basisAroseAt": old, "basisEvidence": "x",
                    "consent": { "givenAt": old, "method": "WEB_FORM", "noticeVersion": "1", "collectedBy": "Modulo" } }),
            "input.grounds[0].basisAroseAt",
        ),
    ] {
        let input = crate::fixtures::with_provenance(
            json!({ "kind": "PERSON", "givenName": "Bad", "familyName": "Date", "category": "CLIENT", "grounds": [ground] }),
        );
        let error = app
            .error(
                "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
                json!({ "input": input }),
            )
            .await;
        crate::fixtures::assert_error(&error, "BAD_USER_INPUT", field);
    }
}

on_both_backends!(
    clocks_follow_the_purpose_category_from_the_basis_date,
    expired_data_is_erased_once_and_holds_are_respected,
    policies_are_the_dpos_and_validated,
);
