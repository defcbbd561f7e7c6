//! Mail imported as communications from a real Dovecot (IMAP), on both backends: an instance
//! configured over GraphQL with a sealed password, first import with participants, matter,
//! source and legal basis, the matter's timeline, incremental import, upstream deletion, a
//! re-run that changes nothing, a changed UIDVALIDITY (full resync, no duplicates), PEC and
//! attachments, ignored senders, a bad password reported on the instance and by `lexgate
//! sync`, and an erased person neither re-created nor re-linked.

use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use lexgate::contacts::ContactRules;
use lexgate::db::schema::{communications, contact_emails, contacts, sync_cursors};
use lexgate::gdpr::KeyedHasher;
use lexgate::sync::erasure::Tombstones;
use lexgate::sync::instances::{self, CreateConnectorInstanceInput};
use lexgate::sync::runs::SyncRunStatus;
use lexgate::sync::{ConnectorRuntime, SyncEngine};
use lexgate_connectors::dovecot::Dovecot;
use lexgate_connectors::http::HttpPolicy;
use lexgate_connectors::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, Page, RemoteCommunication,
};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::sync::{secret_box, start_sealing_secrets, SECRETS_KEY, SECRETS_KEY_ID};

const USER: &str = "avv.verdi";
const PASSWORD: &str = "Imap-Pass-2026";

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind username login plaintext folders ownDomains storeBodies hasPassword hasClientSecret } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed errors { message } } } }";
const COMMUNICATIONS: &str = "{ communications(first: 50, order: ASC) { nodes { id channel direction subject summary body matter { reference } participants { familyName emails { address } sources { kind connector externalId } processingGrounds { legalBasis purpose { key } } } source { connector messageId } attachments { name contentType sizeBytes sha256 } } } }";

