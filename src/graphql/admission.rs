//! Deciding a document's fields for a role once, before it runs, instead of field by field
//! of every row while it runs.
//!
//! The policy decides a field by its (type, field) and the caller's role, never by the row,
//! so a document the role may read whole can run without the per-field hook: async-graphql
//! then resolves each field directly, where any installed extension costs every field of
//! every row a registry lookup and a boxed future (BENCHMARKS.md, "Levers taken since").
//! What the hook also did, noting the personal fields read for the access log, is done from
//! the answer: a personal field was read where its key is in an object of the answer.
//!
//! `admit` fails closed: a field it cannot decide (introspection, an unknown field, a field
//! on an abstract type that is personal on some of its types, a response key two different
//! fields answer to, a directive other than a literal `@skip`/`@include`) sends the whole
//! document down the per-field path, which decides as before.

use async_graphql::parser::types::{
    Directive, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Name, Value};

use crate::access_policy::{DataClass, FieldId, RoleGrant, POLICY};
use crate::graphql::schema_map::SCHEMA_MAP;

/// A fragment nested deeper than this is left to the per-field path (validation refuses
/// cycles; this only bounds the walk).
const MAX_NESTING: usize = 64;

/// An operation whose every field the role may use, and where its answer can hold personal
/// data.
#[derive(Debug, Default, PartialEq)]
pub struct Admitted {
    /// The operation's name as the executor gives it (what the access log records).
    pub operation: Option<String>,
    root: Level,
    /// How many distinct personal fields `root` holds: an answer's walk stops once it has
    /// found them all.
    personal_fields: usize,
}

/// One object of the answer: the response keys that are personal or lead to personal data.
#[derive(Debug, Default, PartialEq)]
struct Level {
    keys: Vec<Key>,
}

#[derive(Debug, PartialEq)]
struct Key {
    name: Name,
    field: Name,
    returns: String,
    /// The field's policy entry, when it holds personal data.
    personal: Option<FieldId>,
    below: Option<Level>,
}

/// Decides `operation` of `document` for `grant`: `None` unless it is a query every field of
/// which the role may read.
pub fn admit(
    grant: &RoleGrant,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    name: Option<&str>,
) -> Option<Admitted> {
    if operation.ty != OperationType::Query || !operation.directives.is_empty() {
        return None;
    }
    let walk = Walk { grant, document };
    let mut root = Level::default();
    walk.set(
        &["Query"],
        "Query",
        &operation.selection_set.node,
        &mut root,
        0,
    )?;
    root.prune();
    let mut personal = Vec::new();
    root.personal_fields(&mut personal);
    Some(Admitted {
        operation: name.map(str::to_owned),
        root,
        personal_fields: personal.len(),
    })
}

struct Walk<'a> {
    grant: &'a RoleGrant,
    document: &'a ExecutableDocument,
}

/// The object types a value of `type_name` can be.
fn possible_types(type_name: &str) -> Vec<&str> {
    let map = &*SCHEMA_MAP;
    match map
        .implementers
        .get(type_name)
        .or_else(|| map.union_members.get(type_name))
    {
        Some(types) => types.iter().map(String::as_str).collect(),
        None => vec![type_name],
    }
}

/// Whether a selection with these directives runs: `Some(false)` when a literal `@skip` or
/// `@include` leaves it out (as the executor does), `None` for anything it cannot decide.
fn runs(directives: &[async_graphql::Positioned<Directive>]) -> Option<bool> {
    let mut runs = true;
    for directive in directives {
        let directive = &directive.node;
        let condition = match directive
            .get_argument("if")
            .and_then(|v| v.node.clone().into_const())
        {
            Some(Value::Boolean(condition)) => condition,
            _ => return None,
        };
        match directive.name.node.as_str() {
            "skip" => runs &= !condition,
            "include" => runs &= condition,
            _ => return None,
        }
    }
    Some(runs)
}

