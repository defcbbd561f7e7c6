//! The webhooks lexgate keeps at providers that announce changes (Clio Manage): one row per
//! instance and model. A round ([`claim_due`]) takes the rows due with one conditional UPDATE
//! each, so two replicas never create or renew the same webhook; the service then creates
//! the webhook (status `pending` until the provider's handshake, which [`activate`] accepts
//! only then) or renews it [`RENEW_BEFORE`] its expiry, and records the outcome here. Each
//! creation puts a fresh random [`HookToken`] in the webhook's URL and keeps only its digest:
//! a handshake or delivery without that token is refused ([`HookKeys::token_matches`]), so
//! knowing the instance and model is not enough to answer the handshake first. A claim
//! that lapses (a crash) only costs a repeat: renewing twice is harmless, and a webhook whose
//! handshake never came is deleted and created again.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use lexgate_connectors::RemoteWebhook;
use subtle::ConstantTimeEq;

use crate::db::schema::{connector_instances, connector_webhooks};
use crate::db::AnyConnection;
use crate::error::Result;
use crate::identity::{digest, random_secret};

/// How long lexgate asks a webhook to live (Clio allows 31 days).
pub const LIFETIME: Duration = Duration::days(30);
/// How long before its expiry a webhook is renewed.
pub const RENEW_BEFORE: Duration = Duration::days(3);
/// How long a claim keeps other replicas off a row.
const CLAIM: Duration = Duration::minutes(2);
/// How long a created webhook waits for its handshake before it is created again.
const HANDSHAKE_WAIT: Duration = Duration::minutes(10);
/// The longest wait between two failed attempts.
const MAX_BACKOFF_MINUTES: i64 = 60;

const PENDING: &str = "pending";
const ACTIVE: &str = "active";
const FAILING: &str = "failing";

/// A webhook as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connector_webhooks)]
pub struct WebhookRow {
    pub instance_id: String,
    pub model: String,
    pub remote_id: Option<String>,
    pub status: String,
    pub secret: Option<String>,
    pub token_hash: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    pub not_before: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Where a webhook at the provider stands.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorWebhookStatus {
    /// Being created, or waiting for the provider's handshake.
    Pending,
    /// Delivering: the handshake's secret is stored.
    Active,
    /// The last attempt to create or renew it failed; another follows.
    Failing,
}

impl WebhookRow {
    pub fn status(&self) -> ConnectorWebhookStatus {
        match self.status.as_str() {
            ACTIVE => ConnectorWebhookStatus::Active,
            FAILING => ConnectorWebhookStatus::Failing,
            _ => ConnectorWebhookStatus::Pending,
        }
    }

    /// Whether the claimed row's webhook is renewed (it exists and completed its handshake)
    /// rather than created (again).
    pub fn renewable(&self) -> bool {
        self.remote_id.is_some() && self.secret.is_some()
    }
}

/// The random token in the URL of a webhook being created (32 bytes, URL-safe): the provider
/// gets it, lexgate keeps only its digest. Never printed.
pub struct HookToken(String);

impl HookToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for HookToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookToken(..)")
    }
}

/// A row claimed by this replica; `token` is set when the webhook is to be created (again).
#[derive(Debug)]
pub struct ClaimedWebhook {
    pub row: WebhookRow,
    pub token: Option<HookToken>,
}

/// What a handshake or delivery is checked against: the URL token's digest and, after the
/// handshake, the sealed secret.
#[derive(Queryable, Selectable)]
#[diesel(table_name = connector_webhooks)]
pub struct HookKeys {
    token_hash: Option<String>,
    pub secret: Option<String>,
}

impl HookKeys {
    /// Whether `token` is the one the webhook was created with, compared in constant time.
    pub fn token_matches(&self, token: Option<&str>) -> bool {
        match (&self.token_hash, token) {
            (Some(expected), Some(token)) => {
                bool::from(digest(token).as_bytes().ct_eq(expected.as_bytes()))
            }
            _ => false,
        }
    }
}

/// The associated data binding a sealed handshake secret to its instance and model.
pub fn secret_context(instance_id: &str, model: &str) -> String {
    format!("connector_webhooks:{instance_id}:{model}")
}

