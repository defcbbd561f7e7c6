//! Documents of a matter's case file, as a document store holds them (issue 17): metadata
//! only (title, where it lies, type, version, size, hash, who made and changed it and when),
//! never the bytes. Connectors import them (`crate::sync::documents`); a document deleted or
//! moved at the store keeps its row, marked so, because it is part of the matter's history.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::documents;
use crate::db::{text_enum, AnyConnection};
use crate::error::Result;
use crate::listing::group_by_key;

text_enum! {
    /// Whether the store still holds a document.
    DocumentStatus {
        /// The store holds it.
        Current => "current",
        /// Deleted at the store; lexgate keeps its metadata as part of the matter's history.
        Deleted => "deleted",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = documents,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct DocumentRow {
    pub id: String,
    pub matter_id: String,
    pub title: String,
    pub href: String,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    /// When the document was created at the store (the import time when it does not say).
    pub created_at: NaiveDateTime,
    pub modified_at: Option<NaiveDateTime>,
    pub instance_id: Option<String>,
    pub external_id: Option<String>,
    pub status: String,
    pub deleted_at: Option<NaiveDateTime>,
    pub moved_from: Option<String>,
    pub moved_at: Option<NaiveDateTime>,
    pub seen_generation: Option<i32>,
    pub imported_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DocumentRow {
    pub fn is_current(&self) -> bool {
        self.status == DocumentStatus::Current.as_str()
    }
}

pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, DocumentRow>> {
    Ok(documents::table
        .filter(documents::id.eq_any(ids))
        .select(DocumentRow::as_select())
        .load::<DocumentRow>(conn)?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect())
}

/// The documents of `matter_ids`, deleted ones included, oldest first.
pub fn of_matters(
    conn: &mut AnyConnection,
    matter_ids: &[String],
) -> Result<HashMap<String, Vec<DocumentRow>>> {
    let rows = documents::table
        .filter(documents::matter_id.eq_any(matter_ids))
        .order_by((documents::created_at.asc(), documents::id.asc()))
        .select(DocumentRow::as_select())
        .load::<DocumentRow>(conn)?;
    Ok(group_by_key(rows, |r| r.matter_id.clone()))
}

/// The document a connector instance knows under `external_id`.
pub fn by_external_id(
    conn: &mut AnyConnection,
    instance_id: &str,
    external_id: &str,
) -> Result<Option<DocumentRow>> {
    Ok(documents::table
        .filter(documents::instance_id.eq(instance_id))
        .filter(documents::external_id.eq(external_id))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()?)
}
