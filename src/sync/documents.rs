//! Importing documents of matters' case files (the `webdav` kind): one row per document in
//! `documents`, metadata only. A document's matter is the one whose reference its folder
//! names (exactly, or with `/` written `-` as folder names must); the key is the instance and
//! the document's place in the store (`external_id`), which a move changes (the row follows
//! it and records where it was). A document the store no longer holds stays, marked deleted:
//! it is part of the matter's history. A full listing ends by marking deleted what it did not
//! see.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use lexgate_connectors::{MatterFolder, RemoteDocument};

use super::upsert::{Outcome, PageScope};
use crate::db::schema::{documents, matters};
use crate::db::{new_id, now, AnyConnection};
use crate::documents::{by_external_id, DocumentRow, DocumentStatus};
use crate::error::{Error, Result};

diesel::define_sql_function! {
    /// SQL `replace()`, the same on both backends.
    fn replace(
        x: diesel::sql_types::Text,
        from: diesel::sql_types::Text,
        to: diesel::sql_types::Text,
    ) -> diesel::sql_types::Text;
}

/// Applies one document (or its deletion) in the caller's transaction.
pub fn apply(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteDocument,
) -> Result<Outcome> {
    let external_id = record.external_id.trim();
    if external_id.is_empty() {
        return Err(Error::invalid(
            "externalId",
            "a record needs the provider's id",
        ));
    }
    let at = now();
    if record.deleted {
        let Some(row) = by_external_id(conn, scope.instance_id, external_id)? else {
            return Ok(Outcome::Skipped);
        };
        if !row.is_current() {
            return Ok(Outcome::Skipped);
        }
        diesel::update(documents::table.find(&row.id))
            .set((
                documents::status.eq(DocumentStatus::Deleted.as_str()),
                documents::deleted_at.eq(Some(at)),
                documents::updated_at.eq(at),
            ))
            .execute(conn)?;
        return Ok(Outcome::Deleted);
    }
    let reference = record
        .matter_reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            Error::invalid("matterReference", "the document's folder names no matter")
        })?;
    let matter_id = matter_of(conn, reference)?
        .ok_or_else(|| Error::invalid("matterReference", "no matter has this reference"))?;
    let title = record.title.trim();
    if title.is_empty() {
        return Err(Error::invalid("title", "a document needs a name"));
    }
    let known = match by_external_id(conn, scope.instance_id, external_id)? {
        Some(row) => Some(row),
        None => match record.moved_from.as_deref() {
            Some(from) => by_external_id(conn, scope.instance_id, from)?,
            None => None,
        },
    };
    let modified_at = record.modified_at.map(naive);
    let created_at = record.created_at.or(record.modified_at).map(naive);
    let size = record.size.and_then(|s| i64::try_from(s).ok());
    let Some(mut row) = known else {
        let row = DocumentRow {
            id: new_id(),
            matter_id,
            title: title.to_owned(),
            href: external_id.to_owned(),
            content_type: record.content_type.clone(),
            etag: record.etag.clone(),
            size_bytes: size,
            sha256: record.sha256.clone(),
            created_by: record.created_by.clone(),
            modified_by: record.modified_by.clone(),
            created_at: created_at.unwrap_or(at),
            modified_at,
            instance_id: Some(scope.instance_id.to_owned()),
            external_id: Some(external_id.to_owned()),
            status: DocumentStatus::Current.as_str().to_owned(),
            deleted_at: None,
            moved_from: None,
            moved_at: None,
            seen_generation: Some(scope.generation),
            imported_at: at,
            updated_at: at,
        };
        diesel::insert_into(documents::table)
            .values(&row)
            .execute(conn)?;
        return Ok(Outcome::Created);
    };
    let before = row.clone();
    if row.external_id.as_deref() != Some(external_id) {
        row.moved_from = Some(row.href.clone());
        row.moved_at = Some(at);
        row.external_id = Some(external_id.to_owned());
    }
    row.matter_id = matter_id;
    row.title = title.to_owned();
    row.href = external_id.to_owned();
    row.content_type = record.content_type.clone();
    row.etag = record.etag.clone();
    row.size_bytes = size;
    row.sha256 = record.sha256.clone().or(row.sha256);
    row.created_by = record.created_by.clone().or(row.created_by);
    row.modified_by = record.modified_by.clone().or(row.modified_by);
    row.modified_at = modified_at;
    row.status = DocumentStatus::Current.as_str().to_owned();
    row.deleted_at = None;
    let changed = differs(&before, &row);
    row.seen_generation = Some(scope.generation);
    if changed {
        row.updated_at = at;
    }
    diesel::update(documents::table.find(&before.id))
        .set(&row)
        .execute(conn)?;
    Ok(if changed {
        Outcome::Updated
    } else {
        Outcome::Skipped
    })
}

/// Whether what the store says of a document changed (not when lexgate last saw it).
fn differs(a: &DocumentRow, b: &DocumentRow) -> bool {
    (
        &a.matter_id,
        &a.title,
        &a.href,
        &a.content_type,
        &a.etag,
        a.size_bytes,
        &a.sha256,
        &a.created_by,
        &a.modified_by,
        a.modified_at,
        &a.status,
    ) != (
        &b.matter_id,
        &b.title,
        &b.href,
        &b.content_type,
        &b.etag,
        b.size_bytes,
        &b.sha256,
        &b.created_by,
        &b.modified_by,
        b.modified_at,
        &b.status,
    )
}

fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    chrono::DurationRound::duration_trunc(at, chrono::TimeDelta::microseconds(1))
        .unwrap_or(at)
        .naive_utc()
}

/// The matter a folder names: by its reference, or by the reference with `/` written `-`.
fn matter_of(conn: &mut AnyConnection, reference: &str) -> Result<Option<String>> {
    let exact: Option<String> = matters::table
        .filter(matters::reference.eq(reference))
        .select(matters::id)
        .first(conn)
        .optional()?;
    if exact.is_some() {
        return Ok(exact);
    }
    let by_name: Vec<String> = matters::table
        .filter(replace(matters::reference, "/", "-").eq(reference))
        .select(matters::id)
        .limit(2)
        .load(conn)?;
    // Two matters that differ only by `/` and `-` are not told apart by a folder name.
    Ok(match by_name.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// At the end of a full listing: the instance's documents not seen in this generation were
/// deleted at the store.
pub fn reconcile_deletions(
    conn: &mut AnyConnection,
    instance_id: &str,
    generation: i32,
) -> Result<i32> {
    let at = now();
    let ended = diesel::update(
        documents::table
            .filter(documents::instance_id.eq(instance_id))
            .filter(documents::status.eq(DocumentStatus::Current.as_str()))
            .filter(
                documents::seen_generation
                    .lt(generation)
                    .or(documents::seen_generation.is_null()),
            ),
    )
    .set((
        documents::status.eq(DocumentStatus::Deleted.as_str()),
        documents::deleted_at.eq(Some(at)),
        documents::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(ended as i32)
}

/// The statuses of matters that need no folder any more.
pub const CLOSED: [&str; 2] = ["closed", "archived"];

/// The matters a document store should have a folder for: those not closed or archived.
pub fn open_matter_folders(conn: &mut AnyConnection) -> Result<Vec<MatterFolder>> {
    let rows: Vec<(String, String)> = matters::table
        .filter(matters::status.ne_all(CLOSED))
        .order_by(matters::reference.asc())
        .select((matters::reference, matters::title))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(reference, title)| MatterFolder { reference, title })
        .collect())
}
