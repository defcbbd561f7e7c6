//! Starting and stopping the server.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::access_policy::RoleCatalog;
use crate::app::AppState;
use crate::config::Settings;
use crate::contacts::ContactRules;
use crate::db::Database;
use crate::gdpr::double_opt_in::ConfirmationLinks;
use crate::gdpr::{BasisRules, GdprContext, KeyedHasher};
use crate::identity::{AuthConfig, OidcSettings, OidcVerifier};
use crate::mail::worker::Producer;
use crate::mail::MailWorker;
use std::sync::Arc;

/// Builds the application state from the settings (connects and, if asked, migrates).
pub async fn app_state(settings: &Settings) -> anyhow::Result<AppState> {
    let db =
        Database::connect(&settings.database_url, settings.pool_size, settings.migrate).await?;
    let gdpr_key = settings.gdpr_key.clone();
    let hasher = db
        .run(move |conn| KeyedHasher::load(conn, gdpr_key.as_deref()))
        .await?;
    if settings.gdpr_key.is_none() {
        tracing::info!("no gdpr_key configured: using the key generated for this database");
    }
    let sync = sync_service(&db, settings).await?;
    Ok(AppState {
        gdpr: GdprContext {
            hasher,
            rules: BasisRules {
                marketing_job_titles: settings.marketing_job_titles.clone(),
                soft_spam: settings.soft_spam,
                double_opt_in_purposes: settings.double_opt_in_purposes.clone(),
            },
        },
        sync,
        roles: RoleCatalog::new(db.clone()),
        principals: crate::identity::PrincipalCache::new(),
        access_log: settings
            .access_log
            .then(|| crate::audit::AccessLog::start(db.clone())),
        db,
        contact_rules: ContactRules {
            phone_region: settings.phone_region.clone(),
            disabled_fields: settings.disabled_contact_fields()?,
        },
        max_page_size: settings.max_page_size,
        default_page_size: settings.default_page_size,
        auth: auth_config(settings)?,
        courts: crate::deadlines::courts::Courts::new(settings.courts.clone()),
        public_base_url: settings.public_base_url(),
        firm: std::sync::Arc::new(settings.firm.clone()),
    })
}

/// The sync engine, with the config file's connector instances applied.
pub async fn sync_service(
    db: &Database,
    settings: &Settings,
) -> anyhow::Result<std::sync::Arc<crate::sync::SyncService>> {
    let secrets = settings.secret_box()?;
    let gdpr_key = settings.gdpr_key.clone();
    let hasher = db
        .run(move |conn| KeyedHasher::load(conn, gdpr_key.as_deref()))
        .await?;
    if !settings.connectors.is_empty() {
        let (configured, sealing) = (settings.connectors.clone(), secrets.clone());
        db.transaction(move |conn| crate::sync::config::apply(conn, sealing.as_ref(), &configured))
            .await
            .map_err(|e| anyhow::anyhow!("connectors in the config file: {e}"))?;
    }
    if let Some(sealing) = secrets.clone() {
        // After a key rotation, secrets still under an old key move to the current one.
        let resealed = db
            .transaction(move |conn| crate::sync::instances::reseal(conn, &sealing))
            .await
            .map_err(|e| anyhow::anyhow!("re-sealing connector secrets: {e}"))?;
        if resealed > 0 {
            tracing::info!(
                instances = resealed,
                "connector secrets re-sealed under the current key"
            );
        }
    }
    let setup = crate::sync::service::SyncSetup {
        rules: ContactRules {
            phone_region: settings.phone_region.clone(),
            disabled_fields: settings.disabled_contact_fields()?,
        },
        erasure: std::sync::Arc::new(crate::sync::erasure::Tombstones { hasher }),
        secrets,
        redirect_url: settings.oauth_redirect_url(),
        webhook_tolerance_seconds: settings.webhook_tolerance_seconds,
        policy: lexgate_connectors::http::HttpPolicy::default(),
        access_log: settings.access_log,
        public_url: settings.public_url.clone(),
    };
    Ok(std::sync::Arc::new(crate::sync::SyncService::new(
        db.clone(),
        setup,
    )))
}

fn auth_config(settings: &Settings) -> anyhow::Result<AuthConfig> {
    let secret = match &settings.auth_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => {
            tracing::warn!(
                "no auth_secret configured: using a random one, so logins end at restart"
            );
            crate::identity::random_secret().into_bytes()
        }
    };
    let mut config = AuthConfig::new(&secret);
    config.access_token_ttl_seconds = settings.access_token_ttl_seconds;
    config.refresh_token_ttl_days = settings.refresh_token_ttl_days;
    if let (Some(issuer), Some(audience)) = (&settings.oidc_issuer, &settings.oidc_audience) {
        let verifier = OidcVerifier::new(OidcSettings {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.clone(),
            role_claim: settings.oidc_role_claim.clone(),
            jwks_cache: std::time::Duration::from_secs(settings.oidc_jwks_cache_seconds),
        })?;
        config.oidc = Some(std::sync::Arc::new(verifier));
    }
    Ok(config)
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    return_large_blocks();
    let state = app_state(&settings).await?;
    if settings.retention_interval_hours > 0 {
        schedule_retention(&state, settings.retention_interval_hours);
    }
    let scheduler = settings
        .sync_scheduler
        .then(|| state.sync.clone().spawn_scheduler());
    let mail = match settings.mail.interval_seconds {
        0 => None,
        seconds => Some(
            mail_worker(&state.db, &settings)
                .await?
                .spawn(Duration::from_secs(seconds)),
        ),
    };
    let app = crate::http::router(state, &settings);
    let listener = TcpListener::bind(settings.bind).await?;
    tracing::info!(
        "lexgate listening on http://{} (playground at /graphql)",
        listener.local_addr()?
    );
    serve_connections(listener, app, &settings, shutdown_signal()).await;
    if let Some(scheduler) = scheduler {
        scheduler.abort();
    }
    if let Some(mail) = mail {
        mail.abort();
    }
    tracing::info!("lexgate stopped");
    Ok(())
}

