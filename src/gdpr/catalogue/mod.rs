//! The personal-data catalogue: one declaration per table ([`TABLES`]) saying, per column,
//! whether it is personal (its anonymisation rule pseudonymises it) or a special category,
//! how it is anonymised, erased (full and under a legal hold), whether and under which
//! heading it goes into the subject access export, whether it may carry third parties' data,
//! how a contact merge treats it and which retention category it falls under; and per table
//! how it refers to contacts and matters.
//!
//! The subject access export, erasure, contact merge (and so retention, which erases through
//! erasure) and the anonymised export are driven by it. Its tests fail while a live column has
//! no entry, or a table naming contacts lacks a declaration.

pub mod live;
pub mod ops;
#[cfg(test)]
mod policy_map;
mod tables;

pub use tables::{OMITTED_TABLES, TABLES};

use crate::gdpr::anonymized_export::Kind;

/// What the anonymised export writes for a column; [`Rule::Pseudonym`] and
/// [`Rule::ContactLink`] also make the column personal data for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Not personal data (IDs, statuses, counts, timestamps, the firm's own vocabulary):
    /// written as it is, so the dump keeps its structure.
    Keep,
    /// Personal data: replaced by a consistent pseudonym of this kind.
    Pseudonym(Kind),
    /// A nullable reference to a contact: emptied when that contact is restricted.
    ContactLink,
    /// Secrets and what could verify guesses of the originals: never written.
    Omit,
}

/// What a full erasure (no hold) does with the rows naming the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// Not declared: a table naming contacts must say (the catalogue test fails).
    Undeclared,
    /// The table of contacts itself: the row goes last.
    Subject,
    Delete,
    /// The row stays, no longer naming the person (a deadline, a link to an external record),
    /// its [`Rule::Omit`] columns cleared.
    Unlink,
    /// The row stays as a record of what happened, with its personal columns cleared.
    ClearPersonal,
    /// Accountability records that must outlive the erasure (Art. 5(2), 17(3)(b)): kept whole.
    Keep,
}

/// What an erasure under a legal hold does with the rows naming the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// As in a full erasure (for [`Erasure::Subject`]: keep the row with its `hold_keeps`).
    AsFull,
    /// Rows of held matters stay as they are, the others go.
    KeepHeldMatters,
    /// Rows of held matters stay linked, the others are unlinked.
    UnlinkUnlessHeldMatter,
    /// The rows stay with only the personal columns in `hold_keeps`.
    KeepHoldColumns,
}

/// How a table's rows reach a matter, for holds on matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatterRef {
    /// A column naming the matter.
    Column(&'static str),
    /// `column` names a row of `table` (by `id`) whose `matter` column names the matter.
    Via {
        column: &'static str,
        table: &'static str,
        matter: &'static str,
    },
}

/// Where the access export lists a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Undeclared,
    /// The contact itself: the export's `subject`.
    Subject,
    /// A section of the export's `data`, under this heading.
    Section(&'static str),
}

/// How a contact merge treats rows naming a merged contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    Undeclared,
    /// The contact row: the survivor's empty columns are filled from the merged ones.
    Subject,
    /// The reference moves to the survivor.
    Move,
    /// Rows can collide with the survivor's (positions, unique pairs): `contacts::merge` moves
    /// them by hand.
    ByHand,
    /// Records of what happened to the merged contact (the access log, breaches, erasures):
    /// they keep naming it.
    Keep,
}

/// The retention category a table's rows fall under (what `personal_data::retention` applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Undeclared,
    /// While the relationship lasts: the relationship/prospect clock, then erased.
    Relationship,
    /// The case file: ten years after the matter closes (professional retention).
    MatterFile,
    /// Evidence of consents, grounds and objections: while they apply, then with the contact.
    Evidence,
    /// Accountability records (requests, erasures, breaches, the access log).
    Accountability,
    /// Connected systems' records, for as long as the link exists.
    Connector,
    /// Not about contacts: the firm's own data and configuration.
    Firm,
    /// Accounting records (invoices): ten years from issue (art. 2220 c.c.), a legal hold on
    /// erasure of their client meanwhile (`billing::invoices::retention_holds`).
    Accounting,
}

/// Rows of another table shown with each exported row (a matter party's matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The column of the exported row naming the other row.
    pub column: &'static str,
    pub table: &'static str,
    /// The other table's column it names.
    pub key: &'static str,
    /// The heading the other rows appear under, inside the exported row.
    pub heading: &'static str,
    /// The other table's columns shown.
    pub columns: &'static [&'static str],
}

