//! Who may see and change what: the roles, the field policy, and row-level need-to-know.
//!
//! The GraphQL layer enforces it on every field it resolves (`graphql::field_guard`), so a
//! field is checked the same way however a query reaches it.

pub mod catalog;
pub mod policy;
pub mod roles;
pub mod schema_map;
pub mod scope;

pub use catalog::{RoleCatalog, RoleGrant, RoleRow};
pub use policy::{DataClass, FieldId, FieldRule, POLICY};
pub use roles::{BuiltinRole, RoleSet, RowScope};
pub use schema_map::SchemaMap;
pub use scope::{Predicate, RowKind, Scope};
