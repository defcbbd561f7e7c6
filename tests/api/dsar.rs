//! The subject access export (Art. 15, 20): it covers every table that holds the subject
//! (found from the live schema, so a new table without export coverage fails here), includes
//! restricted contacts, is the DPO's only, and the CLI writes the same export.

use std::collections::BTreeSet;

use lexgate::gdpr::catalogue::Export;
use serde_json::{json, Value};

use crate::fixtures::{
    create_matter, create_organization, create_person, gdpr_records, schema_columns,
    verified_request,
};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const EXPORT: &str = "query($id: ID!) { subjectAccessExport(contactId: $id) }";

/// Columns that refer to a contact, by the naming convention every table follows.
fn refers_to_contacts(column: &str) -> bool {
    matches!(column, "contact_id" | "person_id" | "organization_id")
        || column.ends_with("_contact_id")
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many rows of `table` refer to `key` through `column`.
fn rows_referring(app: &TestApp, table: &str, column: &str, key: &str) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE \"{column}\" = '{key}'");
    let url = &app.database_url;
    let counted: Vec<Count> = if url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(url).expect("connection");
        diesel::sql_query(&sql).load(&mut c).expect("count")
    } else {
        let mut c =
            diesel::SqliteConnection::establish(url.strip_prefix("sqlite://").unwrap_or(url))
                .expect("connection");
        diesel::sql_query(&sql).load(&mut c).expect("count")
    };
    counted.first().map_or(0, |c| c.n)
}

