//! The GDPR access log's storage: group-committed appends, DPO queries, the append-only guard
//! and the hash chain that `lexgate audit verify` checks.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use lexgate::audit::{
    breach_scope, count_entries, list_entries, verify_chain, AccessAction, AccessEntry, AccessLog,
    AccessLogFilter, BreachScope, VerifyOutcome,
};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(kind, id)| ((*kind).to_owned(), (*id).to_owned()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn entry(principal: &str, time: &str, fields: &[&str], subjects: &[&str]) -> AccessEntry {
    AccessEntry {
        occurred_at: at(time),
        principal_kind: "user".to_owned(),
        principal_id: principal.to_owned(),
        role: "lawyer".to_owned(),
        operation_name: Some("ContactPage".to_owned()),
        client_address: Some("10.0.0.7".to_owned()),
        user_agent: Some("Mozilla/5.0".to_owned()),
        action: AccessAction::Read,
        fields: strings(fields),
        subjects: strings(subjects),
    }
}

/// Three entries by two principals over three days.
async fn append_sample(log: &AccessLog) {
    log.append(vec![
        entry(
            "anna",
            "2026-03-01 09:00:00",
            &["Contact.pec", "Contact.displayName", "Contact.pec"],
            &["c2", "c1", "c2"],
        ),
        AccessEntry {
            action: AccessAction::Write,
            operation_name: None,
            client_address: None,
            user_agent: None,
            ..entry("anna", "2026-03-02 09:00:00", &["Contact.notes"], &["c3"])
        },
    ])
    .await
    .expect("appended");
    log.append(vec![AccessEntry {
        principal_kind: "api_key".to_owned(),
        role: "integration".to_owned(),
        ..entry(
            "key-1",
            "2026-03-03 09:00:00.123456",
            &["Contact.codiceFiscale"],
            &["c1"],
        )
    }])
    .await
    .expect("appended");
}

async fn list(app: &TestApp, filter: AccessLogFilter, offset: i64, limit: i64) -> Vec<i64> {
    app.db
        .run(move |c| list_entries(c, &filter, offset, limit))
        .await
        .expect("listed")
        .iter()
        .map(|e| e.seq)
        .collect()
}

async fn count(app: &TestApp, filter: AccessLogFilter) -> i64 {
    app.db
        .run(move |c| count_entries(c, &filter))
        .await
        .expect("counted")
}

async fn verify(app: &TestApp) -> VerifyOutcome {
    app.db.run(verify_chain).await.expect("verified")
}

async fn sql(app: &TestApp, statements: &str) -> Result<(), String> {
    let statements = statements.to_owned();
    app.db
        .run(move |c| Ok(c.batch_execute(&statements)?))
        .await
        .map_err(|e| e.to_string())
}

/// Removes the append-only guard, as someone with DDL rights could.
async fn drop_guards(app: &TestApp, backend: Backend) {
    let statements = match backend {
        Backend::Postgres => {
            "ALTER TABLE access_log DISABLE TRIGGER USER; \
             ALTER TABLE access_log_subject_sets DISABLE TRIGGER USER;"
        }
        Backend::Sqlite => {
            "DROP TRIGGER access_log_no_update; DROP TRIGGER access_log_no_delete; \
             DROP TRIGGER access_log_subject_sets_no_update; \
             DROP TRIGGER access_log_subject_sets_no_delete;"
        }
    };
    sql(app, statements).await.expect("guards dropped");
}

async fn appended_entries_are_stored_and_listed_by_filter(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    log.append(Vec::new()).await.expect("nothing to append");
    assert_eq!(log.batches_written(), 0);
    append_sample(&log).await;

    let all = app
        .db
        .run(|c| list_entries(c, &AccessLogFilter::default(), 0, 10))
        .await
        .expect("listed");
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2, 1]);
    let first = &all[2];
    // Fields and subjects come back sorted and deduplicated.
    assert_eq!(
        first.entry,
        entry(
            "anna",
            "2026-03-01 09:00:00",
            &["Contact.displayName", "Contact.pec"],
            &["c1", "c2"],
        )
    );
    assert_eq!(first.prev_hash, "0".repeat(64));
    assert_eq!(all[1].prev_hash, first.hash);
    assert_eq!(all[1].entry.action, AccessAction::Write);
    assert_eq!(all[1].entry.operation_name, None);
    assert_eq!(all[0].entry.occurred_at, at("2026-03-03 09:00:00.123456"));
    assert_eq!(all[0].entry.principal_kind, "api_key");

    let by_subject = AccessLogFilter {
        subject: Some("c1".to_owned()),
        ..AccessLogFilter::default()
    };
    assert_eq!(list(&app, by_subject.clone(), 0, 10).await, [3, 1]);
    assert_eq!(count(&app, by_subject).await, 2);
    let by_principal = AccessLogFilter {
        principal_id: Some("anna".to_owned()),
        ..AccessLogFilter::default()
    };
    assert_eq!(list(&app, by_principal.clone(), 0, 10).await, [2, 1]);
    assert_eq!(count(&app, by_principal).await, 2);
    // `from` inclusive, `to` exclusive.
    let window = AccessLogFilter {
        from: Some(at("2026-03-02 09:00:00")),
        to: Some(at("2026-03-03 09:00:00.123456")),
        ..AccessLogFilter::default()
    };
    assert_eq!(list(&app, window.clone(), 0, 10).await, [2]);
    assert_eq!(count(&app, window).await, 1);
    let combined = AccessLogFilter {
        subject: Some("c1".to_owned()),
        principal_id: Some("anna".to_owned()),
        from: Some(at("2026-03-01 00:00:00")),
        to: None,
    };
    assert_eq!(list(&app, combined, 0, 10).await, [1]);

    assert_eq!(list(&app, AccessLogFilter::default(), 1, 1).await, [2]);
    assert_eq!(
        list(&app, AccessLogFilter::default(), 3, 10).await,
        [] as [i64; 0]
    );
    assert_eq!(count(&app, AccessLogFilter::default()).await, 3);
    assert_eq!(log.batches_written(), 2);
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 3 });
}

