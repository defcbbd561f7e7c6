//! Roles in the GraphQL API: the built-in ones and the firm's own.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::access_policy::catalog::{self, CreateRoleInput, DeleteRoleInput, UpdateRoleInput};
use crate::access_policy::{BuiltinRole, RoleGrant, RoleRow};
use crate::error::{Error, GraphqlResult};
use crate::graphql::context::{read, state, write};
use crate::graphql::field_guard::access;
use crate::graphql::schema_map::SCHEMA_MAP;

/// Separation of duties: a caller may give a user, an API key or a firm role only a role
/// whose base role reads and writes nothing the caller's own role may not. `role` is the
/// role's name (an unknown name passes here and is refused by the service, naming `field`).
pub async fn require_may_hand_out(
    ctx: &Context<'_>,
    role: &str,
    field: &str,
) -> async_graphql::Result<()> {
    let target = state(ctx)
        .roles
        .grant(&role.trim().to_lowercase())
        .await
        .gql()?;
    require_covers(ctx, target.base, field)
}

fn require_covers(
    ctx: &Context<'_>,
    base: Option<BuiltinRole>,
    field: &str,
) -> async_graphql::Result<()> {
    let Some(base) = base else {
        return Ok(());
    };
    let caller = &access(ctx).grant;
    match caller.gain_over(&RoleGrant::builtin(base)) {
        None => Ok(()),
        Some(gain) => Err(Error::forbidden(
            Some(field),
            format!(
                "the {} role may not hand out the {base} role: it reaches {gain}, which {} \
                 may not",
                caller.name, caller.name
            ),
        ))
        .gql(),
    }
}

/// A role users and API keys hold. A firm's own role acts as its base role, minus the
/// fields it denies.
pub struct Role(RoleRow);

/// A role users and API keys hold: one of the built-in roles, or one of the firm's own, which acts
/// as its base role minus the fields it denies. Admins and the DPO read roles.
#[Object]
impl Role {
    /// The role's name, lower-case, e.g. `lawyer` or `billing_clerk`.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the role is for; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The built-in role whose rights this one starts from (itself, for a built-in role).
    async fn base_role(&self) -> &str {
        &self.0.base_role
    }

    /// `Type.field` names this role may not read or write, on top of its base role's limits.
    async fn denied_fields(&self) -> Vec<String> {
        self.0.denied()
    }

    /// Whether the role is built into lexgate (and cannot be deleted).
    async fn built_in(&self) -> bool {
        self.0.built_in
    }

    /// When the role was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the role last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// The answer to `createRole` and `updateRole`.
#[derive(SimpleObject)]
pub struct RolePayload {
    /// The role as saved.
    role: Role,
}

/// The answer to `deleteRole`.
#[derive(SimpleObject)]
pub struct DeleteRolePayload {
    /// The deleted role's name.
    deleted_name: String,
}

#[derive(Default)]
pub struct RoleQueries;

#[Object]
impl RoleQueries {
    /// Every role: built-in first, then the firm's own, by name.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Role>>> {
        let rows = read(ctx, catalog::list).await?;
        Ok(Some(rows.into_iter().map(Role).collect()))
    }
}

#[derive(Default)]
pub struct RoleMutations;

#[Object]
impl RoleMutations {
    /// Adds a firm role based on a built-in one, optionally denying it further fields.
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new role: name, base role and denied fields.")]
        input: CreateRoleInput,
    ) -> async_graphql::Result<Option<RolePayload>> {
        let base = BuiltinRole::parse(input.base_role.trim());
        require_covers(ctx, base, "input.baseRole")?;
        let row = write(ctx, move |c| catalog::create(c, &SCHEMA_MAP, input)).await?;
        Ok(Some(RolePayload { role: Role(row) }))
    }

    /// Changes a role's description or, for a firm role, the fields it denies.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role's name and the fields to change.")] input: UpdateRoleInput,
    ) -> async_graphql::Result<Option<RolePayload>> {
        require_may_hand_out(ctx, &input.name, "input.name").await?;
        let row = write(ctx, move |c| catalog::update(c, &SCHEMA_MAP, input)).await?;
        Ok(Some(RolePayload { role: Role(row) }))
    }

    /// Deletes a firm role that nobody holds.
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role's name.")] input: DeleteRoleInput,
    ) -> async_graphql::Result<Option<DeleteRolePayload>> {
        let name = input.name.trim().to_owned();
        let deleted = name.clone();
        write(ctx, move |c| catalog::delete(c, &name)).await?;
        Ok(Some(DeleteRolePayload {
            deleted_name: deleted,
        }))
    }
}