/// A client who was erased under a hold (so the erasure log names them) and then came back:
/// present in every table that can refer to a contact.
pub async fn subject_in_every_table(app: &TestApp, dpo: &str) -> String {
    let org = create_organization(app, "Vetreria Srl", json!({})).await;
    let person = create_person(app, "Teodora", "Lanzi", json!({})).await;
    create_matter(app, "2026/0777", &person, json!({})).await;
    let erasure = verified_request(app, dpo, "ERASURE", &person, "Teodora Lanzi").await;
    let body = app
        .gql_as(dpo, "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted } } }", json!({ "id": erasure }))
        .await;
    assert_eq!(
        body["data"]["executeErasure"]["erasure"]["contactDeleted"], false,
        "{body:#}"
    );
    let body = app
        .gql_as(
            dpo,
            "mutation($id: ID!, $org: ID!) { updateContact(input: { id: $id, notes: \"Back as a client\", birthDate: \"1979-04-12\", personalInterests: \"Sailing\", familyDetails: \"Two sons\", tags: [\"returning\"], emails: [{ address: \"teodora@lanzi.it\" }], phones: [{ number: \"+39 06 555 1234\" }], addresses: [{ street: \"Via Appia 3\", city: \"Roma\" }], affiliations: [{ organizationId: $org, jobTitle: \"Designer\" }] }) { contact { id } } }",
            json!({ "id": person, "org": org }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    gdpr_records(app, &person, "CRM-5521", "Teodora").await;
    app.data(
        "mutation($p: ID!) { logCommunication(input: { channel: EMAIL, direction: OUTBOUND, occurredAt: \"2026-11-01T09:00:00Z\", subject: \"Welcome back\", participantIds: [$p] }) { communication { id } } }",
        json!({ "p": person }),
    )
    .await;
    app.data(
        "mutation($c: ID!) { createDeadline(input: { title: \"Send engagement letter\", kind: INTERNAL_TASK, dueAt: \"2026-12-10T09:00:00Z\", contactId: $c }) { deadline { id } } }",
        json!({ "c": person }),
    )
    .await;
    let hold = app
        .gql_as(
            dpo,
            "mutation($c: ID!) { placeLegalHold(input: { contactId: $c, reason: \"Fee dispute\", legalBasis: \"Art. 17(3)(e)\" }) { legalHold { id } } }",
            json!({ "c": person }),
        )
        .await;
    assert!(hold.get("errors").is_none(), "{hold:#}");
    verified_request(app, dpo, "ACCESS", &person, "Teodora Lanzi").await;
    // A breach whose affected subjects come from the access log, which holds reads of her.
    let breach = app
        .gql_as(
            dpo,
            "mutation { recordBreach(input: { detectedAt: \"2026-11-20T08:00:00Z\", natures: [CONFIDENTIALITY], description: \"Laptop stolen\", authorityNotificationRequired: true, subjectsNotificationRequired: true }) { breach { id } } }",
            json!({}),
        )
        .await["data"]["recordBreach"]["breach"]["id"]
        .clone();
    let filled = app
        .gql_as(
            dpo,
            "mutation($b: ID!) { fillBreachSubjects(input: { breachId: $b, from: \"2000-01-01T00:00:00Z\" }) { breach { approximateSubjects } } }",
            json!({ "b": breach }),
        )
        .await;
    assert!(filled.get("errors").is_none(), "{filled:#}");
    // What connected systems hold or received about her (rows as the sync engine writes them).
    let (_, key) = lexgate::ids::parse(&person).expect("contact id");
    let statements = format!("INSERT INTO connector_instances (id, name, kind, base_url, settings, credentials, webhook_secret, provenance, schedule_minutes, enabled, created_at, updated_at) VALUES ('ci-1', 'billing', 'json_feed', 'https://billing.invalid', '{{}}', NULL, NULL, '{{}}', NULL, FALSE, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
INSERT INTO sync_links (instance_id, external_id, contact_id, seen_generation, deleted_at, created_at, updated_at) VALUES ('ci-1', 'EXT-LINK-LANZI', '{key}', 0, NULL, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
INSERT INTO sync_review_items (id, instance_id, external_id, origin, record, reason, created_at, updated_at, resolved_at, resolution, resolved_by, contact_id) VALUES ('rv-1', 'ci-1', 'EXT-REVIEW-LANZI', 'unknown_correspondent', '{{\"name\": \"Teodora from the feed\"}}', 'no basis', '2026-01-05 10:00:00', '2026-01-05 10:00:00', '2026-01-06 10:00:00', 'linked', 'user:x', '{key}');
INSERT INTO data_recipients (id, contact_id, instance_id, recipient, fields, external_id, disclosed_at) VALUES ('dr-1', '{key}', 'ci-1', 'billing', '[\"Contact.emails\"]', 'EXT-PUSH-LANZI', '2026-01-05 10:00:00');
INSERT INTO outbox_messages (id, kind, dedup_key, reference_id, recipient, user_id, contact_id, subject, body, status, attempts, next_attempt_at, claimed_by, claimed_until, last_error, created_at, sent_at) VALUES ('om-1', 'consent_confirmation', 'consent-confirmation:lanzi', NULL, 'teodora.lanzi@esempio.it', NULL, '{key}', 'Confirm your subscription, Teodora', 'Dear Teodora Lanzi, please confirm', 'pending', 1, '2026-01-05 10:00:00', NULL, NULL, '451 mailbox of teodora.lanzi busy', '2026-01-05 10:00:00', NULL);
INSERT INTO campaigns (id, name, purpose, status, description, audience_filter, scheduled_at, created_at, updated_at, analogous_services) VALUES ('cmp-1', 'Newsletter di gennaio', 'newsletter', 'sent', 'Novità dello studio', '{{}}', NULL, '2026-01-05 10:00:00', '2026-01-05 10:00:00', FALSE);
INSERT INTO campaign_deliveries (id, campaign_id, contact_id, outbox_message_id, recipient, basis, ground_id, consent_id, assessment_id, queued_at, unsubscribed_at) VALUES ('cd-1', 'cmp-1', '{key}', 'om-1', 'teodora.news@esempio.it', 'consent', NULL, NULL, NULL, '2026-01-05 10:00:00', NULL);
INSERT INTO invoices (id, kind, status, fiscal_year, number, client_contact_id, client_name, client_codice_fiscale, client_partita_iva, client_street, client_postal_code, client_city, client_province, client_country, recipient_code, recipient_pec, issue_date, due_date, net_cents, cassa_rate_bp, cassa_cents, vat_rate_bp, vat_cents, withholding_rate_bp, withholding_cents, paid_cents, notes, created_by, paid_at, cancelled_at, created_at, updated_at) VALUES ('inv-1', 'invoice', 'issued', 2026, 1, '{key}', 'Teodora Lanzi', NULL, NULL, 'Via Appia 3', NULL, 'Roma', NULL, 'IT', '0000000', NULL, '2026-11-02', '2026-12-02', 10000, 400, 400, 2200, 2288, 0, 0, 0, NULL, NULL, NULL, NULL, '2026-11-02 10:00:00', '2026-11-02 10:00:00');");
    app.db
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            Ok(c.batch_execute(&statements)?)
        })
        .await
        .expect("connector rows written");
    person
}

async fn the_dsar_contains_every_table_that_holds_the_subject(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = subject_in_every_table(&app, &dpo).await;
    let (_, key) = lexgate::ids::parse(&person).expect("contact id");

    let body = app.gql_as(&dpo, EXPORT, json!({ "id": person })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let export = &body["data"]["subjectAccessExport"];

    let referring: BTreeSet<(String, String)> = schema_columns(&app)
        .into_iter()
        .filter(|c| refers_to_contacts(&c.column_name))
        .map(|c| (c.table_name, c.column_name))
        .collect();
    let tables: BTreeSet<&str> = referring.iter().map(|(t, _)| t.as_str()).collect();
    assert!(
        tables.len() >= 15,
        "the schema scan found the contact tables: {tables:?}"
    );
    for table in &tables {
        let held: i64 = referring
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(t, c)| rows_referring(&app, t, c, &key))
            .sum();
        assert!(
            held > 0,
            "the fixture must put the subject in {table} (extend subject_in_every_table)"
        );
        // The catalogue says where each table's rows go; a table naming contacts without a
        // heading fails the catalogue's own tests.
        let section = match lexgate::gdpr::catalogue::find(table).map(|t| t.export) {
            Some(Export::Subject) => continue,
            Some(Export::Section(heading)) => &export["data"][heading],
            _ => panic!("{table} names contacts but has no catalogue heading"),
        };
        let covered = section.as_array().is_some_and(|rows| !rows.is_empty());
        assert!(
            covered,
            "the export does not cover {table}: {:#}",
            export["data"]
        );
    }

    assert_eq!(export["subject"]["displayName"], "Teodora Lanzi");
    assert!(
        export["subject"]["restrictionReason"].as_str().is_some(),
        "restricted contacts are exported"
    );
    assert_eq!(
        export["recipients"][0]["recipient"], "billing",
        "pushes are recipients"
    );
    assert!(
        export["accessLogSummary"]["writes"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{:#}",
        export["accessLogSummary"]
    );
    let purposes = export["purposes"].to_string();
    assert!(
        purposes.contains("newsletter") && purposes.contains("profiling"),
        "{purposes}"
    );
    assert!(export["retention"]["holds"]
        .to_string()
        .contains("Fee dispute"));
    assert_eq!(export["suppression"][0]["value"], "teodora@lanzi.it");
    let history = export["data"]["changeHistory"].to_string();
    assert!(history.contains("Back as a client"), "{history}");
    assert!(export["data"]["erasures"][0]["keptCategories"]
        .to_string()
        .contains("identity"));
}

async fn only_the_dpo_exports_and_the_cli_writes_the_same_export(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = create_person(
        &app,
        "Piero",
        "Valli",
        json!({ "emails": [{ "address": "piero@valli.it" }] }),
    )
    .await;
    let denied = app.gql(EXPORT, json!({ "id": person })).await;
    assert_eq!(denied["data"]["subjectAccessExport"], Value::Null);
    assert_eq!(
        denied["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{denied:#}"
    );
    let bad = app.gql_as(&dpo, EXPORT, json!({ "id": "nonsense" })).await;
    crate::fixtures::assert_error(&bad["errors"][0], "BAD_USER_INPUT", "contactId");
    let missing = app
        .gql_as(
            &dpo,
            EXPORT,
            json!({ "id": crate::fixtures::missing_id("Contact") }),
        )
        .await;
    assert_eq!(
        missing["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{missing:#}"
    );

    let api = app.gql_as(&dpo, EXPORT, json!({ "id": person })).await["data"]
        ["subjectAccessExport"]
        .clone();
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("export.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .args(["dsar", "export", "--contact", &person, "--output"])
        .arg(&file)
        .args(["--database-url", &app.database_url])
        .env("LEXGATE_LOG", "error")
        .status()
        .expect("lexgate runs");
    assert!(status.success());
    let cli: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("export written"))
        .expect("the export is JSON");
    assert_eq!(cli["subject"], api["subject"]);
    assert_eq!(
        cli["data"]["emails"],
        json!([{ "address": "piero@valli.it", "addressKey": "piero@valli.it", "label": null, "isPec": false }])
    );
    assert_eq!(cli["format"], api["format"]);

    // The command line's export is in the access log like the API's.
    let log = app
        .gql_as(&dpo, "query($s: ID!) { accessLog(subject: $s, first: 50) { nodes { principalKind fields } } }", json!({ "s": person }))
        .await;
    let nodes = log["data"]["accessLog"]["nodes"].to_string();
    assert!(
        nodes.contains("\"cli\"") && nodes.contains("Query.subjectAccessExport"),
        "{log:#}"
    );
}

/// The export's retention section names the policies that apply to this person and the day
/// each would end processing, not a generic period.
async fn the_export_dates_the_retention_policies_that_apply(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = create_person(
        &app,
        "Elsa",
        "Termini",
        json!({ "grounds": [
            { "purpose": "client_relationship", "legalBasis": "CONTRACT" },
            { "purpose": "newsletter", "legalBasis": "CONSENT", "consent": {
                "givenAt": "2026-01-10T10:00:00Z", "method": "WEB_FORM", "noticeVersion": "2026-01", "collectedBy": "Modulo" } },
        ] }),
    )
    .await;
    let matter = create_matter(
        &app,
        "2019/0042",
        &person,
        json!({ "openedOn": "2019-01-10" }),
    )
    .await;
    app.data(
        "mutation($m: ID!) { updateMatter(input: { id: $m, status: CLOSED, closedOn: \"2020-03-01\" }) { matter { id } } }",
        json!({ "m": matter }),
    )
    .await;
    create_matter(&app, "2026/0099", &person, json!({})).await;
    let export = app.gql_as(&dpo, EXPORT, json!({ "id": person })).await["data"]
        ["subjectAccessExport"]
        .clone();
    let retention = &export["retention"];
    assert!(
        retention.get("professionalRetentionYears").is_none(),
        "{retention:#}"
    );
    let policies = retention["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("{retention:#}"));
    let find = |applies_to: &str| {
        policies
            .iter()
            .find(|p| p["appliesTo"] == applies_to)
            .unwrap_or_else(|| panic!("{applies_to} missing: {retention:#}"))
            .clone()
    };
    let newsletter = find("processing ground for `newsletter`");
    assert_eq!(newsletter["policy"], "Marketing");
    assert_eq!(newsletter["months"], 24);
    assert_eq!(
        newsletter["endsProcessingOn"], "2028-01-11",
        "{newsletter:#}"
    );
    let closed = find("matter 2019/0042");
    assert_eq!(closed["months"], 120);
    assert_eq!(closed["endsProcessingOn"], "2030-03-02", "{closed:#}");
    let open = find("matter 2026/0099");
    assert_eq!(
        open["endsProcessingOn"],
        Value::Null,
        "counts from the closing"
    );
    assert_eq!(
        policies.len(),
        3,
        "no policy covers the contract basis: {retention:#}"
    );
}

/// Commands that print data print only data on standard output; their logs go to standard
/// error, so `> file.json` is valid JSON.
async fn cli_commands_log_to_standard_error(backend: Backend) {
    let app = TestApp::start(backend).await;
    let person = create_person(&app, "Rita", "Serra", json!({})).await;
    // The export migrates the database first and logs it; the register does not log.
    for (args, logs) in [
        (vec!["dsar", "export", "--contact", person.as_str()], true),
        (vec!["register", "export", "--format", "json"], false),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
            .args(&args)
            .args(["--database-url", &app.database_url])
            .env("LEXGATE_LOG", "info")
            .env_remove("DATABASE_URL")
            .output()
            .expect("lexgate runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(
            !logs || stderr.contains("database migrations applied"),
            "{args:?}: the log line belongs on standard error: {stderr}"
        );
        let stdout: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: standard output is not JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        assert!(stdout.is_object(), "{args:?}: {stdout}");
    }
}

on_both_backends!(
    the_export_dates_the_retention_policies_that_apply,
    cli_commands_log_to_standard_error,
    the_dsar_contains_every_table_that_holds_the_subject,
    only_the_dpo_exports_and_the_cli_writes_the_same_export,
);
