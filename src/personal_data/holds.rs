//! Legal holds: data the firm must keep despite an erasure request (Art. 17(3)(b) legal
//! obligations, (e) legal claims). Explicit holds are recorded by the DPO; on top of them every
//! party to a matter that is open, or closed less than ten years ago, is held for that matter
//! (professional retention of the case file, art. 2946 c.c.), and the client of an invoice
//! issued less than ten years ago is held whole (accounting records, art. 2220 c.c.).

use std::collections::BTreeMap;

use async_graphql::{InputObject, ID};
use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{legal_holds, matter_parties, matters};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::matters::MatterStatus;

/// How long a closed matter's file is kept.
const PROFESSIONAL_RETENTION_YEARS: u32 = 10;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = legal_holds)]
pub struct LegalHoldRow {
    pub id: String,
    pub contact_id: Option<String>,
    pub matter_id: Option<String>,
    pub reason: String,
    pub legal_basis: String,
    pub until_on: Option<NaiveDate>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub released_at: Option<NaiveDateTime>,
    pub released_by: Option<String>,
}

impl LegalHoldRow {
    pub fn active_on(&self, today: NaiveDate) -> bool {
        self.released_at.is_none() && self.until_on.is_none_or(|until| until >= today)
    }
}

/// A legal hold to place on a contact or a matter, for `placeLegalHold`.
#[derive(Debug, Clone, InputObject)]
pub struct PlaceLegalHoldInput {
    /// The contact held; with `matterId`, held for that matter only.
    pub contact_id: Option<ID>,
    /// The matter held: all its parties when no contact is named.
    pub matter_id: Option<ID>,
    /// Why the data must be kept, in words.
    pub reason: String,
    /// E.g. "Art. 17(3)(e) GDPR: defence of legal claims".
    pub legal_basis: String,
    /// The last day of the hold; open-ended when left out.
    pub until: Option<NaiveDate>,
}

/// A legal hold to release, for `releaseLegalHold`.
#[derive(Debug, Clone, InputObject)]
pub struct ReleaseLegalHoldInput {
    /// The `LegalHold` ID.
    pub id: ID,
}

