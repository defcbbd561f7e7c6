//! Deadlines and hearings pushed by the sync engine to a real Radicale and a real Xandikos, on
//! both backends: which deadlines an instance covers (its `deadlineUsers`), stable UIDs, a
//! re-run that sends nothing, an update, a 412 after an edit in the calendar (left alone), a
//! completed, deleted or edited deadline's event, and a refused sync-token (full resync,
//! nothing twice).

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use lexgate::db::schema::{deadline_pushes, sync_cursors};
use lexgate_connectors::dav_servers::{event_ics, DavServer, DavServerKind, PASSWORD, USER};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::mail::count_rows;
use crate::sync::start_sealing_secrets;

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id deadlineUsers } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated deleted skipped failed pushed pushRemoved pushConflicts errors { externalId message } } } }";
const ADD_DEADLINE: &str =
    "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }";
const UPDATE_DEADLINE: &str =
    "mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { id } } }";

const ROSSI: &str = "avv.rossi@studiorossi.it";

async fn sync(app: &TestApp, id: &str) -> Value {
    let run = app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    run
}

/// pushed, pushRemoved, pushConflicts, failed
fn pushes(run: &Value) -> [i64; 4] {
    ["pushed", "pushRemoved", "pushConflicts", "failed"].map(|k| run[k].as_i64().unwrap_or(-1))
}

