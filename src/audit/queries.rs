//! What the data protection officer asks of the log: the entries about a data subject or a
//! principal in a time window, and the scope of a breach.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{split_fields, AccessLogRow, StoredAccessEntry};
use super::sets;
use crate::db::schema::{access_log, access_log_subject_sets};
use crate::db::{AnyConnection, Db};
use crate::error::{Error, Result};
use crate::ids::{self, NodeType};

/// Which entries a query covers; unset filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessLogFilter {
    /// Entries that touched this contact (database id).
    pub subject: Option<String>,
    pub principal_id: Option<String>,
    /// Inclusive.
    pub from: Option<NaiveDateTime>,
    /// Exclusive.
    pub to: Option<NaiveDateTime>,
}

// The subject filter's subquery reads `access_log_subject_sets` under another name, so that
// it can also narrow a query that joins `access_log_subject_sets` itself.
diesel::alias!(access_log_subject_sets as TOUCHED: TouchedSubjects);

/// Narrows a boxed query whose source includes `access_log` (the table alone, or joined with
/// `access_log_subject_sets`) to the filter's entries. An entry touched a contact when its
/// subject set holds the contact: the sets holding it (index on `contact_id`), then their
/// entries (index on `access_log.subject_set`). A macro because the two query types
/// differ, and a boxed query cannot serve as the other's subquery (Diesel's multi-backend
/// query builder renders boxed subselects on neither backend).
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let filter: &AccessLogFilter = $filter;
        let mut query = $query;
        if let Some(subject) = &filter.subject {
            let touching = TOUCHED
                .filter(
                    TOUCHED
                        .field(access_log_subject_sets::contact_id)
                        .eq(subject.clone()),
                )
                .select(TOUCHED.field(access_log_subject_sets::set_id));
            query = query.filter(access_log::subject_set.eq_any(touching));
        }
        if let Some(principal) = &filter.principal_id {
            query = query.filter(access_log::principal_id.eq(principal.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(access_log::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(access_log::occurred_at.lt(to));
        }
        query
    }};
}

impl AccessLogFilter {
    fn boxed(&self) -> access_log::BoxedQuery<'static, Db> {
        filtered!(access_log::table.into_boxed(), self)
    }
}

/// How many entries match.
pub fn count_entries(conn: &mut AnyConnection, filter: &AccessLogFilter) -> Result<i64> {
    Ok(filter.boxed().count().get_result(conn)?)
}

/// A page of matching entries, newest first.
pub fn list_entries(
    conn: &mut AnyConnection,
    filter: &AccessLogFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<StoredAccessEntry>> {
    if offset < 0 {
        return Err(Error::invalid("offset", "must not be negative"));
    }
    if limit < 0 {
        return Err(Error::invalid("limit", "must not be negative"));
    }
    let rows: Vec<AccessLogRow> = filter
        .boxed()
        .order_by(access_log::seq.desc())
        .offset(offset)
        .limit(limit)
        .select(AccessLogRow::as_select())
        .load(conn)?;
    let mut set_ids: Vec<&str> = rows.iter().map(|r| r.subject_set.as_str()).collect();
    set_ids.sort_unstable();
    set_ids.dedup();
    let subjects = sets::members_of(conn, &set_ids)?;
    rows.into_iter()
        .map(|row| {
            let row_subjects = subjects.get(&row.subject_set).cloned().unwrap_or_default();
            row.into_stored(row_subjects)
        })
        .collect()
}

/// Each entry with each contact of its subject set.
fn with_subjects() -> diesel::dsl::InnerJoinOn<
    access_log_subject_sets::table,
    access_log::table,
    diesel::dsl::Eq<access_log::subject_set, access_log_subject_sets::set_id>,
> {
    access_log_subject_sets::table.inner_join(
        access_log::table.on(access_log::subject_set.eq(access_log_subject_sets::set_id)),
    )
}

/// Who and what a set of entries touched: what a breach notification must name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreachScope {
    pub entry_count: i64,
    /// Distinct contact ids, sorted.
    pub subjects: Vec<String>,
    /// Distinct `"Type.field"` names, sorted.
    pub fields: Vec<String>,
    /// Distinct principals as (kind, id) pairs, sorted.
    pub principals: Vec<(String, String)>,
}

/// A principal as the API names it: users and API keys by their global IDs, like every
/// other object; provider tokens as `issuer#subject` and command-line runs by account name.
pub fn principal_global_id(kind: &str, id: &str) -> String {
    match kind {
        "user" => ids::encode(NodeType::User, id).0,
        "api_key" => ids::encode(NodeType::ApiKey, id).0,
        _ => id.to_owned(),
    }
}

/// The key a principal is stored under, from the name the API shows (see
/// [`principal_global_id`]). An ID of another kind, or a raw UUID that a global ID should
/// have been given for, is refused rather than matching nothing.
pub fn principal_key(principal: &str, field: &str) -> Result<String> {
    let principal = principal.trim();
    match ids::parse(principal) {
        Some((NodeType::User | NodeType::ApiKey, key)) => Ok(key),
        Some((other, _)) => Err(Error::invalid(
            field,
            format!("expected a User or ApiKey ID, got a {} ID", other.name()),
        )),
        None if principal.is_empty() || uuid::Uuid::parse_str(principal).is_ok() => {
            Err(Error::invalid(
                field,
                format!(
                    "`{principal}` is not a principal: give a User or ApiKey ID as the API shows \
                     it, or a provider token's issuer#subject"
                ),
            ))
        }
        None => Ok(principal.to_owned()),
    }
}

/// The distinct data subjects, fields and principals of the matching entries. Sorting happens
/// here rather than in SQL so both backends agree whatever PostgreSQL's collation.
pub fn breach_scope(conn: &mut AnyConnection, filter: &AccessLogFilter) -> Result<BreachScope> {
    let entry_count = count_entries(conn, filter)?;
    let subjects: BTreeSet<String> = filtered!(with_subjects().into_boxed(), filter)
        .select(access_log_subject_sets::contact_id)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect();
    // Requests of one shape repeat the same field list, so distinct lists are few.
    let field_lists: Vec<String> = filter
        .boxed()
        .select(access_log::fields)
        .distinct()
        .load(conn)?;
    let fields: BTreeSet<String> = field_lists
        .iter()
        .flat_map(|list| split_fields(list))
        .map(str::to_owned)
        .collect();
    let principals: BTreeSet<(String, String)> = filter
        .boxed()
        .select((access_log::principal_kind, access_log::principal_id))
        .distinct()
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(BreachScope {
        entry_count,
        subjects: subjects.into_iter().collect(),
        fields: fields.into_iter().collect(),
        principals: principals.into_iter().collect(),
    })
}

/// Per data subject of the matching entries, the fields those entries touched. An entry
/// records its fields for the request as a whole, so a subject is credited with every field
/// of every entry that touched it: an upper bound, which is what a notification needs.
pub fn fields_by_subject(
    conn: &mut AnyConnection,
    filter: &AccessLogFilter,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let pairs: Vec<(String, String)> = filtered!(with_subjects().into_boxed(), filter)
        .select((access_log_subject_sets::contact_id, access_log::fields))
        .distinct()
        .load(conn)?;
    let mut by_subject: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (contact, fields) in &pairs {
        by_subject
            .entry(contact.clone())
            .or_default()
            .extend(split_fields(fields).into_iter().map(str::to_owned));
    }
    Ok(by_subject)
}
