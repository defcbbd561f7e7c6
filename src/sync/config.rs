//! Connector instances declared in the config file (`[[connectors]]`), applied at start-up:
//! created if new, updated if changed. Their secrets are sealed into the database like those
//! set through GraphQL.

use serde::Deserialize;

use super::instances::{self, ConnectorLogin, CreateConnectorInstanceInput};
use super::provenance::ProvenanceRuleInput;
use crate::db::AnyConnection;
use crate::error::Result;
use lexgate_connectors::secrets::SecretBox;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    pub name: String,
    pub kind: String,
    /// Left out: the kind's default root (`stripe` only; the others require one).
    #[serde(default)]
    pub base_url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub login: Option<ConnectorLogin>,
    pub api_key: Option<String>,
    pub plaintext: Option<bool>,
    pub ca_certificate: Option<String>,
    pub folders: Option<Vec<String>>,
    pub own_domains: Option<Vec<String>>,
    pub store_bodies: Option<bool>,
    pub ignore_addresses: Option<Vec<String>>,
    pub past_days: Option<i32>,
    pub future_days: Option<i32>,
    pub deadline_users: Option<Vec<String>>,
    pub matter_folders: Option<bool>,
    pub webhook_secret: Option<String>,
    pub schedule_minutes: Option<i32>,
    pub page_size: Option<i32>,
    pub source_detail: Option<String>,
    pub provenance: Option<Vec<ProvenanceRuleInput>>,
}

/// Applies every configured instance in the caller's transaction.
pub fn apply(
    conn: &mut AnyConnection,
    secrets: Option<&SecretBox>,
    configured: &[ConnectorConfig],
) -> Result<usize> {
    for config in configured {
        let config = config.clone();
        instances::configure(
            conn,
            secrets,
            CreateConnectorInstanceInput {
                name: config.name,
                kind: config.kind,
                base_url: config.base_url,
                client_id: config.client_id,
                client_secret: config.client_secret,
                auth_url: config.auth_url,
                token_url: config.token_url,
                scopes: config.scopes,
                username: config.username,
                password: config.password,
                login: config.login,
                api_key: config.api_key,
                plaintext: config.plaintext,
                ca_certificate: config.ca_certificate,
                folders: config.folders,
                own_domains: config.own_domains,
                store_bodies: config.store_bodies,
                ignore_addresses: config.ignore_addresses,
                past_days: config.past_days,
                future_days: config.future_days,
                deadline_users: config.deadline_users,
                matter_folders: config.matter_folders,
                webhook_secret: config.webhook_secret,
                schedule_minutes: config.schedule_minutes,
                page_size: config.page_size,
                source_detail: config.source_detail,
                provenance: config.provenance,
            },
        )?;
    }
    Ok(configured.len())
}
