//! Retention (Art. 5(1)(e)): policies per purpose and data category, and the run that ends,
//! erases or anonymises what has outlived them. Legal holds win; restricted contacts are kept
//! as they are (restriction means "store, do nothing else" until it is lifted); every erasure
//! goes to the erasure log. A second run on the same day changes nothing more.

use std::collections::{BTreeSet, HashMap};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject, ID};
use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::erasure::{self, ErasureCause};
use crate::contacts;
use crate::db::schema::{
    communication_participants, communications, contact_sources, contacts as contacts_table,
    deadlines, erasure_log, legal_holds, matter_events, matter_parties, matters,
    processing_grounds, purposes as purposes_table, retention_policies, retention_runs,
};
use crate::db::{new_id, now, text_enum, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::gdpr::{purposes, KeyedHasher};
use crate::ids::{self, NodeType};
use crate::validation::{apply_change, non_blank};

text_enum! {
    /// What a retention policy limits.
    RetentionCategory {
        /// A purpose's processing grounds; a contact left without any basis is erased.
        ProcessingGround => "processing_ground",
        /// Prospects the firm has not been in touch with.
        InactiveProspect => "inactive_prospect",
        /// Closed matters' contents and party links.
        ClosedMatter => "closed_matter",
    }
}

text_enum! {
    /// Purposes a processing-ground policy can cover as a whole, by the purpose's flags.
    PurposeCategory {
        /// Every marketing purpose (24 months by default).
        Marketing => "marketing",
        /// Every profiling purpose (12 months by default).
        Profiling => "profiling",
    }
}

/// Channels whose logged contact renews a clock: the person was actually talked to.
const RENEWING_CHANNELS: &[&str] = &["phone", "meeting", "video"];

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = retention_policies, treat_none_as_null = true)]
pub struct RetentionPolicyRow {
    pub id: String,
    pub name: String,
    pub category: String,
    pub purpose_id: Option<String>,
    pub months: i32,
    pub renew_on_contact: bool,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub purpose_category: Option<String>,
}

/// A new retention policy, for `createRetentionPolicy`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateRetentionPolicyInput {
    /// The policy's name.
    pub name: String,
    /// What the policy limits.
    pub category: RetentionCategory,
    /// The purpose's key: a `PROCESSING_GROUND` policy names a purpose or a
    /// `purposeCategory`; the other categories neither.
    pub purpose: Option<String>,
    /// Every purpose of this category, instead of one `purpose`.
    pub purpose_category: Option<PurposeCategory>,
    /// How long the data is kept, in months from the start of its clock.
    pub months: i32,
    /// A logged call, meeting or video call with the person restarts the clock; refused for
    /// marketing and profiling, whose clocks only new consent restarts.
    #[graphql(default)]
    pub renew_on_contact: bool,
    /// Why this period, e.g. the rule it follows.
    pub description: Option<String>,
}

/// Changes to a retention policy, for `updateRetentionPolicy`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateRetentionPolicyInput {
    /// The `RetentionPolicy` to change.
    pub id: ID,
    /// The policy's name.
    pub name: Option<String>,
    /// How long the data is kept, in months.
    pub months: Option<i32>,
    /// Whether a logged call, meeting or video call with the person restarts the clock (refused for
    /// marketing and profiling).
    pub renew_on_contact: Option<bool>,
    /// Why this period; null clears it.
    pub description: MaybeUndefined<String>,
    /// Whether retention runs apply the policy.
    pub active: Option<bool>,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, SimpleObject)]
pub struct RetentionSummary {
    /// Whether this was a dry run that changed nothing.
    pub dry_run: bool,
    /// Processing grounds ended because their period ran out.
    pub grounds_ended: i32,
    /// Contacts erased, wholly or in the parts no legal hold needs.
    pub contacts_erased: i32,
    /// Of those, the ones kept in part because a legal hold needs them.
    pub contacts_partly_kept: i32,
    /// Closed matters whose contents and party links were anonymised.
    pub matters_anonymised: i32,
    /// The contacts the run changed (for its access-log entry).
    #[graphql(skip)]
    #[serde(skip)]
    pub changed_contacts: BTreeSet<String>,
}

