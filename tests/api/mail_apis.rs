//! Mail imported through the mail APIs (Microsoft Graph `messages/delta`, the Gmail API's
//! `messages.list` and `history.list`) from their faithful fakes, on both backends: an instance configured over GraphQL, first import with
//! participants, matter, source and legal basis, the matter's timeline, a re-run that changes
//! nothing, incremental import and upstream deletion, throttling waited out, a refused token
//! refreshed with the rotated refresh token sealed back, and a dropped sync state (410) making
//! a full resync that duplicates nothing (Gmail: a `startHistoryId` gone, 404). And an IMAP
//! mailbox on the real Dovecot logging in with XOAUTH2 through the instance's OAuth tokens.

use lexgate::sync::instances;
use lexgate_connectors::dovecot::Dovecot;
use lexgate_connectors::testing::mail_apis::{GmailFake, GraphMailFake};
use lexgate_connectors::testing::{FakeProvider, CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::mail::{by_subject, communications, count_rows};
use crate::on_both_backends;
use crate::sync::{secret_box, start_sealing_secrets};

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind folders ownDomains storeBodies hasPassword hasClientSecret authorized } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed errors { message } } } }";

fn mail(id: &str, from: &str, to: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n{extra_headers}\r\n{body}\r\n"
    )
    .into_bytes()
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

/// Stores tokens as if the OAuth authorisation had run (the flow has its own test).
pub(crate) async fn authorise_directly(
    app: &TestApp,
    name: &'static str,
    tokens: lexgate_connectors::oauth::TokenSet,
) {
    app.db
        .transaction(move |c| {
            let row = instances::by_name(c, name)?;
            instances::save_tokens(c, &secret_box(), &row.id, &tokens)
        })
        .await
        .expect("tokens stored");
}

async fn stored_refresh_token(app: &TestApp, name: &'static str) -> String {
    app.db
        .run(move |c| {
            let row = instances::by_name(c, name)?;
            Ok(row.credentials(&secret_box())?.tokens)
        })
        .await
        .expect("credentials")
        .and_then(|t| t.refresh_token)
        .expect("a refresh token")
}

