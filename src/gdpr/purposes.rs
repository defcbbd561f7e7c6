//! Purposes of processing. The built-in ones cover a law firm's usual work; a firm adds its
//! own. Marketing purposes get the stricter basis rules and feed campaigns.

use async_graphql::{InputObject, MaybeUndefined};
use diesel::prelude::*;

use crate::db::schema::purposes;
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::validation::{apply_change, non_blank};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = purposes, treat_none_as_null = true)]
pub struct PurposeRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub marketing: bool,
    pub built_in: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    /// Profiling: its grounds run on the profiling retention clock.
    pub profiling: bool,
}

/// A new purpose, for `createPurpose`.
#[derive(Debug, Clone, InputObject)]
pub struct CreatePurposeInput {
    /// Stable identifier: lower-case letters, digits and underscores, e.g. `seminars`.
    pub key: String,
    /// The purpose's name as people read it.
    pub name: String,
    /// What the processing for this purpose involves.
    pub description: Option<String>,
    /// Direct marketing: only consent or legitimate interest may be its basis.
    pub marketing: bool,
    /// Profiling (analysing the person to tailor offers): the profiling retention clock
    /// applies to its grounds.
    #[graphql(default)]
    pub profiling: bool,
}

/// Changes to a purpose, for `updatePurpose`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdatePurposeInput {
    /// The key of the purpose to change (keys cannot change).
    pub key: String,
    /// The purpose's name as people read it.
    pub name: Option<String>,
    /// What the processing involves; null clears it.
    pub description: MaybeUndefined<String>,
}

pub fn list(conn: &mut AnyConnection) -> Result<Vec<PurposeRow>> {
    Ok(purposes::table
        .order_by((purposes::built_in.desc(), purposes::key.asc()))
        .select(PurposeRow::as_select())
        .load(conn)?)
}

pub fn by_ids(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<PurposeRow>> {
    Ok(purposes::table
        .filter(purposes::id.eq_any(ids))
        .select(PurposeRow::as_select())
        .load(conn)?)
}

pub fn by_id_map(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, PurposeRow>> {
    Ok(by_ids(conn, ids)?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect())
}

pub fn find(conn: &mut AnyConnection, key: &str) -> Result<Option<PurposeRow>> {
    Ok(purposes::table
        .filter(purposes::key.eq(key.trim()))
        .select(PurposeRow::as_select())
        .first(conn)
        .optional()?)
}

/// The purpose an input names by key, or a BAD_USER_INPUT error at `field`.
pub fn named(conn: &mut AnyConnection, key: &str, field: &str) -> Result<PurposeRow> {
    find(conn, key)?.ok_or_else(|| {
        Error::invalid(
            field,
            format!(
                "no purpose `{}`; see `purposes` for the firm's list",
                key.trim()
            ),
        )
    })
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub fn create(conn: &mut AnyConnection, input: CreatePurposeInput) -> Result<PurposeRow> {
    let mut v = Validator::new();
    let key = input.key.trim().to_owned();
    if !valid_key(&key) {
        v.add(
            "input.key",
            "use lower-case letters, digits and underscores, starting with a letter (at most 63)",
        );
    }
    let name = v.required("input.name", &input.name);
    v.finish()?;
    if find(conn, &key)?.is_some() {
        return Err(Error::Conflict {
            field: Some("input.key".to_owned()),
            message: format!("a purpose `{key}` already exists"),
        });
    }
    let timestamp = now();
    let row = PurposeRow {
        id: new_id(),
        key,
        name,
        description: non_blank(input.description),
        marketing: input.marketing,
        built_in: false,
        created_at: timestamp,
        updated_at: timestamp,
        profiling: input.profiling,
    };
    diesel::insert_into(purposes::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Renames or re-describes a purpose; whether it is marketing never changes, since the
/// grounds already recorded for it were checked against that.
pub fn update(conn: &mut AnyConnection, input: UpdatePurposeInput) -> Result<PurposeRow> {
    let mut row = find(conn, &input.key)?.ok_or_else(|| Error::not_found("Purpose", &input.key))?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        row.name = v.required("input.name", name);
    }
    v.finish()?;
    row.description = non_blank(apply_change(row.description, input.description));
    row.updated_at = now();
    diesel::update(purposes::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_are_snake_case_identifiers() {
        assert!(valid_key("seminars"));
        assert!(valid_key("client_events_2027"));
        assert!(!valid_key(""));
        assert!(!valid_key("2027_events"));
        assert!(!valid_key("Seminars"));
        assert!(!valid_key("semi-nars"));
    }
}