pub fn list(conn: &mut AnyConnection) -> Result<Vec<RetentionPolicyRow>> {
    Ok(retention_policies::table
        .order_by((retention_policies::category, retention_policies::name))
        .select(RetentionPolicyRow::as_select())
        .load(conn)?)
}

fn get(conn: &mut AnyConnection, id: &str) -> Result<RetentionPolicyRow> {
    retention_policies::table
        .find(id)
        .select(RetentionPolicyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("RetentionPolicy", id))
}

fn check_months(v: &mut Validator, months: i32) {
    if !(1..=1200).contains(&months) {
        v.add("input.months", "between 1 and 1200 months");
    }
}

fn unique_name(conn: &mut AnyConnection, name: &str, except: Option<&str>) -> Result<()> {
    let taken: Option<String> = retention_policies::table
        .filter(retention_policies::name.eq(name))
        .select(retention_policies::id)
        .first(conn)
        .optional()?;
    match taken {
        Some(id) if Some(id.as_str()) != except => Err(Error::Conflict {
            field: Some("input.name".to_owned()),
            message: format!("a retention policy named `{name}` exists"),
        }),
        _ => Ok(()),
    }
}

pub fn create(
    conn: &mut AnyConnection,
    input: CreateRetentionPolicyInput,
) -> Result<RetentionPolicyRow> {
    let mut v = Validator::new();
    let name = v.required("input.name", &input.name);
    check_months(&mut v, input.months);
    let purpose = match (input.category, &input.purpose) {
        (RetentionCategory::ProcessingGround, Some(_)) if input.purpose_category.is_some() => {
            v.add(
                "input.purposeCategory",
                "name a purpose or a purpose category, not both",
            );
            None
        }
        (RetentionCategory::ProcessingGround, Some(key)) => {
            v.check("input.purpose", purposes::named(conn, key, "input.purpose"))
        }
        (RetentionCategory::ProcessingGround, None) if input.purpose_category.is_some() => None,
        (RetentionCategory::ProcessingGround, None) => {
            v.add(
                "input.purpose",
                "a processing-ground policy names its purpose or purpose category",
            );
            None
        }
        (_, Some(_)) => {
            v.add(
                "input.purpose",
                "only processing-ground policies name a purpose",
            );
            None
        }
        (_, None) => None,
    };
    if input.category != RetentionCategory::ProcessingGround && input.purpose_category.is_some() {
        v.add(
            "input.purposeCategory",
            "only processing-ground policies name a purpose category",
        );
    }
    let marketing_clock = input.purpose_category.is_some()
        || purpose.as_ref().is_some_and(|p| p.marketing || p.profiling);
    if input.renew_on_contact && marketing_clock {
        v.add("input.renewOnContact", RENEWAL_REFUSED);
    }
    v.finish()?;
    unique_name(conn, &name, None)?;
    let timestamp = now();
    let row = RetentionPolicyRow {
        id: new_id(),
        name,
        category: input.category.as_str().to_owned(),
        purpose_id: purpose.map(|p| p.id),
        months: input.months,
        renew_on_contact: input.renew_on_contact,
        description: non_blank(input.description),
        active: true,
        created_at: timestamp,
        updated_at: timestamp,
        purpose_category: input.purpose_category.map(|c| c.as_str().to_owned()),
    };
    diesel::insert_into(retention_policies::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(
    conn: &mut AnyConnection,
    input: UpdateRetentionPolicyInput,
) -> Result<RetentionPolicyRow> {
    let id = ids::decode(NodeType::RetentionPolicy, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        row.name = v.required("input.name", name);
    }
    if let Some(months) = input.months {
        check_months(&mut v, months);
        row.months = months;
    }
    v.finish()?;
    unique_name(conn, &row.name, Some(&row.id))?;
    if let Some(renew) = input.renew_on_contact {
        if renew && marketing_clock(conn, &row)? {
            return Err(Error::invalid("input.renewOnContact", RENEWAL_REFUSED));
        }
        row.renew_on_contact = renew;
    }
    if let Some(active) = input.active {
        row.active = active;
    }
    row.description = non_blank(apply_change(row.description, input.description));
    row.updated_at = now();
    diesel::update(retention_policies::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

const RENEWAL_REFUSED: &str = "a call or meeting renews only the relationship and prospect \
     clocks; a marketing or profiling clock restarts only with new consent";

/// Whether a processing-ground policy runs a marketing or profiling clock, which contact
/// with the person never renews (Garante, 24 February 2005).
fn marketing_clock(conn: &mut AnyConnection, policy: &RetentionPolicyRow) -> Result<bool> {
    if policy.purpose_category.is_some() {
        return Ok(true);
    }
    let Some(purpose) = &policy.purpose_id else {
        return Ok(false);
    };
    Ok(purposes::by_ids(conn, std::slice::from_ref(purpose))?
        .iter()
        .any(|p| p.marketing || p.profiling))
}

/// The purposes a processing-ground policy covers: its purpose, or every purpose of its
/// category as the purposes' flags say now.
fn covered_purposes(conn: &mut AnyConnection, policy: &RetentionPolicyRow) -> Result<Vec<String>> {
    let category = policy
        .purpose_category
        .as_deref()
        .map(PurposeCategory::from_db)
        .transpose()?;
    Ok(match category {
        Some(PurposeCategory::Marketing) => purposes_table::table
            .filter(purposes_table::marketing.eq(true))
            .select(purposes_table::id)
            .load(conn)?,
        Some(PurposeCategory::Profiling) => purposes_table::table
            .filter(purposes_table::profiling.eq(true))
            .select(purposes_table::id)
            .load(conn)?,
        None => policy.purpose_id.iter().cloned().collect(),
    })
}

/// A retention policy as it applies to one person: what it limits and the day from which a
/// run would end that processing (`None` while its clock has not started: an open matter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPolicy {
    pub policy: String,
    pub policy_id: String,
    pub months: i32,
    /// What the policy limits for this person: a purpose's ground, the prospect relationship,
    /// a matter.
    pub applies_to: String,
    pub clock_started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ends_processing_on: Option<NaiveDate>,
}

/// The first day a run ends what started at `start` under a `months` policy: a run ends it
/// once `start` lies before the cutoff, midnight `months` before the run's day.
fn end_day(start: NaiveDate, months: i32) -> Option<NaiveDate> {
    start
        .succ_opt()?
        .checked_add_months(Months::new(u32::try_from(months).ok()?))
}

/// The active policies that apply to a contact, with the date each would end processing, as
/// `run` applies them (legal holds, listed apart, can keep data longer).
pub fn applying_to(conn: &mut AnyConnection, contact_id: &str) -> Result<Vec<AppliedPolicy>> {
    let contact = contacts::get(conn, contact_id)?;
    let ids = [contact_id.to_owned()];
    let spoken = last_spoken_to(conn, &ids)?.remove(contact_id);
    let mut applied = Vec::new();
    for policy in list(conn)?.into_iter().filter(|p| p.active) {
        let entry = |applies_to: String, start: Option<NaiveDateTime>| AppliedPolicy {
            policy: policy.name.clone(),
            policy_id: ids::encode(NodeType::RetentionPolicy, &policy.id).to_string(),
            months: policy.months,
            applies_to,
            clock_started_at: start.map(|s| s.and_utc()),
            ends_processing_on: start.and_then(|s| end_day(s.date(), policy.months)),
        };
        match RetentionCategory::from_db(&policy.category)? {
            RetentionCategory::ProcessingGround => {
                let covered = covered_purposes(conn, &policy)?;
                let renews = policy.renew_on_contact && !marketing_clock(conn, &policy)?;
                let grounds: Vec<(String, NaiveDateTime)> = processing_grounds::table
                    .inner_join(purposes_table::table)
                    .filter(processing_grounds::contact_id.eq(contact_id))
                    .filter(processing_grounds::purpose_id.eq_any(&covered))
                    .filter(processing_grounds::ended_at.is_null())
                    .select((purposes_table::key, processing_grounds::started_at))
                    .load(conn)?;
                for (purpose, started) in grounds {
                    let start = match spoken {
                        Some(at) if renews => started.max(at),
                        _ => started,
                    };
                    applied.push(entry(
                        format!("processing ground for `{purpose}`"),
                        Some(start),
                    ));
                }
            }
            RetentionCategory::InactiveProspect if contact.category == "prospect" => {
                let acquired: Option<NaiveDateTime> = contact_sources::table
                    .filter(contact_sources::contact_id.eq(contact_id))
                    .select(diesel::dsl::max(contact_sources::acquired_at))
                    .first(conn)?;
                let start = match spoken {
                    Some(at) if policy.renew_on_contact => acquired.map(|a| a.max(at)),
                    _ => acquired,
                };
                applied.push(entry("prospect not contacted".to_owned(), start));
            }
            RetentionCategory::InactiveProspect => {}
            RetentionCategory::ClosedMatter => {
                let parties: Vec<(String, String, Option<NaiveDate>)> = matter_parties::table
                    .inner_join(matters::table)
                    .filter(matter_parties::contact_id.eq(contact_id))
                    .filter(matters::retention_applied_at.is_null())
                    .select((matters::reference, matters::status, matters::closed_on))
                    .distinct()
                    .load(conn)?;
                for (reference, status, closed_on) in parties {
                    // The clock starts when the matter closes.
                    let start = closed_on
                        .filter(|_| matches!(status.as_str(), "closed" | "archived"))
                        .and_then(|d| d.and_hms_opt(0, 0, 0));
                    applied.push(entry(format!("matter {reference}"), start));
                }
            }
        }
    }
    Ok(applied)
}

/// Applies every active policy as of `today`, in the caller's transaction (`Database::dry_run`
/// for a dry run). `progress` is told how many policies are done out of how many.
/// The advisory lock a retention run holds (any number, the same in every process).
pub const RUN_LOCK: i64 = 0x6c65_7872_6574;

/// Why a run was skipped.
pub const ALREADY_RUNNING: &str =
    "a retention run is already in progress (in this or another server process); this one was skipped";

/// Whether `error` says another run was in progress.
pub fn is_already_running(error: &Error) -> bool {
    matches!(error, Error::Conflict { message, .. } if message == ALREADY_RUNNING)
}

pub fn run(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    today: NaiveDate,
    by: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<RetentionSummary> {
    // Replicas each schedule runs: two at once would erase the same contacts and one would
    // fail half-way; the second one is skipped instead.
    if !crate::db::try_transaction_lock(conn, RUN_LOCK)? {
        return Err(Error::Conflict {
            field: None,
            message: ALREADY_RUNNING.to_owned(),
        });
    }
    let policies: Vec<RetentionPolicyRow> = list(conn)?.into_iter().filter(|p| p.active).collect();
    let mut summary = RetentionSummary::default();
    let total = policies.len() as u64;
    for (done, policy) in policies.iter().enumerate() {
        let cutoff = today
            .checked_sub_months(Months::new(u32::try_from(policy.months).unwrap_or(0)))
            .unwrap_or(NaiveDate::MIN)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        match RetentionCategory::from_db(&policy.category)? {
            RetentionCategory::ProcessingGround => {
                end_expired_grounds(conn, hasher, policy, cutoff, by, &mut summary)?
            }
            RetentionCategory::InactiveProspect => {
                erase_inactive_prospects(conn, hasher, policy, cutoff, by, &mut summary)?
            }
            RetentionCategory::ClosedMatter => {
                anonymise_closed_matters(conn, policy, cutoff.date(), by, &mut summary)?
            }
        }
        progress(done as u64 + 1, total);
    }
    Ok(summary)
}

/// Records a finished run (dry runs too, so the DPO sees what was checked).
pub fn record_run(
    conn: &mut AnyConnection,
    started_at: NaiveDateTime,
    by: &str,
    summary: &RetentionSummary,
) -> Result<()> {
    diesel::insert_into(retention_runs::table)
        .values((
            retention_runs::id.eq(new_id()),
            retention_runs::started_at.eq(started_at),
            retention_runs::finished_at.eq(now()),
            retention_runs::dry_run.eq(summary.dry_run),
            retention_runs::triggered_by.eq(by),
            retention_runs::grounds_ended.eq(summary.grounds_ended),
            retention_runs::contacts_erased.eq(summary.contacts_erased),
            retention_runs::contacts_partly_kept.eq(summary.contacts_partly_kept),
            retention_runs::matters_anonymised.eq(summary.matters_anonymised),
        ))
        .execute(conn)?;
    Ok(())
}

/// The latest call, meeting or video call with each contact.
fn last_spoken_to(
    conn: &mut AnyConnection,
    contact_ids: &[String],
) -> Result<HashMap<String, NaiveDateTime>> {
    let rows: Vec<(String, NaiveDateTime)> = communication_participants::table
        .inner_join(communications::table)
        .filter(communication_participants::contact_id.eq_any(contact_ids))
        .filter(communications::channel.eq_any(RENEWING_CHANNELS))
        .select((
            communication_participants::contact_id,
            communications::occurred_at,
        ))
        .load(conn)?;
    let mut latest: HashMap<String, NaiveDateTime> = HashMap::new();
    for (contact, at) in rows {
        let entry = latest.entry(contact).or_insert(at);
        *entry = (*entry).max(at);
    }
    Ok(latest)
}

/// Contacts among `ids` that retention leaves alone: restricted ones (kept as they are).
fn unrestricted(conn: &mut AnyConnection, ids: &[String]) -> Result<BTreeSet<String>> {
    Ok(contacts_table::table
        .filter(contacts_table::id.eq_any(ids))
        .filter(crate::contacts::not_restricted())
        .select(contacts_table::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

fn end_expired_grounds(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    policy: &RetentionPolicyRow,
    cutoff: NaiveDateTime,
    by: &str,
    summary: &mut RetentionSummary,
) -> Result<()> {
    let covered = covered_purposes(conn, policy)?;
    let started: Vec<(String, String, NaiveDateTime)> = processing_grounds::table
        .filter(processing_grounds::purpose_id.eq_any(&covered))
        .filter(processing_grounds::ended_at.is_null())
        .filter(processing_grounds::started_at.lt(cutoff))
        .select((
            processing_grounds::id,
            processing_grounds::contact_id,
            processing_grounds::started_at,
        ))
        .load(conn)?;
    let contacts: Vec<String> = started.iter().map(|g| g.1.clone()).collect();
    let spoken = if policy.renew_on_contact && !marketing_clock(conn, policy)? {
        last_spoken_to(conn, &contacts)?
    } else {
        HashMap::new()
    };
    let kept_as_is = unrestricted(conn, &contacts)?;
    let expired: Vec<(String, String)> = started
        .into_iter()
        .filter(|(_, contact, _)| kept_as_is.contains(contact))
        .filter(|(_, contact, _)| spoken.get(contact).is_none_or(|at| *at < cutoff))
        .map(|(id, contact, _)| (id, contact))
        .collect();
    let ids: Vec<String> = expired.iter().map(|(id, _)| id.clone()).collect();
    let reason = format!(
        "retention period of {} months expired ({})",
        policy.months, policy.name
    );
    summary.grounds_ended +=
        i32::try_from(crate::gdpr::grounds::end_grounds(conn, &ids, &reason)?).unwrap_or(i32::MAX);
    // A contact left without any basis may not be kept (Art. 6, 5(1)(e)).
    let affected: BTreeSet<String> = expired.into_iter().map(|(_, c)| c).collect();
    summary.changed_contacts.extend(affected.iter().cloned());
    for contact in affected {
        let remaining: i64 = processing_grounds::table
            .filter(processing_grounds::contact_id.eq(&contact))
            .filter(processing_grounds::ended_at.is_null())
            .count()
            .get_result(conn)?;
        if remaining == 0 {
            erase(conn, hasher, &contact, policy, by, summary)?;
        }
    }
    Ok(())
}

fn erase_inactive_prospects(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    policy: &RetentionPolicyRow,
    cutoff: NaiveDateTime,
    by: &str,
    summary: &mut RetentionSummary,
) -> Result<()> {
    let prospects: Vec<String> = contacts_table::table
        .filter(contacts_table::category.eq("prospect"))
        .filter(crate::contacts::not_restricted())
        .select(contacts_table::id)
        .load(conn)?;
    // The clock starts at the latest acquisition (a prospect met again is a fresh lead).
    let acquired: Vec<(String, NaiveDateTime)> = contact_sources::table
        .filter(contact_sources::contact_id.eq_any(&prospects))
        .select((contact_sources::contact_id, contact_sources::acquired_at))
        .load(conn)?;
    let mut last: HashMap<String, NaiveDateTime> = HashMap::new();
    for (contact, at) in acquired {
        let entry = last.entry(contact).or_insert(at);
        *entry = (*entry).max(at);
    }
    if policy.renew_on_contact {
        for (contact, at) in last_spoken_to(conn, &prospects)? {
            let entry = last.entry(contact).or_insert(at);
            *entry = (*entry).max(at);
        }
    }
    for contact in prospects {
        if last.get(&contact).is_some_and(|at| *at < cutoff) {
            erase(conn, hasher, &contact, policy, by, summary)?;
        }
    }
    Ok(())
}

fn erase(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact_id: &str,
    policy: &RetentionPolicyRow,
    by: &str,
    summary: &mut RetentionSummary,
) -> Result<()> {
    let contact = contacts::get(conn, contact_id)?;
    let log = erasure::erase_contact(
        conn,
        hasher,
        &contact,
        ErasureCause::RetentionPolicy(&policy.id),
        by,
    )?;
    summary.contacts_erased += 1;
    summary.changed_contacts.insert(contact_id.to_owned());
    if !log.contact_deleted {
        summary.contacts_partly_kept += 1;
    }
    Ok(())
}

/// Closed matters past their retention: communications, deadlines, recorded changes,
/// descriptions and special-category notes go, the party links too (so the parties are no
/// longer held by the matter); the reference stays as the trace that the matter existed.
fn anonymise_closed_matters(
    conn: &mut AnyConnection,
    policy: &RetentionPolicyRow,
    closed_before: NaiveDate,
    by: &str,
    summary: &mut RetentionSummary,
) -> Result<()> {
    let held = legal_holds::table
        .filter(legal_holds::matter_id.is_not_null())
        .filter(legal_holds::released_at.is_null())
        .select(legal_holds::matter_id.assume_not_null());
    let expired: Vec<(String, String)> = matters::table
        .filter(matters::status.eq_any(["closed", "archived"]))
        .filter(matters::closed_on.lt(closed_before))
        .filter(matters::retention_applied_at.is_null())
        .filter(matters::id.ne_all(held))
        .select((matters::id, matters::reference))
        .load(conn)?;
    for (matter, reference) in expired {
        let parties: Vec<String> = matter_parties::table
            .filter(matter_parties::matter_id.eq(&matter))
            .select(matter_parties::contact_id)
            .distinct()
            .load(conn)?;
        diesel::delete(communications::table.filter(communications::matter_id.eq(&matter)))
            .execute(conn)?;
        diesel::delete(deadlines::table.filter(deadlines::matter_id.eq(&matter))).execute(conn)?;
        diesel::delete(matter_events::table.filter(matter_events::matter_id.eq(&matter)))
            .execute(conn)?;
        diesel::delete(matter_parties::table.filter(matter_parties::matter_id.eq(&matter)))
            .execute(conn)?;
        diesel::update(matters::table.find(&matter))
            .set((
                matters::title.eq(&reference),
                matters::description.eq(None::<String>),
                matters::criminal_proceedings_notes.eq(None::<String>),
                matters::health_details.eq(None::<String>),
                matters::retention_applied_at.eq(now()),
            ))
            .execute(conn)?;
        let categories = serde_json::json!([format!(
            "matter {reference}: party link, communications, deadlines, recorded changes"
        )])
        .to_string();
        summary.changed_contacts.extend(parties.iter().cloned());
        for contact in parties {
            diesel::insert_into(erasure_log::table)
                .values(&erasure::ErasureLogRow {
                    id: new_id(),
                    request_id: None,
                    retention_policy_id: Some(policy.id.clone()),
                    contact_id: contact,
                    executed_at: now(),
                    executed_by: by.to_owned(),
                    contact_deleted: false,
                    erased_categories: categories.clone(),
                    kept_categories: "[]".to_owned(),
                    hold_reasons: "[]".to_owned(),
                })
                .execute(conn)?;
        }
        summary.matters_anonymised += 1;
    }
    Ok(())
}

// The run as the server's schedule, the command line and `Mutation.runRetention` start it.

/// The scheduled retention run, as the server starts it: recorded as by
/// `"system:retention-schedule"`, its Write entry (when `access_log`) naming the `system`
/// principal `"scheduler:retention"`.
pub async fn run_scheduled(
    db: &crate::db::Database,
    hasher: &KeyedHasher,
    access_log: bool,
) -> Result<RetentionSummary> {
    run_logged(
        db,
        hasher,
        false,
        "system:retention-schedule".to_owned(),
        std::sync::Arc::new(|_, _| {}),
        access_log.then(|| system_log("scheduler:retention")),
    )
    .await
}

/// The change log of a retention run no request asked for, naming `job`.
pub fn system_log(job: &str) -> crate::audit::ChangeLog {
    crate::audit::ChangeLog::system(job, "retention run", "Mutation.runRetention")
}

/// A run whose changes `log` records: the run's Write entry, naming every contact it ended a
/// ground of, erased or unlinked from an anonymised matter, commits in the run's transaction
/// (a dry run changes nothing and appends nothing).
pub async fn run_logged(
    db: &crate::db::Database,
    hasher: &KeyedHasher,
    dry_run: bool,
    by: String,
    progress: std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>,
    log: Option<crate::audit::ChangeLog>,
) -> Result<RetentionSummary> {
    let started_at = now();
    let today = started_at.date();
    let (hasher, who) = (hasher.clone(), by.clone());
    let work = move |c: &mut AnyConnection| run(c, &hasher, today, &who, progress.as_ref());
    let mut summary = if dry_run {
        db.dry_run(work).await?
    } else {
        let logged = log.clone();
        let summary = db
            .transaction(move |c| {
                let summary = work(c)?;
                if let Some(log) = &logged {
                    log.append_within(c, summary.changed_contacts.iter().cloned().collect())?;
                }
                Ok(summary)
            })
            .await?;
        if let Some(log) = &log {
            log.committed();
        }
        summary
    };
    summary.dry_run = dry_run;
    let recorded = summary.clone();
    db.transaction(move |c| record_run(c, started_at, &by, &recorded))
        .await?;
    Ok(summary)
}