impl Walk<'_> {
    /// `set` selected on `static_type`, whose value is one of `possible`.
    fn set(
        &self,
        possible: &[&str],
        static_type: &str,
        set: &SelectionSet,
        level: &mut Level,
        nesting: usize,
    ) -> Option<()> {
        if nesting > MAX_NESTING {
            return None;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if runs(&field.node.directives)? {
                        self.field(possible, static_type, &field.node, level, nesting)?;
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if !runs(&spread.node.directives)? {
                        continue;
                    }
                    let fragment = &self
                        .document
                        .fragments
                        .get(&spread.node.fragment_name.node)?
                        .node;
                    if !fragment.directives.is_empty() {
                        return None;
                    }
                    let on = fragment.type_condition.node.on.node.as_str();
                    self.fragment(possible, on, &fragment.selection_set.node, level, nesting)?;
                }
                Selection::InlineFragment(inline) => {
                    if !runs(&inline.node.directives)? {
                        continue;
                    }
                    let set = &inline.node.selection_set.node;
                    match &inline.node.type_condition {
                        Some(condition) => {
                            let on = condition.node.on.node.as_str();
                            self.fragment(possible, on, set, level, nesting)?;
                        }
                        None => self.set(possible, static_type, set, level, nesting + 1)?,
                    }
                }
            }
        }
        Some(())
    }

    /// A fragment on `on`: its fields apply to the values that are both.
    fn fragment(
        &self,
        possible: &[&str],
        on: &str,
        set: &SelectionSet,
        level: &mut Level,
        nesting: usize,
    ) -> Option<()> {
        let narrowed: Vec<&str> = possible_types(on)
            .into_iter()
            .filter(|t| possible.contains(t))
            .collect();
        if narrowed.is_empty() {
            return Some(()); // never runs
        }
        self.set(&narrowed, on, set, level, nesting + 1)
    }

    fn field(
        &self,
        possible: &[&str],
        static_type: &str,
        field: &Field,
        level: &mut Level,
        nesting: usize,
    ) -> Option<()> {
        let name = &field.name.node;
        let key = field.response_key().node.clone();
        if name.as_str() == "__typename" {
            return level.add(Key {
                name: key,
                field: name.clone(),
                returns: "String".to_owned(),
                personal: None,
                below: None,
            });
        }
        let mut personal = None;
        for type_name in possible {
            let (id, rule) = POLICY
                .field(type_name, name)
                .filter(|(id, _)| self.grant.allows_field(*id))?;
            if rule.class != DataClass::Plain {
                if possible.len() > 1 {
                    return None; // which type's field was read is not in the answer
                }
                personal = Some(id);
            }
        }
        let returns = SCHEMA_MAP.field(static_type, name)?.returns.clone();
        let below = if field.selection_set.node.items.is_empty() {
            None
        } else {
            let mut below = Level::default();
            let types = possible_types(&returns);
            self.set(
                &types,
                &returns,
                &field.selection_set.node,
                &mut below,
                nesting + 1,
            )?;
            Some(below)
        };
        level.add(Key {
            name: key,
            field: name.clone(),
            returns,
            personal,
            below,
        })
    }
}

impl Level {
    /// Adds a key; the same key twice must be the same field (GraphQL then merges their
    /// selections), else the answer would not say which one it holds.
    fn add(&mut self, key: Key) -> Option<()> {
        let Some(existing) = self.keys.iter_mut().find(|k| k.name == key.name) else {
            self.keys.push(key);
            return Some(());
        };
        if existing.field != key.field
            || existing.returns != key.returns
            || existing.personal != key.personal
        {
            return None;
        }
        match (&mut existing.below, key.below) {
            (Some(below), Some(more)) => {
                for key in more.keys {
                    below.add(key)?;
                }
            }
            (None, None) => {}
            _ => return None,
        }
        Some(())
    }