async fn concurrent_appends_are_group_committed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                let subject = format!("c{i}");
                log.append(vec![
                    entry("anna", "2026-03-01 09:00:00", &["Contact.pec"], &[&subject]),
                    entry(
                        "anna",
                        "2026-03-01 09:00:01",
                        &["Contact.notes"],
                        &[&subject],
                    ),
                ])
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task ran").expect("appended");
    }
    let batches = log.batches_written();
    println!("{batches} batches for 50 requests");
    assert!(batches < 50, "{batches} batches for 50 requests");
    assert_eq!(count(&app, AccessLogFilter::default()).await, 100);
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 100 });
}

/// More rows than one statement may bind: 3000 entries (13 values each) and an entry with
/// 20000 subjects (2 values each) are split into several INSERTs within one transaction.
async fn large_batches_stay_under_the_bind_parameter_limit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    let many: Vec<AccessEntry> = (0..3000)
        .map(|i| {
            entry(
                "anna",
                "2026-03-01 09:00:00",
                &["Contact.pec"],
                &[&format!("c{i}")],
            )
        })
        .collect();
    let before = app.db.statement_count();
    log.append(many).await.expect("3000 entries appended");
    // Multi-row INSERTs, not one per row: lock and read the head, which of the 3000 new
    // subject sets are stored, one INSERT of their contacts, two INSERTs into access_log,
    // move the head, and the transaction's own two.
    let statements = app.db.statement_count() - before;
    assert!(statements <= 8, "{statements} statements for 3000 entries");
    let subjects: Vec<String> = (0..20_000).map(|i| format!("c{i:05}")).collect();
    let wide = AccessEntry {
        subjects,
        ..entry(
            "bruno",
            "2026-03-02 09:00:00",
            &["Contact.displayName"],
            &[],
        )
    };
    log.append(vec![wide])
        .await
        .expect("20000 subjects appended");
    assert_eq!(log.batches_written(), 2);
    assert_eq!(count(&app, AccessLogFilter::default()).await, 3001);
    let scope = app
        .db
        .run(|c| {
            breach_scope(
                c,
                &AccessLogFilter {
                    principal_id: Some("bruno".to_owned()),
                    ..AccessLogFilter::default()
                },
            )
        })
        .await
        .expect("scoped");
    assert_eq!(scope.subjects.len(), 20_000);
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 3001 });
}