fn mail(id: &str, from: &str, to: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n{extra_headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

fn instance_input(server: &Dovecot, password: &str) -> Value {
    json!({
        "name": "mailbox",
        "kind": "imap",
        "baseUrl": server.url(),
        "plaintext": true,
        "username": USER,
        "password": password,
        "folders": ["INBOX", "Sent"],
        "ownDomains": ["studioverdi.it"],
        "storeBodies": true,
        "ignoreAddresses": ["@spam.example"],
        "pageSize": 2,
    })
}

async fn create_instance(app: &TestApp, server: &Dovecot, password: &str) -> String {
    let data = app
        .data(CREATE, json!({ "input": instance_input(server, password) }))
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "imap");
    assert_eq!(instance["login"], "PASSWORD");
    assert_eq!(instance["hasPassword"], true);
    assert_eq!(instance["hasClientSecret"], false);
    assert_eq!(instance["ownDomains"], json!(["studioverdi.it"]));
    instance["id"].as_str().expect("instance id").to_owned()
}

async fn sync(app: &TestApp, id: &str) -> Value {
    app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone()
}

fn counts(run: &Value) -> [i64; 6] {
    [
        "created", "linked", "deleted", "skipped", "review", "failed",
    ]
    .map(|k| run[k].as_i64().unwrap_or(-1))
}

pub(crate) async fn communications(app: &TestApp) -> Vec<Value> {
    app.data(COMMUNICATIONS, json!({})).await["communications"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

pub(crate) fn by_subject<'a>(list: &'a [Value], subject: &str) -> &'a Value {
    list.iter()
        .find(|c| c["subject"] == subject)
        .unwrap_or_else(|| panic!("no communication {subject:?} in {list:#?}"))
}

pub(crate) async fn count_rows(app: &TestApp) -> (i64, i64) {
    app.db
        .run(|c| {
            let comms: i64 = communications::table.count().get_result(c)?;
            let people: i64 = contacts::table.count().get_result(c)?;
            Ok((comms, people))
        })
        .await
        .expect("counts")
}

/// Mario Bianchi, client of matter 2026/017, with the firm's partner.
async fn seed_lexgate(app: &TestApp) -> String {
    let mario = create_person(
        app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    create_matter(app, "2026/017", &mario, json!({})).await
}

async fn mail_is_imported_as_communications_from_dovecot(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    seed_lexgate(&app).await;
    // The default rules import unknown correspondents of a matter on the firm's
    // legitimate interest only with an approved LIA for matter handling.
    lia(&app, &["matter_handling"], "APPROVED").await;
    // From a known client: linked to him and, as all its external participants are parties
    // of one matter, to that matter.
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "m1@cliente.it",
                "Mario Bianchi <mario.bianchi@cliente.it>",
                "Avv. Verdi <avv.verdi@studioverdi.it>",
                "Documenti richiesti",
                "",
                "Buongiorno avvocato, allego i documenti.",
            ),
        )
        .await;
    // To opposing counsel, naming the matter in the subject: a PEC with an attachment, from
    // an unknown correspondent's address, who becomes a contact on the matter rule.
    server
        .append(USER, PASSWORD, "Sent", &mail(
            "m2@studioverdi.it",
            "Avv. Verdi <avv.verdi@studioverdi.it>",
            "Luca Neri <luca.neri@legalineri.it>",
            "Rif. 2026/017 - diffida",
            "X-Trasporto: posta-certificata\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nIn allegato la diffida.\r\n--b\r\nContent-Type: application/pdf; name=diffida.pdf\r\nContent-Disposition: attachment; filename=diffida.pdf\r\n\r\n%PDF-1.4 diffida\r\n--b--",
        ))
        .await;
    // A newsletter and a no-reply notice: imported, but their senders never become contacts.
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "n1@news.example",
                "Giuridica News <news@news.example>",
                "avv.verdi@studioverdi.it",
                "Novità normative",
                "List-Id: <giuridica.news.example>\r\n",
                "Le novità della settimana.",
            ),
        )
        .await;
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "r1@tribunale.example",
                "noreply@tribunale.example",
                "avv.verdi@studioverdi.it",
                "Deposito accettato",
                "",
                "Il deposito è stato accettato.",
            ),
        )
        .await;
    let id = create_instance(&app, &server, PASSWORD).await;

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [4, 0, 0, 0, 0, 0], "{run:#}");
    let list = communications(&app).await;
    assert_eq!(list.len(), 4);

    let first = by_subject(&list, "Documenti richiesti");
    assert_eq!(first["channel"], "EMAIL");
    assert_eq!(first["direction"], "INBOUND");
    assert_eq!(first["matter"]["reference"], "2026/017");
    assert_eq!(first["body"], "Buongiorno avvocato, allego i documenti.");
    assert_eq!(first["summary"], "Buongiorno avvocato, allego i documenti.");
    assert_eq!(first["participants"][0]["familyName"], "Bianchi");
    assert_eq!(first["source"]["connector"], "mailbox");
    assert_eq!(first["source"]["messageId"], "m1@cliente.it");

    let pec = by_subject(&list, "Rif. 2026/017 - diffida");
    assert_eq!(pec["channel"], "PEC");
    assert_eq!(pec["direction"], "OUTBOUND");
    assert_eq!(pec["matter"]["reference"], "2026/017");
    assert_eq!(pec["attachments"][0]["name"], "diffida.pdf");
    assert_eq!(pec["attachments"][0]["contentType"], "application/pdf");
    assert_eq!(pec["attachments"][0]["sizeBytes"], 16);
    assert_eq!(
        pec["attachments"][0]["sha256"].as_str().map(str::len),
        Some(64)
    );
    let neri = &pec["participants"][0];
    assert_eq!(neri["familyName"], "Neri");
    assert_eq!(neri["emails"][0]["address"], "luca.neri@legalineri.it");
    assert_eq!(neri["sources"][0]["kind"], "CONNECTOR_IMPORT");
    assert_eq!(neri["sources"][0]["connector"], "mailbox");
    assert_eq!(
        neri["sources"][0]["externalId"],
        "m2@studioverdi.it#luca.neri@legalineri.it"
    );
    assert_eq!(
        neri["processingGrounds"][0]["legalBasis"],
        "LEGITIMATE_INTEREST"
    );
    assert_eq!(
        neri["processingGrounds"][0]["purpose"]["key"],
        "matter_handling"
    );

    for subject in ["Novità normative", "Deposito accettato"] {
        let automated = by_subject(&list, subject);
        assert_eq!(automated["participants"], json!([]), "{automated:#}");
        assert_eq!(automated["matter"], Value::Null);
    }
    // Mario, Neri; nobody from the firm, the newsletter or the court's no-reply address.
    assert_eq!(count_rows(&app).await, (4, 2));

    // The matter's timeline shows both of its messages.
    let matter = app
        .data(
            "{ matters(first: 5) { nodes { reference timeline(first: 10) { nodes { __typename ... on Communication { subject } } } } } }",
            json!({}),
        )
        .await;
    let timeline = &matter["matters"]["nodes"][0]["timeline"]["nodes"];
    let subjects: Vec<&str> = timeline
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|n| n["subject"].as_str())
        .collect();
    assert_eq!(subjects.len(), 2, "{matter:#}");
    assert!(subjects.contains(&"Documenti richiesti"));
    assert!(subjects.contains(&"Rif. 2026/017 - diffida"));

    // A re-run changes nothing.
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(count_rows(&app).await, (4, 2));

    // Incremental: one new message, one deleted upstream.
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "m3@cliente.it",
                "Mario Bianchi <mario.bianchi@cliente.it>",
                "avv.verdi@studioverdi.it",
                "Ringraziamenti",
                "",
                "Grazie.",
            ),
        )
        .await;
    server
        .delete(USER, PASSWORD, "INBOX", "<n1@news.example>")
        .await;
    let run = sync(&app, &id).await;
    assert_eq!(run["fullSync"], false);
    assert_eq!(counts(&run), [1, 0, 1, 0, 0, 0], "{run:#}");
    let list = communications(&app).await;
    assert_eq!(list.len(), 4);
    assert!(list.iter().all(|c| c["subject"] != "Novità normative"));
    by_subject(&list, "Ringraziamenti");

    // The server is rebuilt: a new UIDVALIDITY makes a full resync that duplicates nothing.
    server.set_uid_validity(USER, "INBOX", 777);
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true);
    assert_eq!(run["created"], 0, "{run:#}");
    assert_eq!(count_rows(&app).await, (4, 2));
    let after = communications(&app).await;
    let ids = |l: &[Value]| l.iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&list));
}

