//! Where a contact came from: every contact has at least one acquisition source, recorded
//! with it when it is created (Art. 14(2)(f) and Art. 15(1)(g) ask for it).

use std::collections::HashMap;

use async_graphql::{InputObject, ID};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Actor;
use crate::db::schema::{contact_sources, users};
use crate::db::{new_id, now, text_enum, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::group_by_key;
use crate::validation::non_blank;

text_enum! {
    /// How the firm obtained a contact's data.
    SourceKind {
        /// A form on the firm's website.
        WebForm => "web_form",
        /// A fair, conference or other event.
        Event => "event",
        /// A public register, e.g. the Registro delle Imprese or a bar association's roll.
        PublicRegister => "public_register",
        /// A lead-generation provider.
        LeadGeneration => "lead_generation",
        /// A phone call.
        PhoneCall => "phone_call",
        /// An email the person sent.
        Email => "email",
        /// A referral by a client, colleague or partner.
        Referral => "referral",
        /// The intake of a new client or matter.
        ClientIntake => "client_intake",
        /// An import by a connector instance from another system.
        ConnectorImport => "connector_import",
        /// Entered by hand without a more specific source.
        ManualEntry => "manual_entry",
        /// Anything else; `detail` says what.
        Other => "other",
    }
}

/// How far in the future an acquisition time may lie (clock skew between systems).
const FUTURE_TOLERANCE_MINUTES: i64 = 5;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_sources)]
pub struct ContactSourceRow {
    pub id: String,
    pub contact_id: String,
    pub kind: String,
    pub detail: String,
    pub connector: Option<String>,
    pub external_id: Option<String>,
    pub acquired_at: NaiveDateTime,
    pub acquired_by: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub recorded_by: Option<String>,
}

/// Where and when the firm obtained a contact's data.
#[derive(Debug, Clone, InputObject)]
pub struct ContactSourceInput {
    /// What kind of source it was.
    pub kind: SourceKind,
    /// Which form, event, register, referrer, ...: enough to answer "where did you get my data?".
    pub detail: String,
    /// The connector instance, required for `CONNECTOR_IMPORT`.
    pub connector: Option<String>,
    /// The record's identifier in the connected system.
    pub external_id: Option<String>,
    /// When the firm obtained the data (ISO 8601).
    pub acquired_at: DateTime<Utc>,
    /// The firm's user who acquired the contact; the caller's own user when left out.
    pub acquired_by_id: Option<ID>,
}

/// A source input checked field by field, ready to be written for a contact.
#[derive(Debug, Clone)]
pub struct ValidSource {
    kind: SourceKind,
    detail: String,
    connector: Option<String>,
    external_id: Option<String>,
    acquired_at: NaiveDateTime,
    acquired_by: Option<String>,
}

/// Checks a source input; errors are reported under `at` (e.g. `input.source`).
pub fn validate(
    v: &mut Validator,
    at: &str,
    input: ContactSourceInput,
    actor: &Actor,
) -> Option<ValidSource> {
    let detail = v.required(&format!("{at}.detail"), &input.detail);
    let connector = non_blank(input.connector);
    let external_id = non_blank(input.external_id);
    match (input.kind, &connector) {
        (SourceKind::ConnectorImport, None) => v.add(
            format!("{at}.connector"),
            "a connector import names the connector it came from",
        ),
        (kind, Some(_)) if kind != SourceKind::ConnectorImport => v.add(
            format!("{at}.connector"),
            "only a CONNECTOR_IMPORT source names a connector",
        ),
        _ => {}
    }
    if external_id.is_some() && connector.is_none() {
        v.add(
            format!("{at}.externalId"),
            "an external ID belongs to a connector import",
        );
    }
    let acquired_at = input.acquired_at.naive_utc();
    if acquired_at > now() + chrono::TimeDelta::minutes(FUTURE_TOLERANCE_MINUTES) {
        v.add(format!("{at}.acquiredAt"), "cannot lie in the future");
    }
    let acquired_by = match &input.acquired_by_id {
        Some(id) => v.check(
            format!("{at}.acquiredById"),
            ids::decode(NodeType::User, id, &format!("{at}.acquiredById")),
        ),
        None => actor.user_id.clone(),
    };
    (!detail.is_empty()).then_some(ValidSource {
        kind: input.kind,
        detail,
        connector,
        external_id,
        acquired_at,
        acquired_by,
    })
}

impl ValidSource {
    /// The source with a note appended to its detail (e.g. that the person came back
    /// after an erasure), so whoever reads the sources sees it.
    pub fn noting(mut self, note: &str) -> ValidSource {
        self.detail = format!("{} ({note})", self.detail);
        self
    }
}

/// Writes a checked source for a contact (the acquiring user must exist).
pub fn record(
    conn: &mut AnyConnection,
    at: &str,
    contact_id: &str,
    source: ValidSource,
    actor: &Actor,
) -> Result<ContactSourceRow> {
    if let Some(user) = &source.acquired_by {
        let exists: i64 = users::table
            .filter(users::id.eq(user))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(Error::invalid(format!("{at}.acquiredById"), "no such user"));
        }
    }
    let row = ContactSourceRow {
        id: new_id(),
        contact_id: contact_id.to_owned(),
        kind: source.kind.as_str().to_owned(),
        detail: source.detail,
        connector: source.connector,
        external_id: source.external_id,
        acquired_at: source.acquired_at,
        acquired_by: source.acquired_by,
        recorded_at: now(),
        recorded_by: Some(actor.label.clone()),
    };
    diesel::insert_into(contact_sources::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// The sources of each contact, oldest acquisition first.
pub fn of_contacts(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<ContactSourceRow>>> {
    let rows = contact_sources::table
        .filter(contact_sources::contact_id.eq_any(ids))
        .order_by((
            contact_sources::contact_id,
            contact_sources::acquired_at,
            contact_sources::id,
        ))
        .select(ContactSourceRow::as_select())
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}