    /// Drops the keys that lead to no personal data; `true` if nothing is left.
    fn prune(&mut self) -> bool {
        self.keys.retain_mut(|key| {
            let below_empty = key.below.as_mut().is_none_or(Level::prune);
            if below_empty {
                key.below = None;
            }
            key.personal.is_some() || !below_empty
        });
        self.keys.is_empty()
    }
}

impl Admitted {
    /// The personal fields the answer holds: those whose key is in one of its objects.
    pub fn personal_fields_in(&self, data: &Value) -> Vec<FieldId> {
        let mut found = Vec::new();
        self.root.find(data, self.personal_fields, &mut found);
        found
    }
}

impl Level {
    fn personal_fields(&self, all: &mut Vec<FieldId>) {
        for key in &self.keys {
            if let Some(id) = key.personal.filter(|id| !all.contains(id)) {
                all.push(id);
            }
            if let Some(below) = &key.below {
                below.personal_fields(all);
            }
        }
    }

    /// Adds to `found` the personal fields `value` holds, until it has all `total` there are.
    fn find(&self, value: &Value, total: usize, found: &mut Vec<FieldId>) {
        match value {
            Value::List(items) => {
                for item in items {
                    if found.len() == total {
                        return;
                    }
                    self.find(item, total, found);
                }
            }
            Value::Object(object) => {
                for key in &self.keys {
                    let Some(inner) = object.get(&key.name) else {
                        continue;
                    };
                    if let Some(id) = key.personal.filter(|id| !found.contains(id)) {
                        found.push(id);
                    }
                    if let Some(below) = &key.below {
                        below.find(inner, total, found);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_policy::BuiltinRole;
    use async_graphql::parser::parse_query;

    fn decide(grant: &RoleGrant, query: &str) -> Option<Admitted> {
        let document = parse_query(query).expect("the query parses");
        let (name, operation) = document.operations.iter().next().expect("an operation");
        admit(grant, &document, &operation.node, name.map(|n| n.as_str()))
    }

    fn grants() -> Vec<RoleGrant> {
        BuiltinRole::ALL
            .iter()
            .map(|role| RoleGrant::builtin(*role))
            .chain([RoleGrant::anonymous()])
            .collect()
    }

    /// Every output field of every object type, asked alone on its type, for every role:
    /// admitted exactly when the role's grant allows it, as the per-field check decides.
    #[test]
    fn every_field_is_admitted_exactly_when_the_role_may_read_it() {
        let map = &*SCHEMA_MAP;
        let mut failures = Vec::new();
        let mut admitted_some = 0;
        for grant in grants() {
            for field in map.fields.iter().filter(|f| !f.is_input) {
                if map.implementers.contains_key(&field.type_name) {
                    continue; // an interface: its fields are decided on the types implementing it
                }
                let composite = map.fields.iter().any(|f| f.type_name == field.returns)
                    || map.union_members.contains_key(&field.returns);
                let selection = if composite {
                    format!("{} {{ __typename }}", field.field)
                } else {
                    field.field.clone()
                };
                let document = parse_query(format!("{{ {selection} }}")).expect("parses");
                let (_, operation) = document.operations.iter().next().expect("operation");
                let walk = Walk {
                    grant: &grant,
                    document: &document,
                };
                let on = field.type_name.as_str();
                let mut level = Level::default();
                let admitted = walk
                    .set(&[on], on, &operation.node.selection_set.node, &mut level, 0)
                    .is_some();
                let allowed = POLICY
                    .field(on, &field.field)
                    .is_some_and(|(id, _)| grant.allows_field(id));
                if admitted != allowed {
                    failures.push(format!("{}: {on}.{}", grant.name, field.field));
                }
                admitted_some += usize::from(admitted);
            }
        }
        assert!(failures.is_empty(), "decided otherwise: {failures:?}");
        assert!(admitted_some > 1000, "only {admitted_some} admitted");
    }

    #[test]
    fn an_operation_is_admitted_whole_or_not_at_all() {
        let admin = RoleGrant::builtin(BuiltinRole::Admin);
        let marketing = RoleGrant::builtin(BuiltinRole::Marketing);
        let contacts = "{ contacts { nodes { displayName phones { number } } } }";
        assert!(decide(&admin, contacts).is_some());
        assert!(decide(&marketing, contacts).is_none(), "phones are denied");
        // What a literal @skip or @include leaves out is not asked; anything else is.
        let skipped = "{ contacts { nodes { displayName phones @skip(if: true) { number } } } }";
        assert!(decide(&marketing, skipped).is_some());
        let excluded =
            "{ contacts { nodes { displayName ... @include(if: false) { phones { number } } } } }";
        assert!(decide(&marketing, excluded).is_some());
        let kept = "{ contacts { nodes { displayName phones @skip(if: false) { number } } } }";
        assert!(decide(&marketing, kept).is_none());
        let unknown = "{ contacts { nodes { displayName @deprecated } } }";
        assert!(decide(&admin, unknown).is_none());
        // The denied field behind a fragment is found too.
        let fragment =
            "{ contacts { nodes { ...C } } } fragment C on Contact { phones { number } }";
        assert!(decide(&admin, fragment).is_some());
        assert!(decide(&marketing, fragment).is_none());
        // A fragment on a type the value cannot be is never run.
        let never = "{ contacts { nodes { displayName ... on Matter { reference } } } }";
        assert!(decide(&marketing, never).is_some());
        // Mutations, introspection and a field that is not in the schema: field by field.
        let mutation = "mutation { logout { loggedOut } }";
        assert!(decide(&admin, mutation).is_none());
        assert!(decide(&admin, "{ __schema { types { name } } }").is_none());
        assert!(decide(&admin, "{ contacts { nodes { shoeSize } } }").is_none());
        // One response key answered by two different fields: the answer cannot say which.
        let clash = "{ contacts { nodes { x: displayName x: id } } }";
        assert!(decide(&admin, clash).is_none());
        let merged = "{ contacts { nodes { x: emails { address } x: emails { isPec } } } }";
        assert!(decide(&admin, merged).is_some());
    }

    #[test]
    fn the_personal_fields_read_are_those_in_the_answer() {
        let admin = RoleGrant::builtin(BuiltinRole::Admin);
        let query = "query Q { contacts { nodes { id displayName emails { address } \
                     organizations { jobTitle } } } }";
        let admitted = decide(&admin, query).expect("admitted");
        assert_eq!(admitted.operation.as_deref(), Some("Q"));
        let names = |data: serde_json::Value| {
            let value = Value::from_json(data).expect("a value");
            let mut names: Vec<String> = admitted
                .personal_fields_in(&value)
                .into_iter()
                .map(|id| {
                    let (type_name, field) = POLICY.name(id);
                    format!("{type_name}.{field}")
                })
                .collect();
            names.sort();
            names
        };
        let none: Vec<String> = Vec::new();
        assert_eq!(
            names(serde_json::json!({ "contacts": { "nodes": [] } })),
            none
        );
        assert_eq!(names(serde_json::json!({ "contacts": null })), none);
        let one = serde_json::json!({ "contacts": { "nodes": [
            { "id": "a", "displayName": "A", "emails": [], "organizations": [] },
            { "id": "b", "displayName": "B", "emails": [{ "address": "b@x.it" }],
              "organizations": [{ "jobTitle": "CFO" }] },
        ] } });
        assert_eq!(
            names(one),
            [
                "Affiliation.jobTitle",
                "Contact.displayName",
                "Contact.emails",
                "Contact.organizations"
            ]
        );
        // A key that is not in any object was not read.
        let partial = serde_json::json!({ "contacts": { "nodes": [{ "id": "a" }] } });
        assert_eq!(names(partial), none);
    }
}