async fn graph_mail_is_imported_as_communications(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = GraphMailFake::start().await;
    let mario = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    create_matter(&app, "2026/017", &mario, json!({})).await;
    lia(&app, &["matter_handling"], "APPROVED").await;

    // Each kind names what it misses.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "m365", "kind": "graph_mail", "baseUrl": "http://graph.example.com/v1.0", "password": "x" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    for field in [
        "input.baseUrl",
        "input.clientId",
        "input.authUrl",
        "input.tokenUrl",
        "input.ownDomains",
        "input.password",
    ] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }

    fake.add(
        "inbox",
        &mail(
            "g1@cliente.it",
            "Mario Bianchi <mario.bianchi@cliente.it>",
            "Avv. Verdi <avv.verdi@studioverdi.it>",
            "Documenti richiesti",
            "",
            "Buongiorno avvocato, allego i documenti.",
        ),
    );
    let diffida = fake.add("sentitems", &mail(
        "g2@studioverdi.it",
        "Avv. Verdi <avv.verdi@studioverdi.it>",
        "Luca Neri <luca.neri@legalineri.it>",
        "Rif. 2026/017 - diffida",
        "X-Trasporto: posta-certificata\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
        "--b\r\nContent-Type: text/plain\r\n\r\nIn allegato la diffida.\r\n--b\r\nContent-Type: application/pdf; name=diffida.pdf\r\nContent-Disposition: attachment; filename=diffida.pdf\r\n\r\n%PDF-1.4 diffida\r\n--b--",
    ));
    fake.add(
        "inbox",
        &mail(
            "g3@news.example",
            "Giuridica News <news@news.example>",
            "avv.verdi@studioverdi.it",
            "Novità normative",
            "List-Id: <giuridica.news.example>\r\n",
            "Le novità della settimana.",
        ),
    );

    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "m365",
                "kind": "graph_mail",
                "baseUrl": fake.base_url(),
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", fake.provider.base_url),
                "tokenUrl": format!("{}/token", fake.provider.base_url),
                "scopes": ["Mail.Read", "offline_access"],
                "folders": ["inbox", "sentitems"],
                "ownDomains": ["studioverdi.it"],
                "storeBodies": true,
                "pageSize": 1,
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "graph_mail");
    assert_eq!(instance["folders"], json!(["inbox", "sentitems"]));
    assert_eq!(instance["hasClientSecret"], true);
    assert_eq!(instance["hasPassword"], false);
    assert_eq!(instance["authorized"], false);
    let id = instance["id"].as_str().expect("id").to_owned();

    // Not yet authorised: the sync says so.
    let error = app.error(SYNC, json!({ "id": id })).await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("not authorised")),
        "{error:#}"
    );
    authorise_directly(&app, "m365", fake.provider.issue_tokens()).await;

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [3, 0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(fake.page_sizes(), [1, 1], "the instance's page size");
    let list = communications(&app).await;
    assert_eq!(list.len(), 3);
    let first = by_subject(&list, "Documenti richiesti");
    assert_eq!(first["channel"], "EMAIL");
    assert_eq!(first["direction"], "INBOUND");
    assert_eq!(first["matter"]["reference"], "2026/017");
    assert_eq!(first["body"], "Buongiorno avvocato, allego i documenti.");
    assert_eq!(first["participants"][0]["familyName"], "Bianchi");
    assert_eq!(first["source"]["connector"], "m365");
    assert_eq!(first["source"]["messageId"], "g1@cliente.it");
    let pec = by_subject(&list, "Rif. 2026/017 - diffida");
    assert_eq!(pec["channel"], "PEC");
    assert_eq!(pec["direction"], "OUTBOUND");
    assert_eq!(pec["matter"]["reference"], "2026/017");
    assert_eq!(pec["attachments"][0]["name"], "diffida.pdf");
    assert_eq!(pec["attachments"][0]["sizeBytes"], 16);
    let neri = &pec["participants"][0];
    assert_eq!(neri["familyName"], "Neri");
    assert_eq!(neri["sources"][0]["kind"], "CONNECTOR_IMPORT");
    assert_eq!(neri["sources"][0]["connector"], "m365");
    assert_eq!(
        neri["sources"][0]["externalId"],
        "g2@studioverdi.it#luca.neri@legalineri.it"
    );
    assert_eq!(
        neri["processingGrounds"][0]["legalBasis"],
        "LEGITIMATE_INTEREST"
    );
    let news = by_subject(&list, "Novità normative");
    assert_eq!(news["participants"], json!([]));
    // Mario and Neri; not the firm, not the newsletter.
    assert_eq!(count_rows(&app).await, (3, 2));
    let matter = app
        .data(
            "{ matters(first: 5) { nodes { timeline(first: 10) { nodes { ... on Communication { subject } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        matter["matters"]["nodes"][0]["timeline"]["nodes"]
            .as_array()
            .map(|n| n.iter().filter(|n| n["subject"].is_string()).count()),
        Some(2),
        "{matter:#}"
    );

    // A re-run changes nothing.
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0, 0], "{run:#}");

    // Incremental, throttled once (429 with Retry-After) and with a refused access token:
    // a new message, one deleted upstream.
    fake.add(
        "inbox",
        &mail(
            "g4@cliente.it",
            "Mario Bianchi <mario.bianchi@cliente.it>",
            "avv.verdi@studioverdi.it",
            "Ringraziamenti",
            "",
            "Grazie.",
        ),
    );
    fake.delete(&diffida);
    fake.fail_next(429, Some(1));
    fake.provider.expire_access_tokens();
    let refresh_before = stored_refresh_token(&app, "m365").await;
    let started = std::time::Instant::now();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], false);
    assert_eq!(counts(&run), [1, 0, 1, 0, 0, 0], "{run:#}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(fake.provider.refreshes(), 1);
    let refresh_after = stored_refresh_token(&app, "m365").await;
    assert_ne!(refresh_after, refresh_before, "the rotated token is stored");
    assert!(fake.provider.is_valid_refresh_token(&refresh_after));
    assert!(!fake.provider.is_valid_refresh_token(&refresh_before));
    let list = communications(&app).await;
    assert_eq!(list.len(), 3);
    assert!(list
        .iter()
        .all(|c| c["subject"] != "Rif. 2026/017 - diffida"));
    by_subject(&list, "Ringraziamenti");

    // The service dropped its sync state: 410, a full resync, nothing duplicated.
    fake.drop_sync_state("SyncStateNotFound");
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true);
    assert_eq!(run["created"], 0, "{run:#}");
    assert_eq!(count_rows(&app).await, (3, 2));
    let after = communications(&app).await;
    let ids = |l: &[Value]| l.iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&list));
}

