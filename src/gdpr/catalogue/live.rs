//! The live schema and generic row access, so what the catalogue declares can be checked
//! against the database and applied to any table it names. The database catalogue is the one
//! thing the backends spell differently: [`actual_columns`] is the one query written per
//! backend.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};
use serde_json::Value;

use super::{TableRules, OMITTED_TABLES, TABLES};
use crate::db::AnyConnection;
use crate::error::Result;

#[derive(Debug, Clone, QueryableByName)]
pub struct ColumnInfo {
    #[diesel(sql_type = Text)]
    pub table_name: String,
    #[diesel(sql_type = Text)]
    pub column_name: String,
    #[diesel(sql_type = Text)]
    pub data_type: String,
    #[diesel(sql_type = Bool)]
    pub nullable: bool,
}

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

/// The tables and columns the database has, with their declared types and nullability.
pub fn actual_columns(conn: &mut AnyConnection) -> Result<Vec<ColumnInfo>> {
    let sql = match conn {
        AnyConnection::Sqlite(_) => {
            // A primary-key column SQLite lets be NULL is still never written NULL here; the
            // migrations declare those NOT NULL where it matters, so take the flag as written.
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                    (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY m.name, p.cid"
        }
        AnyConnection::Postgresql(_) => {
            "SELECT CAST(table_name AS TEXT) AS table_name, \
                    CAST(column_name AS TEXT) AS column_name, \
                    CAST(data_type AS TEXT) AS data_type, \
                    (is_nullable = 'YES') AS nullable \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position"
        }
    };
    Ok(diesel::sql_query(sql).load(conn)?)
}

/// `table.column` names where the catalogue and the database disagree: columns without an
/// entry, tables named nowhere, and entries for columns that do not exist. Empty when they
/// agree.
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
                "{}.{} has no entry in the personal-data catalogue (src/gdpr/catalogue/tables.rs)",
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

pub fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A text literal. Only keys read from the database itself are written this way (the
/// statements here are built from the catalogue, not from input), and quotes are doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `col = 'key' OR col2 = 'key'`: the rows naming `key` through any of `columns`.
pub fn naming(columns: impl IntoIterator<Item = &'static str>, key: &str) -> String {
    let terms: Vec<String> = columns
        .into_iter()
        .map(|c| format!("{} = {}", quoted(c), literal(key)))
        .collect();
    format!("({})", terms.join(" OR "))
}

/// Every value of one column as text (null stays null) of the rows matching `filter`, in an
/// order every column of the table shares within one snapshot: sorted on all its columns.
pub fn column_values_where(
    conn: &mut AnyConnection,
    table: &TableRules,
    column: &str,
    filter: &str,
) -> Result<Vec<Option<String>>> {
    let order: Vec<String> = table.columns.iter().map(|(c, _)| quoted(c)).collect();
    let sql = format!(
        "SELECT CAST({} AS TEXT) AS value FROM {} WHERE {filter} ORDER BY {}",
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

/// Every value of one column, as [`column_values_where`] over the whole table.
pub fn column_values(
    conn: &mut AnyConnection,
    table: &TableRules,
    column: &str,
) -> Result<Vec<Option<String>>> {
    column_values_where(conn, table, column, "1 = 1")
}

/// The rows of `table` matching `filter`, as one text-or-null per column of `columns`. Each
/// row is read whole, as a JSON array of texts (the one function the backends name
/// differently), so a row cannot change between its columns.
pub fn rows_where(
    conn: &mut AnyConnection,
    table: &TableRules,
    columns: &[&str],
    filter: &str,
) -> Result<Vec<Vec<Option<String>>>> {
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let array = match conn {
        AnyConnection::Sqlite(_) => "json_array",
        AnyConnection::Postgresql(_) => "json_build_array",
    };
    let texts: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", quoted(c)))
        .collect();
    let order: Vec<String> = table.columns.iter().map(|(c, _)| quoted(c)).collect();
    let sql = format!(
        "SELECT CAST({array}({}) AS TEXT) AS value FROM {} WHERE {filter} ORDER BY {}",
        texts.join(", "),
        quoted(table.table),
        order.join(", ")
    );
    diesel::sql_query(sql)
        .load::<TextValue>(conn)?
        .into_iter()
        .map(|row| {
            let text = row.value.unwrap_or_default();
            serde_json::from_str::<Vec<Option<String>>>(&text).map_err(|e| {
                crate::error::Error::Internal(format!("cannot read a row of {}: {e}", table.table))
            })
        })
        .collect()
}

/// How a value is written as JSON: booleans and integers as JSON ones, the rest as text.
#[derive(Debug, Clone, Copy)]
pub enum ValueType {
    Boolean,
    Integer,
    Text,
}

impl ValueType {
    pub fn of(data_type: &str) -> ValueType {
        let t = data_type.to_ascii_lowercase();
        if t.contains("bool") {
            ValueType::Boolean
        } else if t.contains("int") {
            ValueType::Integer
        } else {
            ValueType::Text
        }
    }

    pub fn json(self, text: String) -> Value {
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

/// The JSON type of every live column.
pub fn value_types(conn: &mut AnyConnection) -> Result<HashMap<(String, String), ValueType>> {
    Ok(actual_columns(conn)?
        .into_iter()
        .map(|c| ((c.table_name, c.column_name), ValueType::of(&c.data_type)))
        .collect())
}
