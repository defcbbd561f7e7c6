//! Seeding into temporary SQLite databases.

use std::sync::{Arc, Mutex};

use diesel::prelude::*;

use super::*;
use crate::db::schema::{campaigns, communications, contacts, deadlines, matters, teams, users};
use crate::db::Database;
use crate::error::Error;

struct TempDb {
    db: Database,
    // Keeps the directory (and the database file) alive for the test.
    _dir: tempfile::TempDir,
}

async fn temp_db() -> TempDb {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("seed.db");
    let db = Database::connect(&format!("sqlite://{}", path.display()), 4, true)
        .await
        .expect("database");
    TempDb { db, _dir: dir }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// What the tables hold, in the summary's shape.
async fn table_counts(db: &Database) -> SeedSummary {
    db.run(|conn| {
        Ok(SeedSummary {
            users: count(users::table.count().get_result(conn)?),
            teams: count(teams::table.count().get_result(conn)?),
            contacts: count(contacts::table.count().get_result(conn)?),
            matters: count(matters::table.count().get_result(conn)?),
            communications: count(communications::table.count().get_result(conn)?),
            deadlines: count(deadlines::table.count().get_result(conn)?),
            campaigns: count(campaigns::table.count().get_result(conn)?),
        })
    })
    .await
    .expect("counts")
}

/// Contact names and matter titles in creation order (UUIDv7 keys sort by creation).
async fn contents(db: &Database) -> (Vec<String>, Vec<String>) {
    db.run(|conn| {
        let names = contacts::table
            .select(contacts::display_name)
            .order(contacts::id)
            .load(conn)?;
        let titles = matters::table
            .select(matters::title)
            .order(matters::id)
            .load(conn)?;
        Ok((names, titles))
    })
    .await
    .expect("contents")
}

#[tokio::test]
async fn demo_seeds_what_it_promises_once_and_deterministically() {
    let first = temp_db().await;
    let summary = demo(&first.db).await.expect("demo");
    assert_eq!(summary, DEMO_COUNTS);
    assert_eq!(table_counts(&first.db).await, DEMO_COUNTS);
    assert_eq!(
        summary.to_string(),
        "12 users, 4 teams, 300 contacts, 80 matters, 600 communications, 200 deadlines, 3 campaigns"
    );

    let again = demo(&first.db).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    assert_eq!(table_counts(&first.db).await, DEMO_COUNTS);

    let second = temp_db().await;
    demo(&second.db).await.expect("demo in a second database");
    assert_eq!(contents(&first.db).await, contents(&second.db).await);
}

#[tokio::test]
async fn synthetic_writes_exact_counts_and_reports_progress() {
    let target = temp_db().await;
    let sizes = SyntheticSizes {
        contacts: 200,
        matters: 20,
        communications: 100,
        deadlines: 50,
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    let summary = synthetic(&target.db, sizes, 7, move |n| {
        if let Ok(mut values) = recorder.lock() {
            values.push(n);
        }
    })
    .await
    .expect("synthetic");

    let expected = SeedSummary {
        users: 12,
        teams: 4,
        contacts: 200,
        matters: 20,
        communications: 100,
        deadlines: 50,
        campaigns: 0,
    };
    assert_eq!(summary, expected);
    assert_eq!(table_counts(&target.db).await, expected);
    let values = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    assert_eq!(values.last().copied(), Some(sizes.total()));
    assert_eq!(sizes.total(), 370);

    // The same seed again would repeat the set's staff: refused before anything is written.
    let again = synthetic(&target.db, sizes, 7, |_| {}).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    // Another seed coexists with the first.
    synthetic(&target.db, sizes, 8, |_| {})
        .await
        .expect("second seed");
    assert_eq!(table_counts(&target.db).await.contacts, 400);
}

#[tokio::test]
async fn synthetic_commits_in_batches_of_a_thousand() {
    let target = temp_db().await;
    let sizes = SyntheticSizes {
        contacts: 1500,
        matters: 0,
        communications: 0,
        deadlines: 10,
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    synthetic(&target.db, sizes, 3, move |n| {
        if let Ok(mut values) = recorder.lock() {
            values.push(n);
        }
    })
    .await
    .expect("synthetic");
    let values = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(values, vec![1000, 1500, 1510]);
    assert_eq!(table_counts(&target.db).await.contacts, 1500);
}

#[tokio::test]
async fn synthetic_is_deterministic_per_seed() {
    let sizes = SyntheticSizes {
        contacts: 150,
        matters: 10,
        communications: 20,
        deadlines: 10,
    };
    let (a, b, c) = (temp_db().await, temp_db().await, temp_db().await);
    synthetic(&a.db, sizes, 42, |_| {})
        .await
        .expect("first run");
    synthetic(&b.db, sizes, 42, |_| {})
        .await
        .expect("second run");
    synthetic(&c.db, sizes, 43, |_| {})
        .await
        .expect("other seed");
    let (names_a, titles_a) = contents(&a.db).await;
    let (names_b, titles_b) = contents(&b.db).await;
    assert_eq!(names_a.len(), 150);
    assert_eq!(names_a, names_b);
    assert_eq!(titles_a, titles_b);
    assert_ne!(names_a, contents(&c.db).await.0);
}

#[tokio::test]
async fn synthetic_refuses_matters_without_contacts() {
    let target = temp_db().await;
    let sizes = SyntheticSizes {
        contacts: 0,
        matters: 5,
        communications: 0,
        deadlines: 0,
    };
    let result = synthetic(&target.db, sizes, 1, |_| {}).await;
    assert!(matches!(result, Err(Error::Validation(_))), "{result:?}");
    assert_eq!(table_counts(&target.db).await, SeedSummary::default());
}

#[test]
fn summary_reads_naturally() {
    let one = SeedSummary {
        users: 1,
        ..SeedSummary::default()
    };
    assert_eq!(
        one.to_string(),
        "1 user, 0 teams, 0 contacts, 0 matters, 0 communications, 0 deadlines, 0 campaigns"
    );
    assert_eq!(DEMO_COUNTS.total(), 1199);
}
