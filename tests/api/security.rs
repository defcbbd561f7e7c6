//! Issue 13 as an attacker and a curious insider would try it: writes that would widen what a
//! role sees, escalation through keys, users and roles, keys that outlive their person,
//! paging and alias limits on every path, login throttling, timing and strength, webhooks
//! and HSTS.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::fixtures::{create_matter, create_person, missing_id};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const LOG: &str = "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id author { id } } } }";
const CONTACT: &str = "query($id: ID!) { contact(id: $id) { displayName } }";

fn cursor(offset: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

#[track_caller]
fn assert_code(body: &Value, code: &str, field: Option<&str>) {
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], code, "{body:#}");
    if let Some(field) = field {
        assert_eq!(error["extensions"]["field"], field, "{body:#}");
    }
}

/// A trainee and a lawyer on one matter, and a contact nobody on it has anything to do with.
struct Firm {
    app: TestApp,
    trainee: String,
    trainee_token: String,
    lawyer_token: String,
    matter: String,
    client: String,
    hidden: String,
}

async fn firm(backend: Backend) -> Firm {
    let app = TestApp::start(backend).await;
    let (trainee, trainee_token) = app.sign_in("trainee@studio.it", "trainee").await;
    let (lawyer, lawyer_token) = app.sign_in("lawyer@studio.it", "lawyer").await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let hidden = create_person(
        &app,
        "Giulia",
        "Segreti",
        json!({ "emails": [{ "address": "giulia@example.it" }], "phones": [{ "number": "+39 347 000 1313" }] }),
    )
    .await;
    let team = json!([{ "userId": trainee }, { "userId": lawyer }]);
    let matter = create_matter(&app, "2026/0013", &client, json!({ "team": team })).await;
    Firm {
        app,
        trainee,
        trainee_token,
        lawyer_token,
        matter,
        client,
        hidden,
    }
}

/// Naming a contact in a write does not make it visible: hidden and unknown IDs are refused
/// alike, as NOT_FOUND, and nothing is written.
async fn writes_cannot_reach_hidden_contacts(backend: Backend) {
    let f = firm(backend).await;
    let log = |participant: &str| {
        json!({ "input": {
            "channel": "PHONE", "direction": "INBOUND", "occurredAt": "2026-11-02T10:00:00Z",
            "summary": "Chiamata", "matterId": f.matter, "participantIds": [f.client, participant],
        } })
    };
    let hidden = f.app.gql_as(&f.trainee_token, LOG, log(&f.hidden)).await;
    assert_code(&hidden, "NOT_FOUND", None);
    let unknown = f
        .app
        .gql_as(&f.trainee_token, LOG, log(&missing_id("Contact")))
        .await;
    assert_code(&unknown, "NOT_FOUND", None);
    assert_eq!(
        hidden["errors"][0]["extensions"], unknown["errors"][0]["extensions"],
        "a hidden and an unknown contact answer alike"
    );
    let seen = f
        .app
        .gql_as(&f.trainee_token, CONTACT, json!({ "id": f.hidden }))
        .await;
    assert_eq!(seen["data"]["contact"], Value::Null, "{seen:#}");
    let written = f
        .app
        .data("{ communications { totalCount } }", json!({}))
        .await;
    assert_eq!(written["communications"]["totalCount"], 0);

    // A lawyer cannot make the contact a counterparty of their matter either.
    let update = f
        .app
        .gql_as(
            &f.lawyer_token,
            "mutation($id: ID!, $c: [ID!]) { updateMatter(input: { id: $id, counterpartyIds: $c }) { matter { id } } }",
            json!({ "id": f.matter, "c": [f.hidden] }),
        )
        .await;
    assert_code(&update, "NOT_FOUND", None);
    let seen = f
        .app
        .gql_as(&f.lawyer_token, CONTACT, json!({ "id": f.hidden }))
        .await;
    assert_eq!(seen["data"]["contact"], Value::Null, "{seen:#}");

    // A visible participant is fine, and the caller is the author.
    let own = f.app.gql_as(&f.trainee_token, LOG, log(&f.client)).await;
    assert!(own.get("errors").is_none(), "{own:#}");
    assert_eq!(
        own["data"]["logCommunication"]["communication"]["author"]["id"],
        f.trainee.as_str()
    );
}