async fn a_bad_password_is_reported_on_the_instance_and_by_the_cli(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    let id = create_instance(&app, &server, "not-the-password").await;
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    let message = run["errors"][0]["message"].as_str().expect("error message");
    assert!(
        message.contains("refused the login") && message.contains(USER),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
    let runs = app
        .data(
            "{ connectorInstances { name runs(first: 1) { status errors { message } } } }",
            json!({}),
        )
        .await;
    assert_eq!(runs["connectorInstances"][0]["runs"][0]["status"], "FAILED");

    let config = tempfile::NamedTempFile::new().expect("config file");
    std::fs::write(
        config.path(),
        format!("secrets_key_id = \"{SECRETS_KEY_ID}\"\n[secrets_keys]\n\"{SECRETS_KEY_ID}\" = \"{SECRETS_KEY}\"\n"),
    )
    .expect("config written");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .arg("--config")
        .arg(config.path())
        .args(["sync", "mailbox", "--database-url", &app.database_url])
        .env_remove("DATABASE_URL")
        .env_remove("LEXGATE_CONFIG")
        .env("LEXGATE_LOG", "warn")
        .output()
        .await
        .expect("lexgate runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(printed.contains("mailbox: failed: 0 created"), "{printed}");
    assert!(
        printed.contains("refused the login of avv.verdi"),
        "{printed}"
    );
    assert!(!printed.contains("not-the-password"), "{printed}");
}

async fn an_erased_correspondent_is_neither_recreated_nor_relinked(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    let mario = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    let dpo = dpo(&app).await;
    let request = verified_request(&app, &dpo, "ERASURE", &mario, "Mario Bianchi").await;
    let body = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted } } }",
            json!({ "id": request }),
        )
        .await;
    assert_eq!(
        body["data"]["executeErasure"]["erasure"]["contactDeleted"], true,
        "{body:#}"
    );
    // His mail is still in the mailbox, alone and together with someone else.
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "e1@cliente.it",
                "Mario Bianchi <mario.bianchi@cliente.it>",
                "avv.verdi@studioverdi.it",
                "Vecchia pratica",
                "",
                "Testo.",
            ),
        )
        .await;
    server
        .append(
            USER,
            PASSWORD,
            "Sent",
            &mail(
                "e2@studioverdi.it",
                "avv.verdi@studioverdi.it",
                "mario.bianchi@cliente.it, Anna Gialli <anna.gialli@altro.it>",
                "Riunione",
                "",
                "Testo.",
            ),
        )
        .await;
    let mut input = instance_input(&server, PASSWORD);
    // Unknown correspondents without a matter are created on a contract basis here, so that
    // an erased one would be re-created if the check were missing.
    input["provenance"] = json!([{ "origin": "UNKNOWN_CORRESPONDENT", "basis": "CONTRACT",
        "purposeKey": "client_relationship", "category": "OTHER" }]);
    let data = app.data(CREATE, json!({ "input": input })).await;
    let id = data["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(
        (run["created"].as_i64(), run["skipped"].as_i64()),
        (Some(1), Some(1)),
        "{run:#}"
    );
    let list = communications(&app).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["subject"], "Riunione");
    assert_eq!(list[0]["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["participants"][0]["familyName"], "Gialli");
    let erased_address: i64 = app
        .db
        .run(|c| {
            Ok(contact_emails::table
                .filter(contact_emails::address_key.eq("mario.bianchi@cliente.it"))
                .count()
                .get_result(c)?)
        })
        .await
        .expect("count");
    assert_eq!(erased_address, 0);
}

async fn each_kind_names_the_settings_it_misses(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "mail", "kind": "imap", "baseUrl": "imap://mail.example.it" } }),
        )
        .await;
    let fields: Vec<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    for field in ["input.username", "input.password", "input.ownDomains"] {
        assert!(fields.contains(&field), "{field} missing in {error:#}");
    }
    // Plain IMAP is only for loopback.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "mail", "kind": "imap", "baseUrl": "imap://mail.example.it",
                "plaintext": true, "username": "u", "password": "p", "ownDomains": ["studio.it"] } }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.plaintext");
    // An OAuth kind still needs its registration.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "feed", "kind": "json_feed", "baseUrl": "https://feed.example.it" } }),
        )
        .await;
    for field in ["input.clientId", "input.authUrl", "input.tokenUrl"] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }
    assert_eq!(count_instances(&app).await, 0);
}

