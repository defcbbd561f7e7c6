//! Roles as data: the built-in ones and the firm's own. A firm role acts as a built-in role
//! and may deny itself further fields; it can never see more than its base role.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use async_graphql::InputObject;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::policy::{DataClass, FieldId, POLICY};
use super::roles::{BuiltinRole, RowScope};
use super::schema_map::SchemaMap;
use crate::db::schema::{api_keys, role_generation, roles, users};
use crate::db::{now, AnyConnection, Database};
use crate::error::{Error, Result, Validator};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = roles)]
pub struct RoleRow {
    pub name: String,
    pub description: Option<String>,
    pub base_role: String,
    pub denied_fields: String,
    pub built_in: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl RoleRow {
    pub fn denied(&self) -> Vec<String> {
        self.denied_fields
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A new firm role, for `createRole`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateRoleInput {
    /// Lower-case letters, digits, `-` and `_`.
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// The built-in role whose rights this one starts from.
    pub base_role: String,
    /// `Type.field` names this role may not read or write (e.g. `Contact.codiceFiscale`).
    #[graphql(default)]
    pub denied_fields: Vec<String>,
}

/// Changes to a role, for `updateRole`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateRoleInput {
    /// The role's name (names cannot change).
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// `Type.field` names the role may not read or write; the list replaces the old one (firm roles
    /// only).
    pub denied_fields: Option<Vec<String>>,
}

/// A firm role to delete, for `deleteRole`.
#[derive(Debug, Clone, InputObject)]
pub struct DeleteRoleInput {
    /// The role's name.
    pub name: String,
}

/// What one role may do, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub name: String,
    /// `None` for an anonymous caller, who may use only public fields.
    pub base: Option<BuiltinRole>,
    /// Whether the role may use each field of the policy, by `FieldId`: decided once when the
    /// grant is made (its base role's rule, minus the fields it denies itself), so checking a
    /// field is an index, with no string built or looked up again.
    allowed: Box<[bool]>,
}

impl RoleGrant {
    pub fn anonymous() -> RoleGrant {
        RoleGrant::compile("anonymous", None, &BTreeSet::new())
    }

    pub fn builtin(role: BuiltinRole) -> RoleGrant {
        RoleGrant::compile(role.as_str(), Some(role), &BTreeSet::new())
    }

    /// A role that is no longer on record: it may do nothing but sign out.
    fn unknown(name: &str) -> RoleGrant {
        RoleGrant::compile(name, None, &BTreeSet::new())
    }

    fn from_row(row: &RoleRow) -> RoleGrant {
        let denied = row.denied().into_iter().collect();
        RoleGrant::compile(&row.name, BuiltinRole::parse(&row.base_role), &denied)
    }

    fn compile(name: &str, base: Option<BuiltinRole>, denied: &BTreeSet<String>) -> RoleGrant {
        let allowed = POLICY
            .entries()
            .map(|(type_name, field, rule)| {
                let by_role = match base {
                    Some(base) => rule.roles.contains(base),
                    None => rule.roles.allows_public(),
                };
                by_role && (denied.is_empty() || !denied.contains(&format!("{type_name}.{field}")))
            })
            .collect();
        RoleGrant {
            name: name.to_owned(),
            base,
            allowed,
        }
    }

    /// Whether the policy lets this role use `type_name.field`.
    pub fn allows(&self, type_name: &str, field: &str) -> bool {
        POLICY
            .field(type_name, field)
            .is_some_and(|(id, _)| self.allows_field(id))
    }