/// An affiliation names an organisation: one the caller may not see is refused as NOT_FOUND,
/// alike for a hidden and an unknown ID, in creating and in updating a person.
async fn affiliations_cannot_reach_hidden_organizations(backend: Backend) {
    let f = firm(backend).await;
    let hidden = crate::fixtures::create_organization(&f.app, "Riservata SpA", json!({})).await;
    let create = |organization: &str| {
        json!({ "input": crate::fixtures::with_provenance(json!({
            "kind": "PERSON", "givenName": "Luca", "familyName": "Affiliato", "category": "CLIENT",
            "affiliations": [{ "organizationId": organization, "jobTitle": "Socio" }],
        })) })
    };
    const CREATE: &str =
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }";
    let refused = f
        .app
        .gql_as(&f.trainee_token, CREATE, create(&hidden))
        .await;
    assert_code(&refused, "NOT_FOUND", None);
    let unknown = f
        .app
        .gql_as(&f.trainee_token, CREATE, create(&missing_id("Contact")))
        .await;
    assert_code(&unknown, "NOT_FOUND", None);
    assert_eq!(
        refused["errors"][0]["extensions"], unknown["errors"][0]["extensions"],
        "a hidden and an unknown organisation answer alike"
    );
    let people = f
        .app
        .data(
            "{ contacts(filter: { text: \"Affiliato\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(people["contacts"]["totalCount"], 0, "nothing was written");

    // Nor can the trainee tie the client of their own matter to it.
    let update = f
        .app
        .gql_as(
            &f.trainee_token,
            "mutation($id: ID!, $org: ID!) { updateContact(input: { id: $id, affiliations: [{ organizationId: $org }] }) { contact { id } } }",
            json!({ "id": f.client, "org": hidden }),
        )
        .await;
    assert_code(&update, "NOT_FOUND", None);
    let members = f
        .app
        .data(
            "query($id: ID!) { contact(id: $id) { members { person { id } } } }",
            json!({ "id": hidden }),
        )
        .await;
    assert_eq!(members["contact"]["members"], json!([]), "{members:#}");
}

/// A GDPR record named by its own ID (a ground, a consent) belongs to a contact: if the
/// caller may not see the contact, the record answers exactly as an unknown ID of its kind.
async fn gdpr_records_of_hidden_contacts_are_not_found(backend: Backend) {
    let f = firm(backend).await;
    crate::fixtures::gdpr_records(&f.app, &f.hidden, "EXT-HIDDEN", "hidden").await;
    let records = f
        .app
        .data(
            "query($id: ID!) { contact(id: $id) { processingGrounds { id } consents { id } } }",
            json!({ "id": f.hidden }),
        )
        .await;
    let ground = records["contact"]["processingGrounds"][0]["id"].clone();
    let consent = records["contact"]["consents"][0]["id"].clone();
    const END: &str = "mutation($id: ID!) { endProcessingGround(input: { id: $id, reason: \"ended\" }) { ground { active } } }";
    const WITHDRAW: &str = "mutation($id: ID!) { withdrawConsent(input: { consentId: $id, withdrawnAt: \"2026-11-03T10:00:00Z\", method: \"email\" }) { consent { active } } }";
    for (mutation, hidden, kind) in [
        (END, ground, "ProcessingGround"),
        (WITHDRAW, consent, "Consent"),
    ] {
        let refused = f
            .app
            .gql_as(&f.trainee_token, mutation, json!({ "id": hidden }))
            .await;
        assert_code(&refused, "NOT_FOUND", None);
        let unknown = f
            .app
            .gql_as(
                &f.trainee_token,
                mutation,
                json!({ "id": missing_id(kind) }),
            )
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"], unknown["errors"][0]["extensions"],
            "a hidden and an unknown {kind} answer alike: {refused:#} {unknown:#}"
        );
    }
    let after = f
        .app
        .data(
            "query($id: ID!) { contact(id: $id) { processingGrounds(includeEnded: true) { active } consents { active } } }",
            json!({ "id": f.hidden }),
        )
        .await;
    assert!(
        !after.to_string().contains("false"),
        "nothing was ended or withdrawn: {after:#}"
    );
}

