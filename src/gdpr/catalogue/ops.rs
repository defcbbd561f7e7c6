//! What erasure and merge do to every table naming a contact, as the catalogue declares it.
//! Statements are built from the catalogue and from keys read from the database, never from
//! input; they run in the caller's transaction.

use diesel::connection::SimpleConnection;

use super::live::{literal, naming, quoted};
use super::{naming_contacts, Erasure, Held, MatterRef, Merge, Rule, TableRules};
use crate::db::AnyConnection;
use crate::error::Result;

/// `c1 = NULL, c2 = NULL`, or `None` when there is nothing to clear.
fn clearing<'a>(columns: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let set: Vec<String> = columns
        .into_iter()
        .map(|c| format!("{} = NULL", quoted(c)))
        .collect();
    (!set.is_empty()).then(|| set.join(", "))
}

fn list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| literal(k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of `table` whose matter is not one of `held`.
fn not_of_held_matters(table: &TableRules, held: &[String]) -> String {
    if held.is_empty() {
        return "1 = 1".to_owned();
    }
    match table.matter {
        Some(MatterRef::Column(c)) => {
            format!("({0} IS NULL OR {0} NOT IN ({1}))", quoted(c), list(held))
        }
        Some(MatterRef::Via {
            column,
            table: other,
            matter,
        }) => format!(
            "({0} IS NULL OR {0} NOT IN (SELECT \"id\" FROM {1} WHERE {2} IN ({3})))",
            quoted(column),
            quoted(other),
            quoted(matter),
            list(held)
        ),
        // The catalogue test refuses matter-dependent erasure without a matter reference.
        None => "1 = 1".to_owned(),
    }
}

/// The statements erasing `contact_id` from one table. `held` is `None` for a full erasure,
/// else the matters a legal hold keeps (possibly none: an explicit hold on the person).
fn statements(table: &TableRules, contact_id: &str, held: Option<&[String]>) -> Vec<String> {
    let name = quoted(table.table);
    let rows = naming(table.refers(), contact_id);
    let delete = |filter: &str| format!("DELETE FROM {name} WHERE {rows} AND {filter}");
    let update = |set: Option<String>, filter: &str| {
        set.map(|set| format!("UPDATE {name} SET {set} WHERE {rows} AND {filter}"))
    };
    let unlink = |filter: &str| -> Vec<String> {
        // What could verify guesses of the person's data (a hash of their record) goes with
        // the name.
        let omitted: String = table
            .columns
            .iter()
            .filter(|(_, rule)| *rule == Rule::Omit)
            .map(|(c, _)| format!(", {} = NULL", quoted(c)))
            .collect();
        // One statement per column, so a row naming the person twice loses both names.
        table
            .refers()
            .map(|c| {
                format!(
                    "UPDATE {name} SET {0} = NULL{omitted} WHERE {0} = {1} AND {filter}",
                    quoted(c),
                    literal(contact_id)
                )
            })
            .collect()
    };
    let clear_personal = |keep: &[&str]| {
        update(
            clearing(table.personal().filter(|c| !keep.contains(c))),
            "1 = 1",
        )
    };
    let all = "1 = 1";
    match (held, table.erasure, table.held) {
        (_, Erasure::Undeclared | Erasure::Keep, _) => Vec::new(),
        (None, Erasure::Subject, _) => vec![delete(all)],
        (Some(_), Erasure::Subject, _) | (Some(_), _, Held::KeepHoldColumns) => {
            clear_personal(table.hold_keeps).into_iter().collect()
        }
        (Some(matters), _, Held::KeepHeldMatters) => {
            vec![delete(&not_of_held_matters(table, matters))]
        }
        (Some(matters), _, Held::UnlinkUnlessHeldMatter) => {
            unlink(&not_of_held_matters(table, matters))
        }
        (_, Erasure::Delete, _) => vec![delete(all)],
        (_, Erasure::Unlink, _) => unlink(all),
        (_, Erasure::ClearPersonal, _) => clear_personal(&[]).into_iter().collect(),
    }
}

fn run(conn: &mut AnyConnection, statements: &[String]) -> Result<()> {
    if !statements.is_empty() {
        conn.batch_execute(&statements.join(";\n"))?;
    }
    Ok(())
}

/// Erases `contact_id` from every table naming contacts, as the catalogue declares: with
/// `held` = `None` everything goes (the contact row last); with the held matters, only what
/// the hold needs stays. Dependent tables are declared after what they depend on, so they
/// are handled in reverse declaration order.
pub fn erase(conn: &mut AnyConnection, contact_id: &str, held: Option<&[String]>) -> Result<()> {
    let tables: Vec<&TableRules> = naming_contacts().collect();
    let all: Vec<String> = tables
        .iter()
        .rev()
        .filter(|t| t.erasure != Erasure::Subject)
        .chain(tables.iter().filter(|t| t.erasure == Erasure::Subject))
        .flat_map(|t| statements(t, contact_id, held))
        .collect();
    run(conn, &all)
}

/// Moves every row the catalogue declares [`Merge::Move`] from the merged contacts to the
/// survivor (the rest is the merge's own business: filled, moved by hand or kept).
pub fn move_to_survivor(conn: &mut AnyConnection, merged: &[String], survivor: &str) -> Result<()> {
    if merged.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = naming_contacts()
        .filter(|t| t.merge == Merge::Move)
        .flat_map(|t| {
            t.refers().map(move |c| {
                format!(
                    "UPDATE {} SET {1} = {2} WHERE {1} IN ({3})",
                    quoted(t.table),
                    quoted(c),
                    literal(survivor),
                    list(merged)
                )
            })
        })
        .collect();
    run(conn, &all)
}
