//! `lexgate export --anonymized`: the whole database as JSON with every personal value
//! replaced by a consistent pseudonym, for testing, analytics or a support copy that must
//! not carry anyone's data. Secrets are left out, and so are contacts whose processing is
//! restricted (Art. 18) with everything that belongs to them.
//!
//! What happens to each column is declared once in [`rules`]; the export refuses to run
//! while the database has a column the declaration does not name.

mod pseudonym;
pub mod rules;

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde_json::{Map, Value};

pub use pseudonym::{Kind, Pseudonymizer};
pub use rules::{personal_columns, Rule, TableRules, OMITTED_TABLES, TABLES};

use crate::db::schema::contacts;
use crate::db::{now, AnyConnection, Database};
use crate::error::{Error, Result};
use crate::gdpr::KeyedHasher;

/// What the dump says it is.
const FORMAT: &str = "lexgate-anonymized-export/1";

#[derive(QueryableByName)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

/// The tables and columns the database has, with their declared types. The catalogue is
/// the one thing the backends spell differently, so this is the one query written per
/// backend.
fn actual_columns(conn: &mut AnyConnection) -> Result<Vec<ColumnInfo>> {
    let sql = match conn {
        AnyConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY m.name, p.cid"
        }
        AnyConnection::Postgresql(_) => {
            "SELECT CAST(table_name AS TEXT) AS table_name, \
                    CAST(column_name AS TEXT) AS column_name, \
                    CAST(data_type AS TEXT) AS data_type \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position"
        }
    };
    Ok(diesel::sql_query(sql).load(conn)?)
}

/// `table.column` names where the declaration and the database disagree: columns without a
/// rule, tables named nowhere, and rules for columns that do not exist. Empty when they agree.
pub fn undeclared_columns(conn: &mut AnyConnection) -> Result<Vec<String>> {
    let actual = actual_columns(conn)?;
    let omitted: HashSet<&str> = OMITTED_TABLES.iter().map(|(t, _)| *t).collect();
    let declared: HashSet<(&str, &str)> = TABLES
        .iter()
        .flat_map(|t| t.columns.iter().map(move |(c, _)| (t.table, *c)))
        .collect();
    let present: HashSet<(&str, &str)> = actual
        .iter()
        .map(|c| (c.table_name.as_str(), c.column_name.as_str()))
        .collect();
    let mut problems: Vec<String> = actual
        .iter()
        .filter(|c| !omitted.contains(c.table_name.as_str()))
        .filter(|c| !declared.contains(&(c.table_name.as_str(), c.column_name.as_str())))
        .map(|c| {
            format!(
                "{}.{} has no anonymisation rule",
                c.table_name, c.column_name
            )
        })
        .collect();
    problems.extend(
        declared
            .iter()
            .filter(|column| !present.contains(*column))
            .map(|(t, c)| format!("{t}.{c} is declared but does not exist")),
    );
    problems.sort();
    Ok(problems)
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Every value of one column as text (null stays null), in an order every column of the
/// table shares within one snapshot: sorted on all its columns.
pub fn column_values(
    conn: &mut AnyConnection,
    table: &TableRules,
    column: &str,
) -> Result<Vec<Option<String>>> {
    let order: Vec<String> = table.columns.iter().map(|(c, _)| quoted(c)).collect();
    let sql = format!(
        "SELECT CAST({} AS TEXT) AS value FROM {} ORDER BY {}",
        quoted(column),
        quoted(table.table),
        order.join(", ")
    );
    Ok(diesel::sql_query(sql)
        .load::<TextValue>(conn)?
        .into_iter()
        .map(|v| v.value)
        .collect())
}

/// How a kept value is written: booleans and integers as JSON ones, the rest as text.
#[derive(Clone, Copy)]
enum ValueType {
    Boolean,
    Integer,
    Text,
}

impl ValueType {
    fn of(data_type: &str) -> ValueType {
        let t = data_type.to_ascii_lowercase();
        if t.contains("bool") {
            ValueType::Boolean
        } else if t.contains("int") {
            ValueType::Integer
        } else {
            ValueType::Text
        }
    }

    fn json(self, text: String) -> Value {
        match self {
            ValueType::Boolean => Value::Bool(matches!(text.as_str(), "1" | "t" | "true")),
            ValueType::Integer => text
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(text)),
            ValueType::Text => Value::String(text),
        }
    }
}

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
    let mut columns = Vec::with_capacity(table.columns.len());
    for (name, _) in table.columns {
        columns.push(column_values(conn, table, name)?);
    }
    let row_count = columns.first().map_or(0, Vec::len);
    if columns.iter().any(|c| c.len() != row_count) {
        return Err(Error::Internal(format!(
            "{} changed while it was exported",
            table.table
        )));
    }
    // Column-wise reads, turned into records.
    let mut records: Vec<Vec<Option<String>>> =
        vec![Vec::with_capacity(table.columns.len()); row_count];
    for column in columns {
        for (record, value) in records.iter_mut().zip(column) {
            record.push(value);
        }
    }
    let mut rows = Vec::with_capacity(row_count);
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
            "the anonymisation rules do not match the database, refusing to export: {}",
            problems.join("; ")
        )));
    }
    let types: HashMap<(String, String), ValueType> = actual_columns(conn)?
        .into_iter()
        .map(|c| ((c.table_name, c.column_name), ValueType::of(&c.data_type)))
        .collect();
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
