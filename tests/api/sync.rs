//! The sync engine against the fake provider (json_feed over OAuth 2), on both backends:
//! first and incremental syncs, matching, provenance, crashes, duplicates, throttling,
//! server errors, token refresh, invalid cursors, erasure, restriction and racing engines.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use lexgate::contacts::ContactRules;
use lexgate::db::schema::{
    contact_emails, contact_phones, contact_sources, contacts, data_recipients, processing_grounds,
    purposes, sync_links, sync_review_items,
};
use lexgate::db::AnyConnection;
use lexgate::gdpr::KeyedHasher;
use lexgate::sync::erasure::Tombstones;
use lexgate::sync::instances::{self, CreateConnectorInstanceInput, InstanceRow};
use lexgate::sync::runs::{RunRow, SyncRunStatus};
use lexgate::sync::{ConnectorRuntime, ErasureRegister, Identities, SyncEngine, SyncError};
use lexgate_connectors::http::HttpPolicy;
use lexgate_connectors::secrets::SecretBox;
use lexgate_connectors::testing::FakeProvider;
use lexgate_connectors::{
    BoxFuture, Capabilities, Connector, ConnectorError, ContactOrigin, Cursor, Page, RemoteContact,
};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

pub const SECRETS_KEY_ID: &str = "test-key";
/// base64 of 32 bytes of 0x2a.
pub const SECRETS_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// Connector secrets sealed with the test key.
pub fn seal_secrets(settings: &mut lexgate::config::Settings) {
    settings.secrets_keys = [(SECRETS_KEY_ID.to_owned(), SECRETS_KEY.to_owned())].into();
    settings.secrets_key_id = Some(SECRETS_KEY_ID.to_owned());
}

/// An app whose connector secrets are sealed with the test key.
pub async fn start_sealing_secrets(backend: Backend) -> TestApp {
    TestApp::start_with(backend, seal_secrets).await
}

pub fn secret_box() -> SecretBox {
    let keys = HashMap::from([(SECRETS_KEY_ID.to_owned(), SECRETS_KEY.to_owned())]);
    SecretBox::new(&keys, SECRETS_KEY_ID).expect("secret box")
}

struct Fixture {
    app: TestApp,
    provider: FakeProvider,
    instance_id: String,
    runtime: ConnectorRuntime,
    /// The register the server itself uses: the erasure's tombstones.
    erasure: Arc<dyn ErasureRegister>,
    /// The approved LIA covering matter handling, which the default rules cite.
    matter_lia: String,
}

fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retries: 3,
        requests_per_second: None,
        ..HttpPolicy::default()
    }
}

fn person(id: &str, given: &str, family: &str, origin: ContactOrigin) -> RemoteContact {
    RemoteContact {
        external_id: id.to_owned(),
        origin,
        given_name: Some(given.to_owned()),
        family_name: Some(family.to_owned()),
        emails: vec![format!(
            "{}.{}@example.it",
            given.to_lowercase(),
            family.to_lowercase()
        )],
        ..RemoteContact::default()
    }
}

impl Fixture {
    async fn start(backend: Backend) -> Fixture {
        Fixture::with_page_size(backend, 100).await
    }

    async fn with_page_size(backend: Backend, page_size: i32) -> Fixture {
        let app = TestApp::start(backend).await;
        let matter_lia = lia(&app, &["matter_handling"], "APPROVED").await;
        let hasher = app
            .db
            .run(|c| KeyedHasher::load(c, None))
            .await
            .expect("the GDPR key");
        let provider = FakeProvider::start().await;
        let tokens = provider.issue_tokens();
        let (base, auth, token) = (
            provider.base_url.clone(),
            format!("{}/authorize", provider.base_url),
            format!("{}/token", provider.base_url),
        );
        let instance_id = app
            .db
            .transaction(move |conn| {
                let secrets = secret_box();
                let row = instances::create(
                    conn,
                    Some(&secrets),
                    CreateConnectorInstanceInput {
                        name: "billing".into(),
                        kind: "json_feed".into(),
                        base_url: base,
                        client_id: Some(lexgate_connectors::testing::CLIENT_ID.into()),
                        client_secret: Some(lexgate_connectors::testing::CLIENT_SECRET.into()),
                        auth_url: Some(auth),
                        token_url: Some(token),
                        scopes: vec![],
                        webhook_secret: None,
                        schedule_minutes: None,
                        page_size: Some(page_size),
                        source_detail: Some("Billing system".into()),
                        provenance: None,
                        ..CreateConnectorInstanceInput::default()
                    },
                )?;
                instances::save_tokens(conn, &secrets, &row.id, &tokens)?;
                Ok(row.id)
            })
            .await
            .expect("instance created");
        let runtime = ConnectorRuntime::new(
            app.db.clone(),
            Some(secret_box()),
            fast_policy(),
            "http://127.0.0.1:9/oauth/callback".into(),
        );
        Fixture {
            app,
            provider,
            instance_id,
            runtime,
            erasure: Arc::new(Tombstones { hasher }),
            matter_lia,
        }
    }

    fn engine(&self) -> SyncEngine {
        SyncEngine::new(
            self.app.db.clone(),
            ContactRules::default(),
            self.erasure.clone(),
        )
    }

    async fn instance(&self) -> InstanceRow {
        let id = self.instance_id.clone();
        self.app
            .db
            .run(move |c| instances::get(c, &id))
            .await
            .expect("instance")
    }

    async fn sync_with(&self, engine: &SyncEngine) -> Result<RunRow, SyncError> {
        let instance = self.instance().await;
        let connector = self.runtime.connector(&instance).expect("connector");
        engine
            .run(&instance, connector.as_ref(), "test", &|_| {})
            .await
    }

    async fn sync(&self) -> RunRow {
        self.sync_with(&self.engine()).await.expect("sync ran")
    }

