//! Who may see and change what: the roles, the field policy, and row-level need-to-know.
//!
//! The GraphQL layer enforces it on every field it resolves (`graphql::authorization`), so a
//! field is checked the same way however a query reaches it.

pub mod catalog;
pub mod policy;
pub mod roles;
pub mod schema_map;
pub mod visibility;

pub use catalog::{RoleCatalog, RoleGrant, RoleRow};
pub use policy::{DataClass, FieldRule, POLICY};
pub use roles::{BuiltinRole, RoleSet, RowScope};
pub use visibility::Visibility;

/// Whether a role may be denied `type_name.field`: input fields always, output fields only
/// when the schema lets them be null (a denied field answers null).
pub fn deniable(type_name: &str, field: &str) -> bool {
    schema_map::SCHEMA_MAP.may_be_null(type_name, field)
}
