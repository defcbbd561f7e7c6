//! Marketing campaigns and newsletters: who they are for and why. Who may actually receive
//! them (consent, suppression) is the GDPR module's rule; here a campaign records its
//! purpose and its audience filter.

pub mod audience;
pub mod sending;

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::contacts::ContactFilter;
use crate::db::schema::campaigns;
use crate::db::{new_id, now, text_enum, AnyConnection, Db};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{contains_pattern, lower, Page};
use crate::validation::{apply_change, non_blank};

text_enum! {
    /// Where a campaign is in its life.
    CampaignStatus {
        /// Being prepared; not yet scheduled.
        Draft => "draft",
        /// Set to be sent at `scheduledAt`.
        Scheduled => "scheduled",
        /// Being sent now: `sendCampaign` queued its messages and some still wait.
        Sending => "sending",
        /// Sent: every message queued was sent or given up; `updateCampaign` can no longer
        /// change its status (`sendCampaign` can still reach contacts who qualify later).
        Sent => "sent",
        /// Called off; its status can no longer change.
        Cancelled => "cancelled",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = campaigns, treat_none_as_null = true)]
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub status: String,
    pub description: Option<String>,
    pub audience_filter: String,
    pub scheduled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// About services analogous to those clients already bought (soft-spam exception).
    pub analogous_services: bool,
}

impl CampaignRow {
    /// The stored audience filter.
    pub fn audience(&self) -> Result<ContactFilter> {
        serde_json::from_str(&self.audience_filter)
            .map_err(|e| Error::Internal(format!("stored audience filter unreadable: {e}")))
    }
}

/// A new campaign, for `createCampaign`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateCampaignInput {
    /// The campaign's name.
    pub name: String,
    /// The key of the processing purpose, e.g. "newsletter" or "events": who may receive the
    /// campaign depends on the grounds recorded for it.
    pub purpose: String,
    /// Free text about the campaign.
    pub description: Option<String>,
    /// Which contacts the campaign is aimed at (all when omitted); the GDPR checks then narrow it.
    #[graphql(default)]
    pub audience_filter: ContactFilter,
    /// When to send it (ISO 8601); the campaign starts as a draft when omitted.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// About services analogous to those clients already bought: clients who have not
    /// objected may receive it without consent (art. 130(4) Codice Privacy).
    #[graphql(default)]
    pub analogous_services: bool,
}

/// Changes to a campaign, for `updateCampaign`: omitted fields keep their value; null clears an
/// optional one.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateCampaignInput {
    /// The `Campaign` to change.
    pub id: ID,
    /// The campaign's name.
    pub name: Option<String>,
    /// The key of the processing purpose.
    pub purpose: Option<String>,
    /// The new status: a draft and a scheduled campaign (which needs `scheduledAt`) move
    /// between each other, and a campaign not yet sent can be cancelled. `SENDING` and `SENT`
    /// are reached only by `sendCampaign` or, for a scheduled campaign, at its `scheduledAt`; a
    /// sent or cancelled campaign keeps its status.
    pub status: Option<CampaignStatus>,
    /// Free text; null clears it.
    pub description: MaybeUndefined<String>,
    /// Which contacts the campaign is aimed at.
    pub audience_filter: Option<ContactFilter>,
    /// When to send it (ISO 8601): the mail loop sends a `SCHEDULED` campaign once this time
    /// has passed. Null unschedules it (a scheduled campaign goes back to `DRAFT`).
    pub scheduled_at: MaybeUndefined<DateTime<Utc>>,
    /// About services analogous to those clients already bought (soft-spam exception, art. 130(4)
    /// Codice Privacy).
    pub analogous_services: Option<bool>,
}

/// Which campaigns `campaigns` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CampaignFilter {
    /// Part of the name.
    pub text: Option<String>,
    /// Any of these statuses.
    pub statuses: Option<Vec<CampaignStatus>>,
    /// Only campaigns for this purpose (its key).
    pub purpose: Option<String>,
}

/// Checks the filter's IDs now, so a campaign never stores an audience it cannot resolve.
fn encode_audience(v: &mut Validator, filter: &ContactFilter) -> String {
    if let Err(e) = crate::contacts::ContactQuery::new(filter.clone()) {
        let message = e.to_string();
        v.add("input.audienceFilter", message);
    }
    serde_json::to_string(filter).unwrap_or_default()
}

/// The purpose must be one the firm has recorded, so its grounds decide the audience.
fn check_purpose(conn: &mut AnyConnection, v: &mut Validator, key: &str) -> Result<String> {
    let key = v.required("input.purpose", key).to_lowercase();
    if !key.is_empty() && crate::gdpr::purposes::find(conn, &key)?.is_none() {
        v.add(
            "input.purpose",
            format!("no purpose `{key}`; see `purposes` for the firm's list"),
        );
    }
    Ok(key)
}

