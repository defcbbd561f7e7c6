//! Objections (Art. 21): to direct marketing they are absolute and end every marketing ground;
//! to another purpose they end the grounds based on legitimate interest or a public task, the
//! only bases Art. 21(1) lets a person object to. Marketing objections feed the suppression list.

use std::collections::HashMap;

use async_graphql::{InputObject, ID};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::grounds::{self, LegalBasis};
use super::purposes::{self, PurposeRow};
use super::suppression::{self, SuppressionReason};
use super::{Actor, GdprContext};
use crate::db::schema::{contacts, objections, purposes as purpose_table};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::group_by_key;
use crate::validation::non_blank;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = objections)]
pub struct ObjectionRow {
    pub id: String,
    pub contact_id: String,
    pub purpose_id: Option<String>,
    pub received_at: NaiveDateTime,
    pub method: String,
    pub note: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub recorded_by: Option<String>,
}

/// An objection (Art. 21 GDPR) a contact made, for `recordObjection`.
#[derive(Debug, Clone, InputObject)]
pub struct RecordObjectionInput {
    /// The `Contact` ID.
    pub contact_id: ID,
    /// The purpose's key; all direct marketing when left out.
    pub purpose: Option<String>,
    /// When the firm received the objection (ISO 8601).
    pub received_at: DateTime<Utc>,
    /// How it reached the firm, e.g. "unsubscribe link", "letter", "phone call".
    pub method: String,
    /// Free-text notes.
    pub note: Option<String>,
}

/// The purposes an objection covers: the one named, or every marketing purpose.
fn covered(conn: &mut AnyConnection, purpose: Option<&PurposeRow>) -> Result<Vec<PurposeRow>> {
    match purpose {
        Some(p) => Ok(vec![p.clone()]),
        None => Ok(purpose_table::table
            .filter(purpose_table::marketing.eq(true))
            .select(PurposeRow::as_select())
            .load(conn)?),
    }
}

pub fn record(
    conn: &mut AnyConnection,
    gdpr: &GdprContext,
    input: RecordObjectionInput,
    actor: &Actor,
) -> Result<ObjectionRow> {
    let contact_id = ids::decode(NodeType::Contact, &input.contact_id, "input.contactId")?;
    let mut v = Validator::new();
    let method = v.required("input.method", &input.method);
    v.finish()?;
    let exists: i64 = contacts::table
        .filter(contacts::id.eq(&contact_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(Error::not_found("Contact", &contact_id));
    }
    let purpose = match &input.purpose {
        Some(key) => Some(purposes::named(conn, key, "input.purpose")?),
        None => None,
    };
    let marketing = purpose.as_ref().is_none_or(|p| p.marketing);
    let covered_ids: Vec<String> = covered(conn, purpose.as_ref())?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let objectable: &[LegalBasis] = if marketing {
        LegalBasis::ALL
    } else {
        &[LegalBasis::LegitimateInterest, LegalBasis::PublicTask]
    };
    let ended = grounds::active_ids(conn, &contact_id, &covered_ids, objectable)?;
    grounds::end_grounds(conn, &ended, "the person objected (Art. 21)")?;
    if marketing {
        let purpose_id = purpose.as_ref().map(|p| p.id.as_str());
        suppression::suppress_contact(
            conn,
            &gdpr.hasher,
            &contact_id,
            purpose_id,
            SuppressionReason::Objection,
            actor,
        )?;
    }
    let row = ObjectionRow {
        id: new_id(),
        contact_id,
        purpose_id: purpose.map(|p| p.id),
        received_at: input.received_at.naive_utc(),
        method,
        note: non_blank(input.note),
        recorded_at: now(),
        recorded_by: Some(actor.label.clone()),
    };
    diesel::insert_into(objections::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// The objections of each contact, newest first.
pub fn of_contacts(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<ObjectionRow>>> {
    let rows = objections::table
        .filter(objections::contact_id.eq_any(ids))
        .order_by((objections::contact_id, objections::received_at.desc()))
        .select(ObjectionRow::as_select())
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}
