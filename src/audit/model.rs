//! Access-log entries as callers build them and as the database stores them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{access_log, access_log_subject_sets};
use crate::db::text_enum;
use crate::error::{Error, Result};

text_enum! {
    /// Whether a request read personal data or changed it.
    AccessAction {
        /// The request read personal data.
        Read => "read",
        /// The request changed personal data (or ran a mutation).
        Write => "write",
    }
}

/// One access to personal data, as the request that made it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    pub occurred_at: NaiveDateTime,
    /// `"user"`, `"api_key"`, `"external"`, `"cli"` or `"system"` (a job without a request).
    pub principal_kind: String,
    /// The user id, the API key id, `"issuer#subject"` for an external principal, or the job
    /// (`"webhook:billing"`, `"scheduler:retention"`) for a system one.
    pub principal_id: String,
    pub role: String,
    pub operation_name: Option<String>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub action: AccessAction,
    /// `"Type.field"` names; stored sorted and deduplicated.
    pub fields: Vec<String>,
    /// Contact ids (database ids, not GraphQL ids); stored sorted and deduplicated.
    pub subjects: Vec<String>,
}

/// An entry as the log holds it: its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccessEntry {
    pub seq: i64,
    pub entry: AccessEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Separates field names in the `fields` column; names may not contain it.
const FIELD_SEPARATOR: char = ',';

impl AccessEntry {
    /// The stored form: microsecond time (what both backends keep, so the hash recomputed
    /// from a read-back row matches), fields and subjects sorted and deduplicated. Refuses
    /// field names the `fields` column could not give back unchanged.
    pub(crate) fn normalized(mut self) -> Result<AccessEntry> {
        if let Some(bad) = self
            .fields
            .iter()
            .find(|f| f.is_empty() || f.contains(FIELD_SEPARATOR))
        {
            return Err(Error::Internal(format!(
                "access log field name {bad:?} is empty or contains '{FIELD_SEPARATOR}'"
            )));
        }
        self.occurred_at = truncate_to_micros(self.occurred_at);
        self.fields.sort_unstable();
        self.fields.dedup();
        self.subjects.sort_unstable();
        self.subjects.dedup();
        Ok(self)
    }
}

fn truncate_to_micros(t: NaiveDateTime) -> NaiveDateTime {
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// A row of `access_log`. Every value binds as itself (`None` as NULL, not `DEFAULT`) so that
/// SQLite can insert a whole batch in one statement (see `crate::db::insert_batch`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_log, treat_none_as_default_value = false)]
pub(crate) struct AccessLogRow {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub principal_kind: String,
    pub principal_id: String,
    pub role: String,
    pub operation_name: Option<String>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub fields: String,
    pub subject_count: i64,
    pub prev_hash: String,
    pub hash: String,
    /// The id of the entry's set of data subjects in `access_log_subject_sets`.
    pub subject_set: String,
}

/// Bind parameters of one [`AccessLogRow`]: its column count.
pub(crate) const ACCESS_LOG_COLUMNS: usize = 14;

/// A row of `access_log_subject_sets`: one contact of one set of data subjects (inserted in
/// one statement per chunk on SQLite too, for the same reason as [`AccessLogRow`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_log_subject_sets, treat_none_as_default_value = false)]
pub(crate) struct SetMemberRow {
    pub set_id: String,
    pub contact_id: String,
}

pub(crate) const SET_MEMBER_COLUMNS: usize = 2;

impl AccessLogRow {
    /// The row of a normalized entry at `seq` in the chain, naming its subject set.
    pub(crate) fn new(
        seq: i64,
        entry: &AccessEntry,
        subject_set: String,
        prev_hash: String,
        hash: String,
    ) -> Self {
        AccessLogRow {
            seq,
            occurred_at: entry.occurred_at,
            principal_kind: entry.principal_kind.clone(),
            principal_id: entry.principal_id.clone(),
            role: entry.role.clone(),
            operation_name: entry.operation_name.clone(),
            client_address: entry.client_address.clone(),
            user_agent: entry.user_agent.clone(),
            action: entry.action.as_str().to_owned(),
            fields: entry.fields.join(&FIELD_SEPARATOR.to_string()),
            subject_count: i64::try_from(entry.subjects.len()).unwrap_or(i64::MAX),
            prev_hash,
            hash,
            subject_set,
        }
    }

    /// The field names of the `fields` column.
    pub(crate) fn field_names(&self) -> Vec<&str> {
        split_fields(&self.fields)
    }

    /// The stored entry, with its subjects (in any order).
    pub(crate) fn into_stored(self, mut subjects: Vec<String>) -> Result<StoredAccessEntry> {
        subjects.sort_unstable();
        let fields = self.field_names().into_iter().map(str::to_owned).collect();
        Ok(StoredAccessEntry {
            seq: self.seq,
            entry: AccessEntry {
                occurred_at: self.occurred_at,
                principal_kind: self.principal_kind,
                principal_id: self.principal_id,
                role: self.role,
                operation_name: self.operation_name,
                client_address: self.client_address,
                user_agent: self.user_agent,
                action: AccessAction::from_db(&self.action)?,
                fields,
                subjects,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// The names in a `fields` column value (none for the empty string).
pub(crate) fn split_fields(joined: &str) -> Vec<&str> {
    if joined.is_empty() {
        Vec::new()
    } else {
        joined.split(FIELD_SEPARATOR).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fields: &[&str]) -> AccessEntry {
        AccessEntry {
            occurred_at: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789)
                .map(|t| t.naive_utc())
                .unwrap_or_default(),
            principal_kind: "user".to_owned(),
            principal_id: "u1".to_owned(),
            role: "lawyer".to_owned(),
            operation_name: None,
            client_address: None,
            user_agent: None,
            action: AccessAction::Read,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            subjects: vec!["c2".to_owned(), "c1".to_owned(), "c2".to_owned()],
        }
    }

    #[test]
    fn normalizing_sorts_dedups_and_truncates() {
        let e = entry(&["Contact.pec", "Contact.displayName", "Contact.pec"])
            .normalized()
            .expect("valid entry");
        assert_eq!(e.fields, ["Contact.displayName", "Contact.pec"]);
        assert_eq!(e.subjects, ["c1", "c2"]);
        assert_eq!(
            e.occurred_at.and_utc().timestamp_subsec_nanos(),
            123_456_000
        );
    }

    #[test]
    fn field_names_that_would_not_round_trip_are_refused() {
        assert!(entry(&["Contact.a,b"]).normalized().is_err());
        assert!(entry(&[""]).normalized().is_err());
    }

    #[test]
    fn fields_column_round_trips() {
        let e = entry(&["B.x", "A.y"]).normalized().expect("valid entry");
        let row = AccessLogRow::new(1, &e, String::new(), String::new(), String::new());
        assert_eq!(row.fields, "A.y,B.x");
        assert_eq!(row.field_names(), ["A.y", "B.x"]);
        assert!(split_fields("").is_empty());
    }
}