/// The mail loop, with every kind of message that is enqueued when due.
pub async fn mail_worker(db: &Database, settings: &Settings) -> anyhow::Result<MailWorker> {
    let reminders: Producer = Arc::new(crate::deadlines::reminders::enqueue_due_now);
    let gdpr_key = settings.gdpr_key.clone();
    let links = ConfirmationLinks {
        hasher: db
            .run(move |conn| KeyedHasher::load(conn, gdpr_key.as_deref()))
            .await?,
        base_url: settings.public_base_url(),
    };
    let unsubscribe = crate::gdpr::unsubscribe::UnsubscribeLinks {
        hasher: links.hasher.clone(),
        base_url: settings.public_base_url(),
    };
    let confirmations: Producer =
        Arc::new(move |conn| crate::gdpr::double_opt_in::enqueue_confirmations(conn, &links));
    let gdpr = GdprContext {
        hasher: unsubscribe.hasher.clone(),
        rules: BasisRules {
            marketing_job_titles: settings.marketing_job_titles.clone(),
            soft_spam: settings.soft_spam,
            double_opt_in_purposes: settings.double_opt_in_purposes.clone(),
        },
    };
    let rules = ContactRules {
        phone_region: settings.phone_region.clone(),
        disabled_fields: settings.disabled_contact_fields()?,
    };
    let scheduled: Producer = Arc::new(move |conn| {
        crate::campaigns::sending::send_due(conn, &gdpr, &rules, &unsubscribe)
    });
    let campaigns: Producer = Arc::new(crate::campaigns::sending::settle_sending);
    let digests: Producer = Arc::new(crate::deadlines::digest::enqueue_due_now);
    MailWorker::new(
        db.clone(),
        &settings.mail,
        vec![reminders, digests, confirmations, scheduled, campaigns],
    )
}

/// Serves HTTP/1 connections until `signal`, then lets requests in flight finish for at most
/// `shutdown_timeout_seconds` and drops the connections left. Clients get
/// `header_read_timeout_seconds` to send a request's headers, so slow or stalled clients
/// (half-sent requests, slowloris) hold no connection for long nor keep a stopping server up.
async fn serve_connections(
    listener: TcpListener,
    app: axum::Router,
    settings: &Settings,
    signal: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.header_read_timeout_seconds));
    let builder = std::sync::Arc::new(builder);
    let (stop, stopping) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Client addresses feed the failed-login log and its per-address limit.
                let service = app.clone().map_request(
                    move |mut request: axum::http::Request<hyper::body::Incoming>| {
                        request
                            .extensions_mut()
                            .insert(axum::extract::ConnectInfo(peer));
                        request
                    },
                );
                let service = hyper_util::service::TowerToHyperService::new(service);
                let (builder, mut stopping) = (builder.clone(), stopping.clone());
                connections.spawn(async move {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    tokio::pin!(connection);
                    tokio::select! {
                        result = connection.as_mut() => {
                            if let Err(e) = result {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        }
                        _ = stopping.changed() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(());
    let deadline = Duration::from_secs(settings.shutdown_timeout_seconds);
    let drained = tokio::time::timeout(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "shutdown deadline passed: dropping the connections left"
        );
        connections.abort_all();
    }
}

/// Blocks of this size and more get a mapping of their own, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;

/// Fixes glibc's mmap threshold. By default it rises to the largest block freed (up to
/// 32 MiB): after the first password hash, every later one took argon2id's 19 MiB of working
/// memory from a heap instead, where it stayed resident once freed, once per thread that
/// hashed, so a server that had hashed three passwords held about 40 MiB more than one that
/// had hashed one (BENCHMARKS.md, "Levers taken since (issue 20)").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks() {
    // SAFETY: mallopt only changes the allocator's parameters, under its own lock.
    if unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) } != 1 {
        tracing::warn!("the allocator's mmap threshold could not be set");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks() {}

/// Applies the retention policies every `hours`, the first time an interval after start-up.
fn schedule_retention(state: &AppState, hours: u64) {
    let (db, hasher) = (state.db.clone(), state.gdpr.hasher.clone());
    let logged = state.access_log.is_some();
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(hours * 3600);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            ticks.tick().await;
            match crate::personal_data::retention::run_scheduled(&db, &hasher, logged).await {
                Ok(summary) => tracing::info!(?summary, "retention run"),
                Err(e) if crate::personal_data::retention::is_already_running(&e) => {
                    tracing::info!("retention run skipped: another process is running it")
                }
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