/// Authorship grants visibility, so only firm-wide roles record on someone else's behalf.
async fn authors_are_the_caller(backend: Backend) {
    let f = firm(backend).await;
    let (other, _) = f.app.sign_in("other@studio.it", "lawyer").await;
    let input = |author: &str| {
        json!({ "input": {
            "channel": "EMAIL", "direction": "OUTBOUND", "occurredAt": "2026-11-02T10:00:00Z",
            "summary": "Nota", "participantIds": [f.client], "matterId": f.matter,
            "authorId": author,
        } })
    };
    let refused = f.app.gql_as(&f.trainee_token, LOG, input(&other)).await;
    assert_code(&refused, "FORBIDDEN", Some("input.authorId"));
    // The field policy gives `authorId` to firm-wide roles only: a trainee is the author by
    // default (checked above), and naming anyone, themselves included, is refused.
    let own = f.app.gql_as(&f.trainee_token, LOG, input(&f.trainee)).await;
    assert_code(&own, "FORBIDDEN", Some("input.authorId"));
    // The admin (every matter) may record a call a lawyer took.
    let on_behalf = f.app.gql(LOG, input(&other)).await;
    assert!(on_behalf.get("errors").is_none(), "{on_behalf:#}");
}

/// No principal hands out more than it has: the admin cannot create a DPO key, user or role,
/// nor take over a DPO's account; what it does hold it may hand out.
async fn no_escalation_through_keys_users_and_roles(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (dpo, _) = app.sign_in("dpo@studio.it", "dpo").await;
    let key = app
        .gql(
            "mutation { createApiKey(input: { name: \"log reader\", role: \"dpo\" }) { secret } }",
            json!({}),
        )
        .await;
    assert_code(&key, "FORBIDDEN", Some("input.role"));
    assert!(key["data"]["createApiKey"].is_null(), "{key:#}");
    let user = app
        .gql(
            "mutation { createUser(input: { email: \"x@studio.it\", displayName: \"X\", role: \"dpo\" }) { user { id } } }",
            json!({}),
        )
        .await;
    assert_code(&user, "FORBIDDEN", Some("input.role"));
    let role = app
        .gql(
            "mutation { createRole(input: { name: \"auditor\", baseRole: \"dpo\" }) { role { name } } }",
            json!({}),
        )
        .await;
    assert_code(&role, "FORBIDDEN", Some("input.baseRole"));
    let password = app
        .gql(
            "mutation($id: ID!) { setUserPassword(input: { userId: $id, password: \"Mulino-Bianco-Sereno-77\" }) { loggedOut } }",
            json!({ "id": dpo }),
        )
        .await;
    assert_code(&password, "FORBIDDEN", Some("input.userId"));
    let (staff, _) = app.sign_in("staff@studio.it", "staff").await;
    let promote = app
        .gql(
            "mutation($id: ID!) { updateUser(input: { id: $id, role: \"dpo\" }) { user { role } } }",
            json!({ "id": staff }),
        )
        .await;
    assert_code(&promote, "FORBIDDEN", Some("input.role"));
    let counts = app
        .data(
            "{ users(filter: { role: \"dpo\" }) { totalCount } apiKeys { role } roles { name } }",
            json!({}),
        )
        .await;
    assert_eq!(counts["users"]["totalCount"], 1, "{counts:#}");
    assert!(
        !counts["apiKeys"].to_string().contains("dpo")
            && !counts["roles"].to_string().contains("auditor"),
        "{counts:#}"
    );
    // What the admin holds it may hand out.
    let staff_key = app
        .gql(
            "mutation { createApiKey(input: { name: \"front desk\", role: \"staff\" }) { secret } }",
            json!({}),
        )
        .await;
    assert!(staff_key.get("errors").is_none(), "{staff_key:#}");
}

