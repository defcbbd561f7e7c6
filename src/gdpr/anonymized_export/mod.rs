//! `lexgate export --anonymized`: the whole database as JSON with every personal value
//! replaced by a consistent pseudonym, for testing, analytics or a support copy that must
//! not carry anyone's data. Secrets are left out, and so are contacts whose processing is
//! restricted (Art. 18) with everything that belongs to them.
//!
//! What happens to each column is declared once, in the personal-data catalogue
//! (`gdpr::catalogue`); the export refuses to run while the database has a column the
//! catalogue does not name.

mod pseudonym;

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Map, Value};

pub use pseudonym::{Kind, Pseudonymizer};

pub use crate::gdpr::catalogue::live::{column_values, undeclared_columns};
use crate::gdpr::catalogue::live::{rows_where, value_types, ValueType};
pub use crate::gdpr::catalogue::{personal_columns, Rule, TableRules, OMITTED_TABLES, TABLES};

use crate::db::schema::contacts;
use crate::db::{now, AnyConnection, Database};
use crate::error::{Error, Result};
use crate::gdpr::KeyedHasher;

/// What the dump says it is.
const FORMAT: &str = "lexgate-anonymized-export/1";

fn restricted_contacts(conn: &mut AnyConnection) -> Result<HashSet<String>> {
    Ok(contacts::table
        .filter(contacts::restricted_at.is_not_null())
        .select(contacts::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// One table's rows, anonymised, without those of restricted contacts.
fn export_table(
    conn: &mut AnyConnection,
    table: &TableRules,
    types: &HashMap<(String, String), ValueType>,
    restricted: &HashSet<String>,
    pseudonyms: &Pseudonymizer,
) -> Result<Vec<Value>> {
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let records = rows_where(conn, table, &names, "1 = 1")?;
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let value = |name: &str| {
            table
                .columns
                .iter()
                .position(|(c, _)| *c == name)
                .and_then(|at| record[at].as_deref())
        };
        let belongs_to_restricted = table
            .contact_refs
            .iter()
            .any(|r| value(r).is_some_and(|id| restricted.contains(id)));
        if belongs_to_restricted {
            continue;
        }
        let mut row = Map::new();
        for ((name, rule), text) in table.columns.iter().zip(record.iter().cloned()) {
            let Some(text) = text else {
                if *rule != Rule::Omit {
                    row.insert((*name).to_owned(), Value::Null);
                }
                continue;
            };
            let value_type = types
                .get(&(table.table.to_owned(), (*name).to_owned()))
                .copied()
                .unwrap_or(ValueType::Text);
            let written = match rule {
                Rule::Omit => continue,
                Rule::Keep => value_type.json(text),
                Rule::Pseudonym(kind) => Value::String(pseudonyms.pseudonym(*kind, &text)),
                Rule::ContactLink if restricted.contains(&text) => Value::Null,
                Rule::ContactLink => Value::String(text),
            };
            row.insert((*name).to_owned(), written);
        }
        rows.push(Value::Object(row));
    }
    Ok(rows)
}

/// The dump, from one consistent snapshot (run it in a transaction: [`run`] does).
pub fn export(conn: &mut AnyConnection, hasher: KeyedHasher) -> Result<Value> {
    let problems = undeclared_columns(conn)?;
    if !problems.is_empty() {
        return Err(Error::Internal(format!(
            "the personal-data catalogue does not match the database, refusing to export: {}",
            problems.join("; ")
        )));
    }
    let types = value_types(conn)?;
    let restricted = restricted_contacts(conn)?;
    let pseudonyms = Pseudonymizer::new(hasher);
    let mut tables = BTreeMap::new();
    for table in TABLES {
        let rows = export_table(conn, table, &types, &restricted, &pseudonyms)?;
        tables.insert(table.table, Value::Array(rows));
    }
    let omitted_columns: Vec<String> = TABLES
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|(_, rule)| *rule == Rule::Omit)
                .map(move |(c, _)| format!("{}.{c}", t.table))
        })
        .collect();
    Ok(serde_json::json!({
        "format": FORMAT,
        "exportedAt": now().and_utc().to_rfc3339(),
        "omittedTables": OMITTED_TABLES.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        "omittedColumns": omitted_columns,
        "restrictedContactsLeftOut": restricted.len(),
        "tables": tables,
    }))
}

/// Loads the pseudonym key, then exports in one read-only snapshot; returns pretty JSON.
pub async fn run(db: &Database) -> Result<String> {
    // Loading the key may create it, which a read-only snapshot could not.
    let hasher = db.transaction(|c| KeyedHasher::load(c, None)).await?;
    let dump = db
        .transaction(move |conn| {
            if let AnyConnection::Postgresql(pg) = conn {
                // Every column is read by its own statement: they must all see one snapshot.
                pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            }
            export(conn, hasher)
        })
        .await?;
    serde_json::to_string_pretty(&dump)
        .map_err(|e| Error::Internal(format!("cannot write the export: {e}")))
}