async fn subject_rows(app: &TestApp) -> i64 {
    app.db
        .run(|c| {
            use diesel::prelude::*;
            use lexgate::db::schema::access_log_subject_sets;
            Ok(access_log_subject_sets::table
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .expect("counted")
}

/// A set of data subjects is stored once, however many entries name it; a batch whose sets
/// are all stored costs four statements (begin, move the head on from where the writer left
/// it, insert the entries, commit), and a writer that has not seen a stored set (another
/// server, or after a restart) finds it rather than storing it twice.
async fn repeated_subject_sets_are_stored_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    let page: Vec<String> = (0..1000).map(|i| format!("c{i:04}")).collect();
    let read_page = |time: &str| AccessEntry {
        subjects: page.clone(),
        ..entry("anna", time, &["Contact.displayName"], &[])
    };
    log.append(vec![read_page("2026-03-01 09:00:00")])
        .await
        .expect("appended");
    assert_eq!(subject_rows(&app).await, 1000);
    let before = app.db.statement_count();
    log.append(vec![
        read_page("2026-03-01 09:00:01"),
        read_page("2026-03-01 09:00:02"),
    ])
    .await
    .expect("appended");
    assert_eq!(app.db.statement_count() - before, 4);
    assert_eq!(subject_rows(&app).await, 1000);

    let restarted = AccessLog::start(app.db.clone());
    restarted
        .append(vec![
            read_page("2026-03-01 09:00:03"),
            entry("anna", "2026-03-01 09:00:04", &["Contact.pec"], &["c0001"]),
        ])
        .await
        .expect("appended after a restart");
    assert_eq!(subject_rows(&app).await, 1001);

    let by_subject = AccessLogFilter {
        subject: Some("c0001".to_owned()),
        ..AccessLogFilter::default()
    };
    assert_eq!(list(&app, by_subject.clone(), 0, 10).await, [5, 4, 3, 2, 1]);
    let by_other = AccessLogFilter {
        subject: Some("c0999".to_owned()),
        ..AccessLogFilter::default()
    };
    assert_eq!(list(&app, by_other, 0, 10).await, [4, 3, 2, 1]);
    let listed = app
        .db
        .run(move |c| list_entries(c, &by_subject, 0, 10))
        .await
        .expect("listed");
    assert_eq!(listed[1].entry.subjects, page);
    assert_eq!(listed[0].entry.subjects, strings(&["c0001"]));
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 5 });
}

/// Two servers on one database (two pools, two writers) append in one chain: each batch
/// locks the head before reading it.
async fn writers_sharing_a_database_append_in_one_order(backend: Backend) {
    let app = TestApp::start(backend).await;
    let other = lexgate::db::Database::connect(&app.database_url, 2, false)
        .await
        .expect("second pool");
    let logs = [AccessLog::start(app.db.clone()), AccessLog::start(other)];
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let log = logs[i % 2].clone();
            tokio::spawn(async move {
                let subject = format!("c{i}");
                log.append(vec![entry(
                    "anna",
                    "2026-03-01 09:00:00",
                    &["Contact.pec"],
                    &[&subject],
                )])
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task ran").expect("appended");
    }
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 40 });
}

/// A writer hashes its batch onto the head it last left; when another writer (a second
/// server, or a change's entry committed with the change) moved the head since, the writer
/// finds the head moved, locks and reads it, and chains its batch after the other's entries.
async fn a_writer_finds_the_head_another_moved(backend: Backend) {
    let app = TestApp::start(backend).await;
    let other = lexgate::db::Database::connect(&app.database_url, 2, false)
        .await
        .expect("second pool");
    let (first, second) = (AccessLog::start(app.db.clone()), AccessLog::start(other));
    let append = |log: &AccessLog, subject: &'static str| {
        let log = log.clone();
        async move {
            log.append(vec![entry(
                "anna",
                "2026-03-01 09:00:00",
                &["Contact.pec"],
                &[subject],
            )])
            .await
            .expect("appended");
        }
    };
    append(&first, "c1").await;
    let before = app.db.statement_count();
    append(&first, "c2").await;
    // Begin, move the head on, insert, commit; and the new set's lookup and insert.
    assert_eq!(app.db.statement_count() - before, 6);
    append(&second, "c3").await;
    let before = app.db.statement_count();
    append(&first, "c4").await;
    // The move from where `first` left the head finds it moved: then lock, read and move.
    assert_eq!(app.db.statement_count() - before, 8);
    app.db
        .transaction(|c| {
            lexgate::audit::append_within(
                c,
                vec![entry(
                    "bruno",
                    "2026-03-01 09:00:01",
                    &["Contact.notes"],
                    &["c5"],
                )],
            )
        })
        .await
        .expect("appended within a transaction");
    append(&first, "c6").await;
    append(&first, "c6").await;
    assert_eq!(count(&app, AccessLogFilter::default()).await, 7);
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 7 });
}