/// A person's API keys stop working when the person is deactivated or deleted.
async fn a_persons_keys_stop_with_the_person(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (admin, token) = app.sign_in("anna@studio.it", "admin").await;
    let create = |role: &str| {
        format!("mutation {{ createApiKey(input: {{ name: \"sync\", role: \"{role}\" }}) {{ secret }} }}")
    };
    let body = app.gql_as(&token, &create("admin"), json!({})).await;
    let key = body["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no key: {body:#}"))
        .to_owned();
    // A key made with that key belongs to the same person.
    let body = app.gql_as(&key, &create("staff"), json!({})).await;
    let second = body["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no key: {body:#}"))
        .to_owned();
    const VIEWER: &str = "{ viewer { role } }";
    for (k, role) in [(&key, "admin"), (&second, "staff")] {
        let body = app.gql_as(k, VIEWER, json!({})).await;
        assert_eq!(body["data"]["viewer"]["role"], role, "{body:#}");
    }
    app.data(
        "mutation($id: ID!) { updateUser(input: { id: $id, active: false }) { user { active } } }",
        json!({ "id": admin }),
    )
    .await;
    for k in [&key, &second] {
        let status = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(k)
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .expect("sent")
            .status();
        assert_eq!(status, 401);
    }
    // The firm's own keys (made outside any person's name) go on working.
    assert!(app.gql(VIEWER, json!({})).await.get("errors").is_none());
}

/// `before` alone pages by the default page size, not to the start of the list; nested
/// lists the same; cursors beyond any list are refused as bad input on both backends.
async fn every_page_is_bounded(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.default_page_size = 2).await;
    for i in 0..6 {
        crate::fixtures::create_user(&app, &format!("u{i}@studio.it"), "staff").await;
    }
    let data = app
        .data(
            "query($b: String) { users(before: $b) { edges { cursor } pageInfo { hasPreviousPage } } }",
            json!({ "b": cursor(5) }),
        )
        .await;
    let edges = data["users"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 2, "{data:#}");
    assert_eq!(edges[0]["cursor"], cursor(3).as_str());
    assert_eq!(edges[1]["cursor"], cursor(4).as_str());
    assert_eq!(data["users"]["pageInfo"]["hasPreviousPage"], true);
    for (argument, offset) in [
        ("after", i64::MAX),
        ("before", i64::MAX),
        ("after", i64::from(i32::MAX) + 1),
    ] {
        let query =
            format!("query($c: String) {{ users({argument}: $c) {{ edges {{ cursor }} }} }}");
        let body = app.gql(&query, json!({ "c": cursor(offset) })).await;
        assert_code(&body, "BAD_USER_INPUT", Some(argument));
    }
}

/// A list's cost counts the page the server will apply: without `first`/`last` (or with
/// `after`/`before` alone) the configured default page size, top-level and nested.
async fn page_cost_counts_the_applied_page_size(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.default_page_size = 400;
        s.max_query_complexity = 1000;
    })
    .await;
    // A user node costs 2, its edge 3: a page of 400 costs 1201, one of 300 costs 901.
    for query in [
        "{ users { edges { node { id } } } }",
        "query($c: String) { users(before: $c) { edges { node { id } } } }",
        "query($c: String) { users(after: $c) { edges { node { id } } } }",
        "{ contacts(first: 1) { edges { node { communications { edges { node { id } } } } } } }",
        "{ matters(first: 1) { edges { node { deadlines { edges { node { id } } } } } } }",
    ] {
        let body = app.gql(query, json!({ "c": cursor(3) })).await;
        assert_code(&body, "QUERY_TOO_COMPLEX", None);
    }
    for query in [
        "{ users(last: 300) { edges { node { id } } } }",
        "{ users(first: 300, last: 900) { edges { node { id } } } }",
        "query($c: String) { users(first: 300, before: $c) { edges { node { id } } } }",
        "{ contacts(first: 1) { edges { node { communications(first: 300) { edges { node { id } } } } } } }",
    ] {
        let body = app.gql(query, json!({ "c": cursor(3) })).await;
        assert!(body.get("errors").is_none(), "{query}: {body:#}");
    }
}