/// The changes `updateCampaign` may make by hand. Sending (`SENDING`, then `SENT`) is reached
/// only through `sendCampaign` or the mail loop (a due scheduled campaign, the settle step), so
/// a caller can neither mark a campaign sent that went to nobody nor hide one that is going
/// out; a draft and a scheduled campaign move between each other, and any campaign not yet
/// sent can be cancelled. Restating the current status is no change.
fn check_status_change(v: &mut Validator, from: &str, to: CampaignStatus) {
    use CampaignStatus::*;
    let from_status = CampaignStatus::from_db(from).ok();
    let allowed = from == to.as_str()
        || matches!(
            (from_status, to),
            (Some(Draft | Scheduled), Draft | Scheduled | Cancelled) | (Some(Sending), Cancelled)
        );
    if allowed {
        return;
    }
    let message = match (from_status, to) {
        (Some(Sent | Cancelled), _) => format!("a {from} campaign cannot change status"),
        (_, Sending | Sent) => {
            "a campaign is sent only by `sendCampaign` or, when scheduled, at its `scheduledAt`"
                .to_owned()
        }
        _ => format!("a {from} campaign can only be cancelled"),
    };
    v.add("input.status", message);
}

pub fn create(conn: &mut AnyConnection, input: CreateCampaignInput) -> Result<CampaignRow> {
    let mut v = Validator::new();
    let name = v.required("input.name", &input.name);
    let purpose = check_purpose(conn, &mut v, &input.purpose)?;
    let audience_filter = encode_audience(&mut v, &input.audience_filter);
    v.finish()?;
    let timestamp = now();
    let row = CampaignRow {
        id: new_id(),
        name,
        purpose,
        status: if input.scheduled_at.is_some() {
            CampaignStatus::Scheduled
        } else {
            CampaignStatus::Draft
        }
        .as_str()
        .to_owned(),
        description: non_blank(input.description),
        audience_filter,
        scheduled_at: input.scheduled_at.map(|t| t.naive_utc()),
        created_at: timestamp,
        updated_at: timestamp,
        analogous_services: input.analogous_services,
    };
    diesel::insert_into(campaigns::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(conn: &mut AnyConnection, input: UpdateCampaignInput) -> Result<CampaignRow> {
    let id = ids::decode(NodeType::Campaign, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        row.name = v.required("input.name", name);
    }
    if let Some(purpose) = &input.purpose {
        row.purpose = check_purpose(conn, &mut v, purpose)?;
    }
    if let Some(analogous) = input.analogous_services {
        row.analogous_services = analogous;
    }
    if let Some(status) = input.status {
        check_status_change(&mut v, &row.status, status);
        row.status = status.as_str().to_owned();
    }
    row.description = non_blank(apply_change(row.description.take(), input.description));
    if let Some(filter) = &input.audience_filter {
        row.audience_filter = encode_audience(&mut v, filter);
    }
    row.scheduled_at = apply_change(
        row.scheduled_at,
        input.scheduled_at.map_value(|t| t.naive_utc()),
    );
    if row.status == CampaignStatus::Scheduled.as_str() && row.scheduled_at.is_none() {
        if input.status.is_some() {
            v.add(
                "input.status",
                "a scheduled campaign needs its `scheduledAt`",
            );
        } else {
            // Unscheduled: back to a draft, which nothing sends by itself.
            row.status = CampaignStatus::Draft.as_str().to_owned();
        }
    }
    v.finish()?;
    row.updated_at = now();
    diesel::update(campaigns::table.find(&id))
        .set(&row)
        .execute(conn)?;
    if row.status == CampaignStatus::Cancelled.as_str() {
        // Called off: what has not gone out yet does not.
        sending::discard_pending(conn, &id)?;
    }
    Ok(row)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    if sending::has_deliveries(conn, id)? {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: "the campaign has been sent: its send records are kept; cancel it instead"
                .to_owned(),
        });
    }
    match diesel::delete(campaigns::table.find(id)).execute(conn)? {
        0 => Err(Error::not_found("Campaign", id)),
        _ => Ok(()),
    }
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<CampaignRow> {
    campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Campaign", id))
}

pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, CampaignRow>> {
    Ok(campaigns::table
        .filter(campaigns::id.eq_any(ids))
        .select(CampaignRow::as_select())
        .load::<CampaignRow>(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect())
}

fn query(filter: &CampaignFilter) -> campaigns::BoxedQuery<'static, Db> {
    let mut query = campaigns::table.into_boxed();
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        query = query.filter(
            lower(campaigns::name)
                .like(contains_pattern(&text.to_lowercase()))
                .escape('\\'),
        );
    }
    if let Some(statuses) = &filter.statuses {
        query = query.filter(
            campaigns::status.eq_any(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        );
    }
    if let Some(purpose) = &filter.purpose {
        query = query.filter(campaigns::purpose.eq(purpose.trim().to_lowercase()));
    }
    query
}

/// Newest first.
pub fn list(
    conn: &mut AnyConnection,
    filter: &CampaignFilter,
    page: Page,
) -> Result<Vec<CampaignRow>> {
    Ok(query(filter)
        .order_by((campaigns::created_at.desc(), campaigns::id.desc()))
        .offset(page.offset)
        .limit(page.limit)
        .select(CampaignRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, filter: &CampaignFilter) -> Result<i64> {
    Ok(query(filter).count().get_result(conn)?)
}
