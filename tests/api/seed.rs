//! The synthetic seed (the benchmark's data) on both backends: communications and deadlines
//! validated and written in multi-row batches, every contact with its acquisition source, all
//! readable through the API.

use diesel::prelude::*;
use lexgate::db::schema::{contact_sources, contacts};
use lexgate::seed::{synthetic, SyntheticSizes};
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const SIZES: SyntheticSizes = SyntheticSizes {
    contacts: 300,
    matters: 20,
    communications: 200,
    deadlines: 100,
};

async fn synthetic_seed_writes_in_batches_and_reads_back(backend: Backend) {
    let app = TestApp::start(backend).await;
    let before = app.db.statement_count();
    let summary = synthetic(&app.db, SIZES, 5, |_| {}).await.expect("seeded");
    let small = app.db.statement_count() - before;
    assert_eq!(summary.contacts, 300);
    // Six times the communications and deadlines, in another set beside the first: written
    // one by one they would cost thousands more statements (a communication writes two
    // tables, a deadline four); in batches of 1000 records, a handful more per batch.
    let larger = SyntheticSizes {
        communications: 1200,
        deadlines: 600,
        ..SIZES
    };
    let before = app.db.statement_count();
    synthetic(&app.db, larger, 6, |_| {})
        .await
        .expect("second set");
    let large = app.db.statement_count() - before;
    assert!(
        large < small + 1000,
        "{large} statements against {small}: communications and deadlines not written in batches"
    );

    let data = app
        .data(
            r#"{
              contacts(first: 1) { totalCount }
              matters(first: 1) { totalCount }
              communications(first: 1) { totalCount nodes { participants { id } } }
              open: deadlines(filter: { statuses: [OPEN] }) { totalCount }
              done: deadlines(filter: { statuses: [DONE] }, first: 1) {
                totalCount nodes { completedAt reminderOffsets assignedUsers { id } }
              }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["totalCount"], 600);
    assert_eq!(data["matters"]["totalCount"], 40);
    assert_eq!(data["communications"]["totalCount"], 1400);
    assert!(!data["communications"]["nodes"][0]["participants"]
        .as_array()
        .expect("participants")
        .is_empty());
    let open = data["open"]["totalCount"].as_i64().expect("open count");
    let done = data["done"]["totalCount"].as_i64().expect("done count");
    assert!(
        open > 0 && done > 0 && open + done <= 700,
        "{open} open, {done} done"
    );
    let finished = &data["done"]["nodes"][0];
    assert!(finished["completedAt"].is_string(), "{finished}");
    assert!(!finished["reminderOffsets"]
        .as_array()
        .expect("offsets")
        .is_empty());
    assert!(!finished["assignedUsers"]
        .as_array()
        .expect("users")
        .is_empty());

    let without_source: i64 = app
        .db
        .run(|conn| {
            Ok(contacts::table
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    contact_sources::table.filter(contact_sources::contact_id.eq(contacts::id)),
                )))
                .count()
                .get_result(conn)?)
        })
        .await
        .expect("count");
    assert_eq!(
        without_source, 0,
        "every seeded contact has an acquisition source"
    );
}

on_both_backends!(synthetic_seed_writes_in_batches_and_reads_back);