    async fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut AnyConnection) -> QueryResult<T> + Send + 'static,
    ) -> T {
        self.app.db.run(move |c| Ok(work(c)?)).await.expect("query")
    }

    async fn contact_count(&self) -> i64 {
        self.query(|c| contacts::table.count().get_result(c)).await
    }

    /// The contact holding `address`.
    async fn contact_with_email(&self, address: &str) -> Option<String> {
        let key = address.to_lowercase();
        self.query(move |c| {
            contact_emails::table
                .filter(contact_emails::address_key.eq(key))
                .select(contact_emails::contact_id)
                .first::<String>(c)
                .optional()
        })
        .await
    }

    async fn links(&self) -> Vec<(String, Option<String>, bool)> {
        let id = self.instance_id.clone();
        self.query(move |c| {
            sync_links::table
                .filter(sync_links::instance_id.eq(id))
                .order(sync_links::external_id)
                .select((
                    sync_links::external_id,
                    sync_links::contact_id,
                    sync_links::deleted_at.is_not_null(),
                ))
                .load(c)
        })
        .await
    }
}

fn assert_counts(
    run: &RunRow,
    created: i32,
    updated: i32,
    linked: i32,
    skipped: i32,
    review: i32,
    failed: i32,
) {
    assert_eq!(
        (
            run.created,
            run.updated,
            run.linked,
            run.skipped,
            run.review,
            run.failed
        ),
        (created, updated, linked, skipped, review, failed),
        "run counts (created, updated, linked, skipped, review, failed) of {run:?}"
    );
}