pub struct TableRules {
    pub table: &'static str,
    pub columns: &'static [(&'static str, Rule)],
    /// Columns naming a contact the row belongs to: rows of restricted contacts (Art. 18)
    /// are left out of the anonymised export.
    pub contact_refs: &'static [&'static str],
    /// Further columns naming a contact (links the row survives losing).
    pub links: &'static [&'static str],
    pub matter: Option<MatterRef>,
    /// Art. 9/10 columns.
    pub special: &'static [&'static str],
    /// Columns that may carry other people's data (Art. 15(4) GDPR, art. 2-undecies Codice
    /// Privacy): flagged per item in the access export and withheld from its redacted variant.
    pub third_party: &'static [&'static str],
    pub erasure: Erasure,
    pub held: Held,
    /// The personal columns a legal hold needs (kept by a held erasure).
    pub hold_keeps: &'static [&'static str],
    pub export: Export,
    /// Non-personal columns the access export leaves out (the columns naming the subject are
    /// always left out: they are the subject's own ID).
    pub export_skip: &'static [&'static str],
    pub context: &'static [Context],
    pub merge: Merge,
    pub retention: Retention,
}

pub(crate) const fn table(
    table: &'static str,
    columns: &'static [(&'static str, Rule)],
    contact_refs: &'static [&'static str],
) -> TableRules {
    TableRules {
        table,
        columns,
        contact_refs,
        links: &[],
        matter: None,
        special: &[],
        third_party: &[],
        erasure: Erasure::Undeclared,
        held: Held::AsFull,
        hold_keeps: &[],
        export: Export::Undeclared,
        export_skip: &[],
        context: &[],
        merge: Merge::Undeclared,
        retention: Retention::Undeclared,
    }
}

/// Builders, so an entry reads as one expression and says only what differs.
impl TableRules {
    pub(crate) const fn links(self, links: &'static [&'static str]) -> Self {
        Self { links, ..self }
    }
    pub(crate) const fn matter(self, matter: MatterRef) -> Self {
        Self {
            matter: Some(matter),
            ..self
        }
    }
    pub(crate) const fn special(self, special: &'static [&'static str]) -> Self {
        Self { special, ..self }
    }
    pub(crate) const fn third_party(self, third_party: &'static [&'static str]) -> Self {
        Self {
            third_party,
            ..self
        }
    }
    pub(crate) const fn erasure(self, erasure: Erasure, held: Held) -> Self {
        Self {
            erasure,
            held,
            ..self
        }
    }
    pub(crate) const fn hold_keeps(self, hold_keeps: &'static [&'static str]) -> Self {
        Self { hold_keeps, ..self }
    }
    pub(crate) const fn export(self, export: Export) -> Self {
        Self { export, ..self }
    }
    pub(crate) const fn export_skip(self, export_skip: &'static [&'static str]) -> Self {
        Self {
            export_skip,
            ..self
        }
    }
    pub(crate) const fn context(self, context: &'static [Context]) -> Self {
        Self { context, ..self }
    }
    pub(crate) const fn merge(self, merge: Merge) -> Self {
        Self { merge, ..self }
    }
    pub(crate) const fn retention(self, retention: Retention) -> Self {
        Self { retention, ..self }
    }

    /// Every column naming a contact.
    pub fn refers(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.contact_refs.iter().chain(self.links).copied()
    }

    pub fn names_contacts(&self) -> bool {
        self.refers().next().is_some()
    }

    pub fn rule(&self, column: &str) -> Option<Rule> {
        self.columns
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, r)| *r)
    }

    pub fn is_personal(&self, column: &str) -> bool {
        matches!(
            self.rule(column),
            Some(Rule::Pseudonym(_) | Rule::ContactLink)
        )
    }

    pub fn is_special(&self, column: &str) -> bool {
        self.special.contains(&column)
    }

    /// The personal columns, which every right of the data subject is about.
    pub fn personal(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns
            .iter()
            .filter(|(_, r)| matches!(r, Rule::Pseudonym(_) | Rule::ContactLink))
            .map(|(c, _)| *c)
    }

    /// The columns the access export shows of a row naming the subject.
    pub fn exported(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns
            .iter()
            .filter(|(c, r)| {
                *r != Rule::Omit && !self.export_skip.contains(c) && !self.refers().any(|x| x == *c)
            })
            .map(|(c, _)| *c)
    }
}

/// A table's entry.
pub fn find(table: &str) -> Option<&'static TableRules> {
    TABLES.iter().find(|t| t.table == table)
}

/// The tables whose rows name contacts, in declaration order.
pub fn naming_contacts() -> impl Iterator<Item = &'static TableRules> {
    TABLES.iter().filter(|t| t.names_contacts())
}