/// A field denied on every row of a page answers one FORBIDDEN error for its path pattern,
/// with how many paths it stands for and each one's list indices.
async fn denials_fold_per_path_pattern(backend: Backend) {
    let app = TestApp::start(backend).await;
    const ROWS: usize = 12;
    for i in 0..ROWS {
        create_person(
            &app,
            &format!("Nome{i}"),
            "Elenco",
            json!({ "phones": [{ "number": format!("+39 347 000 {:04}", 1000 + i) }] }),
        )
        .await;
    }
    let (_, marketing) = app.sign_in("marketing@studio.it", "marketing").await;
    let body = app
        .gql_as(
            &marketing,
            "{ contacts(first: 50) { edges { node { displayName phones { number } partitaIva } } } }",
            json!({}),
        )
        .await;
    let edges = body["data"]["contacts"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), ROWS, "{body:#}");
    assert!(edges
        .iter()
        .all(|e| e["node"]["phones"].is_null() && e["node"]["displayName"].is_string()));
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(
        errors.len(),
        2,
        "one error per denied field pattern: {body:#}"
    );
    let every_row: Vec<Value> = (0..ROWS).map(|i| json!([i])).collect();
    for field in ["phones", "partitaIva"] {
        let pattern = format!("contacts.edges[*].node.{field}");
        let error = errors
            .iter()
            .find(|e| e["extensions"]["pattern"] == pattern.as_str())
            .unwrap_or_else(|| panic!("no error for {pattern}: {body:#}"));
        let extensions = &error["extensions"];
        assert_eq!(extensions["code"], "FORBIDDEN", "{error:#}");
        assert_eq!(extensions["count"], ROWS, "{error:#}");
        assert_eq!(extensions["indices"], Value::Array(every_row.clone()));
        assert_eq!(
            error["path"],
            json!(["contacts", "edges", 0, "node", field])
        );
    }

    // A denial outside any list stands for itself alone.
    let body = app
        .gql_as(&marketing, "{ matters { totalCount } }", json!({}))
        .await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["pattern"], "matters", "{body:#}");
    assert_eq!(error["extensions"]["count"], 1);
    assert!(error["extensions"].get("indices").is_none(), "{body:#}");
}

/// A fragment's aliases count every time it is spread.
async fn aliases_count_after_fragment_expansion(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_aliases = 3).await;
    let once =
        "{ users { ...Two } } fragment Two on UserConnection { a: totalCount b: totalCount }";
    app.data(once, json!({})).await;
    let twice = "{ users { ...Two } x: users { ...Two } } \
                 fragment Two on UserConnection { a: totalCount b: totalCount }";
    let body = app.gql(twice, json!({})).await;
    assert_code(&body, "TOO_MANY_ALIASES", None);
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("5 aliased fields"), "{message}");
}

/// Strict-Transport-Security is sent when the server is reached over https.
async fn hsts_follows_the_public_url(backend: Backend) {
    let https = TestApp::start_with(backend, |s| {
        s.public_url = Some("https://crm.example.it".to_owned());
    })
    .await;
    let response = https
        .client
        .get(format!("{}/healthz", https.base_url))
        .send()
        .await
        .expect("sent");
    let hsts = response
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
    let plain = TestApp::start(backend).await;
    let response = plain
        .client
        .get(format!("{}/healthz", plain.base_url))
        .send()
        .await
        .expect("sent");
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
const PASSWORD: &str = "Ombrello-Verde-2026";

async fn login_from(app: &TestApp, forwarded: &str, email: &str, password: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/graphql", app.base_url))
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "query": LOGIN, "variables": { "e": email, "p": password } }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON body")
}

