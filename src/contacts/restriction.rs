//! Restriction of processing (Art. 18): the contact is kept but used for nothing else (no
//! campaigns, no connector pushes) until the restriction is lifted. Everything that selects
//! contacts for such uses excludes them through this module.

use async_graphql::{InputObject, ID};
use diesel::dsl::IsNull;
use diesel::prelude::*;

use crate::contacts::{self, ContactRow};
use crate::db::schema::contacts as contacts_table;
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};

/// A contact whose processing to restrict, and why, for `restrictProcessing`.
#[derive(Debug, Clone, InputObject)]
pub struct RestrictProcessingInput {
    /// The `Contact` ID.
    pub contact_id: ID,
    /// Why (Art. 18(1)(a)-(d)), e.g. "accuracy contested, pending verification".
    pub reason: String,
}

/// A contact whose restriction to lift, for `liftRestriction`.
#[derive(Debug, Clone, InputObject)]
pub struct LiftRestrictionInput {
    /// The `Contact` ID.
    pub contact_id: ID,
}

/// The filter that keeps unrestricted contacts: `query.filter(not_restricted())` on any query
/// over `contacts` (campaign audiences, connector pushes).
pub fn not_restricted() -> IsNull<contacts_table::restricted_at> {
    contacts_table::restricted_at.is_null()
}

/// Whether processing of the contact is restricted; an unknown contact is `NOT_FOUND`.
pub fn is_restricted(conn: &mut AnyConnection, contact_id: &str) -> Result<bool> {
    Ok(contacts::get(conn, contact_id)?.restricted_at.is_some())
}

/// Of `contact_ids`, the ones whose processing is restricted.
pub fn restricted_among(conn: &mut AnyConnection, contact_ids: &[String]) -> Result<Vec<String>> {
    Ok(contacts_table::table
        .filter(contacts_table::id.eq_any(contact_ids))
        .filter(contacts_table::restricted_at.is_not_null())
        .select(contacts_table::id)
        .load(conn)?)
}

/// Sets the restriction (again, with the new reason, if already set).
pub fn restrict(conn: &mut AnyConnection, input: RestrictProcessingInput) -> Result<ContactRow> {
    let mut v = Validator::new();
    let id = v.check(
        "input.contactId",
        ids::decode(NodeType::Contact, &input.contact_id, "input.contactId"),
    );
    let reason = v.required("input.reason", &input.reason);
    v.finish()?;
    let id = id.ok_or_else(|| Error::invalid("input.contactId", "missing contact"))?;
    set(conn, &id, Some(reason))
}

pub fn lift(conn: &mut AnyConnection, input: LiftRestrictionInput) -> Result<ContactRow> {
    let id = ids::decode(NodeType::Contact, &input.contact_id, "input.contactId")?;
    set(conn, &id, None)
}

/// Restricts (with a reason) or lifts (`None`); the restriction date is kept when only the
/// reason changes.
pub fn set(
    conn: &mut AnyConnection,
    contact_id: &str,
    reason: Option<String>,
) -> Result<ContactRow> {
    let current = contacts::get(conn, contact_id)
        .map_err(|e| e.as_bad_reference("input.contactId", "no contact with this ID"))?;
    let restricted_at = match (&reason, current.restricted_at) {
        (None, _) => None,
        (Some(_), Some(since)) => Some(since),
        (Some(_), None) => Some(now()),
    };
    diesel::update(contacts_table::table.find(contact_id))
        .set((
            contacts_table::restricted_at.eq(restricted_at),
            contacts_table::restriction_reason.eq(&reason),
        ))
        .execute(conn)?;
    Ok(ContactRow {
        restricted_at,
        restriction_reason: reason,
        ..current
    })
}
