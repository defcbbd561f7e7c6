//! Users and teams in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::directory::{
    self, CreateTeamInput, CreateUserInput, TeamMembershipInput, TeamRow, UpdateTeamInput,
    UpdateUserInput, UserFilter, UserRow,
};
use crate::graphql::context::{loader, write};
use crate::graphql::loaders::*;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::roles::require_may_hand_out;
use crate::graphql::{DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};

/// A member of the firm's staff.
pub struct User(pub UserRow);

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User(row)
    }
}

/// A member of the firm's staff who signs in to lexgate.
#[Object]
impl User {
    /// The user's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::User, &self.0.id)
    }

    /// The address the user logs in with (stored lower-case).
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The name shown for the user, e.g. "Avv. Giulia Rossi".
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    /// The user's role: a built-in one (admin, partner, lawyer, trainee, staff, marketing, dpo,
    /// integration) or one of the firm's own.
    async fn role(&self) -> &str {
        &self.0.role
    }

    /// False once deactivated: the user keeps their history but cannot log in or get new
    /// assignments.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// The teams the user belongs to.
    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        let teams = loader(ctx)
            .load_one(TeamsOfUser(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(teams.into_iter().map(Team).collect())
    }

    /// When the user was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }
}

/// A group of users deadlines and tasks can be assigned to.
pub struct Team(pub TeamRow);

impl From<TeamRow> for Team {
    fn from(row: TeamRow) -> Self {
        Team(row)
    }
}

/// A group of users that deadlines and tasks can be assigned to, e.g. a practice group.
#[Object]
impl Team {
    /// The team's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Team, &self.0.id)
    }

    /// The team's name, unique in the firm.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the team does; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The users in the team.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let users = loader(ctx)
            .load_one(MembersOfTeam(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(users.into_iter().map(User).collect())
    }

    /// When the team was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }
}

/// The answer to `createUser` and `updateUser`.
#[derive(SimpleObject)]
pub struct UserPayload {
    /// The user as saved.
    pub user: User,
}

/// The answer to the team mutations.
#[derive(SimpleObject)]
pub struct TeamPayload {
    /// The team as saved.
    pub team: Team,
}

#[derive(Default)]
pub struct DirectoryQueries;

#[Object]
impl DirectoryQueries {
    /// The firm's users, by name.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only users matching this filter; all when omitted.")] filter: Option<
            UserFilter,
        >,
        #[graphql(
            desc = "Return the items after this cursor (an `endCursor` or edge cursor of this list)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Return the items before this cursor (a `startCursor` or edge cursor of this list)."
        )]
        before: Option<String>,
        #[graphql(
            desc = "Return the first N items (after `after`, if given), N at most `max_page_size` (1000 unless configured). Without `first` and `last`, a page holds `default_page_size` items (50 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the last N items (before `before`, if given), N at most `max_page_size` (1000 unless configured)."
        )]
        last: Option<i32>,
    ) -> async_graphql::Result<Paged<User>> {
        let filter = filter.unwrap_or_default();
        let count_filter = filter.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| directory::count_users(c, &count_filter),
            move |c, page| directory::list_users(c, &filter, page),
        )
        .await
    }

    /// The firm's teams, by name.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Part of the team's name.")] text: Option<String>,
        #[graphql(
            desc = "Return the items after this cursor (an `endCursor` or edge cursor of this list)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Return the items before this cursor (a `startCursor` or edge cursor of this list)."
        )]
        before: Option<String>,
        #[graphql(
            desc = "Return the first N items (after `after`, if given), N at most `max_page_size` (1000 unless configured). Without `first` and `last`, a page holds `default_page_size` items (50 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the last N items (before `before`, if given), N at most `max_page_size` (1000 unless configured)."
        )]
        last: Option<i32>,
    ) -> async_graphql::Result<Paged<Team>> {
        let count_text = text.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| directory::count_teams(c, count_text.as_deref()),
            move |c, page| directory::list_teams(c, text.as_deref(), page),
        )
        .await
    }
}

/// A user whose role the caller could not hand out is not the caller's to change (or to
/// set the password of): the admin does not take over the DPO's account.
pub async fn require_may_manage_user(
    ctx: &Context<'_>,
    id: &ID,
    field: &str,
) -> async_graphql::Result<()> {
    // A malformed or unknown ID is the service's to report.
    let Ok(key) = ids::decode(NodeType::User, id, field) else {
        return Ok(());
    };
    match loader(ctx).load_one(UserById(key)).await? {
        Some(user) => require_may_hand_out(ctx, &user.role, field).await,
        None => Ok(()),
    }
}

#[derive(Default)]
pub struct DirectoryMutations;

#[Object]
impl DirectoryMutations {
    /// Creates a user in a role the caller may hand out; set a password with `setUserPassword`.
    /// Admins only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new user.")] input: CreateUserInput,
    ) -> async_graphql::Result<Option<UserPayload>> {
        require_may_hand_out(ctx, &input.role, "input.role").await?;
        let row = write(ctx, move |c| directory::create_user(c, input)).await?;
        Ok(Some(UserPayload { user: User(row) }))
    }

    /// Changes a user; `active: false` deactivates without losing history.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's ID and the fields to change.")] input: UpdateUserInput,
    ) -> async_graphql::Result<Option<UserPayload>> {
        require_may_manage_user(ctx, &input.id, "input.id").await?;
        if let Some(role) = &input.role {
            require_may_hand_out(ctx, role, "input.role").await?;
        }
        let row = write(ctx, move |c| directory::update_user(c, input)).await?;
        Ok(Some(UserPayload { user: User(row) }))
    }

    /// Deletes a user. Admins only.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `User` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = input.key(NodeType::User)?;
        write(ctx, move |c| directory::delete_user(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Creates a team. Admins only.
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new team.")] input: CreateTeamInput,
    ) -> async_graphql::Result<Option<TeamPayload>> {
        let row = write(ctx, move |c| directory::create_team(c, input)).await?;
        Ok(Some(TeamPayload { team: Team(row) }))
    }

    /// Changes a team; fields left out keep their value. Admins only.
    async fn update_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team's ID and the fields to change.")] input: UpdateTeamInput,
    ) -> async_graphql::Result<Option<TeamPayload>> {
        let row = write(ctx, move |c| directory::update_team(c, input)).await?;
        Ok(Some(TeamPayload { team: Team(row) }))
    }

    /// Deletes a team. Admins only.
    async fn delete_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Team` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = input.key(NodeType::Team)?;
        write(ctx, move |c| directory::delete_team(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Adds a user to a team. Admins only.
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team and the user.")] input: TeamMembershipInput,
    ) -> async_graphql::Result<Option<TeamPayload>> {
        let row = write(ctx, move |c| directory::change_membership(c, input, true)).await?;
        Ok(Some(TeamPayload { team: Team(row) }))
    }

    /// Removes a user from a team. Admins only.
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team and the user.")] input: TeamMembershipInput,
    ) -> async_graphql::Result<Option<TeamPayload>> {
        let row = write(ctx, move |c| directory::change_membership(c, input, false)).await?;
        Ok(Some(TeamPayload { team: Team(row) }))
    }
}