/// Behind a trusted proxy failures count per (account, client address): one address trying
/// an account slows down (growing waits), the account's owner elsewhere still logs in.
async fn login_throttles_per_account_and_address(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1".to_owned()];
    })
    .await;
    app.sign_in("carla@studio.it", "lawyer").await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        let body = login_from(&app, attacker, "carla@studio.it", "Sbagliata-Davvero-1").await;
        assert_code(&body, "UNAUTHENTICATED", None);
    }
    let throttled = login_from(&app, attacker, "carla@studio.it", PASSWORD).await;
    assert_code(&throttled, "TOO_MANY_REQUESTS", None);
    // Carla at her own desk (another address behind the same proxy) is not locked out.
    let carla = login_from(&app, "198.51.100.7", "carla@studio.it", PASSWORD).await;
    assert!(
        carla["data"]["login"]["accessToken"].is_string(),
        "{carla:#}"
    );
    // The wait grows: after one second one more try, then two seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = login_from(&app, attacker, "carla@studio.it", "Sbagliata-Davvero-2").await;
    assert_code(&again, "UNAUTHENTICATED", None);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let still = login_from(&app, attacker, "carla@studio.it", PASSWORD).await;
    assert_code(&still, "TOO_MANY_REQUESTS", None);
    // The failures were recorded under the client's address, not the proxy's.
    let addresses: Vec<Option<String>> = app
        .db
        .run(|c| {
            use diesel::prelude::*;
            use lexgate::db::schema::login_failures;
            Ok(login_failures::table
                .select(login_failures::address)
                .distinct()
                .load(c)?)
        })
        .await
        .expect("addresses");
    assert_eq!(addresses, vec![Some(attacker.to_owned())]);

    // Without trusted proxies the header is the client's word and changes nothing.
    let direct = TestApp::start(backend).await;
    direct.sign_in("carla@studio.it", "lawyer").await;
    for i in 0..5 {
        let from = format!("203.0.113.{i}");
        login_from(&direct, &from, "carla@studio.it", "Sbagliata-Davvero-1").await;
    }
    let spoofed = login_from(&direct, "198.51.100.7", "carla@studio.it", PASSWORD).await;
    assert_code(&spoofed, "TOO_MANY_REQUESTS", None);
}

/// The fastest of five logins with `email` (prefixed `0.` to `4.` when `varied`).
async fn fastest_login(app: &TestApp, email: &str, varied: bool) -> Duration {
    let mut best = Duration::MAX;
    for i in 0..5 {
        let email = if varied {
            format!("{i}.{email}")
        } else {
            email.to_owned()
        };
        let started = Instant::now();
        login_from(app, "127.0.0.1", &email, PASSWORD).await;
        best = best.min(started.elapsed());
    }
    best
}

/// An unknown email costs an argon2id verification too, so the answer's timing does not
/// say whether an account exists. Compared as a ratio of the fastest of several tries, not
/// against a fixed time.
async fn unknown_emails_take_as_long_as_known_ones(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.sign_in("carla@studio.it", "lawyer").await;
    let known = fastest_login(&app, "carla@studio.it", false).await;
    let unknown = fastest_login(&app, "nobody@studio.it", true).await;
    assert!(
        unknown * 3 >= known,
        "unknown {unknown:?} vs known {known:?}: the difference tells accounts apart"
    );
}

