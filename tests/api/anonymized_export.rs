//! `lexgate export --anonymized`: every personal value of every table is replaced by a
//! consistent pseudonym shaped like the original, secrets and restricted contacts are left
//! out, and the declaration of personal columns matches the real tables.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lexgate::gdpr::anonymized_export::{self, personal_columns, TABLES};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

/// Distinctive words seeded into free text everywhere: none may appear in the dump.
const MARKERS: &[&str] = &[
    "Zanardelli",
    "Quarenghi",
    "Pozzobon",
    "Quaglierini",
    "Glicini",
    "Vigevanello",
    "Lombardozzi",
    "Ferrabosco",
    "Castelnuovo",
    "Brambillasca",
    "Distinctive-Agent",
    "Euforbia",
];

const TS: &str = "'2026-01-05 10:00:00'";

fn raw(id: &str) -> String {
    lexgate::ids::parse(id).expect("global ID").1
}

async fn sql(app: &TestApp, statements: String) {
    app.db
        .run(move |c| Ok(c.batch_execute(&statements)?))
        .await
        .expect("seed statements run");
}

/// A firm whose every personal column holds a distinctive value.
async fn seed(app: &TestApp) -> (String, String) {
    create_user(app, "ottavio.brambillasca@studio.example", "lawyer").await;
    let (_, dpo) = app
        .sign_in("ildegonda.ferrabosco@studio.example", "dpo")
        .await;
    // A failed login records the address and the client's IP.
    app.gql(
        "mutation { login(input: { email: \"ottavio.brambillasca@studio.example\", password: \"wrong-password-Zanardelli\" }) { accessToken } }",
        json!({}),
    )
    .await;

    let org = create_organization(
        app,
        "Ferramenta Quarenghi S.r.l.",
        json!({ "partitaIva": "09876543217", "codiceFiscale": "09876543217" }),
    )
    .await;
    let person = app
        .data(
            "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
            json!({ "input": with_provenance(json!({
                "kind": "PERSON", "category": "CLIENT",
                "givenName": "Giacinta", "familyName": "Zanardelli",
                "emails": [{ "address": "Giacinta.Zanardelli@posta-esempio.it" }],
                "phones": [{ "number": "+39 347 765 4321" }],
                "addresses": [{ "street": "Via dei Glicini 42", "postalCode": "20144", "city": "Vigevanello", "province": "MI" }],
                "codiceFiscale": "BNCLRA90A41H501F",
                "partitaIva": "12345678903",
                "notes": "Prefers calls after 18:00, Zanardelli household",
                "birthDate": "1983-07-21",
                "personalInterests": "Birdwatching with the Zanardelli cousins",
                "familyDetails": "Married to Tullio Zanardelli, two daughters",
                "affiliations": [{ "organizationId": org, "jobTitle": "Responsabile acquisti Quarenghi" }]
            })) }),
        )
        .await["createContact"]["contact"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let restricted = create_person(
        app,
        "Ermenegilda",
        "Pozzobon",
        json!({ "emails": [{ "address": "ermenegilda.pozzobon@posta-esempio.it" }] }),
    )
    .await;

    let matter = create_matter(
        app,
        "2026/042",
        &person,
        json!({ "title": "Zanardelli c. Condominio Glicini", "description": "Infiltrazioni dal lastrico, Zanardelli" }),
    )
    .await;
    app.data(
        "mutation($m: ID!, $p: ID!) { logCommunication(input: { channel: PHONE, direction: INBOUND, occurredAt: \"2026-11-02T10:00:00Z\", subject: \"Telefonata Zanardelli perizia\", summary: \"La signora Zanardelli riferisce nuove infiltrazioni\", matterId: $m, participantIds: [$p] }) { communication { id } } }",
        json!({ "m": matter, "p": person }),
    )
    .await;
    app.data(
        "mutation($m: ID!, $c: ID!) { createDeadline(input: { title: \"Deposito memoria Zanardelli\", description: \"Memoria per Zanardelli\", kind: FILING, dueAt: \"2026-12-01T09:00:00Z\", matterId: $m, contactId: $c }) { deadline { id } } }",
        json!({ "m": matter, "c": restricted }),
    )
    .await;
    app.data(
        "mutation { createCampaign(input: { name: \"Spring newsletter\", purpose: \"newsletter\", audienceFilter: { text: \"Zanardelli\" } }) { campaign { id } } }",
        json!({}),
    )
    .await;

    // A request with a distinctive user agent, so the access log holds one.
    app.client
        .post(format!("{}/graphql", app.base_url))
        .header("User-Agent", "Distinctive-Agent/9.9")
        .json(&json!({ "query": "{ contacts { nodes { displayName } } }" }))
        .send()
        .await
        .expect("request sent");

    // The registers.
    app.gql_as(
        &dpo,
        "mutation($input: CreateProcessingActivityInput!) { createProcessingActivity(input: $input) { processingActivity { id } } }",
        json!({ "input": {
            "name": "Matter handling", "purposeIds": ["purpose-matter-handling"],
            "controllerContact": "Studio Lombardozzi, Via Solferino 7",
            "jointControllerContact": "Avv. Pancrazio Lombardozzi",
            "representativeContact": "Euforbia Castelnuovo",
            "dpoContact": "Dott.ssa Ildegonda Ferrabosco",
            "dataSubjectCategories": ["clients"],
            "personalDataCategories": [{ "name": "identification data", "kind": "ORDINARY" }],
            "retention": "Ten years", "securityMeasures": "Encryption"
        } }),
    )
    .await;
    let breach = app
        .gql_as(
            &dpo,
            "mutation($input: RecordBreachInput!) { recordBreach(input: $input) { breach { id } } }",
            json!({ "input": {
                "detectedAt": "2026-01-10T08:00:00Z", "natures": ["CONFIDENTIALITY"],
                "description": "Zanardelli file sent to the wrong Quarenghi address",
                "likelyConsequences": "Disclosure of Zanardelli health data",
                "measures": "Recall requested to Quarenghi",
                "authorityNotificationRequired": false,
                "noNotificationReason": "Recipient Quarenghi confirmed deletion",
                "subjectsNotificationRequired": false,
                "dpoNotes": "Called Giacinta Zanardelli on Monday"
            } }),
        )
        .await["data"]["recordBreach"]["breach"]["id"]
        .clone();
    let filled = app
        .gql_as(
            &dpo,
            "mutation($b: ID!) { fillBreachSubjects(input: { breachId: $b, from: \"2000-01-01T00:00:00Z\" }) { breach { approximateSubjects } } }",
            json!({ "b": breach }),
        )
        .await;
    assert!(
        filled["data"]["fillBreachSubjects"]["breach"]["approximateSubjects"]
            .as_i64()
            .is_some_and(|n| n >= 2),
        "{filled:#}"
    );

    // The GDPR core tables have no API yet in this branch: rows straight into the tables.
    let (p, r, m) = (raw(&person), raw(&restricted), raw(&matter));
    sql(
        app,
        format!(
            "UPDATE matters SET criminal_proceedings_notes = 'Querela Zanardelli 2025', \
                 health_details = 'Trauma cranico Zanardelli' WHERE id = '{m}';
             UPDATE contacts SET restricted_at = {TS}, \
                 restriction_reason = 'Pozzobon contests the accuracy' WHERE id = '{r}';
             INSERT INTO contact_sources (id, contact_id, kind, detail, connector, external_id, acquired_at, acquired_by, recorded_at) \
                 VALUES ('src-zan', '{p}', 'referral', 'Referred by Tullio Zanardelli', 'crm', 'EXT-ZANARDELLI-77881', {TS}, NULL, {TS});
             INSERT INTO assessments (id, kind, title, outcome, summary, assessed_on, owner_id, review_on, created_at, updated_at) \
                 VALUES ('as-zan', 'lia', 'Newsletter LIA', 'positive', 'Weighs the Zanardelli complaint', '2026-01-05', NULL, NULL, {TS}, {TS});
             INSERT INTO consents (id, contact_id, purpose_id, given_at, method, notice_version, collected_by, proof_reference, double_opt_in_at, withdrawn_at, withdrawal_method, recorded_at, recorded_by) \
                 VALUES ('co-zan', '{p}', 'purpose-newsletter', {TS}, 'web_form', 'v3', 'Receptionist Quaglierini', 'form-zanardelli-5521', NULL, NULL, NULL, {TS}, NULL);
             INSERT INTO processing_grounds (id, contact_id, purpose_id, legal_basis, consent_id, assessment_id, note, started_at, ended_at, end_reason, recorded_at, recorded_by, basis_evidence) \
                 VALUES ('pg-zan', '{p}', 'purpose-newsletter', 'consent', 'co-zan', NULL, 'Noted by Quaglierini', {TS}, {TS}, 'Zanardelli withdrew by phone', {TS}, NULL, 'Engagement letter signed by Zanardelli');
             INSERT INTO objections (id, contact_id, purpose_id, received_at, method, note, recorded_at, recorded_by) \
                 VALUES ('ob-zan', '{p}', NULL, {TS}, 'letter', 'Letter from Zanardelli senior', {TS}, NULL);
             INSERT INTO suppressions (id, channel, value_hash, purpose_id, reason, created_at, created_by) \
                 VALUES ('su-zan', 'email', 'f00dfeedbeefcafe0123456789abcdef', NULL, 'Zanardelli asked not to be contacted', {TS}, NULL);
             INSERT INTO consents (id, contact_id, purpose_id, given_at, method, notice_version, collected_by, proof_reference, double_opt_in_at, withdrawn_at, withdrawal_method, recorded_at, recorded_by, double_opt_in_requested_at, double_opt_in_client_address, double_opt_in_user_agent, lifts_suppression) \
                 VALUES ('co-poz', '{r}', 'purpose-newsletter', {TS}, 'web_form', 'v3', 'Receptionist', NULL, {TS}, NULL, NULL, {TS}, NULL, {TS}, '203.0.113.99', 'Mozilla/5.0 Zanardelli-Tablet', FALSE);
             INSERT INTO subject_requests (id, kind, status, contact_id, received_at, channel, requester_name, requester_contact, identity_verified_at, identity_verified_by, identity_method, due_on, extended_due_on, extension_reason, refusal_reason, executed_at, notes, handled_by, created_at, updated_at) \
                 VALUES ('sr-zan', 'access', 'refused', '{p}', {TS}, 'email', 'Giacinta Zanardelli', 'giacinta.z@posta-esempio.it', {TS}, NULL, 'Passport of Zanardelli', '2026-02-10', '2026-03-10', 'Zanardelli archive in storage', 'Zanardelli claims pending', NULL, 'Called Zanardelli back', NULL, {TS}, {TS});
             INSERT INTO contact_changes (id, contact_id, changed_at, changed_by, field, old_value, new_value) \
                 VALUES ('cc-zan', '{p}', {TS}, 'user:x', 'family_name', 'Zanardelli-Brambati', 'Zanardelli');
             INSERT INTO legal_holds (id, contact_id, matter_id, reason, legal_basis, until_on, created_by, created_at, released_at, released_by) \
                 VALUES ('lh-zan', '{p}', NULL, 'Zanardelli dispute with Quarenghi', 'Art. 17(3)(e)', NULL, NULL, {TS}, NULL, NULL);
             INSERT INTO erasure_log (id, request_id, retention_policy_id, contact_id, executed_at, executed_by, contact_deleted, erased_categories, kept_categories, hold_reasons) \
                 VALUES ('el-zan', 'sr-zan', NULL, '{p}', {TS}, 'user:x', FALSE, '[]', '[]', '[\"held for the Zanardelli dispute\"]');
             INSERT INTO tombstones (id, kind, value_hash, connector, request_id, erased_at) \
                 VALUES ('tb-zan', 'email', 'deadbeefzanardelli0123456789abcdef', NULL, 'sr-zan', {TS});
             INSERT INTO connector_instances (id, name, kind, base_url, settings, credentials, webhook_secret, provenance, schedule_minutes, enabled, created_at, updated_at) VALUES ('ci-1', 'billing', 'json_feed', 'https://billing.invalid', '{{}}', NULL, NULL, '{{}}', NULL, FALSE, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
             INSERT INTO sync_links (instance_id, external_id, contact_id, seen_generation, deleted_at, created_at, updated_at) VALUES ('ci-1', 'EXT-LINK-ZANARDELLI-9931', '{p}', 0, NULL, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
             INSERT INTO sync_review_items (id, instance_id, external_id, origin, record, reason, created_at, updated_at, resolved_at, resolution, resolved_by, contact_id) VALUES ('rv-1', 'ci-1', 'EXT-REVIEW-ZANARDELLI-9931', 'unknown_correspondent', '{{\"name\": \"Zanardelli from the feed\"}}', 'no basis', '2026-01-05 10:00:00', '2026-01-05 10:00:00', '2026-01-06 10:00:00', 'linked', 'user:x', '{p}');
             INSERT INTO communication_imports (communication_id, message_id, instance_id, body, imported_at) VALUES ((SELECT id FROM communications LIMIT 1), 'perizia-9931@zanardelli.invalid', 'ci-1', 'Gentile avvocato, la perizia Zanardelli conferma le infiltrazioni', '2026-01-05 10:00:00');
             INSERT INTO communication_attachments (id, communication_id, position, name, content_type, size_bytes, sha256) VALUES ('att-1', (SELECT id FROM communications LIMIT 1), 0, 'perizia-zanardelli-9931.pdf', 'application/pdf', 1234, 'c0ffee9931c0ffee9931c0ffee9931c0ffee9931c0ffee9931c0ffee9931abcd');
             INSERT INTO sync_message_links (instance_id, external_id, communication_id, seen_generation, created_at, updated_at) VALUES ('ci-1', 'INBOX/7/9931-ZANARDELLI', (SELECT id FROM communications LIMIT 1), 0, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
             INSERT INTO data_recipients (id, contact_id, instance_id, recipient, fields, external_id, disclosed_at) VALUES ('dr-1', '{p}', 'ci-1', 'billing', '[\"Contact.emails\"]', 'EXT-PUSH-ZANARDELLI-9931', '2026-01-05 10:00:00');
             INSERT INTO outbox_messages (id, kind, dedup_key, reference_id, recipient, user_id, contact_id, subject, body, status, attempts, next_attempt_at, claimed_by, claimed_until, last_error, created_at, sent_at) VALUES ('om-1', 'consent_confirmation', 'consent-confirmation:zan', NULL, 'giacinta.zanardelli9931@posta-esempio.it', NULL, '{p}', 'Conferma Zanardelli 9931', 'Gentile Giacinta Zanardelli, confermi', 'failed', 3, '2026-01-05 10:00:00', NULL, NULL, '550 giacinta.zanardelli9931 unknown', '2026-01-05 10:00:00', NULL);
             UPDATE outbox_messages SET list_unsubscribe = 'https://crm.invalid/unsubscribe/zanardelli-9931-token' WHERE id = 'om-1';
             INSERT INTO campaigns (id, name, purpose, status, description, audience_filter, scheduled_at, created_at, updated_at, analogous_services) VALUES ('cmp-1', 'Newsletter', 'newsletter', 'sent', 'Novità', '{{\"tags\": [\"zanardelli-9931\"]}}', NULL, {TS}, {TS}, FALSE);
             INSERT INTO campaign_deliveries (id, campaign_id, contact_id, outbox_message_id, recipient, basis, ground_id, consent_id, assessment_id, queued_at, unsubscribed_at) VALUES ('cd-1', 'cmp-1', '{p}', 'om-1', 'giacinta.delivery9931@posta-esempio.it', 'consent', NULL, 'co-zan', NULL, {TS}, NULL);
             INSERT INTO documents (id, matter_id, title, href, content_type, etag, size_bytes, sha256, created_by, modified_by, created_at, modified_at, instance_id, external_id, status, deleted_at, moved_from, moved_at, seen_generation, imported_at, updated_at) VALUES ('doc-1', '{m}', 'Perizia Zanardelli 9931.pdf', '/Pratiche/2026-0042/Perizia Zanardelli 9931.pdf', 'application/pdf', 'etag-1', 1234, 'aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44', 'Ottavio Quaglierini', 'Ermenegilda Quaglierini', {TS}, {TS}, 'ci-1', '/Pratiche/2026-0042/Zanardelli-ext-9931.pdf', 'current', NULL, '/Pratiche/Vecchie/Zanardelli-old-9931.pdf', {TS}, 0, {TS}, {TS});
             INSERT INTO invoices (id, kind, status, fiscal_year, number, client_contact_id, client_name, client_codice_fiscale, client_partita_iva, client_street, client_postal_code, client_city, client_province, client_country, recipient_code, recipient_pec, issue_date, due_date, net_cents, cassa_rate_bp, cassa_cents, vat_rate_bp, vat_cents, withholding_rate_bp, withholding_cents, paid_cents, notes, created_by, paid_at, cancelled_at, created_at, updated_at) VALUES ('inv-1', 'invoice', 'issued', 2026, 1, '{r}', 'Giacinta Zanardelli', 'ZNRGCN80A41F205X', '01234567897', 'Via Zanardelli 9931', '20121', 'Zanardellopoli', 'MI', 'IT', '0000000', 'giacinta.fattura9931@pec-esempio.it', '2026-01-05', '2026-02-05', 10000, 400, 400, 2200, 2288, 0, 0, 0, 'Sollecito a Zanardelli', NULL, NULL, NULL, {TS}, {TS});
             INSERT INTO invoice_matters (invoice_id, matter_id) VALUES ('inv-1', '{m}');
             INSERT INTO time_entries (id, matter_id, user_id, work_date, minutes, task_code, activity_code, narrative, billable, rate_cents, invoice_id, created_at, updated_at) VALUES ('te-1', '{m}', NULL, '2026-01-05', 60, 'L110', 'A101', 'Call with Zanardelli about the 9931 appraisal', TRUE, 20000, 'inv-1', {TS}, {TS});
             INSERT INTO billing_pushes (idempotency_key, bill_key, kind, instance_id, matter_id, time_entry_id, customer, amount_cents, remote_id, created_at, completed_at) VALUES ('lexgate-item-1', 'lexgate-bill-1', 'item', 'ci-1', '{m}', 'te-1', 'cus_ZANARDELLI9931', 20000, 'ii_1', {TS}, {TS});
             INSERT INTO sync_record_links (instance_id, stream, external_id, record_id, digest, client_external_id, seen_generation, removed_at, created_at, updated_at) VALUES ('ci-1', 'matters', '21', '{m}', 'd1', 'CLIO-ZANARDELLI-9931', 1, NULL, {TS}, {TS});
             INSERT INTO invoice_lines (id, invoice_id, position, time_entry_id, matter_id, user_id, work_date, description, task_code, activity_code, minutes, rate_cents, amount_cents) VALUES ('il-1', 'inv-1', 1, 'te-1', '{m}', NULL, '2026-01-05', 'Call with Zanardelli about the 9931 appraisal (line)', 'L110', 'A101', 60, 20000, 20000);
             INSERT INTO invoice_payments (id, invoice_id, amount_cents, paid_on, method, reference, recorded_by, created_at) VALUES ('ip-1', 'inv-1', 1000, '2026-01-20', 'bank_transfer', 'CRO-1', NULL, {TS});"
        ),
    )
    .await;
    (raw(&person), r)
}

async fn export(app: &TestApp) -> (String, Value) {
    let text = anonymized_export::run(&app.db).await.expect("exported");
    let dump: Value = serde_json::from_str(&text).expect("the dump is JSON");
    (text, dump)
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn rows<'a>(dump: &'a Value, table: &str) -> &'a Vec<Value> {
    dump["tables"][table]
        .as_array()
        .unwrap_or_else(|| panic!("no table {table} in the dump"))
}

async fn the_declaration_names_every_column_of_every_table(backend: Backend) {
    let app = TestApp::start(backend).await;
    let problems = app
        .db
        .run(anonymized_export::undeclared_columns)
        .await
        .expect("catalogue read");
    assert!(
        problems.is_empty(),
        "the anonymisation rules and the tables disagree: {problems:#?}"
    );
}

async fn no_original_personal_value_survives_the_export(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (person, restricted) = seed(&app).await;
    let (text, dump) = export(&app).await;

    // Every value of every personal column, read from the database, is gone.
    let mut exported_strings = Vec::new();
    strings(&dump["tables"], &mut exported_strings);
    for (table, column) in personal_columns() {
        let rules = TABLES
            .iter()
            .find(|t| t.table == table)
            .expect("declared table");
        let originals: Vec<String> = app
            .db
            .run(move |c| anonymized_export::column_values(c, rules, column))
            .await
            .expect("column read")
            .into_iter()
            .flatten()
            .collect();
        assert!(
            !originals.is_empty(),
            "the seed leaves {table}.{column} empty, so this test would prove nothing for it"
        );
        for original in originals {
            // Short values (a postal code) could occur by chance inside a longer pseudonym:
            // they must not be any exported value; longer ones must occur nowhere.
            let leaked = if original.chars().count() >= 6 {
                text.contains(&original)
            } else {
                exported_strings.contains(&original)
            };
            assert!(
                !leaked,
                "{table}.{column} value {original:?} is in the dump"
            );
        }
    }
    let lower = text.to_lowercase();
    for marker in MARKERS {
        assert!(
            !lower.contains(&marker.to_lowercase()),
            "{marker} is in the dump"
        );
    }

    // The restricted contact is left out with what belongs to it; a deadline about it stays
    // without the link.
    assert!(
        !text.contains(&restricted),
        "the restricted contact is in the dump"
    );
    assert_eq!(dump["restrictedContactsLeftOut"], 1);
    assert!(rows(&dump, "contacts")
        .iter()
        .any(|c| c["id"] == person.as_str()));
    assert_eq!(rows(&dump, "consents").len(), 1);
    assert_eq!(rows(&dump, "deadlines")[0]["contact_id"], Value::Null);

    // Secrets never leave.
    let secret = app
        .db
        .run(|c| {
            use lexgate::db::schema::instance_keys;
            Ok(instance_keys::table
                .select(instance_keys::secret)
                .load::<String>(c)?)
        })
        .await
        .expect("key read");
    assert!(!secret.is_empty());
    for s in &secret {
        assert!(!text.contains(s.as_str()), "the GDPR key is in the dump");
    }
    assert!(dump["tables"].get("instance_keys").is_none());
    assert!(!text.contains("$argon2"), "a password hash is in the dump");
    for user in rows(&dump, "users") {
        assert!(user.get("password_hash").is_none());
    }
    for key in rows(&dump, "api_keys") {
        assert!(key.get("key_hash").is_none() && key.get("prefix").is_none());
    }
    assert!(rows(&dump, "access_log")
        .iter()
        .all(|e| e.get("hash").is_none()));

    // Pseudonyms are consistent and shaped like what they replace.
    let lawyer_email = rows(&dump, "users")
        .iter()
        .find(|u| u["role"] == "lawyer")
        .expect("the lawyer")["email"]
        .clone();
    assert!(lawyer_email
        .as_str()
        .is_some_and(|e| e.ends_with("@example.com")));
    assert!(
        rows(&dump, "login_failures")
            .iter()
            .any(|f| f["email"] == lawyer_email),
        "the same address gets the same pseudonym in every table"
    );
    let contact = rows(&dump, "contacts")
        .iter()
        .find(|c| c["id"] == person.as_str())
        .expect("the person");
    assert_eq!(contact["codice_fiscale"].as_str().map(str::len), Some(16));
    let piva = contact["partita_iva"].as_str().expect("partita IVA");
    assert!(piva.len() == 11 && piva.chars().all(|c| c.is_ascii_digit()));
    assert!(contact["birth_date"]
        .as_str()
        .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()));
    let phone = rows(&dump, "contact_phones")[0]["number"]
        .as_str()
        .expect("phone");
    assert!(phone.starts_with('+') && phone[1..].chars().all(|c| c.is_ascii_digit()));
    let org_row = rows(&dump, "contacts")
        .iter()
        .find(|c| c["kind"] == "organization")
        .expect("the organisation");
    assert_eq!(org_row["codice_fiscale"].as_str().map(str::len), Some(11));
    assert_eq!(
        rows(&dump, "contact_emails")
            .iter()
            .filter(|e| e["is_pec"] == false)
            .count(),
        1,
        "booleans stay booleans; the restricted contact's email is gone"
    );
    // Structure survives: the person's phone still points at the person.
    assert_eq!(
        rows(&dump, "contact_phones")[0]["contact_id"],
        person.as_str()
    );
}

on_both_backends!(
    the_declaration_names_every_column_of_every_table,
    no_original_personal_value_survives_the_export,
);
