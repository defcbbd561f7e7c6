//! Prometheus metrics: one process-wide recorder (the `metrics` facade), rendered by
//! `GET /metrics`. Code anywhere records with the `metrics` macros; the names and what they
//! mean are listed once here.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const GRAPHQL_REQUESTS: &str = "lexgate_graphql_requests_total";
pub const GRAPHQL_DURATION: &str = "lexgate_graphql_request_duration_seconds";
pub const GRAPHQL_CHECKED_IN_ADVANCE: &str = "lexgate_graphql_checked_in_advance_total";
pub const POOL_CONNECTIONS: &str = "lexgate_db_pool_connections";
pub const POOL_MAX: &str = "lexgate_db_pool_max_connections";
pub const POOL_WAITING: &str = "lexgate_db_pool_waiting_requests";
pub const ACCESS_LOG_BATCH_ENTRIES: &str = "lexgate_access_log_batch_entries";
pub const ACCESS_LOG_COMMIT_DURATION: &str = "lexgate_access_log_commit_duration_seconds";
pub const ACCESS_LOG_BATCHES: &str = "lexgate_access_log_batches_total";
pub const SYNC_RUNS: &str = "lexgate_sync_runs_total";
pub const SYNC_RECORDS: &str = "lexgate_sync_records_total";

/// Operation names are the client's to choose: past this many distinct ones, new names are
/// counted as `other`, so a client cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

/// The label an operation is counted under.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let is_graphql_name = name.len() <= 64
        && name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !is_graphql_name {
        return "invalid".to_owned();
    }
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts an operation decided in advance (`graphql::admission`).
pub fn checked_in_advance(operation: Option<&str>) {
    metrics::counter!(GRAPHQL_CHECKED_IN_ADVANCE, "operation" => operation_label(operation))
        .increment(1);
}

/// Seconds: from a millisecond to the default 10 s request timeout and beyond.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Entries per access-log batch (up to a few hundred under load).
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// The process's recorder, installed on first use (servers in one test process share it).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&DURATION_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(
                            ACCESS_LOG_BATCH_ENTRIES.to_owned(),
                        ),
                        &BATCH_BUCKETS,
                    )
                });
            let recorder = match builder {
                Ok(builder) => builder.build_recorder(),
                // Only an empty bucket list is refused, and the lists above are not empty.
                Err(e) => unreachable!("metrics buckets: {e}"),
            };
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                // Another recorder (a test harness's) came first; ours then sees nothing.
                tracing::warn!(error = %e, "metrics recorder not installed");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        GRAPHQL_REQUESTS,
        "GraphQL operations by operation name and outcome (ok, error, request_error)"
    );
    describe_counter!(
        GRAPHQL_CHECKED_IN_ADVANCE,
        "GraphQL operations whose every field was decided for the caller's role before they ran, by operation name"
    );
    describe_histogram!(
        GRAPHQL_DURATION,
        Unit::Seconds,
        "GraphQL operation latency by operation name and outcome"
    );
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database pool connections by state (in_use, idle), at scrape time"
    );
    describe_gauge!(POOL_MAX, "Database pool size limit");
    describe_gauge!(POOL_WAITING, "Requests waiting for a pooled connection");
    describe_histogram!(
        ACCESS_LOG_BATCH_ENTRIES,
        Unit::Count,
        "Access-log entries committed per group-commit transaction"
    );
    describe_histogram!(
        ACCESS_LOG_COMMIT_DURATION,
        Unit::Seconds,
        "Time to write and commit one access-log batch, by outcome"
    );
    describe_counter!(
        ACCESS_LOG_BATCHES,
        "Access-log batches by outcome (ok, error)"
    );
    describe_counter!(
        SYNC_RUNS,
        "Connector sync runs by instance and outcome (succeeded, failed)"
    );
    describe_counter!(
        SYNC_RECORDS,
        "Records handled by sync runs, by instance and outcome (created, updated, linked, deleted, skipped, review, failed)"
    );
}