/// Common passwords with the usual decorations are refused by the strength estimator.
async fn guessable_passwords_are_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (user, _) = app.sign_in("carla@studio.it", "lawyer").await;
    const SET: &str = "mutation($id: ID!, $p: String!) { setUserPassword(input: { userId: $id, password: $p }) { loggedOut } }";
    for weak in [
        "Password123!",
        "Qwerty123456!",
        "Welcome12345!",
        "Avvocato2026!",
        "Tribunale2026!",
    ] {
        let body = app.gql(SET, json!({ "id": user, "p": weak })).await;
        assert_code(&body, "BAD_USER_INPUT", Some("input.password"));
    }
    app.data(SET, json!({ "id": user, "p": "Mulino-Bianco-Sereno-77" }))
        .await;
}

/// Text a backend cannot store (NUL) or longer than its field allows is refused before
/// anything runs, naming the field, the same on both backends.
async fn text_inputs_are_checked(backend: Backend) {
    let app = TestApp::start(backend).await;
    const COUNT: &str = "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }";
    for (filter, field) in [
        (json!({ "text": "Ros\u{0}si" }), "filter.text"),
        (json!({ "tags": ["vip", "a\u{0}b"] }), "filter.tags[1]"),
    ] {
        let body = app.gql(COUNT, json!({ "f": filter })).await;
        assert_code(&body, "BAD_USER_INPUT", Some(field));
    }
    let inline = app
        .gql(
            "{ contacts(filter: { text: \"a\\u0000\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_code(&inline, "BAD_USER_INPUT", Some("filter.text"));
    const CREATE: &str =
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }";
    let mut input = crate::fixtures::with_provenance(json!({
        "kind": "PERSON", "category": "PROSPECT", "givenName": "Mario",
        "familyName": "R".repeat(900_000),
    }));
    let body = app.gql(CREATE, json!({ "input": input.clone() })).await;
    assert_code(&body, "BAD_USER_INPUT", Some("input.familyName"));
    input["familyName"] = json!("Rossi\u{0}");
    let body = app.gql(CREATE, json!({ "input": input.clone() })).await;
    assert_code(&body, "BAD_USER_INPUT", Some("input.familyName"));
    let count = app.data(COUNT, json!({})).await;
    assert_eq!(count["contacts"]["totalCount"], 0, "nothing was written");
    input["familyName"] = json!("Rossi");
    app.data(CREATE, json!({ "input": input })).await;
}

/// A refresh token works once; presenting a rotated-out one again (stolen or replayed)
/// revokes the whole session: its newest refresh token and its access tokens stop too.
async fn reused_refresh_tokens_end_the_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.sign_in("carla@studio.it", "lawyer").await;
    let login = reqwest::Client::new()
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({
            "query": "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { refreshToken } }",
            "variables": { "e": "carla@studio.it", "p": PASSWORD },
        }))
        .send()
        .await
        .expect("sent")
        .json::<Value>()
        .await
        .expect("JSON body");
    let first = login["data"]["login"]["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    const REFRESH: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
    let anonymous = |token: String| {
        let url = format!("{}/graphql", app.base_url);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "query": REFRESH, "variables": { "t": token } }))
                .send()
                .await
                .expect("sent")
                .json::<Value>()
                .await
                .expect("JSON body")
        }
    };
    let rotated = anonymous(first.clone()).await;
    let second = rotated["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{rotated:#}"))
        .to_owned();
    let access = rotated["data"]["refreshSession"]["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let viewer = app.gql_as(&access, "{ viewer { role } }", json!({})).await;
    assert_eq!(viewer["data"]["viewer"]["role"], "lawyer", "{viewer:#}");

    let reused = anonymous(first).await;
    assert_code(&reused, "UNAUTHENTICATED", None);
    let status = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&access)
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status, 401, "the session's access token died with it");
    let newest = anonymous(second).await;
    assert_code(&newest, "UNAUTHENTICATED", None);
}