async fn gmail_is_imported_as_communications(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = GmailFake::start().await;
    let mario = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    create_matter(&app, "2026/017", &mario, json!({})).await;
    lia(&app, &["matter_handling"], "APPROVED").await;

    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "gm", "kind": "gmail", "baseUrl": "https://gmail.googleapis.com", "login": "PASSWORD" } }),
        )
        .await;
    for field in [
        "input.clientId",
        "input.authUrl",
        "input.tokenUrl",
        "input.ownDomains",
        "input.login",
    ] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }
    assert!(!error.to_string().contains("input.baseUrl"), "{error:#}");

    let first = fake.add(
        &["INBOX", "UNREAD"],
        &mail(
            "k1@cliente.it",
            "Mario Bianchi <mario.bianchi@cliente.it>",
            "avv.verdi@studioverdi.it",
            "Documenti richiesti",
            "",
            "Buongiorno avvocato.",
        ),
    );
    fake.add(
        &["SENT"],
        &mail(
            "k2@studioverdi.it",
            "Avv. Verdi <avv.verdi@studioverdi.it>",
            "Luca Neri <luca.neri@legalineri.it>",
            "Rif. 2026/017 - diffida",
            "X-Trasporto: posta-certificata\r\n",
            "In allegato la diffida.",
        ),
    );
    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "gm",
                "kind": "gmail",
                "baseUrl": fake.base_url(),
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", fake.provider.base_url),
                "tokenUrl": format!("{}/token", fake.provider.base_url),
                "folders": ["INBOX", "SENT"],
                "ownDomains": ["studioverdi.it"],
                "pageSize": 1,
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "gmail");
    assert_eq!(instance["folders"], json!(["INBOX", "SENT"]));
    let id = instance["id"].as_str().expect("id").to_owned();
    authorise_directly(&app, "gm", fake.provider.issue_tokens()).await;

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [2, 0, 0, 0, 0, 0], "{run:#}");
    let list = communications(&app).await;
    let inbound = by_subject(&list, "Documenti richiesti");
    assert_eq!(inbound["direction"], "INBOUND");
    assert_eq!(inbound["matter"]["reference"], "2026/017");
    assert_eq!(inbound["source"]["connector"], "gm");
    assert_eq!(inbound["source"]["messageId"], "k1@cliente.it");
    // No bodies unless the instance says so: a summary.
    assert_eq!(inbound["body"], Value::Null);
    assert_eq!(inbound["summary"], "Buongiorno avvocato.");
    let pec = by_subject(&list, "Rif. 2026/017 - diffida");
    assert_eq!(pec["channel"], "PEC");
    assert_eq!(pec["participants"][0]["familyName"], "Neri");
    assert_eq!(
        pec["participants"][0]["sources"][0]["externalId"],
        "k2@studioverdi.it#luca.neri@legalineri.it"
    );
    assert_eq!(count_rows(&app).await, (2, 2));

    // A re-run changes nothing.
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0, 0], "{run:#}");

    // Throttled once; a new message, a read flag, and the first one archived (INBOX gone).
    fake.add(
        &["INBOX"],
        &mail(
            "k3@cliente.it",
            "Mario Bianchi <mario.bianchi@cliente.it>",
            "avv.verdi@studioverdi.it",
            "Ringraziamenti",
            "",
            "Grazie.",
        ),
    );
    fake.remove_label(&first, "UNREAD");
    fake.remove_label(&first, "INBOX");
    fake.fail_next(429, Some(1));
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], false);
    assert_eq!(counts(&run), [1, 0, 1, 0, 0, 0], "{run:#}");
    let list = communications(&app).await;
    assert_eq!(list.len(), 2);
    by_subject(&list, "Ringraziamenti");
    assert!(list.iter().all(|c| c["subject"] != "Documenti richiesti"));

    // Gmail no longer has the history asked for: 404, a full resync, nothing duplicated.
    fake.forget_history();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true);
    assert_eq!(run["created"], 0, "{run:#}");
    let after = communications(&app).await;
    let ids = |l: &[Value]| l.iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&list));
}

