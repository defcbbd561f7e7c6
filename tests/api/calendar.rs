//! Calendar events imported as meetings from a real Radicale (CalDAV), on both backends: an
//! instance configured over GraphQL with a sealed password, first import with participants
//! (the firm's own addresses never become contacts), matter by shared party or by reference,
//! recurring events expanded, the matter's timeline, a re-run that changes nothing, an
//! upstream change and deletion, and a refused sync-token (full resync, no duplicates). And a
//! calendar over HTTPS whose certificate a CA of the firm's issued (`caCertificate`).

use chrono::{Duration, Utc};
use diesel::prelude::*;
use lexgate::db::schema::sync_cursors;
use lexgate_connectors::dav_servers::{event_ics, DavServer, DavServerKind, PASSWORD, USER};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::mail::{by_subject, communications, count_rows};
use crate::on_both_backends;
use crate::sync::start_sealing_secrets;

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind username ownDomains hasPassword } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed errors { message } } } }";

async fn sync(app: &TestApp, id: &str) -> Value {
    app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone()
}

/// created, updated, deleted, skipped, failed
fn counts(run: &Value) -> [i64; 5] {
    ["created", "updated", "deleted", "skipped", "failed"].map(|k| run[k].as_i64().unwrap_or(-1))
}

/// A start `days` from now, as iCalendar UTC.
fn at(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .format("%Y%m%dT100000Z")
        .to_string()
}