async fn add_deadline(app: &TestApp, input: Value) -> String {
    app.data(ADD_DEADLINE, json!({ "input": input })).await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

fn due(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

/// The push rows: deadline id → (resource name, outcome).
async fn push_rows(app: &TestApp) -> BTreeMap<String, (String, String)> {
    app.db
        .run(|c| {
            Ok(deadline_pushes::table
                .select((
                    deadline_pushes::deadline_id,
                    deadline_pushes::external_id,
                    deadline_pushes::outcome,
                ))
                .load::<(String, String, String)>(c)?)
        })
        .await
        .expect("push rows")
        .into_iter()
        .map(|(deadline, href, outcome)| {
            let name = href.rsplit('/').next().unwrap_or_default().to_owned();
            (deadline, (name, outcome))
        })
        .collect()
}

/// The resource of the deadline titled so at the server, with its body and ETag.
async fn event_of(
    server: &DavServer,
    rows: &BTreeMap<String, (String, String)>,
    title: &str,
) -> Option<(String, String, String)> {
    for (name, _) in rows.values() {
        if let Some((body, etag)) = server.get_event(name).await {
            if body.contains(&format!("SUMMARY:{title}\r\n")) {
                return Some((name.clone(), body, etag));
            }
        }
    }
    None
}

async fn deadlines_reach_the_calendar(backend: Backend, kind: DavServerKind) {
    let app = start_sealing_secrets(backend).await;
    let server = DavServer::start(kind).await;
    let name = kind.name();
    let rossi = create_user(&app, ROSSI, "lawyer").await;
    let team = create_user(&app, "avv.verdi@studiorossi.it", "lawyer").await;
    let client = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    let matter = create_matter(
        &app,
        "2026/031",
        &client,
        json!({ "responsibleUserId": rossi }),
    )
    .await;
    let other_matter = create_matter(&app, "2026/032", &client, json!({})).await;
    // Covered: assigned to Rossi, or of the matter he is responsible for.
    let hearing = add_deadline(
        &app,
        json!({ "title": "Udienza Bianchi", "kind": "HEARING", "dueAt": due(10),
                "matterId": other_matter, "assigneeUserIds": [rossi] }),
    )
    .await;
    let term = add_deadline(
        &app,
        json!({ "title": "Termine memoria 183", "kind": "COURT_DEADLINE", "dueAt": due(20),
                "matterId": matter, "description": "Seconda memoria" }),
    )
    .await;
    let filing = add_deadline(
        &app,
        json!({ "title": "Deposito note", "kind": "FILING", "dueAt": due(30),
                "assigneeUserIds": [rossi] }),
    )
    .await;
    // Not covered: an internal task, another lawyer's hearing, one long past the window.
    add_deadline(
        &app,
        json!({ "title": "Riordino archivio", "kind": "INTERNAL_TASK", "dueAt": due(5),
                "assigneeUserIds": [rossi] }),
    )
    .await;
    add_deadline(
        &app,
        json!({ "title": "Udienza altrui", "kind": "HEARING", "dueAt": due(6),
                "assigneeUserIds": [team] }),
    )
    .await;
    add_deadline(
        &app,
        json!({ "title": "Udienza passata", "kind": "HEARING", "dueAt": due(-200),
                "assigneeUserIds": [rossi] }),
    )
    .await;
    // An ordinary meeting in the calendar, imported as a communication.
    let at = (Utc::now() + Duration::days(3))
        .format("%Y%m%dT100000Z")
        .to_string();
    server
        .put_event(
            "client.ics",
            &event_ics(
                "meet-client",
                "Riunione Bianchi",
                &at,
                "ORGANIZER:mailto:avv.rossi@studiorossi.it\r\nATTENDEE:mailto:mario.bianchi@cliente.it\r\n",
            ),
        )
        .await;
    lia(&app, &["matter_handling"], "APPROVED").await;

    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "agenda-rossi",
                "kind": "caldav",
                "baseUrl": server.calendar_url,
                "username": USER,
                "password": PASSWORD,
                "ownDomains": ["studiorossi.it"],
                "deadlineUsers": ["Avv.Rossi@StudioRossi.it"],
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["deadlineUsers"], json!([ROSSI]));
    let id = instance["id"].as_str().expect("id").to_owned();

    // First run: the meeting comes in, the three covered deadlines go out.
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [3, 0, 0, 0], "{name}: {run:#}");
    assert_eq!(run["created"], 1, "{name}: {run:#}");
    let rows = push_rows(&app).await;
    assert_eq!(rows.len(), 3, "{name}: {rows:?}");
    for (deadline, (resource, outcome)) in &rows {
        // Stable UIDs: the resource is named after lexgate's id, and so is the UID.
        assert_eq!(resource, &format!("lexgate-deadline-{deadline}.ics"));
        assert_eq!(outcome, "created");
        let (body, _) = server.get_event(resource).await.expect("event there");
        assert!(
            body.contains(&format!("UID:lexgate-deadline-{deadline}")),
            "{body}"
        );
    }
    let (_, body, term_etag) = event_of(&server, &rows, "Termine memoria 183")
        .await
        .expect("the matter's deadline");
    assert!(body.contains("Matter 2026/031"), "{name}: {body}");
    for title in ["Riordino archivio", "Udienza altrui", "Udienza passata"] {
        assert!(event_of(&server, &rows, title).await.is_none(), "{title}");
    }
    let etags: Vec<String> = {
        let mut etags = Vec::new();
        for (resource, _) in rows.values() {
            etags.push(server.get_event(resource).await.expect("event").1);
        }
        etags
    };

    // A re-run sends nothing and changes nothing, and pulls none of lexgate's own events back.
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 0, 0, 0], "{name}: {run:#}");
    assert_eq!(
        ["created", "updated", "deleted"].map(|k| run[k].as_i64()),
        [Some(0); 3],
        "{name}: {run:#}"
    );
    let mut again = Vec::new();
    for (resource, _) in rows.values() {
        again.push(server.get_event(resource).await.expect("event").1);
    }
    assert_eq!(again, etags, "{name}");
    assert_eq!(count_rows(&app).await, (1, 1), "{name}");

    // Changed in lexgate: updated with If-Match.
    app.data(
        UPDATE_DEADLINE,
        json!({ "input": { "id": hearing, "title": "Udienza Bianchi (rinviata)" } }),
    )
    .await;
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [1, 0, 0, 0], "{name}: {run:#}");
    assert!(event_of(&server, &rows, "Udienza Bianchi (rinviata)")
        .await
        .is_some());

    // Edited in the calendar app, then changed in lexgate: the 412 is followed by a re-read,
    // and the edit is left alone; nothing is sent again while lexgate's version stays.
    let (term_resource, body, _) = event_of(&server, &rows, "Termine memoria 183")
        .await
        .expect("event");
    let edited = body.replace(
        "SUMMARY:Termine memoria 183",
        "SUMMARY:Termine memoria (aula 3)",
    );
    server.put_event(&term_resource, &edited).await;
    let (_, edited_etag) = server.get_event(&term_resource).await.expect("event");
    assert_ne!(edited_etag, term_etag);
    app.data(
        UPDATE_DEADLINE,
        json!({ "input": { "id": term, "title": "Termine memoria 183 (prorogato)" } }),
    )
    .await;
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 0, 1, 0], "{name}: {run:#}");
    let (body, etag) = server.get_event(&term_resource).await.expect("event");
    assert!(body.contains("(aula 3)"), "{name}: overwritten: {body}");
    assert_eq!(etag, edited_etag);
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 0, 0, 0], "{name}: {run:#}");

    // Completed in lexgate: its event goes (DELETE with If-Match).
    app.data(
        UPDATE_DEADLINE,
        json!({ "input": { "id": hearing, "status": "DONE" } }),
    )
    .await;
    // Edited in the calendar app and then deleted in lexgate without lexgate seeing the
    // edit: the DELETE meets a 412, the re-read finds the edit, and the event stays.
    let (filing_resource, body, _) = event_of(&server, &rows, "Deposito note")
        .await
        .expect("event");
    server
        .put_event(
            &filing_resource,
            &body.replace(
                "SUMMARY:Deposito note",
                "SUMMARY:Deposito note (portare copia)",
            ),
        )
        .await;
    app.data(
        "mutation($id: ID!) { deleteDeadline(input: { id: $id }) { deletedId } }",
        json!({ "id": filing }),
    )
    .await;
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 1, 1, 0], "{name}: {run:#}");
    assert!(event_of(&server, &rows, "Udienza Bianchi (rinviata)")
        .await
        .is_none());
    assert!(server.get_event(&filing_resource).await.is_some(), "{name}");
    let mut outcomes: Vec<String> = push_rows(&app).await.into_values().map(|r| r.1).collect();
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["conflict", "kept", "removed"], "{name}");
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 0, 0, 0], "{name}: {run:#}");

    // A sync-token the server refuses: a full resync that imports nothing twice and pushes
    // nothing again.
    let spoiled = match kind {
        DavServerKind::Radicale => "http://radicale.org/ns/sync/0000deadbeef".to_owned(),
        DavServerKind::Xandikos => "deadbeef".repeat(5),
    };
    app.db
        .run(move |c| {
            diesel::update(sync_cursors::table.filter(sync_cursors::stream.eq("events")))
                .set(sync_cursors::cursor.eq(spoiled))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("cursor spoiled");
    let run = sync(&app, &id).await;
    assert_eq!(run["fullSync"], true, "{name}: {run:#}");
    assert_eq!(run["created"], 0, "{name}: {run:#}");
    assert_eq!(run["deleted"], 0, "{name}: {run:#}");
    assert_eq!(pushes(&run), [0, 0, 0, 0], "{name}: {run:#}");
    assert_eq!(count_rows(&app).await, (1, 1), "{name}");
    assert_eq!(push_rows(&app).await.len(), 3, "{name}");
}

async fn deadlines_reach_radicale(backend: Backend) {
    deadlines_reach_the_calendar(backend, DavServerKind::Radicale).await;
}

async fn deadlines_reach_xandikos(backend: Backend) {
    deadlines_reach_the_calendar(backend, DavServerKind::Xandikos).await;
}

crate::on_both_backends!(deadlines_reach_radicale, deadlines_reach_xandikos);
