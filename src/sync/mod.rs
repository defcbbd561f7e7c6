//! The sync engine: connector instances and their provenance rules, the engine that imports
//! what connectors pull (contacts, mail as communications: `mail`, calendar events as meetings: `calendar`, case-file documents: `documents`; folders made for new matters: `folders`; invoices of billing systems: `billing`; matters, deadlines and time of practice-management systems: `practice`) (idempotent, matching, with source and legal basis, never reviving
//! the erased), the lease that keeps each instance syncing in one place, runs, the review
//! queue, pushes with their disclosure register, deadlines pushed to calendars (`deadline_push`), time pushed to practice-management systems (`time_push`), time billed through billing systems (`billing`), webhooks' deduplication, and the webhooks kept at providers (`remote_webhooks`).

pub mod billing;
pub mod calendar;
pub mod config;
pub mod contact_page;
pub mod deadline_push;
pub mod documents;
pub mod engine;
pub mod erasure;
pub mod folders;
pub mod instances;
pub mod lease;
pub mod mail;
pub mod practice;
pub mod provenance;
pub mod push;
pub mod remote_webhooks;
pub mod review;
pub mod runs;
pub mod runtime;
pub mod service;
pub mod time_push;
pub mod upsert;
pub mod webhooks;

pub use engine::{SyncEngine, SyncError};
pub use erasure::{ErasureRegister, Identities};
pub use instances::InstanceRow;
pub use runtime::ConnectorRuntime;
pub use service::SyncService;

/// The trace span of one call to a connector: which instance, which direction and stream,
/// never the records.
pub(crate) fn connector_span(
    connector: &dyn lexgate_connectors::Connector,
    instance: &str,
    direction: &'static str,
    stream: &'static str,
) -> tracing::Span {
    tracing::info_span!(
        target: crate::telemetry::TRACE_TARGET,
        "connector",
        otel.name = format!("connector.{direction} {stream}"),
        otel.kind = "client",
        connector.kind = connector.kind(),
        connector.instance = instance,
        connector.direction = direction,
        connector.stream = stream,
    )
}