    /// Whether the policy lets this role use the field `id`.
    pub fn allows_field(&self, id: FieldId) -> bool {
        self.allowed[id.index()]
    }
}

impl RoleGrant {
    /// A field `other` may use and this grant may not (the first by name), or a wider row
    /// scope: what a principal with this grant would gain by handing `other` out. `None` when
    /// this grant covers `other`. Special-category fields are not compared: they also need a
    /// place on the matter's team, which no role gives.
    pub fn gain_over(&self, other: &RoleGrant) -> Option<String> {
        let scope = |grant: &RoleGrant| grant.base.map(BuiltinRole::row_scope);
        if scope(other) == Some(RowScope::Firm) && scope(self) != Some(RowScope::Firm) {
            return Some("every matter of the firm".to_owned());
        }
        let mut gained: Vec<String> = POLICY
            .entries()
            .filter(|(_, _, rule)| rule.class != DataClass::Special)
            .filter(|(t, f, _)| other.allows(t, f) && !self.allows(t, f))
            .map(|(t, f, _)| format!("`{t}.{f}`"))
            .collect();
        gained.sort();
        gained.into_iter().next()
    }
}

pub fn list(conn: &mut AnyConnection) -> Result<Vec<RoleRow>> {
    Ok(roles::table
        .order_by((roles::built_in.desc(), roles::name.asc()))
        .select(RoleRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut AnyConnection, name: &str) -> Result<RoleRow> {
    roles::table
        .find(name)
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Role", name))
}

/// Checks that `role` names a role on record; returns it normalised. `field` names the input.
pub fn require_role(conn: &mut AnyConnection, field: &str, role: &str) -> Result<String> {
    let role = role.trim().to_lowercase();
    let known = roles::table
        .find(&role)
        .select(roles::name)
        .first::<String>(conn)
        .optional()?;
    match known {
        Some(name) => Ok(name),
        None => {
            let names: Vec<String> = list(conn)?.into_iter().map(|r| r.name).collect();
            Err(Error::invalid(
                field,
                format!("unknown role; use one of {}", names.join(", ")),
            ))
        }
    }
}

pub fn create(
    conn: &mut AnyConnection,
    schema: &SchemaMap,
    input: CreateRoleInput,
) -> Result<RoleRow> {
    let mut v = Validator::new();
    let name = input.name.trim().to_lowercase();
    if !valid_name(&name) {
        v.add(
            "input.name",
            "use 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter",
        );
    }
    let base = BuiltinRole::parse(input.base_role.trim());
    if base.is_none() {
        v.add(
            "input.baseRole",
            format!("use one of {}", builtin_names().join(", ")),
        );
    }
    let denied = v.check(
        "input.deniedFields",
        denied_fields(schema, &input.denied_fields),
    );
    v.finish()?;
    let taken = roles::table.find(&name).count().get_result::<i64>(conn)? > 0;
    if taken {
        return Err(Error::Conflict {
            field: Some("input.name".to_owned()),
            message: format!("a role named {name} exists"),
        });
    }
    let at = now();
    let row = RoleRow {
        name,
        description: clean_description(input.description),
        base_role: base.map(BuiltinRole::as_str).unwrap_or_default().to_owned(),
        denied_fields: denied.unwrap_or_default(),
        built_in: false,
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(roles::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(
    conn: &mut AnyConnection,
    schema: &SchemaMap,
    input: UpdateRoleInput,
) -> Result<RoleRow> {
    let mut row = find(conn, input.name.trim())?;
    if row.built_in && input.denied_fields.is_some() {
        return Err(Error::invalid(
            "input.deniedFields",
            "a built-in role is what the policy says; create a role based on it instead",
        ));
    }
    if let Some(fields) = &input.denied_fields {
        row.denied_fields = denied_fields(schema, fields)
            .map_err(|message| Error::invalid("input.deniedFields", message))?;
    }
    if input.description.is_some() {
        row.description = clean_description(input.description);
    }
    row.updated_at = now();
    diesel::update(roles::table.find(&row.name))
        .set((
            roles::description.eq(&row.description),
            roles::denied_fields.eq(&row.denied_fields),
            roles::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Deletes a firm role no user or API key holds.
pub fn delete(conn: &mut AnyConnection, name: &str) -> Result<()> {
    let row = find(conn, name.trim())?;
    if row.built_in {
        return Err(Error::Conflict {
            field: Some("input.name".to_owned()),
            message: "built-in roles cannot be deleted".to_owned(),
        });
    }
    let holders: i64 = users::table
        .filter(users::role.eq(&row.name))
        .count()
        .get_result(conn)?;
    let keys: i64 = api_keys::table
        .filter(api_keys::role.eq(&row.name))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    if holders + keys > 0 {
        return Err(Error::Conflict {
            field: Some("input.name".to_owned()),
            message: format!(
                "{} users and {} active API keys hold this role; give them another one first",
                holders, keys
            ),
        });
    }
    diesel::delete(roles::table.find(&row.name)).execute(conn)?;
    Ok(())
}

fn valid_name(name: &str) -> bool {
    (2..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn builtin_names() -> Vec<&'static str> {
    BuiltinRole::ALL.iter().map(|r| r.as_str()).collect()
}

fn clean_description(description: Option<String>) -> Option<String> {
    description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
}

/// Checks every `Type.field` against the policy and the schema's nullability, and stores
/// them one per line. Only a field that may be null can be denied (input fields always,
/// output fields when the schema lets them be null): a denied non-null field would break
/// every query that selects it.
fn denied_fields(schema: &SchemaMap, fields: &[String]) -> std::result::Result<String, String> {
    let mut names = BTreeSet::new();
    for name in fields {
        let name = name.trim();
        let Some((type_name, field)) = name.split_once('.') else {
            return Err(format!("`{name}` is not a Type.field name"));
        };
        if POLICY.rule(type_name, field).is_none() {
            return Err(format!("`{name}` is not a field of the schema"));
        }
        if !schema.may_be_null(type_name, field) {
            return Err(format!(
                "`{name}` cannot be null; deny the field that leads to it instead"
            ));
        }
        names.insert(name.to_owned());
    }
    Ok(names.into_iter().collect::<Vec<_>>().join("\n"))
}

/// The grants of the roles on record, kept while `role_generation` stands still: every
/// request reads the generation (one primary-key lookup) and reloads the roles when it
/// moved, so a change committed by any process applies to this one's next request.
#[derive(Clone)]
pub struct RoleCatalog {
    db: Database,
    cached: Arc<RwLock<Cached>>,
}

#[derive(Default)]
struct Cached {
    grants: HashMap<String, Arc<RoleGrant>>,
    /// The generation the grants were read at; `None` before the first read.
    generation: Option<i64>,
}

impl RoleCatalog {
    pub fn new(db: Database) -> RoleCatalog {
        RoleCatalog {
            db,
            cached: Arc::default(),
        }
    }

    /// The grant of `role` as the database has it now; a role no longer on record gets none.
    pub async fn grant(&self, role: &str) -> Result<Arc<RoleGrant>> {
        self.grant_at(role, None).await
    }

    /// Like [`RoleCatalog::grant`], with the roles' generation when the caller has just read
    /// it (authentication does): then only a moved generation costs a statement.
    pub async fn grant_at(&self, role: &str, generation: Option<i64>) -> Result<Arc<RoleGrant>> {
        if let Some(generation) = generation {
            let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
            if cached.generation == Some(generation) {
                return Ok(grant_of(&cached.grants, role));
            }
        }
        let (cached, role) = (self.cached.clone(), role.to_owned());
        self.db
            .run(move |conn| {
                // Read before the roles: a change committed in between moves the generation
                // past the one stored with them, and the next request reads them again.
                let generation = match generation {
                    Some(generation) => generation,
                    None => role_generation::table
                        .find(1)
                        .select(role_generation::generation)
                        .first::<i64>(conn)?,
                };
                {
                    let cached = cached.read().unwrap_or_else(|e| e.into_inner());
                    if cached.generation == Some(generation) {
                        return Ok(grant_of(&cached.grants, &role));
                    }
                }
                let grants: HashMap<String, Arc<RoleGrant>> = list(conn)?
                    .iter()
                    .map(|row| (row.name.clone(), Arc::new(RoleGrant::from_row(row))))
                    .collect();
                let grant = grant_of(&grants, &role);
                *cached.write().unwrap_or_else(|e| e.into_inner()) = Cached {
                    grants,
                    generation: Some(generation),
                };
                Ok(grant)
            })
            .await
    }
}

fn grant_of(grants: &HashMap<String, Arc<RoleGrant>>, role: &str) -> Arc<RoleGrant> {
    grants
        .get(role)
        .cloned()
        .unwrap_or_else(|| Arc::new(RoleGrant::unknown(role)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_simple() {
        assert!(valid_name("paralegal"));
        assert!(valid_name("office-manager_2"));
        assert!(!valid_name("Paralegal"));
        assert!(!valid_name("2nd"));
        assert!(!valid_name("a"));
        assert!(!valid_name("has space"));
    }

    #[test]
    fn denied_fields_must_exist_and_be_nullable() {
        let schema =
            SchemaMap::of_sdl("type Contact { id: ID! codiceFiscale: String notes: String }");
        assert_eq!(
            denied_fields(
                &schema,
                &["Contact.codiceFiscale".into(), " Contact.notes ".into()]
            ),
            Ok("Contact.codiceFiscale\nContact.notes".to_owned())
        );
        assert!(denied_fields(&schema, &["Contact".into()]).is_err());
        assert!(denied_fields(&schema, &["Contact.shoeSize".into()]).is_err());
        assert!(denied_fields(&schema, &["Contact.id".into()]).is_err());
    }

    #[test]
    fn a_firm_role_never_exceeds_its_base() {
        let row = RoleRow {
            name: "paralegal".into(),
            description: None,
            base_role: "trainee".into(),
            denied_fields: "Contact.codiceFiscale".into(),
            built_in: false,
            created_at: now(),
            updated_at: now(),
        };
        let grant = RoleGrant::from_row(&row);
        assert!(grant.allows("Contact", "phones"));
        assert!(!grant.allows("Contact", "codiceFiscale"));
        assert!(!grant.allows("Query", "accessLog"));
        assert!(!RoleGrant::anonymous().allows("Query", "contacts"));
        assert!(RoleGrant::anonymous().allows("Mutation", "login"));
    }

    #[test]
    fn separation_of_duties_between_built_in_roles() {
        let grant = |role| RoleGrant::builtin(role);
        let admin = grant(BuiltinRole::Admin);
        // The admin hands out the firm's working roles, not the DPO's access log.
        for role in [
            BuiltinRole::Admin,
            BuiltinRole::Partner,
            BuiltinRole::Lawyer,
            BuiltinRole::Trainee,
            BuiltinRole::Staff,
            BuiltinRole::Integration,
        ] {
            assert_eq!(admin.gain_over(&grant(role)), None, "admin over {role}");
        }
        assert!(admin.gain_over(&grant(BuiltinRole::Dpo)).is_some());
        let lawyer = grant(BuiltinRole::Lawyer);
        assert!(lawyer.gain_over(&grant(BuiltinRole::Partner)).is_some());
        assert!(grant(BuiltinRole::Dpo).gain_over(&admin).is_some());
        assert_eq!(
            grant(BuiltinRole::Dpo).gain_over(&grant(BuiltinRole::Dpo)),
            None
        );
    }
}