/// Adds, due at `at`, the rows of `models` the instance lacks. Run in its own transaction:
/// another replica adding the same rows at once makes it fail with a unique violation, which
/// leaves the rows that replica added.
pub fn ensure(
    conn: &mut AnyConnection,
    instance_id: &str,
    models: &[&str],
    at: NaiveDateTime,
) -> Result<usize> {
    let have: Vec<String> = connector_webhooks::table
        .filter(connector_webhooks::instance_id.eq(instance_id))
        .select(connector_webhooks::model)
        .load(conn)?;
    let mut added = 0;
    for model in models.iter().filter(|m| !have.iter().any(|h| h == *m)) {
        added += diesel::insert_into(connector_webhooks::table)
            .values((
                connector_webhooks::instance_id.eq(instance_id),
                connector_webhooks::model.eq(*model),
                connector_webhooks::status.eq(PENDING),
                connector_webhooks::not_before.eq(at),
                connector_webhooks::created_at.eq(at),
                connector_webhooks::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(added)
}

/// Claims the rows due at `at` (of `instance_id` only, when given) of enabled instances for
/// `holder`. A row to create (again) becomes `pending` without a secret and with a new
/// token's digest in the same UPDATE, so the provider's handshake finds it waiting.
pub fn claim_due(
    conn: &mut AnyConnection,
    holder: &str,
    instance_id: Option<&str>,
    at: NaiveDateTime,
) -> Result<Vec<ClaimedWebhook>> {
    let mut due = connector_webhooks::table
        .inner_join(connector_instances::table)
        .filter(connector_instances::enabled.eq(true))
        .filter(connector_webhooks::not_before.le(at))
        .select(WebhookRow::as_select())
        .order_by(connector_webhooks::not_before.asc())
        .into_boxed();
    if let Some(instance_id) = instance_id {
        due = due.filter(connector_webhooks::instance_id.eq(instance_id.to_owned()));
    }
    let due: Vec<WebhookRow> = due.load(conn)?;
    let mut claimed = Vec::new();
    for mut row in due {
        let target = connector_webhooks::table
            .find((&row.instance_id, &row.model))
            // Taken only if nobody changed it since it was read: another replica's claim
            // (or its outcome) moved `not_before`.
            .filter(connector_webhooks::not_before.eq(row.not_before));
        let renew_at = row.expires_at.map(|expires| expires - RENEW_BEFORE);
        if let (true, Some(renew_at)) = (row.renewable(), renew_at.filter(|r| *r > at)) {
            // Its handshake came after it was recorded (due again soon, to look): the
            // renewal is due before it expires, not now.
            diesel::update(target)
                .set(connector_webhooks::not_before.eq(renew_at))
                .execute(conn)?;
            continue;
        }
        let claim = (
            connector_webhooks::claimed_by.eq(holder),
            connector_webhooks::not_before.eq(at + CLAIM),
            connector_webhooks::updated_at.eq(at),
        );
        let (taken, token) = if row.renewable() {
            (diesel::update(target).set(claim).execute(conn)?, None)
        } else {
            let token = HookToken(random_secret());
            let token_hash = digest(token.as_str());
            let taken = diesel::update(target)
                .set((
                    claim,
                    connector_webhooks::status.eq(PENDING),
                    connector_webhooks::secret.eq(None::<String>),
                    connector_webhooks::token_hash.eq(Some(&token_hash)),
                ))
                .execute(conn)?;
            row.status = PENDING.to_owned();
            row.secret = None;
            row.token_hash = Some(token_hash);
            (taken, Some(token))
        };
        if taken == 1 {
            claimed.push(ClaimedWebhook { row, token });
        }
    }
    Ok(claimed)
}

fn renewal_due(expires_at: Option<NaiveDateTime>, at: NaiveDateTime) -> NaiveDateTime {
    expires_at.map_or(at + HANDSHAKE_WAIT, |expires| {
        (expires - RENEW_BEFORE).max(at + CLAIM)
    })
}

/// Records a webhook the provider created: due again when its handshake should have come (or,
/// if it came already, before it expires).
pub fn created(
    conn: &mut AnyConnection,
    instance_id: &str,
    model: &str,
    remote: &RemoteWebhook,
    at: NaiveDateTime,
) -> Result<()> {
    let expires_at = remote.expires_at.map(|e| e.naive_utc());
    let status: String = connector_webhooks::table
        .find((instance_id, model))
        .select(connector_webhooks::status)
        .first(conn)?;
    let not_before = if status == ACTIVE {
        renewal_due(expires_at, at)
    } else {
        at + HANDSHAKE_WAIT
    };
    diesel::update(connector_webhooks::table.find((instance_id, model)))
        .set((
            connector_webhooks::remote_id.eq(Some(&remote.id)),
            connector_webhooks::expires_at.eq(expires_at),
            connector_webhooks::attempts.eq(0),
            connector_webhooks::last_error.eq(None::<String>),
            connector_webhooks::claimed_by.eq(None::<String>),
            connector_webhooks::not_before.eq(not_before),
            connector_webhooks::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a renewal: due again [`RENEW_BEFORE`] the new expiry.
pub fn renewed(
    conn: &mut AnyConnection,
    instance_id: &str,
    model: &str,
    remote: &RemoteWebhook,
    at: NaiveDateTime,
) -> Result<()> {
    let expires_at = remote.expires_at.map(|e| e.naive_utc());
    diesel::update(connector_webhooks::table.find((instance_id, model)))
        .set((
            connector_webhooks::status.eq(ACTIVE),
            connector_webhooks::expires_at.eq(expires_at),
            connector_webhooks::attempts.eq(0),
            connector_webhooks::last_error.eq(None::<String>),
            connector_webhooks::claimed_by.eq(None::<String>),
            connector_webhooks::not_before.eq(renewal_due(expires_at, at)),
            connector_webhooks::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt; the next waits 1, 2, 4 … minutes, at most an hour. When the
/// provider no longer has the webhook (`forget`), the next attempt creates one.
pub fn failed(
    conn: &mut AnyConnection,
    instance_id: &str,
    model: &str,
    error: &str,
    forget: bool,
    at: NaiveDateTime,
) -> Result<()> {
    let attempts: i32 = connector_webhooks::table
        .find((instance_id, model))
        .select(connector_webhooks::attempts)
        .first(conn)?;
    let attempts = attempts.saturating_add(1);
    let wait = 1_i64
        .checked_shl(u32::try_from(attempts - 1).unwrap_or(u32::MAX))
        .unwrap_or(i64::MAX)
        .min(MAX_BACKOFF_MINUTES);
    let target = connector_webhooks::table.find((instance_id, model));
    let outcome = (
        connector_webhooks::status.eq(FAILING),
        connector_webhooks::attempts.eq(attempts),
        connector_webhooks::last_error.eq(Some(error)),
        connector_webhooks::claimed_by.eq(None::<String>),
        connector_webhooks::not_before.eq(at + Duration::minutes(wait)),
        connector_webhooks::updated_at.eq(at),
    );
    if forget {
        diesel::update(target)
            .set((
                outcome,
                connector_webhooks::remote_id.eq(None::<String>),
                connector_webhooks::secret.eq(None::<String>),
                connector_webhooks::token_hash.eq(None::<String>),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target).set(outcome).execute(conn)?;
    }
    Ok(())
}

/// The provider's handshake: the webhook of `model` becomes active with the (sealed) secret,
/// only if it is waiting for one and was still created with the token `keys` matched (not
/// created again since). Answers whether it was.
pub fn activate(
    conn: &mut AnyConnection,
    instance_id: &str,
    model: &str,
    keys: &HookKeys,
    sealed_secret: &str,
    at: NaiveDateTime,
) -> Result<bool> {
    let Some(token_hash) = &keys.token_hash else {
        return Ok(false);
    };
    let activated = diesel::update(
        connector_webhooks::table
            .find((instance_id, model))
            .filter(connector_webhooks::status.eq(PENDING))
            .filter(connector_webhooks::token_hash.eq(token_hash)),
    )
    .set((
        connector_webhooks::status.eq(ACTIVE),
        connector_webhooks::secret.eq(Some(sealed_secret)),
        connector_webhooks::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(activated == 1)
}

/// What the handshake and deliveries of the webhook of `model` are checked against, if the
/// instance has that webhook.
pub fn keys(conn: &mut AnyConnection, instance_id: &str, model: &str) -> Result<Option<HookKeys>> {
    Ok(connector_webhooks::table
        .find((instance_id, model))
        .select(HookKeys::as_select())
        .first(conn)
        .optional()?)
}

/// The instance's webhooks, by model.
pub fn of_instance(conn: &mut AnyConnection, instance_id: &str) -> Result<Vec<WebhookRow>> {
    Ok(connector_webhooks::table
        .filter(connector_webhooks::instance_id.eq(instance_id))
        .order_by(connector_webhooks::model.asc())
        .select(WebhookRow::as_select())
        .load(conn)?)
}

/// Forgets the instance's webhooks (it was disabled); answers the provider's ids of those it
/// had, to delete there.
pub fn forget_all(conn: &mut AnyConnection, instance_id: &str) -> Result<Vec<String>> {
    let ids: Vec<Option<String>> = connector_webhooks::table
        .filter(connector_webhooks::instance_id.eq(instance_id))
        .select(connector_webhooks::remote_id)
        .load(conn)?;
    diesel::delete(
        connector_webhooks::table.filter(connector_webhooks::instance_id.eq(instance_id)),
    )
    .execute(conn)?;
    Ok(ids.into_iter().flatten().collect())
}