/// Every column the catalogue classes personal, as (table, column).
pub fn personal_columns() -> Vec<(&'static str, &'static str)> {
    TABLES
        .iter()
        .flat_map(|t| t.personal().map(move |c| (t.table, c)))
        .collect()
}

/// `snake_case` → `camelCase`: the access export's keys, and the GraphQL fields' names.
pub fn camel(column: &str) -> String {
    let mut out = String::with_capacity(column.len());
    let mut upper = false;
    for ch in column.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// What is wrong with the declarations themselves, one line per problem naming the table
/// and what it lacks. Empty when they are complete.
pub fn declaration_problems() -> Vec<String> {
    use std::collections::HashSet;
    let mut problems = Vec::new();
    let mut tables = HashSet::new();
    for t in TABLES {
        let name = t.table;
        if !tables.insert(name) {
            problems.push(format!("{name} is declared twice"));
        }
        if OMITTED_TABLES.iter().any(|(o, _)| *o == name) {
            problems.push(format!("{name} is both declared and omitted"));
        }
        let mut columns = HashSet::new();
        for (column, _) in t.columns {
            if !columns.insert(*column) {
                problems.push(format!("{name}.{column} is declared twice"));
            }
        }
        let exists = |c: &str| columns.contains(c);
        for c in t.refers().chain(t.special.iter().copied()) {
            if !exists(c) {
                problems.push(format!("{name}.{c} is named but is not a column"));
            }
        }
        // A column named like a reference to contacts must be declared as one.
        for (column, _) in t.columns {
            let looks_like_contact =
                matches!(*column, "contact_id" | "person_id" | "organization_id")
                    || column.ends_with("_contact_id");
            if looks_like_contact && !t.refers().any(|r| r == *column) {
                problems.push(format!(
                    "{name}.{column} names a contact: list it in contact_refs or links"
                ));
            }
        }
        for c in t.special.iter().chain(t.third_party).chain(t.hold_keeps) {
            if !t.is_personal(c) {
                problems.push(format!(
                    "{name}.{c} is special, third-party or held but not personal"
                ));
            }
        }
        for c in t.export_skip {
            if t.is_personal(c) {
                problems.push(format!(
                    "{name}.{c} is personal: the access export cannot skip it"
                ));
            }
        }
        if let Some(MatterRef::Column(c) | MatterRef::Via { column: c, .. }) = t.matter {
            if !exists(c) {
                problems.push(format!("{name}.{c} (matter reference) is not a column"));
            }
        }
        for ctx in t.context {
            if !exists(ctx.column) {
                problems.push(format!("{name}.{} (context) is not a column", ctx.column));
            }
            match find(ctx.table) {
                None => problems.push(format!(
                    "{name}: context table {} is not declared",
                    ctx.table
                )),
                Some(other) => {
                    for c in ctx.columns.iter().chain([&ctx.key]) {
                        if other.rule(c).is_none_or(|r| r == Rule::Omit) {
                            problems.push(format!(
                                "{name}: context column {}.{c} does not exist or is secret",
                                ctx.table
                            ));
                        }
                    }
                }
            }
        }
        if t.names_contacts() {
            let lacks = [
                (t.erasure == Erasure::Undeclared, "erasure (.erasure(..))"),
                (
                    t.export == Export::Undeclared,
                    "access-export heading (.export(..))",
                ),
                (t.merge == Merge::Undeclared, "merge behaviour (.merge(..))"),
                (
                    t.retention == Retention::Undeclared,
                    "retention category (.retention(..))",
                ),
            ];
            for (missing, what) in lacks {
                if missing {
                    problems.push(format!("{name} names contacts but declares no {what}"));
                }
            }
            let needs_matter =
                matches!(t.held, Held::KeepHeldMatters | Held::UnlinkUnlessHeldMatter);
            if needs_matter && t.matter.is_none() {
                problems.push(format!(
                    "{name} keeps held matters' rows but names no matter"
                ));
            }
        } else if t.erasure != Erasure::Undeclared || t.export != Export::Undeclared {
            problems.push(format!(
                "{name} declares erasure or export but no column naming contacts"
            ));
        }
        if t.retention == Retention::Undeclared
            && !t.names_contacts()
            && t.personal().next().is_some()
        {
            problems.push(format!(
                "{name} holds personal data but declares no retention category"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_is_complete() {
        let problems = declaration_problems();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn headings_are_unique_and_names_are_camel_case() {
        let mut headings = std::collections::HashSet::new();
        for t in TABLES {
            if let Export::Section(h) = t.export {
                assert!(headings.insert(h), "heading {h} twice");
            }
        }
        assert_eq!(camel("personal_interests"), "personalInterests");
        assert_eq!(camel("id"), "id");
    }
}