async fn the_database_refuses_to_change_the_log(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    for statement in [
        "UPDATE access_log SET role = 'admin' WHERE seq = 1",
        "DELETE FROM access_log WHERE seq = 3",
        "DELETE FROM access_log",
        "UPDATE access_log_subject_sets SET contact_id = 'c9' WHERE contact_id = 'c1'",
        "DELETE FROM access_log_subject_sets WHERE contact_id = 'c1'",
        "DELETE FROM access_log_subject_sets",
    ] {
        let error = sql(&app, statement)
            .await
            .expect_err(&format!("{statement} must be refused"));
        assert!(
            error.contains("access log is append-only"),
            "{statement}: {error}"
        );
    }
    if backend == Backend::Postgres {
        for statement in [
            "TRUNCATE access_log CASCADE",
            "TRUNCATE access_log_subject_sets",
        ] {
            let error = sql(&app, statement)
                .await
                .expect_err(&format!("{statement} must be refused"));
            assert!(error.contains("append-only"), "{statement}: {error}");
        }
    }
    for statement in [
        "UPDATE access_log_head SET seq = 1",
        "DELETE FROM access_log_head",
    ] {
        let error = sql(&app, statement)
            .await
            .expect_err(&format!("{statement} must be refused"));
        assert!(error.contains("only moves forward"), "{statement}: {error}");
    }
    assert_eq!(count(&app, AccessLogFilter::default()).await, 3);
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 3 });
}

async fn a_changed_entry_breaks_the_chain_there(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    drop_guards(&app, backend).await;
    sql(&app, "UPDATE access_log SET role = 'admin' WHERE seq = 2")
        .await
        .expect("tampered");
    let VerifyOutcome::Broken { seq, reason } = verify(&app).await else {
        panic!("tampering not detected");
    };
    assert_eq!(seq, 2, "{reason}");
    assert!(reason.contains("hash"), "{reason}");
}

async fn a_removed_subject_breaks_the_chain(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    drop_guards(&app, backend).await;
    sql(
        &app,
        "DELETE FROM access_log_subject_sets WHERE contact_id = 'c2' AND \
         set_id = (SELECT subject_set FROM access_log WHERE seq = 1)",
    )
    .await
    .expect("tampered");
    let VerifyOutcome::Broken { seq, .. } = verify(&app).await else {
        panic!("tampering not detected");
    };
    assert_eq!(seq, 1);
}

async fn removed_entries_are_detected(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    drop_guards(&app, backend).await;
    // The last entry: only the head still knows it existed.
    sql(&app, "DELETE FROM access_log WHERE seq = 3;")
        .await
        .expect("last entry deleted");
    let VerifyOutcome::Broken { seq, reason } = verify(&app).await else {
        panic!("deleted last entry not detected");
    };
    assert_eq!(seq, 3, "{reason}");
    assert!(reason.contains("missing"), "{reason}");
    // An entry in the middle.
    sql(&app, "DELETE FROM access_log WHERE seq = 1;")
        .await
        .expect("first entry deleted");
    let VerifyOutcome::Broken { seq, .. } = verify(&app).await else {
        panic!("deleted first entry not detected");
    };
    assert_eq!(seq, 1);
}

/// INSERT stays allowed (it is how the log grows), but only together with the head.
async fn an_entry_written_around_the_writer_is_detected(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    sql(
        &app,
        "INSERT INTO access_log (seq, occurred_at, principal_kind, principal_id, role, action, \
         fields, subject_count, prev_hash, hash) \
         VALUES (4, '2026-03-04 09:00:00', 'user', 'mallory', 'admin', 'read', '', 0, 'x', 'y')",
    )
    .await
    .expect("inserted around the writer");
    let VerifyOutcome::Broken { seq, reason } = verify(&app).await else {
        panic!("entry beyond the head not detected");
    };
    assert_eq!(seq, 4, "{reason}");
}