/// An IMAPS mailbox whose certificate the firm's own CA issued: imported once the instance
/// trusts that CA (`caCertificate`), refused with a clear error when it does not, and a
/// `caCertificate` that is no certificate is named in the error.
async fn mail_is_imported_over_tls_with_the_firms_own_ca(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = Dovecot::start_tls(&[(USER, PASSWORD)]);
    let internal = mail(
        "tls1@studioverdi.it",
        "Avv. Verdi <avv.verdi@studioverdi.it>",
        "Segreteria <segreteria@studioverdi.it>",
        "Promemoria udienza",
        "",
        "Domani alle 9",
    );
    server.append(USER, PASSWORD, "INBOX", &internal).await;
    let create = |name: &str, url: String, ca: Option<String>| {
        json!({ "input": {
            "name": name, "kind": "imap", "baseUrl": url, "username": USER,
            "password": PASSWORD, "ownDomains": ["studioverdi.it"], "caCertificate": ca,
        } })
    };
    let data = app
        .data(
            "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id plaintext caCertificate } } }",
            create("trusted", server.imaps_url(), Some(server.ca_pem())),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["plaintext"], false);
    assert_eq!(instance["caCertificate"], server.ca_pem().trim());
    let id = instance["id"].as_str().expect("id").to_owned();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}\n{}", server.log());
    assert_eq!(run["created"], 1, "{run:#}");
    let list = communications(&app).await;
    assert_eq!(by_subject(&list, "Promemoria udienza")["channel"], "EMAIL");

    // STARTTLS on the plain port without the firm's CA: refused before any login.
    let id = app
        .data(CREATE, create("untrusted", server.url(), None))
        .await["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    let message = run["errors"][0]["message"].as_str().expect("error message");
    assert!(message.contains("certificate is not trusted"), "{message}");

    let error = app
        .error(
            CREATE,
            create(
                "bad-ca",
                server.imaps_url(),
                Some("-----BEGIN NOTHING-----".into()),
            ),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.caCertificate");
}

async fn count_instances(app: &TestApp) -> i64 {
    use lexgate::db::schema::connector_instances;
    app.db
        .run(|c| Ok(connector_instances::table.count().get_result(c)?))
        .await
        .expect("count")
}

/// What one mailbox import leaves behind, in an order that does not depend on ids: the run's
/// counts, each communication (subject, channel, direction, matter, participants'
/// family names, attachments, Message-ID) and how many contacts there are.
async fn imported_state(app: &TestApp, run: &Value) -> (Vec<i64>, Vec<String>, i64) {
    let mut list: Vec<String> = communications(app)
        .await
        .iter()
        .map(|c| {
            let mut people: Vec<String> = c["participants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["familyName"].as_str().unwrap_or("?").to_owned())
                .collect();
            people.sort();
            format!(
                "{} | {} {} | matter {} | {people:?} | {} | {}",
                c["subject"],
                c["channel"],
                c["direction"],
                c["matter"]["reference"],
                c["attachments"],
                c["source"]["messageId"]
            )
        })
        .collect();
    list.sort();
    (counts(run).to_vec(), list, count_rows(app).await.1)
}

/// A page is imported with one query per lookup kind and multi-row inserts: a page that
/// mixes a known client, a new correspondent writing twice, a copy of a message filed in two
/// folders, an erased person, a restricted contact and a newsletter gives exactly what the
/// same mailbox gives one message per page.
async fn a_mixed_page_imports_as_one_message_per_page_does(backend: Backend) {
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    let messages = [
        ("INBOX", mail("k1@cliente.it", "Mario Bianchi <mario.bianchi@cliente.it>",
            "avv.verdi@studioverdi.it", "Documenti", "", "In allegato.")),
        ("INBOX", mail("u1@legalineri.it", "Luca Neri <luca.neri@legalineri.it>",
            "avv.verdi@studioverdi.it", "Rif. 2026/017 - diffida",
            "X-Trasporto: posta-certificata\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nLa diffida.\r\n--b\r\nContent-Type: application/pdf; name=diffida.pdf\r\nContent-Disposition: attachment; filename=diffida.pdf\r\n\r\n%PDF-1.4 diffida\r\n--b--")),
        ("INBOX", mail("u2@legalineri.it", "Luca Neri <luca.neri@legalineri.it>",
            "avv.verdi@studioverdi.it", "Seguito", "", "Attendo riscontro.")),
        ("INBOX", mail("e1@cliente.it", "Ernesto Viola <ernesto.viola@cliente.it>",
            "avv.verdi@studioverdi.it", "Vecchia pratica", "", "Testo.")),
        ("INBOX", mail("r1@cliente.it", "Rita Blu <rita.blu@cliente.it>",
            "avv.verdi@studioverdi.it", "Richiesta", "", "Testo.")),
        ("INBOX", mail("n1@news.example", "Giuridica News <news@news.example>",
            "avv.verdi@studioverdi.it", "Novità", "List-Id: <giuridica.news.example>\r\n", "Notizie.")),
        // The client's message filed again in Sent: the same communication.
        ("Sent", mail("k1@cliente.it", "Mario Bianchi <mario.bianchi@cliente.it>",
            "avv.verdi@studioverdi.it", "Documenti", "", "In allegato.")),
    ];
    for (folder, raw) in &messages {
        server.append(USER, PASSWORD, folder, raw).await;
    }
    let mut states = Vec::new();
    for page_size in [100, 1] {
        let app = start_sealing_secrets(backend).await;
        seed_lexgate(&app).await;
        lia(&app, &["matter_handling"], "APPROVED").await;
        create_person(
            &app,
            "Rita",
            "Blu",
            json!({ "emails": [{ "address": "rita.blu@cliente.it" }] }),
        )
        .await;
        app.db
            .run(|c| {
                let rita = contact_emails::table
                    .filter(contact_emails::address_key.eq("rita.blu@cliente.it"))
                    .select(contact_emails::contact_id);
                diesel::update(contacts::table.filter(contacts::id.eq_any(rita)))
                    .set(contacts::restricted_at.eq(Some(chrono::Utc::now().naive_utc())))
                    .execute(c)?;
                Ok(())
            })
            .await
            .expect("restrict Rita");
        let ernesto = create_person(
            &app,
            "Ernesto",
            "Viola",
            json!({ "emails": [{ "address": "ernesto.viola@cliente.it" }] }),
        )
        .await;
        let dpo = dpo(&app).await;
        let request = verified_request(&app, &dpo, "ERASURE", &ernesto, "Ernesto Viola").await;
        let body = app
            .gql_as(&dpo,
                "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted } } }",
                json!({ "id": request }))
            .await;
        assert_eq!(
            body["data"]["executeErasure"]["erasure"]["contactDeleted"], true,
            "{body:#}"
        );
        let mut input = instance_input(&server, PASSWORD);
        input["pageSize"] = json!(page_size);
        let data = app.data(CREATE, json!({ "input": input })).await;
        let id = data["createConnectorInstance"]["connectorInstance"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let run = sync(&app, &id).await;
        assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
        states.push(imported_state(&app, &run).await);
    }
    let (counts, list, people) = &states[0];
    // created, linked, deleted, skipped, review, failed
    assert_eq!(counts, &[5, 1, 0, 1, 0, 0], "{list:#?}");
    assert_eq!(list.len(), 5, "{list:#?}");
    let line = |subject: &str| {
        list.iter()
            .find(|l| l.starts_with(&format!("\"{subject}\"")))
            .unwrap_or_else(|| panic!("no {subject} in {list:#?}"))
            .clone()
    };
    assert!(
        line("Documenti").contains("matter \"2026/017\" | [\"Bianchi\"]"),
        "{list:#?}"
    );
    assert!(
        line("Rif. 2026/017 - diffida")
            .contains("\"PEC\" \"INBOUND\" | matter \"2026/017\" | [\"Neri\"]"),
        "{list:#?}"
    );
    assert!(
        line("Rif. 2026/017 - diffida").contains("diffida.pdf"),
        "{list:#?}"
    );
    // The correspondent created by the page's second message is known to its third.
    assert!(line("Seguito").contains("[\"Neri\"]"), "{list:#?}");
    assert!(
        line("Richiesta").contains("| [] |"),
        "restricted contacts are not linked: {list:#?}"
    );
    assert!(line("Novità").contains("| [] |"), "{list:#?}");
    // Mario, Rita and Luca Neri (the erased Ernesto is gone and was not re-created).
    assert_eq!(*people, 3);
    assert_eq!(
        states[0], states[1],
        "one page and one message per page differ"
    );
}

/// The IMAP connector with a log of its pulls (the cursor each started from, the cursor it
/// ended at); the pull numbered `fail_at` (from 0) fails as a dropped connection would.
struct LoggedPulls {
    inner: Arc<dyn Connector>,
    pulls: Mutex<Vec<(Option<String>, Option<String>)>>,
    fail_at: Option<usize>,
}

impl LoggedPulls {
    fn new(inner: Arc<dyn Connector>, fail_at: Option<usize>) -> LoggedPulls {
        LoggedPulls {
            inner,
            pulls: Mutex::new(Vec::new()),
            fail_at,
        }
    }

    fn pulls(&self) -> Vec<(Option<String>, Option<String>)> {
        self.pulls.lock().expect("pull log").clone()
    }
}

impl Connector for LoggedPulls {
    fn kind(&self) -> &'static str {
        "logged-pulls"
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn pull_communications<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteCommunication>, ConnectorError>> {
        Box::pin(async move {
            let n = {
                let mut pulls = self.pulls.lock().expect("pull log");
                pulls.push((cursor.map(|c| c.0.clone()), None));
                pulls.len() - 1
            };
            if self.fail_at == Some(n) {
                return Err(ConnectorError::Unavailable("connection reset".into()));
            }
            let page = self.inner.pull_communications(cursor).await?;
            self.pulls.lock().expect("pull log")[n].1 = Some(page.cursor.0.clone());
            Ok(page)
        })
    }
}

/// The engine pulls the next page while it commits the current one: each pull starts where
/// the page before it ended, only committed pages move the stored cursor, and a pull that
/// fails while the page before it is being committed loses nothing (that page is kept, the
/// next run starts after it and imports the rest exactly once).
async fn a_pipelined_import_keeps_cursor_order_and_a_failure_loses_nothing(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    seed_lexgate(&app).await;
    lia(&app, &["matter_handling"], "APPROVED").await;
    // Seven correspondents unknown to the firm, each naming the matter: each message
    // creates a contact on the matter rule, so every commit writes.
    for i in 0..7 {
        let raw = mail(
            &format!("p{i}@esterni.it"),
            &format!("Persona Numero{i} <persona{i}@esterni.it>"),
            "avv.verdi@studioverdi.it",
            &format!("Rif. 2026/017 - messaggio {i}"),
            "",
            "Testo.",
        );
        server.append(USER, PASSWORD, "INBOX", &raw).await;
    }
    let url = server.url();
    let instance = app
        .db
        .transaction(move |conn| {
            let row = instances::create(
                conn,
                Some(&secret_box()),
                CreateConnectorInstanceInput {
                    name: "mailbox".into(),
                    kind: "imap".into(),
                    base_url: url,
                    plaintext: Some(true),
                    username: Some(USER.into()),
                    password: Some(PASSWORD.into()),
                    folders: Some(vec!["INBOX".into()]),
                    own_domains: Some(vec!["studioverdi.it".into()]),
                    page_size: Some(2),
                    ..CreateConnectorInstanceInput::default()
                },
            )?;
            instances::get(conn, &row.id)
        })
        .await
        .expect("instance");
    let runtime = ConnectorRuntime::new(
        app.db.clone(),
        Some(secret_box()),
        HttpPolicy::default(),
        "http://127.0.0.1:9/oauth/callback".into(),
    );
    let hasher = app
        .db
        .run(|c| KeyedHasher::load(c, None))
        .await
        .expect("the GDPR key");
    let engine = SyncEngine::new(
        app.db.clone(),
        ContactRules::default(),
        Arc::new(Tombstones { hasher }),
    );
    let instance_id = instance.id.clone();
    let stored_cursor = || {
        let id = instance_id.clone();
        app.db.run(move |c| {
            Ok(sync_cursors::table
                .find((id, "communications"))
                .select(sync_cursors::cursor)
                .first::<Option<String>>(c)?)
        })
    };

    // The third pull (of page 3) runs while page 2 is committed, and fails.
    let failing = LoggedPulls::new(runtime.connector(&instance).expect("connector"), Some(2));
    let run = engine
        .run(&instance, &failing, "test", &|_| {})
        .await
        .expect("the run ran");
    assert_eq!(
        run.status().expect("status"),
        SyncRunStatus::Failed,
        "{run:?}"
    );
    assert_eq!((run.created, run.failed), (4, 0), "{run:?}");
    let pulls = failing.pulls();
    assert_eq!(pulls.len(), 3, "{pulls:?}");
    assert_eq!(pulls[0].0, None);
    assert_eq!(pulls[1].0, pulls[0].1, "page 2 starts where page 1 ended");
    assert_eq!(pulls[2].0, pulls[1].1, "page 3 starts where page 2 ended");
    assert!(pulls[1].1.is_some(), "{pulls:?}");
    assert_eq!(
        stored_cursor().await.expect("cursor"),
        pulls[1].1,
        "the stored cursor is the end of the last committed page"
    );
    // Mario Bianchi and the four correspondents of the committed pages.
    assert_eq!(count_rows(&app).await, (4, 5));

    // The next run starts after page 2 and imports the other three once.
    let resumed = LoggedPulls::new(runtime.connector(&instance).expect("connector"), None);
    let run = engine
        .run(&instance, &resumed, "test", &|_| {})
        .await
        .expect("the run ran");
    assert_eq!(
        run.status().expect("status"),
        SyncRunStatus::Succeeded,
        "{run:?}"
    );
    assert_eq!((run.created, run.skipped, run.failed), (3, 0, 0), "{run:?}");
    let pulls = resumed.pulls();
    assert_eq!(pulls[0].0, failing.pulls()[1].1, "{pulls:?}");
    for pair in pulls.windows(2) {
        assert_eq!(pair[1].0, pair[0].1, "{pulls:?}");
    }
    assert_eq!(
        stored_cursor().await.expect("cursor"),
        pulls.last().and_then(|p| p.1.clone())
    );
    assert_eq!(count_rows(&app).await, (7, 8));
    let subjects: std::collections::BTreeSet<String> = communications(&app)
        .await
        .iter()
        .filter_map(|c| c["subject"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(subjects.len(), 7, "{subjects:?}");
}

on_both_backends!(
    mail_is_imported_as_communications_from_dovecot,
    a_mixed_page_imports_as_one_message_per_page_does,
    a_bad_password_is_reported_on_the_instance_and_by_the_cli,
    an_erased_correspondent_is_neither_recreated_nor_relinked,
    each_kind_names_the_settings_it_misses,
    mail_is_imported_over_tls_with_the_firms_own_ca,
    a_pipelined_import_keeps_cursor_order_and_a_failure_loses_nothing,
);
