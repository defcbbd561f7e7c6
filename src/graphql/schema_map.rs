//! The map of the served schema (every field, its type, whether it may be null), read once
//! from the SDL this layer builds. The access policy (`access_policy`) is handed it where it needs
//! the schema: to check a role's denied fields, and in the tests below that hold the policy
//! and the schema to each other.

use std::sync::LazyLock;

use crate::access_policy::schema_map::SchemaMap;

/// The served schema, as the policy sees it.
pub static SCHEMA_MAP: LazyLock<SchemaMap> = LazyLock::new(|| SchemaMap::of_sdl(&super::sdl()));

#[cfg(test)]
mod tests {
    use super::SCHEMA_MAP;
    use crate::access_policy::policy::{EVERYONE, POLICY};
    use crate::access_policy::RoleSet;

    fn name(type_name: &str, field: &str) -> String {
        format!("{type_name}.{field}")
    }

    #[test]
    fn every_field_of_the_schema_has_a_policy_entry_and_no_entry_is_stale() {
        let map = &*SCHEMA_MAP;
        assert!(map.fields.len() > 300, "the SDL did not parse");
        let missing: Vec<String> = map
            .fields
            .iter()
            .filter(|f| POLICY.rule(&f.type_name, &f.field).is_none())
            .map(|f| name(&f.type_name, &f.field))
            .collect();
        assert!(
            missing.is_empty(),
            "fields without a policy entry: {missing:?}"
        );
        let stale: Vec<String> = POLICY
            .entries()
            .filter(|(t, f, _)| map.field(t, f).is_none())
            .map(|(t, f, _)| name(t, f))
            .collect();
        assert!(stale.is_empty(), "policy entries for no field: {stale:?}");
    }

    #[test]
    fn a_field_some_reader_of_its_type_may_not_see_can_be_null() {
        let map = &*SCHEMA_MAP;
        let readers = map.readers();
        let mut must_be_nullable = Vec::new();
        for field in map.fields.iter().filter(|f| !f.is_input && !f.nullable) {
            let Some(rule) = POLICY.rule(&field.type_name, &field.field) else {
                continue;
            };
            // Anonymous callers are admitted only for public root fields (the HTTP layer
            // refuses anything else before it runs), so only signed-in roles count here.
            let reach = readers
                .get(&field.type_name)
                .copied()
                .unwrap_or(RoleSet::NONE)
                .intersect(EVERYONE);
            if !rule.roles.includes(reach) {
                must_be_nullable.push(name(&field.type_name, &field.field));
            }
        }
        assert!(
            must_be_nullable.is_empty(),
            "denied to some role that reaches the type, so they must be nullable: {must_be_nullable:?}"
        );
    }
}