/// Values that come from a contact field pass that field's check: duplicate values, job
/// titles of people the caller may not see, and filters on fields the caller may not read.
async fn no_side_channels_around_the_field_policy(backend: Backend) {
    let f = firm(backend).await;
    let app = &f.app;
    app.data(
        "mutation { createRole(input: { name: \"front-desk\", baseRole: \"staff\", deniedFields: [\"Contact.phones\"] }) { role { name } } }",
        json!({}),
    )
    .await;
    let (_, desk) = app.sign_in("desk@studio.it", "front-desk").await;
    for given in ["Anna", "Anita"] {
        create_person(
            app,
            given,
            "Verdi",
            json!({ "phones": [{ "number": "+39 347 111 2233" }] }),
        )
        .await;
    }
    let body = app
        .gql_as(&desk, "{ findDuplicates { reason value } }", json!({}))
        .await;
    let groups = body["data"]["findDuplicates"].as_array().expect("groups");
    let phone = groups
        .iter()
        .position(|g| g["reason"] == "PHONE")
        .unwrap_or_else(|| panic!("no phone group: {body:#}"));
    assert_eq!(groups[phone]["value"], Value::Null, "{body:#}");
    assert!(!body.to_string().contains("347"), "{body:#}");
    let error = body["errors"]
        .as_array()
        .and_then(|errors| {
            errors
                .iter()
                .find(|e| e["path"] == json!(["findDuplicates", phone, "value"]))
        })
        .unwrap_or_else(|| panic!("no error at the value: {body:#}"));
    assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    // Staff, who may read phones, get the value.
    let (_, staff) = app.sign_in("staff@studio.it", "staff").await;
    let body = app
        .gql_as(&staff, "{ findDuplicates { reason value } }", json!({}))
        .await;
    assert!(body.to_string().contains("+393471112233"), "{body:#}");

    // The client organisation's members include someone the trainee may not see.
    let org = crate::fixtures::create_organization(app, "Acme SpA", json!({})).await;
    create_person(
        app,
        "Paolo",
        "Nascosto",
        json!({ "affiliations": [{ "organizationId": org, "jobTitle": "Direttore Segreto" }] }),
    )
    .await;
    app.data(
        "mutation($id: ID!, $c: [ID!]) { updateMatter(input: { id: $id, clientIds: $c }) { matter { id } } }",
        json!({ "id": f.matter, "c": [f.client, org] }),
    )
    .await;
    let body = app
        .gql_as(
            &f.trainee_token,
            "query($id: ID!) { contact(id: $id) { displayName members { jobTitle person { id } } } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(
        body["data"]["contact"]["displayName"], "Acme SpA",
        "{body:#}"
    );
    assert!(!body.to_string().contains("Direttore Segreto"), "{body:#}");
    assert_eq!(
        body["data"]["contact"]["members"][0]["jobTitle"],
        Value::Null
    );

    // Marketing may not read who is responsible for a contact, so may not filter by it.
    let (_, marketing) = app.sign_in("marketing@studio.it", "marketing").await;
    let body = app
        .gql_as(
            &marketing,
            "query($u: ID) { contacts(filter: { responsibleUserId: $u }) { totalCount } }",
            json!({ "u": f.trainee }),
        )
        .await;
    assert_code(&body, "FORBIDDEN", Some("filter.responsibleUserId"));
}

on_both_backends!(
    no_side_channels_around_the_field_policy,
    reused_refresh_tokens_end_the_session,
    text_inputs_are_checked,
    writes_cannot_reach_hidden_contacts,
    affiliations_cannot_reach_hidden_organizations,
    gdpr_records_of_hidden_contacts_are_not_found,
    authors_are_the_caller,
    no_escalation_through_keys_users_and_roles,
    a_persons_keys_stop_with_the_person,
    every_page_is_bounded,
    page_cost_counts_the_applied_page_size,
    denials_fold_per_path_pattern,
    aliases_count_after_fragment_expansion,
    hsts_follows_the_public_url,
    login_throttles_per_account_and_address,
    unknown_emails_take_as_long_as_known_ones,
    guessable_passwords_are_refused,
);
