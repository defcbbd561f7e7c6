//! The schema as the policy sees it: every field with its type and whether it may be null,
//! and which roles can reach each type at all. Read from an SDL document: the GraphQL layer
//! builds the map of the served schema (`graphql::schema_map::SCHEMA_MAP`) and hands it to
//! whatever here needs it, so the policy is checked against the schema the server really has.

use std::collections::HashMap;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

use super::policy::{EVERYONE, POLICY};
use super::roles::RoleSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldShape {
    pub type_name: String,
    pub field: String,
    /// The named type the field returns (or takes, for input fields), lists unwrapped.
    pub returns: String,
    pub nullable: bool,
    pub is_input: bool,
    /// Arguments of an output field: name and named type.
    pub arguments: Vec<(String, String)>,
    /// The arguments a query must give (non-null, without a default).
    pub required_arguments: Vec<String>,
    /// An input field with a default value may be left out although it is non-null.
    pub has_default: bool,
}

#[derive(Debug, Default)]
pub struct SchemaMap {
    pub fields: Vec<FieldShape>,
    /// Interface name → the object types implementing it.
    pub implementers: HashMap<String, Vec<String>>,
    /// Union name → its member types.
    pub union_members: HashMap<String, Vec<String>>,
    /// Type name → field name → its index in `fields`.
    index: HashMap<String, HashMap<String, usize>>,
}

fn named(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(inner),
    }
}

impl SchemaMap {
    /// Reads an SDL document; a document that does not parse yields an empty map (the
    /// served SDL always parses: the schema test checks it).
    pub fn of_sdl(sdl: &str) -> SchemaMap {
        let mut map = SchemaMap::default();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return map;
        };
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = ty.node;
            let type_name = ty.name.node.to_string();
            match ty.kind {
                TypeKind::Object(object) => {
                    for interface in &object.implements {
                        map.implementers
                            .entry(interface.node.to_string())
                            .or_default()
                            .push(type_name.clone());
                    }
                    map.add_output_fields(&type_name, object.fields.iter().map(|f| &f.node));
                }
                TypeKind::Interface(interface) => {
                    map.add_output_fields(&type_name, interface.fields.iter().map(|f| &f.node));
                }
                TypeKind::InputObject(input) => {
                    for field in input.fields {
                        map.fields.push(FieldShape {
                            type_name: type_name.clone(),
                            field: field.node.name.node.to_string(),
                            returns: named(&field.node.ty.node),
                            nullable: field.node.ty.node.nullable,
                            is_input: true,
                            arguments: Vec::new(),
                            required_arguments: Vec::new(),
                            has_default: field.node.default_value.is_some(),
                        });
                    }
                }
                TypeKind::Union(union) => {
                    map.union_members.insert(
                        type_name,
                        union.members.iter().map(|m| m.node.to_string()).collect(),
                    );
                }
                TypeKind::Scalar | TypeKind::Enum(_) => {}
            }
        }
        for (i, field) in map.fields.iter().enumerate() {
            map.index
                .entry(field.type_name.clone())
                .or_default()
                .insert(field.field.clone(), i);
        }
        map
    }

    fn add_output_fields<'a>(
        &mut self,
        type_name: &str,
        fields: impl Iterator<Item = &'a async_graphql::parser::types::FieldDefinition>,
    ) {
        for field in fields {
            self.fields.push(FieldShape {
                type_name: type_name.to_owned(),
                field: field.name.node.to_string(),
                returns: named(&field.ty.node),
                nullable: field.ty.node.nullable,
                is_input: false,
                arguments: field
                    .arguments
                    .iter()
                    .map(|a| (a.node.name.node.to_string(), named(&a.node.ty.node)))
                    .collect(),
                required_arguments: field
                    .arguments
                    .iter()
                    .filter(|a| !a.node.ty.node.nullable && a.node.default_value.is_none())
                    .map(|a| a.node.name.node.to_string())
                    .collect(),
                has_default: false,
            });
        }
    }

    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldShape> {
        let i = *self.index.get(type_name)?.get(field)?;
        self.fields.get(i)
    }

    pub fn may_be_null(&self, type_name: &str, field: &str) -> bool {
        self.field(type_name, field)
            .is_some_and(|f| f.is_input || f.nullable)
    }

    /// For every output type, the roles (and "public") that can reach it from the roots
    /// through fields the policy allows them. `node(id:)` reaches a type only for the roles
    /// that may read its `id`, which is how `node` checks it.
    pub fn readers(&self) -> HashMap<String, RoleSet> {
        let mut readers: HashMap<String, RoleSet> = HashMap::new();
        let roots = EVERYONE.with(RoleSet::PUBLIC);
        readers.insert("Query".to_owned(), roots);
        readers.insert("Mutation".to_owned(), roots);
        loop {
            let mut changed = false;
            let mut widen = |readers: &mut HashMap<String, RoleSet>, ty: &str, by: RoleSet| {
                let entry = readers.entry(ty.to_owned()).or_insert(RoleSet::NONE);
                let widened = entry.with(by);
                if widened != *entry {
                    *entry = widened;
                    changed = true;
                }
            };
            for field in self.fields.iter().filter(|f| !f.is_input) {
                let parent = readers
                    .get(&field.type_name)
                    .copied()
                    .unwrap_or(RoleSet::NONE);
                let allowed = POLICY
                    .rule(&field.type_name, &field.field)
                    .map_or(RoleSet::NONE, |r| r.roles);
                widen(&mut readers, &field.returns, parent.intersect(allowed));
            }
            for (interface, types) in &self.implementers {
                let by = readers.get(interface).copied().unwrap_or(RoleSet::NONE);
                for ty in types {
                    let id_rule = POLICY.rule(ty, "id").map_or(RoleSet::NONE, |r| r.roles);
                    widen(&mut readers, ty, by.intersect(id_rule));
                }
            }
            for (union, members) in &self.union_members {
                let by = readers.get(union).copied().unwrap_or(RoleSet::NONE);
                for ty in members {
                    widen(&mut readers, ty, by);
                }
            }
            if !changed {
                return readers;
            }
        }
    }
}