async fn meetings_are_imported_from_radicale(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = DavServer::start(DavServerKind::Radicale).await;
    let mario = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    create_matter(&app, "2026/017", &mario, json!({})).await;
    lia(&app, &["matter_handling"], "APPROVED").await;
    let rossi = "ORGANIZER:mailto:avv.rossi@studiorossi.it\r\n";
    // With the client: his only matter links the meeting.
    server
        .put_event(
            "client.ics",
            &event_ics(
                "meet-client",
                "Riunione con il cliente",
                &at(2),
                &format!("{rossi}ATTENDEE:mailto:Mario.Bianchi@cliente.it\r\nATTENDEE:mailto:avv.rossi@studiorossi.it\r\n"),
            ),
        )
        .await;
    // Naming the matter in its description, with an unknown expert who becomes a contact.
    server
        .put_event(
            "expert.ics",
            &event_ics(
                "meet-expert",
                "Sopralluogo con il perito",
                &at(5),
                &format!("{rossi}ATTENDEE;CN=Luca Neri:mailto:luca.neri@perito.it\r\nDESCRIPTION:Pratica 2026/017\\, sopralluogo\r\n"),
            ),
        )
        .await;
    // A weekly internal meeting: three occurrences, nobody outside the firm.
    server
        .put_event(
            "weekly.ics",
            &event_ics(
                "weekly",
                "Punto settimanale",
                &at(1),
                &format!("{rossi}ATTENDEE:mailto:collega@studiorossi.it\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"),
            ),
        )
        .await;
    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "agenda",
                "kind": "caldav",
                "baseUrl": server.calendar_url,
                "username": USER,
                "password": PASSWORD,
                "ownDomains": ["studiorossi.it"],
                "storeBodies": true,
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "caldav");
    assert_eq!(instance["hasPassword"], true);
    let id = instance["id"].as_str().expect("id").to_owned();

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [5, 0, 0, 0, 0], "{run:#}");
    let list = communications(&app).await;
    let client = by_subject(&list, "Riunione con il cliente");
    assert_eq!(client["channel"], "MEETING");
    assert_eq!(client["direction"], "OUTBOUND");
    assert_eq!(client["matter"]["reference"], "2026/017");
    assert_eq!(client["participants"][0]["familyName"], "Bianchi");
    assert_eq!(client["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(client["source"]["connector"], "agenda");
    assert_eq!(client["source"]["messageId"], "ical:meet-client");
    let expert = by_subject(&list, "Sopralluogo con il perito");
    assert_eq!(expert["matter"]["reference"], "2026/017");
    // His attendee CN names the new contact.
    assert_eq!(
        expert["participants"][0]["familyName"], "Neri",
        "{expert:#}"
    );
    assert_eq!(
        expert["participants"][0]["emails"][0]["address"],
        "luca.neri@perito.it"
    );
    assert_eq!(
        expert["participants"][0]["sources"][0]["kind"],
        "CONNECTOR_IMPORT"
    );
    let weekly: Vec<&Value> = list
        .iter()
        .filter(|c| c["subject"] == "Punto settimanale")
        .collect();
    assert_eq!(weekly.len(), 3, "{list:#?}");
    assert!(weekly
        .iter()
        .all(|c| c["direction"] == "INTERNAL" && c["participants"] == json!([])));
    // Mario and the expert; nobody of the firm.
    assert_eq!(count_rows(&app).await, (5, 2));

    // The matter's timeline shows its two meetings.
    let matter = app
        .data(
            "{ matters(first: 5) { nodes { timeline(first: 10) { nodes { __typename ... on Communication { subject channel } } } } } }",
            json!({}),
        )
        .await;
    let timeline = matter["matters"]["nodes"][0]["timeline"]["nodes"]
        .as_array()
        .expect("timeline")
        .clone();
    let mut subjects: Vec<&str> = timeline
        .iter()
        .filter(|n| n["channel"] == "MEETING")
        .filter_map(|n| n["subject"].as_str())
        .collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        ["Riunione con il cliente", "Sopralluogo con il perito"],
        "{matter:#}"
    );

    // A re-run changes nothing.
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(count_rows(&app).await, (5, 2));

    // Moved and renamed upstream: the same communication follows; deleted upstream: gone.
    server
        .put_event(
            "expert.ics",
            &event_ics(
                "meet-expert",
                "Sopralluogo rinviato",
                &at(9),
                &format!("{rossi}ATTENDEE;CN=Luca Neri:mailto:luca.neri@perito.it\r\n"),
            ),
        )
        .await;
    server.delete_event("client.ics").await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 1, 1, 0, 0], "{run:#}");
    let list = communications(&app).await;
    assert_eq!(list.len(), 4, "{list:#?}");
    let moved = by_subject(&list, "Sopralluogo rinviato");
    assert_eq!(moved["id"], expert["id"]);
    assert!(list
        .iter()
        .all(|c| c["subject"] != "Riunione con il cliente"));

    // A sync-token the server refuses: a full resync that creates nothing twice.
    app.db
        .run(|c| {
            diesel::update(sync_cursors::table.filter(sync_cursors::stream.eq("events")))
                .set(sync_cursors::cursor.eq("http://radicale.org/ns/sync/0000deadbeef"))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("cursor spoiled");
    let run = sync(&app, &id).await;
    assert_eq!(run["fullSync"], true, "{run:#}");
    assert_eq!(counts(&run), [0, 0, 0, 4, 0], "{run:#}");
    assert_eq!(count_rows(&app).await, (4, 2));
}

/// A calendar over HTTPS whose certificate the firm's own CA issued: refused with a clear
/// error until the instance trusts that CA (`caCertificate`, validated on input), then synced.
async fn a_calendar_over_tls_needs_its_ca_certificate(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = DavServer::start_tls(DavServerKind::Radicale).await;
    let ca = server.ca_pem.clone().expect("the test CA");
    assert!(server.calendar_url.starts_with("https://"));
    server
        .put_event(
            "client.ics",
            &event_ics(
                "meet-tls",
                "Riunione sicura",
                &at(2),
                "ORGANIZER:mailto:avv.rossi@studiorossi.it\r\nATTENDEE:mailto:collega@studiorossi.it\r\n",
            ),
        )
        .await;
    let input = |extra: Value| {
        let mut input = json!({
            "name": "agenda-tls",
            "kind": "caldav",
            "baseUrl": server.calendar_url,
            "username": USER,
            "password": PASSWORD,
            "ownDomains": ["studiorossi.it"],
        });
        if let (Some(input), Value::Object(extra)) = (input.as_object_mut(), extra) {
            input.extend(extra);
        }
        json!({ "input": input })
    };
    // Not a certificate: refused on input, naming the field.
    let error = app
        .error(CREATE, input(json!({ "caCertificate": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n" })))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert!(
        error.to_string().contains("input.caCertificate"),
        "{error:#}"
    );
    let error = app
        .error(CREATE, input(json!({ "caCertificate": "no PEM at all" })))
        .await;
    assert!(
        error.to_string().contains("input.caCertificate"),
        "{error:#}"
    );

    // Without the CA: the server is not trusted, and the run says what to do.
    let data = app.data(CREATE, input(json!({}))).await;
    let id = data["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    let message = run["errors"][0]["message"].as_str().expect("error");
    assert!(
        message.contains("not trusted") && message.contains("caCertificate"),
        "{message}"
    );
    assert_eq!(count_rows(&app).await, (0, 0));

    // The instance trusts the firm's CA: the calendar syncs.
    let updated = app
        .data(
            "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { caCertificate } } }",
            json!({ "input": { "id": id, "caCertificate": ca } }),
        )
        .await;
    assert_eq!(
        updated["updateConnectorInstance"]["connectorInstance"]["caCertificate"],
        json!(ca.trim())
    );
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [1, 0, 0, 0, 0], "{run:#}");
    by_subject(&communications(&app).await, "Riunione sicura");

    // Another CA (the server's certificate is not one it issued) is no substitute.
    let other = DavServer::start_tls(DavServerKind::Radicale).await;
    let other_ca = other.ca_pem.clone().expect("another CA");
    drop(other);
    app.data(
        "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { id } } }",
        json!({ "input": { "id": id, "caCertificate": other_ca } }),
    )
    .await;
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    assert!(
        run["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not trusted")),
        "{run:#}"
    );
}

on_both_backends!(
    meetings_are_imported_from_radicale,
    a_calendar_over_tls_needs_its_ca_certificate,
);
