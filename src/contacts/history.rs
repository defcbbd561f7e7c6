//! The rectification history (Art. 16): every change to a contact's personal fields, with who
//! made it, when, and the old and new value. Written in the transaction of the change; an
//! erasure clears the values and keeps which field changed when.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::contacts::{self, ContactRow};
use crate::db::schema::contact_changes;
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::listing::Page;

/// Columns of `contacts` that are bookkeeping or derived from other fields, not personal
/// fields of their own. Every other column, including ones added later, is tracked.
const UNTRACKED_COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "display_name",
    "sort_name",
    "restricted_at",
    "restriction_reason",
];

/// A contact's personal fields as text, by API field name, to compare before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<String, Option<String>>);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_changes)]
pub struct ContactChangeRow {
    pub id: String,
    pub contact_id: String,
    pub changed_at: NaiveDateTime,
    pub changed_by: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

fn camel_case(column: &str) -> String {
    let mut out = String::with_capacity(column.len());
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A list rendered as one JSON array, or nothing when empty.
fn list_text(items: Vec<Value>) -> Option<String> {
    (!items.is_empty()).then(|| Value::Array(items).to_string())
}

/// Reads the contact's personal fields and lists as they are now.
pub fn snapshot(conn: &mut AnyConnection, contact_id: &str) -> Result<Snapshot> {
    let row: ContactRow = contacts::get(conn, contact_id)?;
    let mut fields = BTreeMap::new();
    let columns = serde_json::to_value(&row)
        .map_err(|e| Error::Internal(format!("cannot read the contact's fields: {e}")))?;
    if let Value::Object(columns) = columns {
        for (column, value) in columns {
            if !UNTRACKED_COLUMNS.contains(&column.as_str()) {
                fields.insert(camel_case(&column), as_text(&value));
            }
        }
    }
    let ids = [contact_id.to_owned()];
    let emails = contacts::emails_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    fields.insert(
        "emails".to_owned(),
        list_text(
            emails
                .iter()
                .map(|e| serde_json::json!({ "address": e.address, "label": e.label, "isPec": e.is_pec }))
                .collect(),
        ),
    );
    let phones = contacts::phones_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    fields.insert(
        "phones".to_owned(),
        list_text(
            phones
                .iter()
                .map(|p| serde_json::json!({ "number": p.number, "label": p.label }))
                .collect(),
        ),
    );
    let addresses = contacts::addresses_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    fields.insert(
        "addresses".to_owned(),
        list_text(
            addresses
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "label": a.label, "street": a.street, "postalCode": a.postal_code,
                        "city": a.city, "province": a.province, "country": a.country,
                    })
                })
                .collect(),
        ),
    );
    let tags = contacts::tags_of(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    fields.insert(
        "tags".to_owned(),
        list_text(tags.into_iter().map(Value::String).collect()),
    );
    let affiliations = contacts::affiliations_of_people(conn, &ids)?
        .remove(contact_id)
        .unwrap_or_default();
    fields.insert(
        "affiliations".to_owned(),
        list_text(
            affiliations
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "organizationId": crate::ids::encode(crate::ids::NodeType::Contact, &a.organization_id).to_string(),
                        "jobTitle": a.job_title,
                    })
                })
                .collect(),
        ),
    );
    Ok(Snapshot(fields))
}

/// Writes one change record per field whose value differs from `before`.
pub fn record_changes(
    conn: &mut AnyConnection,
    contact_id: &str,
    before: &Snapshot,
    changed_by: &str,
) -> Result<usize> {
    let after = snapshot(conn, contact_id)?;
    let changed_at = now();
    let mut written = 0;
    for (field, new_value) in &after.0 {
        let old_value = before.0.get(field).cloned().flatten();
        if old_value == *new_value {
            continue;
        }
        diesel::insert_into(contact_changes::table)
            .values(ContactChangeRow {
                id: new_id(),
                contact_id: contact_id.to_owned(),
                changed_at,
                changed_by: changed_by.to_owned(),
                field: field.clone(),
                old_value,
                new_value: new_value.clone(),
            })
            .execute(conn)?;
        written += 1;
    }
    Ok(written)
}

/// Clears the values of a contact's history, keeping which field changed when and by whom.
pub fn erase_values(conn: &mut AnyConnection, contact_id: &str) -> Result<usize> {
    Ok(
        diesel::update(contact_changes::table.filter(contact_changes::contact_id.eq(contact_id)))
            .set((
                contact_changes::old_value.eq(None::<String>),
                contact_changes::new_value.eq(None::<String>),
            ))
            .execute(conn)?,
    )
}

/// Gives the survivor of a merge the history of the contacts merged into it.
pub fn move_to(conn: &mut AnyConnection, merged: &[String], survivor: &str) -> Result<usize> {
    Ok(
        diesel::update(contact_changes::table.filter(contact_changes::contact_id.eq_any(merged)))
            .set(contact_changes::contact_id.eq(survivor))
            .execute(conn)?,
    )
}

/// A page of a contact's history, newest first.
pub fn list(
    conn: &mut AnyConnection,
    contact_id: &str,
    page: Page,
) -> Result<Vec<ContactChangeRow>> {
    Ok(contact_changes::table
        .filter(contact_changes::contact_id.eq(contact_id))
        .order_by((contact_changes::changed_at.desc(), contact_changes::field))
        .offset(page.offset)
        .limit(page.limit)
        .select(ContactChangeRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, contact_id: &str) -> Result<i64> {
    Ok(contact_changes::table
        .filter(contact_changes::contact_id.eq(contact_id))
        .count()
        .get_result(conn)?)
}

/// The contact's whole history, oldest first (for the access export).
pub fn all_of(conn: &mut AnyConnection, contact_id: &str) -> Result<Vec<ContactChangeRow>> {
    Ok(contact_changes::table
        .filter(contact_changes::contact_id.eq(contact_id))
        .order_by((contact_changes::changed_at, contact_changes::field))
        .select(ContactChangeRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_become_api_field_names() {
        assert_eq!(camel_case("codice_fiscale"), "codiceFiscale");
        assert_eq!(camel_case("notes"), "notes");
        assert_eq!(camel_case("responsible_user_id"), "responsibleUserId");
    }
}