/// Verifying a log that a running server keeps appending to finds it intact every time.
async fn verification_beside_live_appends_finds_the_log_intact(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    let writer = tokio::spawn(async move {
        for i in 0..60 {
            let subject = format!("c{i}");
            log.append(vec![entry(
                "anna",
                "2026-03-01 09:00:00",
                &["Contact.pec"],
                &[&subject],
            )])
            .await
            .expect("appended");
        }
    });
    let mut checks = 0;
    while !writer.is_finished() {
        let outcome = verify(&app).await;
        assert!(
            matches!(outcome, VerifyOutcome::Intact { .. }),
            "{outcome:?}"
        );
        checks += 1;
    }
    writer.await.expect("writer ran");
    assert!(checks > 0);
    assert_eq!(verify(&app).await, VerifyOutcome::Intact { entries: 60 });
}

async fn run_verify_cli(app: &TestApp) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .args(["audit", "verify", "--database-url", &app.database_url])
        .env_remove("DATABASE_URL")
        .env("LEXGATE_LOG", "warn")
        .output()
        .await
        .expect("lexgate runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "unexpected stderr: {stderr}");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn the_cli_verifies_the_chain(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    let (status, stdout) = run_verify_cli(&app).await;
    assert_eq!(status, Some(0), "{stdout}");
    assert_eq!(stdout.trim(), "access log intact: 3 entries");

    drop_guards(&app, backend).await;
    sql(
        &app,
        "UPDATE access_log SET fields = 'Contact.id' WHERE seq = 1",
    )
    .await
    .expect("tampered");
    let (status, stdout) = run_verify_cli(&app).await;
    assert_eq!(status, Some(1), "{stdout}");
    assert_eq!(
        stdout.trim(),
        "access log broken at entry 1: hash does not match the entry's contents"
    );
}

async fn the_cli_tells_an_unreadable_log_from_a_broken_one(backend: Backend) {
    let app = TestApp::start(backend).await;
    sql(&app, "DROP TABLE access_log_head")
        .await
        .expect("head table dropped");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .args(["audit", "verify", "--database-url", &app.database_url])
        .env_remove("DATABASE_URL")
        .env("LEXGATE_LOG", "warn")
        .output()
        .await
        .expect("lexgate runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot verify the access log"), "{stderr}");
}

async fn breach_scope_names_subjects_fields_and_principals(backend: Backend) {
    let app = TestApp::start(backend).await;
    let log = AccessLog::start(app.db.clone());
    append_sample(&log).await;
    let scope = |filter: AccessLogFilter| {
        let db = app.db.clone();
        async move {
            db.run(move |c| breach_scope(c, &filter))
                .await
                .expect("scoped")
        }
    };
    let by_principal = scope(AccessLogFilter {
        principal_id: Some("anna".to_owned()),
        ..AccessLogFilter::default()
    })
    .await;
    assert_eq!(
        by_principal,
        BreachScope {
            entry_count: 2,
            subjects: strings(&["c1", "c2", "c3"]),
            fields: strings(&["Contact.displayName", "Contact.notes", "Contact.pec"]),
            principals: pairs(&[("user", "anna")]),
        }
    );
    let by_window = scope(AccessLogFilter {
        from: Some(at("2026-03-02 00:00:00")),
        to: Some(at("2026-03-04 00:00:00")),
        ..AccessLogFilter::default()
    })
    .await;
    assert_eq!(
        by_window,
        BreachScope {
            entry_count: 2,
            subjects: strings(&["c1", "c3"]),
            fields: strings(&["Contact.codiceFiscale", "Contact.notes"]),
            principals: pairs(&[("api_key", "key-1"), ("user", "anna")]),
        }
    );
    let principal_in_window = scope(AccessLogFilter {
        principal_id: Some("key-1".to_owned()),
        from: Some(at("2026-03-01 00:00:00")),
        to: Some(at("2026-03-04 00:00:00")),
        subject: None,
    })
    .await;
    assert_eq!(principal_in_window.subjects, strings(&["c1"]));
    let nothing = scope(AccessLogFilter {
        from: Some(at("2027-01-01 00:00:00")),
        ..AccessLogFilter::default()
    })
    .await;
    assert_eq!(nothing, BreachScope::default());
}

const CREATE_CONTACT: &str = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id familyName } } }";

fn person(family: &str) -> serde_json::Value {
    crate::fixtures::with_provenance(serde_json::json!({
        "kind": "PERSON", "givenName": "Giulia", "familyName": family, "category": "CLIENT",
    }))
}