async fn imap_logs_in_with_xoauth2_through_the_instance_tokens(backend: Backend) {
    const USER: &str = "avv.verdi";
    const PASSWORD: &str = "Imap-Pass-2026";
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    provider.set_token_subject(USER);
    let server = Dovecot::start_with_oauth(&[(USER, PASSWORD)], &provider.introspection_url());
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "x1@cliente.it",
                "Mario Bianchi <mario.bianchi@cliente.it>",
                "avv.verdi@studioverdi.it",
                "Primo contatto",
                "",
                "Buongiorno.",
            ),
        )
        .await;
    let data = app
        .data(
            "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id login hasPassword } } }",
            json!({ "input": {
                "name": "oauthmail",
                "kind": "imap",
                "baseUrl": server.url(),
                "plaintext": true,
                "username": USER,
                "login": "XOAUTH_2",
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", provider.base_url),
                "tokenUrl": format!("{}/token", provider.base_url),
                "ownDomains": ["studioverdi.it"],
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["login"], "XOAUTH_2");
    assert_eq!(instance["hasPassword"], false);
    let id = instance["id"].as_str().expect("id").to_owned();
    authorise_directly(&app, "oauthmail", provider.issue_tokens()).await;

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#} {}", server.log());
    assert_eq!(counts(&run), [1, 0, 0, 0, 0, 0], "{run:#}");
    assert!(provider.introspections() >= 1, "Dovecot checked the token");
    by_subject(&communications(&app).await, "Primo contatto");

    // The provider stops accepting the access token: Dovecot refuses it, the instance
    // refreshes once and seals the rotated refresh token, and the login is retried.
    provider.expire_access_tokens();
    let before = stored_refresh_token(&app, "oauthmail").await;
    server
        .append(
            USER,
            PASSWORD,
            "INBOX",
            &mail(
                "x2@cliente.it",
                "Mario Bianchi <mario.bianchi@cliente.it>",
                "avv.verdi@studioverdi.it",
                "Secondo contatto",
                "",
                "Grazie.",
            ),
        )
        .await;
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#} {}", server.log());
    assert_eq!(counts(&run), [1, 0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(provider.refreshes(), 1);
    let after = stored_refresh_token(&app, "oauthmail").await;
    assert_ne!(after, before);
    assert!(provider.is_valid_refresh_token(&after));

    // Tokens of another mailbox's user: the run fails and says whose login was refused.
    provider.set_token_subject("someone.else");
    provider.expire_access_tokens();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    let message = run["errors"][0]["message"].as_str().expect("error");
    assert!(
        message.contains("refused the login of avv.verdi"),
        "{message}"
    );
}

on_both_backends!(
    graph_mail_is_imported_as_communications,
    gmail_is_imported_as_communications,
    imap_logs_in_with_xoauth2_through_the_instance_tokens,
);