async fn first_sync_imports_with_source_and_legal_basis(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(RemoteContact {
        codice_fiscale: Some("RSSMRA85T10A562S".into()),
        ..person("c-1", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    f.provider.upsert(person(
        "c-2",
        "Luisa",
        "Verdi",
        ContactOrigin::MatterCorrespondent,
    ));
    f.provider.upsert(person(
        "c-3",
        "Ugo",
        "Neri",
        ContactOrigin::UnknownCorrespondent,
    ));

    let run = f.sync().await;
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    assert!(run.full_sync);
    assert!(run.finished_at.is_some());
    assert_counts(&run, 2, 0, 0, 0, 1, 0);
    assert_eq!(f.contact_count().await, 2);

    // The billing client: its source and the contract basis for the client relationship.
    let mario = f
        .contact_with_email("mario.rossi@example.it")
        .await
        .expect("imported");
    let mario_id = mario.clone();
    let (kind, detail, connector, external, by) = f
        .query(move |c| {
            contact_sources::table
                .filter(contact_sources::contact_id.eq(mario_id))
                .select((
                    contact_sources::kind,
                    contact_sources::detail,
                    contact_sources::connector,
                    contact_sources::external_id,
                    contact_sources::recorded_by,
                ))
                .first::<(
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                )>(c)
        })
        .await;
    assert_eq!(kind, "connector_import");
    assert_eq!(detail, "Billing system");
    assert_eq!(connector.as_deref(), Some("billing"));
    assert_eq!(external.as_deref(), Some("c-1"));
    assert_eq!(by.as_deref(), Some("connector:billing"));
    let grounds = |contact: String| {
        f.query(move |c| {
            processing_grounds::table
                .inner_join(purposes::table)
                .filter(processing_grounds::contact_id.eq(contact))
                .select((purposes::key, processing_grounds::legal_basis))
                .load::<(String, String)>(c)
        })
    };
    assert_eq!(
        grounds(mario).await,
        [("client_relationship".to_owned(), "contract".to_owned())]
    );
    let luisa = f
        .contact_with_email("luisa.verdi@example.it")
        .await
        .expect("imported");
    assert_eq!(
        grounds(luisa.clone()).await,
        [(
            "matter_handling".to_owned(),
            "legitimate_interest".to_owned()
        )]
    );
    // The legitimate interest cites the firm's assessment, so it counts like one entered by
    // hand.
    let cited = f
        .query(move |c| {
            processing_grounds::table
                .filter(processing_grounds::contact_id.eq(luisa))
                .select(processing_grounds::assessment_id)
                .first::<Option<String>>(c)
        })
        .await;
    assert_eq!(
        cited.map(|key| lexgate::ids::encode(lexgate::ids::NodeType::Assessment, &key).0),
        Some(f.matter_lia.clone())
    );

    // The unknown correspondent waits for review; no contact without a basis.
    assert_eq!(f.contact_with_email("ugo.neri@example.it").await, None);
    let queued = f
        .query(|c| {
            sync_review_items::table
                .select((sync_review_items::external_id, sync_review_items::origin))
                .load::<(String, String)>(c)
        })
        .await;
    assert_eq!(
        queued,
        [("c-3".to_owned(), "unknown_correspondent".to_owned())]
    );
}

/// A record can say when the basis for processing arose at the source, with its evidence: the
/// imported ground's retention clock starts then; without it (or with a date in the future)
/// the clock starts at the import.
async fn an_import_starts_the_retention_clock_when_the_basis_arose(backend: Backend) {
    let f = Fixture::start(backend).await;
    let contract_date = chrono::DateTime::parse_from_rfc3339("2019-05-02T09:30:00Z")
        .expect("date")
        .with_timezone(&chrono::Utc);
    f.provider.upsert(RemoteContact {
        basis_arose_at: Some(contract_date),
        basis_evidence: Some("contract 2019/044".into()),
        ..person("c-1", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    f.provider.upsert(RemoteContact {
        basis_arose_at: Some(contract_date),
        ..person("c-2", "Anna", "Bruni", ContactOrigin::BillingClient)
    });
    f.provider.upsert(person(
        "c-3",
        "Luisa",
        "Verdi",
        ContactOrigin::BillingClient,
    ));
    f.provider.upsert(RemoteContact {
        basis_arose_at: Some(chrono::Utc::now() + chrono::TimeDelta::days(30)),
        basis_evidence: Some("typo in the billing system".into()),
        ..person("c-4", "Ugo", "Neri", ContactOrigin::BillingClient)
    });
    let before = lexgate::db::now() - chrono::TimeDelta::seconds(1);
    let run = f.sync().await;
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    let ground = |email: &'static str| {
        let f = &f;
        async move {
            let contact = f.contact_with_email(email).await.expect("imported");
            f.query(move |c| {
                processing_grounds::table
                    .filter(processing_grounds::contact_id.eq(contact))
                    .select((
                        processing_grounds::started_at,
                        processing_grounds::basis_evidence,
                    ))
                    .first::<(chrono::NaiveDateTime, Option<String>)>(c)
            })
            .await
        }
    };
    let (started, evidence) = ground("mario.rossi@example.it").await;
    assert_eq!(started, contract_date.naive_utc());
    assert_eq!(
        evidence.as_deref(),
        Some("contract 2019/044 (connector billing)")
    );
    // A date without evidence names the record it came from.
    let (started, evidence) = ground("anna.bruni@example.it").await;
    assert_eq!(started, contract_date.naive_utc());
    assert_eq!(evidence.as_deref(), Some("record c-2 of connector billing"));
    for email in ["luisa.verdi@example.it", "ugo.neri@example.it"] {
        let (started, evidence) = ground(email).await;
        assert!(started >= before, "{email}: {started}");
        assert_eq!(evidence, None, "{email}");
    }
}

async fn incremental_syncs_apply_only_changes_and_are_idempotent(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    f.provider.upsert(person(
        "c-2",
        "Luisa",
        "Verdi",
        ContactOrigin::BillingClient,
    ));
    assert_counts(&f.sync().await, 2, 0, 0, 0, 0, 0);

    // Nothing changed: nothing pulled, nothing written.
    let run = f.sync().await;
    assert!(!run.full_sync);
    assert_counts(&run, 0, 0, 0, 0, 0, 0);

    // One new, one with a new address, one delivered again unchanged (a duplicate delivery).
    f.provider.upsert(person(
        "c-3",
        "Anna",
        "Bianchi",
        ContactOrigin::BillingClient,
    ));
    f.provider.upsert(RemoteContact {
        emails: vec![
            "mario.rossi@example.it".into(),
            "m.rossi@studio.example".into(),
        ],
        ..person("c-1", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    f.provider.upsert(person(
        "c-2",
        "Luisa",
        "Verdi",
        ContactOrigin::BillingClient,
    ));
    let run = f.sync().await;
    assert_counts(&run, 1, 1, 0, 1, 0, 0);
    assert_eq!(f.contact_count().await, 3);
    assert_eq!(
        f.contact_with_email("m.rossi@studio.example").await,
        f.contact_with_email("mario.rossi@example.it").await
    );
    // One source row per contact, however often the record came.
    let sources: i64 = f
        .query(|c| contact_sources::table.count().get_result(c))
        .await;
    assert_eq!(sources, 3);
    let grounds: i64 = f
        .query(|c| processing_grounds::table.count().get_result(c))
        .await;
    assert_eq!(grounds, 3);
}

async fn existing_contacts_are_linked_by_email_pec_phone_and_tax_id(backend: Backend) {
    let f = Fixture::start(backend).await;
    create_person(
        &f.app,
        "Mario",
        "Rossi",
        json!({ "emails": [{ "address": "Mario.Rossi@Example.it" }] }),
    )
    .await;
    create_person(
        &f.app,
        "Carla",
        "Pec",
        json!({ "emails": [{ "address": "carla@pec.example.it", "isPec": true }] }),
    )
    .await;
    create_person(
        &f.app,
        "Dario",
        "Tel",
        json!({ "phones": [{ "number": "347 123 4567" }] }),
    )
    .await;
    create_person(
        &f.app,
        "Elena",
        "Fisc",
        json!({ "codiceFiscale": "RSSMRA85T10A562S" }),
    )
    .await;
    assert_eq!(f.contact_count().await, 4);

    f.provider.upsert(RemoteContact {
        emails: vec!["mario.rossi@example.it".into()],
        ..person("a", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    f.provider.upsert(RemoteContact {
        emails: vec![],
        pecs: vec!["CARLA@pec.example.it".into()],
        ..person("b", "Carla", "Pec", ContactOrigin::UnknownCorrespondent)
    });
    f.provider.upsert(RemoteContact {
        emails: vec![],
        phones: vec!["+39 347 1234567".into()],
        ..person("c", "Dario", "Tel", ContactOrigin::MatterCorrespondent)
    });
    f.provider.upsert(RemoteContact {
        emails: vec!["elena@example.it".into()],
        codice_fiscale: Some("rssmra85t10a562s".into()),
        ..person("d", "Elena", "Fisc", ContactOrigin::BillingClient)
    });
    let run = f.sync().await;
    assert_counts(&run, 0, 0, 4, 0, 0, 0);
    assert_eq!(f.contact_count().await, 4, "linked, not duplicated");
    assert!(f
        .links()
        .await
        .iter()
        .all(|(_, contact, deleted)| contact.is_some() && !deleted));
    // The matched contact gained the address the provider knows it by.
    assert!(f.contact_with_email("elena@example.it").await.is_some());
    // Every linked contact records the import as a further source.
    let imported: i64 = f
        .query(|c| {
            contact_sources::table
                .filter(contact_sources::kind.eq("connector_import"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(imported, 4);
}

/// Serves the inner connector's first `pages` pages, then hangs like a process that died.
struct CrashAfter {
    inner: Arc<dyn Connector>,
    pages: AtomicUsize,
}

impl Connector for CrashAfter {
    fn kind(&self) -> &'static str {
        "crash-after"
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn pull_contacts<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        Box::pin(async move {
            if self.pages.fetch_sub(1, Ordering::SeqCst) == 0 {
                std::future::pending::<()>().await;
            }
            self.inner.pull_contacts(cursor).await
        })
    }
}

async fn a_crash_between_pages_neither_loses_nor_duplicates(backend: Backend) {
    let f = Fixture::with_page_size(backend, 2).await;
    for i in 0..5 {
        f.provider.upsert(person(
            &format!("c-{i}"),
            "Persona",
            &format!("Numero{i}"),
            ContactOrigin::BillingClient,
        ));
    }
    let instance = f.instance().await;
    let crashing = CrashAfter {
        inner: f.runtime.connector(&instance).expect("connector"),
        pages: AtomicUsize::new(1),
    };
    let short = f
        .engine()
        .with_lease_ttl(chrono::Duration::milliseconds(800));
    let crashed = tokio::time::timeout(
        Duration::from_millis(500),
        short.run(&instance, &crashing, "test", &|_| {}),
    )
    .await;
    assert!(crashed.is_err(), "the first engine 'crashed' mid-run");
    // The first page was committed with its cursor.
    assert_eq!(f.contact_count().await, 2);

    // The lease of the dead process still holds for a moment, then expires.
    let other = f.engine();
    assert!(matches!(f.sync_with(&other).await, Err(SyncError::Busy)));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let run = f.sync_with(&other).await.expect("resumed");
    assert_counts(&run, 3, 0, 0, 0, 0, 0);
    assert_eq!(f.contact_count().await, 5);
    let links = f.links().await;
    assert_eq!(links.len(), 5);
    let distinct: HashSet<_> = links.iter().filter_map(|(_, c, _)| c.clone()).collect();
    assert_eq!(distinct.len(), 5);
    // The dead process's run is marked abandoned.
    let instance_id = f.instance_id.clone();
    let statuses = f
        .query(move |c| {
            lexgate::db::schema::sync_runs::table
                .filter(lexgate::db::schema::sync_runs::instance_id.eq(instance_id))
                .order(lexgate::db::schema::sync_runs::started_at)
                .select((
                    lexgate::db::schema::sync_runs::status,
                    lexgate::db::schema::sync_runs::created,
                ))
                .load::<(String, i32)>(c)
        })
        .await;
    assert_eq!(
        statuses,
        [("abandoned".to_owned(), 2), ("succeeded".to_owned(), 3)]
    );
}

async fn throttling_with_retry_after_is_waited_out(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    f.provider.fail_next(429, Some(1));
    let started = Instant::now();
    let run = f.sync().await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    assert_counts(&run, 1, 0, 0, 0, 0, 0);
    assert_eq!(f.provider.contact_requests(), 2);
}

async fn server_errors_are_retried_and_a_dead_provider_fails_the_run(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    f.provider.fail_next(500, None);
    f.provider.fail_next(502, None);
    let run = f.sync().await;
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    assert_counts(&run, 1, 0, 0, 0, 0, 0);

    // Failing beyond the retries: the run fails with an error, the cursor stays, and the
    // next run picks the change up.
    f.provider.upsert(person(
        "c-2",
        "Luisa",
        "Verdi",
        ContactOrigin::BillingClient,
    ));
    for _ in 0..4 {
        f.provider.fail_next(500, None);
    }
    let failed = f.sync().await;
    assert_eq!(failed.status().expect("status"), SyncRunStatus::Failed);
    assert!(failed
        .errors()
        .iter()
        .any(|e| e.message.contains("unavailable")));
    let run = f.sync().await;
    assert_counts(&run, 1, 0, 0, 0, 0, 0);
    assert_eq!(f.contact_count().await, 2);
}

async fn an_expired_token_is_refreshed_and_the_rotated_one_stored(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    f.provider.expire_access_tokens();
    let run = f.sync().await;
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    assert_eq!(f.provider.refreshes(), 1);
    // The rotated refresh token is what the database holds now, sealed.
    let instance = f.instance().await;
    let sealed = instance.credentials.clone().expect("credentials");
    assert!(sealed.starts_with("test-key:"));
    let stored = instance.credentials(&secret_box()).expect("open");
    let refresh = stored
        .tokens
        .and_then(|t| t.refresh_token)
        .expect("refresh token");
    assert!(!sealed.contains(&refresh));
    assert!(f.provider.is_valid_refresh_token(&refresh));
}

/// Two processes, each with its connector and token manager, as two replicas: after one has
/// refreshed (spending the rotating refresh token both were built with), the other syncs
/// with the stored tokens instead of presenting the spent one (`invalid_grant`).
async fn a_refresh_by_another_process_is_taken_not_repeated(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    let other_db = lexgate::db::Database::connect(&f.app.database_url, 2, false)
        .await
        .expect("second pool");
    let other_runtime = ConnectorRuntime::new(
        other_db.clone(),
        Some(secret_box()),
        fast_policy(),
        "http://127.0.0.1:9/oauth/callback".into(),
    );
    let other_engine = SyncEngine::new(other_db, ContactRules::default(), f.erasure.clone());
    let other_sync = || async {
        let instance = f.instance().await;
        let connector = other_runtime.connector(&instance).expect("connector");
        other_engine
            .run(&instance, connector.as_ref(), "test", &|_| {})
            .await
            .expect("the other process ran")
    };
    // Each process has synced once, with the tokens it was built with.
    assert_eq!(
        f.sync().await.status().expect("status"),
        SyncRunStatus::Succeeded
    );
    assert_eq!(
        other_sync().await.status().expect("status"),
        SyncRunStatus::Succeeded
    );

    f.provider.expire_access_tokens();
    f.provider
        .upsert(person("c-2", "Anna", "Neri", ContactOrigin::BillingClient));
    assert_eq!(
        f.sync().await.status().expect("status"),
        SyncRunStatus::Succeeded
    );
    assert_eq!(f.provider.refreshes(), 1);

    f.provider
        .upsert(person("c-3", "Luca", "Blu", ContactOrigin::BillingClient));
    let run = other_sync().await;
    assert_eq!(
        run.status().expect("status"),
        SyncRunStatus::Succeeded,
        "{run:?}"
    );
    assert_counts(&run, 1, 0, 0, 0, 0, 0);
    assert_eq!(f.provider.refreshes(), 1, "the stored tokens were used");
}

async fn an_invalid_cursor_triggers_a_full_resync_that_reconciles_deletions(backend: Backend) {
    let f = Fixture::start(backend).await;
    for id in ["a", "b", "c"] {
        f.provider.upsert(person(
            id,
            "Persona",
            &format!("Cognome{id}"),
            ContactOrigin::BillingClient,
        ));
    }
    f.sync().await;
    // The provider drops "b" without a trace in its feed and forgets our cursor.
    f.provider.forget("b");
    f.provider.invalidate_cursors();
    let run = f.sync().await;
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    assert!(run.full_sync);
    assert_eq!((run.created, run.skipped, run.deleted), (0, 2, 1));
    let links = f.links().await;
    let deleted: Vec<_> = links.iter().filter(|l| l.2).map(|l| l.0.as_str()).collect();
    assert_eq!(deleted, ["b"]);
    // The contact stays (it may be in matters); only its link to the provider ends.
    assert_eq!(f.contact_count().await, 3);

    // A deletion the feed reports ends the link incrementally.
    f.provider.delete("c");
    let run = f.sync().await;
    assert!(!run.full_sync);
    assert_eq!(run.deleted, 1);
}

async fn an_erased_person_present_at_the_provider_is_not_recreated(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(RemoteContact {
        phones: vec!["+39 347 5550101".into()],
        ..person("c-1", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    let run = f.sync().await;
    assert_counts(&run, 1, 0, 0, 0, 0, 0);
    let mario = f
        .contact_with_email("mario.rossi@example.it")
        .await
        .expect("imported");

    // Mario asks to be erased; the DPO executes it through the API, as in the firm.
    let dpo = dpo(&f.app).await;
    let mario = lexgate::ids::encode(lexgate::ids::NodeType::Contact, &mario).0;
    let request = verified_request(&f.app, &dpo, "ERASURE", &mario, "Mario Rossi").await;
    let body = f
        .app
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
    assert_eq!(f.contact_count().await, 0);

    // The provider still has him and changes his record: the next sync skips it.
    f.provider.upsert(RemoteContact {
        phones: vec!["+39 347 5550101".into(), "+39 02 5550102".into()],
        ..person("c-1", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    // Another system record of his, under a new id, carrying only his phone number.
    f.provider.upsert(RemoteContact {
        emails: vec![],
        phones: vec!["347 555 0101".into()],
        ..person("c-9", "M.", "Rossi", ContactOrigin::UnknownCorrespondent)
    });
    let run = f.sync().await;
    assert!(!run.full_sync);
    assert_counts(&run, 0, 0, 0, 2, 0, 0);
    // A full resync (the provider forgot our cursor) brings nothing back either.
    f.provider.invalidate_cursors();
    let run = f.sync().await;
    assert!(run.full_sync);
    assert_counts(&run, 0, 0, 0, 2, 0, 0);
    assert_eq!(f.contact_count().await, 0);
    assert!(
        f.links()
            .await
            .iter()
            .all(|(_, contact, _)| contact.is_none()),
        "no link leads to a contact"
    );
    let hashes: i64 = f
        .query(|c| {
            sync_links::table
                .filter(sync_links::record_hash.is_not_null())
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(hashes, 0, "the erasure cleared the hash of his record");
    let queued: i64 = f
        .query(|c| sync_review_items::table.count().get_result(c))
        .await;
    assert_eq!(
        queued, 0,
        "nothing of an erased person is kept for review either"
    );
}

async fn a_failed_record_does_not_stop_the_run(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(RemoteContact {
        codice_fiscale: Some("RSSMRA85T10A562X".into()),
        ..person("bad", "Mario", "Rossi", ContactOrigin::BillingClient)
    });
    f.provider.upsert(person(
        "good",
        "Luisa",
        "Verdi",
        ContactOrigin::BillingClient,
    ));
    let run = f.sync().await;
    assert_eq!(run.status().expect("status"), SyncRunStatus::Succeeded);
    assert_counts(&run, 1, 0, 0, 0, 0, 1);
    let errors = run.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].external_id.as_deref(), Some("bad"));
    assert!(errors[0].message.contains("input.codiceFiscale"));
    assert!(
        !errors[0].message.contains("RSSMRA"),
        "no values in run errors"
    );
}

/// Delays every pull, so two engines overlap.
struct Slow(Arc<dyn Connector>);

impl Connector for Slow {
    fn kind(&self) -> &'static str {
        "slow"
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    fn pull_contacts<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.0.pull_contacts(cursor).await
        })
    }
}

async fn two_engines_racing_on_one_instance_one_wins(backend: Backend) {
    let f = Fixture::start(backend).await;
    for i in 0..3 {
        f.provider.upsert(person(
            &format!("c-{i}"),
            "Persona",
            &format!("Numero{i}"),
            ContactOrigin::BillingClient,
        ));
    }
    let instance = f.instance().await;
    let connector = Slow(f.runtime.connector(&instance).expect("connector"));
    // Two engines as two processes: each its own pool, holder and lease attempt.
    let other_db = lexgate::db::Database::connect(&f.app.database_url, 2, false)
        .await
        .expect("second pool");
    let one = f.engine();
    let two = SyncEngine::new(other_db, ContactRules::default(), f.erasure.clone());
    let (a, b) = tokio::join!(
        one.run(&instance, &connector, "test", &|_| {}),
        two.run(&instance, &connector, "test", &|_| {}),
    );
    let outcomes = [a, b];
    let won: Vec<_> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    let busy = outcomes
        .iter()
        .filter(|r| matches!(r, Err(SyncError::Busy)))
        .count();
    assert_eq!(
        (won.len(), busy),
        (1, 1),
        "one engine syncs, the other is told it is busy"
    );
    assert_counts(won[0], 3, 0, 0, 0, 0, 0);
    assert_eq!(f.contact_count().await, 3);
    // The lease was released: the next run may start at once.
    assert!(f.sync_with(&f.engine()).await.is_ok());
}

async fn restricted_contacts_are_never_pushed_and_pushes_are_recorded(backend: Backend) {
    let f = Fixture::start(backend).await;
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    f.sync().await;
    let contact = f
        .contact_with_email("mario.rossi@example.it")
        .await
        .expect("contact");
    let instance = f.instance().await;
    let connector = f.runtime.connector(&instance).expect("connector");

    let external =
        lexgate::sync::push::push_contact(&f.app.db, &instance, connector.as_ref(), &contact)
            .await
            .expect("pushed");
    // Linked contacts are pushed under the provider's id.
    assert_eq!(external, "c-1");
    let pushed = f.provider.pushed();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].emails, ["mario.rossi@example.it"]);
    let contact_id = contact.clone();
    let recorded = f
        .query(move |c| {
            data_recipients::table
                .filter(data_recipients::contact_id.eq(contact_id))
                .select((data_recipients::recipient, data_recipients::fields))
                .load::<(String, String)>(c)
        })
        .await;
    assert_eq!(
        recorded,
        [(
            "billing".to_owned(),
            "[\"displayName\",\"emails\"]".to_owned()
        )]
    );

    let restrict = contact.clone();
    f.query(move |c| {
        diesel::update(contacts::table.find(restrict))
            .set(contacts::restricted_at.eq(lexgate::db::now()))
            .execute(c)
    })
    .await;
    let refused =
        lexgate::sync::push::push_contact(&f.app.db, &instance, connector.as_ref(), &contact).await;
    assert!(matches!(
        refused,
        Err(lexgate::error::Error::Conflict { .. })
    ));
    assert_eq!(f.provider.pushed().len(), 1, "nothing more left the firm");
    let disclosures = f
        .query(|c| data_recipients::table.count().get_result::<i64>(c))
        .await;
    assert_eq!(disclosures, 1);
}

async fn runs_and_records_are_counted_in_metrics(backend: Backend) {
    let f = Fixture::start(backend).await;
    // Tests share the process's recorder: an instance name of this test's own.
    let name = format!("metrics-{}", uuid::Uuid::new_v4().simple());
    let (id, renamed) = (f.instance_id.clone(), name.clone());
    f.app
        .db
        .run(move |c| {
            diesel::update(lexgate::db::schema::connector_instances::table.find(id))
                .set(lexgate::db::schema::connector_instances::name.eq(renamed))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("instance renamed");
    let metrics = lexgate::metrics::handle();
    f.provider.upsert(person(
        "c-1",
        "Mario",
        "Rossi",
        ContactOrigin::BillingClient,
    ));
    f.provider.upsert(person(
        "c-2",
        "Ugo",
        "Neri",
        ContactOrigin::UnknownCorrespondent,
    ));
    let run = f.sync().await;
    assert_counts(&run, 1, 0, 0, 0, 1, 0);

    let text = metrics.render();
    let value = |series: String| {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(&series)?
                    .strip_prefix(' ')
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no {series} in {text}"))
    };
    let runs = format!("lexgate_sync_runs_total{{instance=\"{name}\",outcome=\"succeeded\"}}");
    assert_eq!(value(runs), "1");
    let created = format!("lexgate_sync_records_total{{instance=\"{name}\",outcome=\"created\"}}");
    assert_eq!(value(created), "1");
    let review = format!("lexgate_sync_records_total{{instance=\"{name}\",outcome=\"review\"}}");
    assert_eq!(value(review), "1");
}

/// Serves fixed pages of contacts: a provider whose page holds exactly what the test says
/// (the fake provider keeps one record per id, so it cannot repeat one within a page).
struct FixedPages(Vec<Vec<RemoteContact>>);

impl Connector for FixedPages {
    fn kind(&self) -> &'static str {
        "fixed-pages"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_contacts: true,
            ..Capabilities::default()
        }
    }

    fn pull_contacts<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        let at = cursor.map_or(0, |c| c.0.parse::<usize>().expect("a cursor of ours"));
        Box::pin(async move {
            // Past the end: the next run is a full resync of the same pages.
            if at >= self.0.len() {
                return Err(ConnectorError::InvalidCursor);
            }
            Ok(Page {
                records: self.0[at].clone(),
                cursor: Cursor((at + 1).to_string()),
                more: at + 1 < self.0.len(),
            })
        })
    }
}

/// Erased people, by email key: the engine's view of the erasure register.
struct ErasedEmails(Vec<String>);

impl ErasureRegister for ErasedEmails {
    fn is_erased(
        &self,
        _: &mut AnyConnection,
        identities: &Identities,
    ) -> lexgate::error::Result<bool> {
        Ok(identities.emails.iter().any(|e| self.0.contains(e)))
    }
}

impl Fixture {
    /// Runs `engine` over fixed pages; returns the run and the statements it took.
    async fn sync_pages(
        &self,
        engine: &SyncEngine,
        pages: Vec<Vec<RemoteContact>>,
    ) -> (RunRow, u64) {
        let instance = self.instance().await;
        let before = self.app.db.statement_count();
        let run = engine
            .run(&instance, &FixedPages(pages), "test", &|_| {})
            .await
            .expect("sync ran");
        (run, self.app.db.statement_count() - before)
    }

    async fn emails_of(&self, contact: &str) -> Vec<String> {
        let contact = contact.to_owned();
        self.query(move |c| {
            contact_emails::table
                .filter(contact_emails::contact_id.eq(contact))
                .order(contact_emails::position)
                .select(contact_emails::address_key)
                .load(c)
        })
        .await
    }

    async fn phones_of(&self, contact: &str) -> Vec<String> {
        let contact = contact.to_owned();
        self.query(move |c| {
            contact_phones::table
                .filter(contact_phones::contact_id.eq(contact))
                .order(contact_phones::position)
                .select(contact_phones::number)
                .load(c)
        })
        .await
    }

    /// (sources, grounds) of a contact.
    async fn provenance_of(&self, contact: &str) -> (i64, i64) {
        let (one, two) = (contact.to_owned(), contact.to_owned());
        let sources = self
            .query(move |c| {
                contact_sources::table
                    .filter(contact_sources::contact_id.eq(one))
                    .count()
                    .get_result(c)
            })
            .await;
        let grounds = self
            .query(move |c| {
                processing_grounds::table
                    .filter(processing_grounds::contact_id.eq(two))
                    .count()
                    .get_result(c)
            })
            .await;
        (sources, grounds)
    }
}

/// One page holding every case the page-at-once import must decide as records applied one
/// by one would be: identities shared within the page, an external id twice, a bad record,
/// an erased person, a restricted contact. Few statements show the page was not applied
/// record by record after a failed batch.
async fn a_page_is_decided_in_order_as_its_records_alone(backend: Backend) {
    let f = Fixture::start(backend).await;
    let restricted = create_person(
        &f.app,
        "Rita",
        "Ristretta",
        json!({ "emails": [{ "address": "rita@example.it" }] }),
    )
    .await;
    let dpo_token = dpo(&f.app).await;
    let body = f
        .app
        .gql_as(
            &dpo_token,
            "mutation($input: RestrictProcessingInput!) { restrictProcessing(input: $input) { contact { id } } }",
            json!({ "input": { "contactId": restricted, "reason": "Accuracy contested (Art. 18(1)(a))" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let rita = f.contact_with_email("rita@example.it").await.expect("rita");

    let client = ContactOrigin::BillingClient;
    let page = vec![
        // Created; then matched by its email from another record of the page.
        person("a-1", "Anna", "Prima", client),
        RemoteContact {
            phones: vec!["+39 347 1110001".into()],
            ..person("a-2", "Anna", "Prima", ContactOrigin::MatterCorrespondent)
        },
        // Created with a phone; matched by that phone, gaining the second record's email.
        RemoteContact {
            phones: vec!["+39 347 2220002".into()],
            ..person("b-1", "Bruno", "Secondo", client)
        },
        RemoteContact {
            phones: vec!["347 222 0002".into()],
            ..person("b-2", "Bea", "Secondo", client)
        },
        // Invalid: fails alone, and leaves nothing a later record could match.
        RemoteContact {
            codice_fiscale: Some("RSSMRA85T10A562X".into()),
            ..person("bad", "Carlo", "Terzo", client)
        },
        person("c-after-bad", "Carlo", "Terzo", client),
        // Erased: skipped, and what it carries is no one's.
        RemoteContact {
            phones: vec!["+39 347 4440004".into()],
            ..person("erased", "Dora", "Cancellata", client)
        },
        RemoteContact {
            phones: vec!["+39 347 4440004".into()],
            ..person("d-after-erased", "Dario", "Quarto", client)
        },
        // The same external id twice: created, then updated with a new address.
        person("e", "Elena", "Quinta", client),
        RemoteContact {
            emails: vec![
                "elena.quinta@example.it".into(),
                "e.quinta@studio.example".into(),
            ],
            ..person("e", "Elena", "Quinta", client)
        },
        // Matches the restricted contact: linked, but it gets nothing; the phone it carries
        // stays no one's, so the next record creates a contact.
        RemoteContact {
            emails: vec!["rita@example.it".into()],
            phones: vec!["+39 347 6660006".into()],
            ..person("r", "Rita", "Ristretta", client)
        },
        RemoteContact {
            phones: vec!["+39 347 6660006".into()],
            ..person("f", "Fabio", "Sesto", client)
        },
    ];
    let records = page.len() as u64;
    let engine = SyncEngine::new(
        f.app.db.clone(),
        ContactRules::default(),
        Arc::new(ErasedEmails(vec!["dora.cancellata@example.it".into()])),
    );
    let (run, statements) = f.sync_pages(&engine, vec![page.clone()]).await;
    // Created: a-1, b-1, c-after-bad, d-after-erased, e, f; updated: e again; linked: a-2,
    // b-2, r; skipped: erased; failed: bad.
    assert_counts(&run, 6, 1, 3, 1, 0, 1);
    assert_eq!(run.errors()[0].external_id.as_deref(), Some("bad"));
    assert!(
        statements < 6 * records,
        "{statements} statements for {records} records: the page was not applied at once"
    );

    let anna = f
        .contact_with_email("anna.prima@example.it")
        .await
        .expect("anna");
    assert_eq!(f.phones_of(&anna).await, ["+393471110001"]);
    // Two sources (both records), one ground: the second record's purpose differs, so it
    // adds its own.
    assert_eq!(f.provenance_of(&anna).await, (2, 2));
    let bruno = f
        .contact_with_email("bruno.secondo@example.it")
        .await
        .expect("bruno");
    assert_eq!(
        f.emails_of(&bruno).await,
        ["bruno.secondo@example.it", "bea.secondo@example.it"]
    );
    assert_eq!(
        f.provenance_of(&bruno).await,
        (2, 1),
        "one ground per purpose"
    );
    let carlo = f
        .contact_with_email("carlo.terzo@example.it")
        .await
        .expect("carlo");
    assert_eq!(f.provenance_of(&carlo).await, (1, 1));
    assert!(f
        .contact_with_email("dora.cancellata@example.it")
        .await
        .is_none());
    let dario = f
        .contact_with_email("dario.quarto@example.it")
        .await
        .expect("dario");
    assert_eq!(f.phones_of(&dario).await, ["+393474440004"]);
    let elena = f
        .contact_with_email("elena.quinta@example.it")
        .await
        .expect("elena");
    assert_eq!(
        f.emails_of(&elena).await,
        ["elena.quinta@example.it", "e.quinta@studio.example"]
    );
    assert!(
        f.phones_of(&rita).await.is_empty(),
        "a restricted contact gets nothing"
    );
    let fabio = f
        .contact_with_email("fabio.sesto@example.it")
        .await
        .expect("fabio");
    assert_ne!(fabio, rita);
    assert_eq!(f.contact_count().await, 7);
    let links = f.links().await;
    let linked: Vec<&str> = links.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        linked,
        [
            "a-1",
            "a-2",
            "b-1",
            "b-2",
            "c-after-bad",
            "d-after-erased",
            "e",
            "f",
            "r"
        ],
        "one link per external id; none for the bad or the erased record"
    );
    assert!(links.iter().all(|(_, contact, _)| contact.is_some()));

    // The same page again, as a full resync: nothing new; the bad record's address is now
    // Carlo's, so it links to him (as it would alone).
    let (run, statements) = f.sync_pages(&engine, vec![page.clone()]).await;
    assert!(run.full_sync);
    assert_counts(&run, 0, 0, 1, 11, 0, 0);
    assert!(
        statements < 6 * records,
        "{statements} statements for {records} records: the page was not applied at once"
    );
    assert_eq!(f.contact_count().await, 7);

    // Once the restriction is lifted, the unchanged record's phone is taken.
    let body = f
        .app
        .gql_as(
            &dpo_token,
            "mutation($input: LiftRestrictionInput!) { liftRestriction(input: $input) { contact { id } } }",
            json!({ "input": { "contactId": restricted } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (run, _) = f.sync_pages(&engine, vec![page]).await;
    assert_counts(&run, 0, 1, 0, 11, 0, 0);
    assert_eq!(f.phones_of(&rita).await, ["+393476660006"]);
}

/// A resync finds unchanged records by their links' hashes; a record changed at the
/// provider is applied in full, and so is one whose hash is unknown.
async fn a_resync_skips_unchanged_records_by_hash(backend: Backend) {
    let f = Fixture::start(backend).await;
    for i in 0..60 {
        f.provider.upsert(RemoteContact {
            phones: vec![format!("+39 347 {:07}", 3_000_000 + i)],
            ..person(
                &format!("c-{i:02}"),
                "Persona",
                &format!("Numero{i}"),
                ContactOrigin::BillingClient,
            )
        });
    }
    assert_counts(&f.sync().await, 60, 0, 0, 0, 0, 0);
    f.provider.upsert(RemoteContact {
        emails: vec![
            "persona.numero3@example.it".into(),
            "p3@studio.example".into(),
        ],
        phones: vec!["+39 347 3000003".into()],
        ..person("c-03", "Persona", "Numero3", ContactOrigin::BillingClient)
    });
    // A link stored before hashes were kept.
    let instance_id = f.instance_id.clone();
    f.query(move |c| {
        diesel::update(sync_links::table.find((instance_id, "c-07")))
            .set(sync_links::record_hash.eq(None::<String>))
            .execute(c)
    })
    .await;
    f.provider.invalidate_cursors();
    let before = f.app.db.statement_count();
    let run = f.sync().await;
    let statements = f.app.db.statement_count() - before;
    assert!(run.full_sync);
    assert_counts(&run, 0, 1, 0, 59, 0, 0);
    assert!(statements < 60, "{statements} statements for 60 records");
    let p3 = f
        .contact_with_email("persona.numero3@example.it")
        .await
        .expect("p3");
    assert_eq!(
        f.emails_of(&p3).await,
        ["persona.numero3@example.it", "p3@studio.example"]
    );
    let instance_id = f.instance_id.clone();
    let unhashed: i64 = f
        .query(move |c| {
            sync_links::table
                .filter(sync_links::instance_id.eq(instance_id))
                .filter(sync_links::record_hash.is_null())
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(unhashed, 0, "the record without a hash got one");
}

on_both_backends!(
    an_import_starts_the_retention_clock_when_the_basis_arose,
    runs_and_records_are_counted_in_metrics,
    first_sync_imports_with_source_and_legal_basis,
    incremental_syncs_apply_only_changes_and_are_idempotent,
    existing_contacts_are_linked_by_email_pec_phone_and_tax_id,
    a_crash_between_pages_neither_loses_nor_duplicates,
    throttling_with_retry_after_is_waited_out,
    server_errors_are_retried_and_a_dead_provider_fails_the_run,
    an_expired_token_is_refreshed_and_the_rotated_one_stored,
    a_refresh_by_another_process_is_taken_not_repeated,
    an_invalid_cursor_triggers_a_full_resync_that_reconciles_deletions,
    an_erased_person_present_at_the_provider_is_not_recreated,
    a_failed_record_does_not_stop_the_run,
    two_engines_racing_on_one_instance_one_wins,
    restricted_contacts_are_never_pushed_and_pushes_are_recorded,
    a_page_is_decided_in_order_as_its_records_alone,
    a_resync_skips_unchanged_records_by_hash,
);