async fn contacts_named(app: &TestApp, family: &str) -> Vec<String> {
    let family = family.to_owned();
    app.db
        .run(move |c| {
            use diesel::prelude::*;
            use lexgate::db::schema::contacts;
            Ok(contacts::table
                .filter(contacts::family_name.eq(family))
                .select(contacts::id)
                .load::<String>(c)?)
        })
        .await
        .expect("contacts read")
}

/// The entries that name `contact`, oldest first.
async fn entries_about(app: &TestApp, contact: &str) -> Vec<AccessEntry> {
    let filter = AccessLogFilter {
        subject: Some(contact.to_owned()),
        ..AccessLogFilter::default()
    };
    let mut entries: Vec<_> = app
        .db
        .run(move |c| list_entries(c, &filter, 0, 100))
        .await
        .expect("entries listed")
        .into_iter()
        .map(|stored| stored.entry)
        .collect();
    entries.reverse();
    entries
}

/// The entry of a change is written in the change's transaction: when it cannot be written
/// (here the database refuses write entries, as a crash between two commits would lose it),
/// the change is not committed either, and once it can, change and entry commit together.
async fn a_change_commits_with_its_entry_or_not_at_all(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (refuse, allow) = match backend {
        Backend::Postgres => (
            "CREATE FUNCTION refuse_write_entries() RETURNS trigger AS $$ BEGIN \
               IF NEW.action = 'write' THEN RAISE EXCEPTION 'write entries refused'; END IF; \
               RETURN NEW; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_write_entries BEFORE INSERT ON access_log \
               FOR EACH ROW EXECUTE FUNCTION refuse_write_entries();",
            "DROP TRIGGER refuse_write_entries ON access_log;",
        ),
        Backend::Sqlite => (
            "CREATE TRIGGER refuse_write_entries BEFORE INSERT ON access_log \
               WHEN NEW.action = 'write' BEGIN SELECT RAISE(ABORT, 'write entries refused'); END;",
            "DROP TRIGGER refuse_write_entries;",
        ),
    };
    sql(&app, refuse).await.expect("write entries refused");
    let body = app
        .gql(
            CREATE_CONTACT,
            serde_json::json!({ "input": person("Senzatraccia") }),
        )
        .await;
    assert!(body.get("errors").is_some(), "{body:#}");
    assert_eq!(
        contacts_named(&app, "Senzatraccia").await,
        Vec::<String>::new(),
        "a change was committed without its access-log entry"
    );

    sql(&app, allow).await.expect("write entries allowed");
    let data = app
        .data(
            CREATE_CONTACT,
            serde_json::json!({ "input": person("Tracciata") }),
        )
        .await;
    let id = data["createContact"]["contact"]["id"]
        .as_str()
        .expect("contact id");
    let (_, key) = lexgate::ids::parse(id).expect("a global ID");
    assert_eq!(contacts_named(&app, "Tracciata").await, vec![key.clone()]);
    let entries = entries_about(&app, &key).await;
    let writes: Vec<_> = entries
        .iter()
        .filter(|e| e.action == AccessAction::Write)
        .collect();
    assert_eq!(writes.len(), 1, "one write entry: {entries:#?}");
    assert_eq!(writes[0].subjects, vec![key.clone()]);
    assert!(
        writes[0]
            .fields
            .iter()
            .any(|f| f == "CreateContactInput.familyName"),
        "{:?}",
        writes[0].fields
    );
    // The payload's read is logged too, by the group commit, after the write.
    assert_eq!(entries.last().map(|e| e.action), Some(AccessAction::Read));
    assert!(matches!(verify(&app).await, VerifyOutcome::Intact { .. }));
}

on_both_backends!(
    a_change_commits_with_its_entry_or_not_at_all,
    appended_entries_are_stored_and_listed_by_filter,
    concurrent_appends_are_group_committed,
    large_batches_stay_under_the_bind_parameter_limit,
    repeated_subject_sets_are_stored_once,
    writers_sharing_a_database_append_in_one_order,
    a_writer_finds_the_head_another_moved,
    the_database_refuses_to_change_the_log,
    a_changed_entry_breaks_the_chain_there,
    a_removed_subject_breaks_the_chain,
    removed_entries_are_detected,
    an_entry_written_around_the_writer_is_detected,
    verification_beside_live_appends_finds_the_log_intact,
    the_cli_verifies_the_chain,
    the_cli_tells_an_unreadable_log_from_a_broken_one,
    breach_scope_names_subjects_fields_and_principals,
);