pub fn place(
    conn: &mut AnyConnection,
    input: PlaceLegalHoldInput,
    by: &str,
) -> Result<LegalHoldRow> {
    let mut v = Validator::new();
    let contact_id = input.contact_id.as_ref().and_then(|id| {
        v.check(
            "input.contactId",
            ids::decode(NodeType::Contact, id, "input.contactId"),
        )
    });
    let matter_id = input.matter_id.as_ref().and_then(|id| {
        v.check(
            "input.matterId",
            ids::decode(NodeType::Matter, id, "input.matterId"),
        )
    });
    if input.contact_id.is_none() && input.matter_id.is_none() {
        v.add("input.contactId", "name the contact, the matter or both");
    }
    let reason = v.required("input.reason", &input.reason);
    let legal_basis = v.required("input.legalBasis", &input.legal_basis);
    if input
        .until
        .is_some_and(|until| until < crate::gdpr::requests::today())
    {
        v.add("input.until", "a hold cannot end in the past");
    }
    v.finish()?;
    if let Some(contact) = &contact_id {
        crate::contacts::get(conn, contact)
            .map_err(|e| e.as_bad_reference("input.contactId", "no contact with this ID"))?;
    }
    if let Some(matter) = &matter_id {
        crate::matters::get(conn, matter)
            .map_err(|e| e.as_bad_reference("input.matterId", "no matter with this ID"))?;
    }
    let row = LegalHoldRow {
        id: new_id(),
        contact_id,
        matter_id,
        reason,
        legal_basis,
        until_on: input.until,
        created_by: Some(by.to_owned()),
        created_at: now(),
        released_at: None,
        released_by: None,
    };
    diesel::insert_into(legal_holds::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn release(
    conn: &mut AnyConnection,
    input: ReleaseLegalHoldInput,
    by: &str,
) -> Result<LegalHoldRow> {
    let id = ids::decode(NodeType::LegalHold, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    if row.released_at.is_some() {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: "the hold was released already".to_owned(),
        });
    }
    row.released_at = Some(now());
    row.released_by = Some(by.to_owned());
    diesel::update(legal_holds::table.find(&id))
        .set((
            legal_holds::released_at.eq(row.released_at),
            legal_holds::released_by.eq(&row.released_by),
        ))
        .execute(conn)?;
    Ok(row)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<LegalHoldRow> {
    legal_holds::table
        .find(id)
        .select(LegalHoldRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("LegalHold", id))
}

/// Holds on a contact or on a matter, newest first; released ones only when asked.
pub fn list(
    conn: &mut AnyConnection,
    contact_id: Option<&str>,
    matter_id: Option<&str>,
    include_released: bool,
) -> Result<Vec<LegalHoldRow>> {
    let mut query = legal_holds::table.into_boxed();
    if let Some(contact) = contact_id {
        query = query.filter(legal_holds::contact_id.eq(contact.to_owned()));
    }
    if let Some(matter) = matter_id {
        query = query.filter(legal_holds::matter_id.eq(matter.to_owned()));
    }
    if !include_released {
        query = query.filter(legal_holds::released_at.is_null());
    }
    Ok(query
        .order_by((legal_holds::created_at.desc(), legal_holds::id))
        .select(LegalHoldRow::as_select())
        .load(conn)?)
}

/// What holds a contact at a date: for each held matter the reasons, and the reasons that
/// hold the contact as a whole.
#[derive(Debug, Clone, Default)]
pub struct ContactHolds {
    pub matters: BTreeMap<String, Vec<String>>,
    pub contact_wide: Vec<String>,
}

impl ContactHolds {
    pub fn any(&self) -> bool {
        !self.matters.is_empty() || !self.contact_wide.is_empty()
    }

    pub fn reasons(&self) -> Vec<String> {
        self.contact_wide
            .iter()
            .chain(self.matters.values().flatten())
            .cloned()
            .collect()
    }
}

/// The holds on `contact_id` on `today`: explicit ones and the professional retention of the
/// matters the contact is a party to.
pub fn of_contact(
    conn: &mut AnyConnection,
    contact_id: &str,
    today: NaiveDate,
) -> Result<ContactHolds> {
    let mut holds = ContactHolds::default();
    let party_matters: Vec<(String, String, String, Option<NaiveDate>)> = matter_parties::table
        .inner_join(matters::table)
        .filter(matter_parties::contact_id.eq(contact_id))
        .select((
            matters::id,
            matters::reference,
            matters::status,
            matters::closed_on,
        ))
        .distinct()
        .load(conn)?;
    let retention_start = today
        .checked_sub_months(Months::new(12 * PROFESSIONAL_RETENTION_YEARS))
        .unwrap_or(NaiveDate::MIN);
    for (matter, reference, status, closed_on) in &party_matters {
        let closed = matches!(
            MatterStatus::from_db(status)?,
            MatterStatus::Closed | MatterStatus::Archived
        );
        // A closed matter without a closing date is kept: nothing shows ten years have passed.
        let reason = match (closed, closed_on) {
            (false, _) => format!("professional retention: party to open matter {reference}"),
            (true, Some(on)) if *on > retention_start => format!(
                "professional retention: party to matter {reference}, closed on {on}, kept for {PROFESSIONAL_RETENTION_YEARS} years"
            ),
            (true, None) => format!(
                "professional retention: party to matter {reference}, closed on an unrecorded date"
            ),
            (true, Some(_)) => continue,
        };
        holds
            .matters
            .entry(matter.clone())
            .or_default()
            .push(reason);
    }
    let party_matter_ids: Vec<String> = party_matters.iter().map(|m| m.0.clone()).collect();
    let explicit: Vec<LegalHoldRow> = legal_holds::table
        .filter(
            legal_holds::contact_id
                .eq(contact_id)
                .or(legal_holds::contact_id
                    .is_null()
                    .and(legal_holds::matter_id.eq_any(party_matter_ids))),
        )
        .select(LegalHoldRow::as_select())
        .load(conn)?;
    // Invoices issued to the person in the last ten years (art. 2220 c.c.).
    holds
        .contact_wide
        .extend(crate::billing::invoices::retention_holds(
            conn, contact_id, today,
        )?);
    for hold in explicit.iter().filter(|h| h.active_on(today)) {
        let reason = format!("legal hold: {} ({})", hold.reason, hold.legal_basis);
        match &hold.matter_id {
            Some(matter) => holds
                .matters
                .entry(matter.clone())
                .or_default()
                .push(reason),
            None => holds.contact_wide.push(reason),
        }
    }
    Ok(holds)
}
