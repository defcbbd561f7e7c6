//! The application state: what one process holds for the whole of its life (the database,
//! the rules, the services) and hands to the GraphQL schema and the HTTP routes. Built by
//! `server::app_state`; only the layers above the domain services (`graphql`, `http`,
//! `server`) reach for it.

use std::sync::Arc;

use crate::contacts::ContactRules;
use crate::db::Database;
use crate::identity::AuthConfig;

/// Shared, per-process state the schema and the routes carry.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub contact_rules: ContactRules,
    /// The largest `first` / `last` a list accepts.
    pub max_page_size: usize,
    /// The page size when neither `first` nor `last` is given.
    pub default_page_size: usize,
    pub auth: AuthConfig,
    pub roles: crate::access_policy::RoleCatalog,
    /// The principals behind credentials seen before.
    pub principals: crate::identity::PrincipalCache,
    /// `None` only when the access log is switched off (for measuring what it costs).
    pub access_log: Option<crate::audit::AccessLog>,
    /// The GDPR hasher and basis rules.
    pub gdpr: crate::gdpr::GdprContext,
    /// Connectors and the sync engine.
    pub sync: std::sync::Arc<crate::sync::SyncService>,
    /// The courts procedural terms can be computed for.
    pub courts: crate::deadlines::courts::Courts,
    /// Where lexgate is reached from outside (`public_url`, no trailing slash): the base of
    /// the links mailed to people.
    pub public_base_url: String,
    /// The firm's invoicing details, for the billing exports.
    pub firm: Arc<crate::billing::firm::FirmProfile>,
}
