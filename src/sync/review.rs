//! The review queue: imports that would have created a contact without a legal basis (or
//! that matched several contacts) wait here until someone decides: create the contact on a
//! basis they choose, or dismiss the record.

use async_graphql::{Enum, InputObject};
use diesel::prelude::*;
use lexgate_connectors::RemoteContact;

use super::erasure::ErasureRegister;
use super::instances;
use super::provenance::{ImportBasis, ImportGround, Provenance, ProvenanceRule, RecordOrigin};
use super::upsert::{self, PageScope};
use crate::contacts::{ContactCategory, ContactRules};
use crate::db::schema::{sync_cursors, sync_review_items};
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result, Validator};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sync_review_items)]
pub struct ReviewRow {
    pub id: String,
    pub instance_id: String,
    pub external_id: String,
    pub origin: String,
    pub record: String,
    pub reason: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    pub resolved_at: Option<chrono::NaiveDateTime>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub contact_id: Option<String>,
}

impl ReviewRow {
    pub fn record(&self) -> Result<RemoteContact> {
        serde_json::from_str(&self.record)
            .map_err(|e| Error::Internal(format!("stored review record unreadable: {e}")))
    }
}

/// What to do with a record waiting for review.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Create the contact on the basis given.
    Import,
    /// Import nothing.
    Dismiss,
}

/// A decision on a review item, for `resolveSyncReviewItem`.
#[derive(Debug, Clone, InputObject)]
pub struct ResolveSyncReviewItemInput {
    /// The `SyncReviewItem` ID.
    pub id: async_graphql::ID,
    /// Import the record or dismiss it.
    pub decision: ReviewDecision,
    /// For IMPORT: the basis and the purpose it is recorded for.
    pub basis: Option<ImportBasis>,
    /// For IMPORT: the key of the purpose the basis is recorded for.
    pub purpose_key: Option<String>,
    /// For IMPORT on LEGITIMATE_INTEREST: the approved LIA covering the purpose.
    pub assessment_id: Option<async_graphql::ID>,
    /// For IMPORT: the new contact's category (default OTHER).
    pub category: Option<ContactCategory>,
}

/// Open items (or all, with resolved ones) of an instance, oldest first.
pub fn list(
    conn: &mut AnyConnection,
    instance_id: Option<&str>,
    include_resolved: bool,
) -> Result<Vec<ReviewRow>> {
    let mut query = sync_review_items::table
        .select(ReviewRow::as_select())
        .order((sync_review_items::created_at, sync_review_items::id))
        .into_boxed();
    if let Some(id) = instance_id {
        query = query.filter(sync_review_items::instance_id.eq(id.to_owned()));
    }
    if !include_resolved {
        query = query.filter(sync_review_items::resolved_at.is_null());
    }
    Ok(query.load(conn)?)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<ReviewRow> {
    sync_review_items::table
        .find(id)
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("SyncReviewItem", id))
}

/// Applies the reviewer's decision; `reviewer` is recorded with it.
pub fn resolve(
    conn: &mut AnyConnection,
    rules: &ContactRules,
    erasure: &dyn ErasureRegister,
    id: &str,
    input: ResolveSyncReviewItemInput,
    reviewer: Option<&str>,
) -> Result<ReviewRow> {
    let item = get(conn, id)?;
    if item.resolved_at.is_some() {
        return Err(Error::Conflict {
            field: Some("input.id".into()),
            message: "the item was already resolved".into(),
        });
    }
    let contact_id = match input.decision {
        ReviewDecision::Dismiss => None,
        ReviewDecision::Import => import(conn, rules, erasure, &item, &input)?,
    };
    let resolution = match (input.decision, &contact_id) {
        (ReviewDecision::Dismiss, _) => "dismissed",
        (ReviewDecision::Import, Some(_)) => "imported",
        // The person was erased after the record was queued.
        (ReviewDecision::Import, None) => "erased",
    };
    diesel::update(sync_review_items::table.find(id))
        .set((
            sync_review_items::resolved_at.eq(now()),
            sync_review_items::resolution.eq(resolution),
            sync_review_items::resolved_by.eq(reviewer),
            sync_review_items::contact_id.eq(&contact_id),
        ))
        .execute(conn)?;
    get(conn, id)
}

fn import(
    conn: &mut AnyConnection,
    rules: &ContactRules,
    erasure: &dyn ErasureRegister,
    item: &ReviewRow,
    input: &ResolveSyncReviewItemInput,
) -> Result<Option<String>> {
    let mut v = Validator::new();
    if input.basis.is_none() {
        v.add("input.basis", "an import needs the legal basis it rests on");
    }
    let ground = ImportGround {
        basis: input.basis,
        purpose_key: Some(input.purpose_key.clone().unwrap_or_default()),
        assessment_id: input.assessment_id.clone(),
    }
    .check(conn, &mut v, "input")?;
    v.finish()?;
    let instance = instances::get(conn, &item.instance_id)?;
    let record = item.record()?;
    let origin = RecordOrigin::from(record.origin);
    let provenance = Provenance {
        source_detail: instance.provenance()?.source_detail,
        rules: vec![ProvenanceRule {
            origin,
            basis: ground.basis,
            purpose_key: ground.purpose_key,
            assessment: ground.assessment,
            category: input.category.unwrap_or(ContactCategory::Other),
        }],
    };
    let generation: i32 = sync_cursors::table
        .filter(sync_cursors::instance_id.eq(&instance.id))
        .select(sync_cursors::generation)
        .first(conn)
        .optional()?
        .unwrap_or(1);
    let scope = PageScope {
        instance_id: &instance.id,
        instance_name: &instance.name,
        provenance: &provenance,
        generation,
        rules,
        erasure,
        // The caller's entry names the contact it answers with.
        changed: &upsert::ChangedContacts::default(),
    };
    upsert::create_reviewed(conn, &scope, &record)
}
