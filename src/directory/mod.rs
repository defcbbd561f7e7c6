//! The firm's people and teams: just enough for ownership and assignment
//! (authentication and roles as data come with the identity module).

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_keys, team_members, teams, users};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{contains_pattern, group_pairs, lower, Page};
use crate::validation::normalize_email;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = teams, treat_none_as_null = true)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A new user, for `createUser`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateUserInput {
    /// The address the user logs in with; unique.
    pub email: String,
    /// The name shown for the user, e.g. "Avv. Giulia Rossi".
    pub display_name: String,
    /// One of admin, partner, lawyer, trainee, staff, marketing, dpo, integration.
    pub role: String,
}

/// Changes to a user, for `updateUser`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateUserInput {
    /// The `User` to change.
    pub id: ID,
    /// The address the user logs in with; unique.
    pub email: Option<String>,
    /// The name shown for the user.
    pub display_name: Option<String>,
    /// The user's new role; one the caller may hand out.
    pub role: Option<String>,
    /// Inactive users keep their history but get no new assignments.
    pub active: Option<bool>,
}

/// Which users `users` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct UserFilter {
    /// Part of the name or email.
    pub text: Option<String>,
    /// Only users in this role.
    pub role: Option<String>,
    /// Only active (true) or only deactivated (false) users.
    pub active: Option<bool>,
}

/// A new team, for `createTeam`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateTeamInput {
    /// The team's name; unique.
    pub name: String,
    /// What the team does.
    pub description: Option<String>,
    /// The `User`s in the team.
    #[graphql(default)]
    pub member_ids: Vec<ID>,
}

/// Changes to a team, for `updateTeam`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateTeamInput {
    /// The `Team` to change.
    pub id: ID,
    /// The team's name; unique.
    pub name: Option<String>,
    /// What the team does; null clears it.
    pub description: MaybeUndefined<String>,
    /// Replaces the whole membership when given.
    pub member_ids: Option<Vec<ID>>,
}

/// A user and a team, for `addTeamMember` and `removeTeamMember`.
#[derive(Debug, Clone, InputObject)]
pub struct TeamMembershipInput {
    /// The `Team` ID.
    pub team_id: ID,
    /// The `User` ID.
    pub user_id: ID,
}

/// Checks the role against the roles on record (built-in and the firm's own).
fn validate_role(conn: &mut AnyConnection, v: &mut Validator, role: &str) -> String {
    let role = role.trim().to_lowercase();
    v.check(
        "input.role",
        crate::access_policy::catalog::require_role(conn, "input.role", &role),
    )
    .unwrap_or(role)
}

/// Whether two names or addresses differ only in letter case. Compared here rather than
/// with SQL `lower()`, which on SQLite folds ASCII letters only (`É` stays `É`).
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn ensure_email_free(conn: &mut AnyConnection, email: &str, except: Option<&str>) -> Result<()> {
    // The domain is ASCII (validated) and stored lower-cased: it narrows the candidates,
    // and has no LIKE wildcards to escape.
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    let mut query = users::table
        .filter(lower(users::email).like(format!("%@{}", domain.to_ascii_lowercase())))
        .select(users::email)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(users::id.ne(id.to_owned()));
    }
    let candidates = query.load::<String>(conn)?;
    if candidates
        .iter()
        .any(|other| same_ignoring_case(other, email))
    {
        return Err(Error::Conflict {
            field: Some("input.email".to_owned()),
            message: "another user has this email address".to_owned(),
        });
    }
    Ok(())
}

pub fn create_user(conn: &mut AnyConnection, input: CreateUserInput) -> Result<UserRow> {
    let mut v = Validator::new();
    let email = v.check("input.email", normalize_email(&input.email));
    let display_name = v.required("input.displayName", &input.display_name);
    let role = validate_role(conn, &mut v, &input.role);
    v.finish()?;
    let email = email.unwrap_or_default();
    ensure_email_free(conn, &email, None)?;
    let timestamp = now();
    let row = UserRow {
        id: new_id(),
        email,
        display_name,
        role,
        active: true,
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update_user(conn: &mut AnyConnection, input: UpdateUserInput) -> Result<UserRow> {
    let id = ids::decode(NodeType::User, &input.id, "input.id")?;
    let mut row = get_user(conn, &id)?;
    let mut v = Validator::new();
    if let Some(email) = &input.email {
        if let Some(email) = v.check("input.email", normalize_email(email)) {
            row.email = email;
        }
    }
    if let Some(name) = &input.display_name {
        row.display_name = v.required("input.displayName", name);
    }
    if let Some(role) = &input.role {
        row.role = validate_role(conn, &mut v, role);
    }
    if let Some(active) = input.active {
        row.active = active;
    }
    v.finish()?;
    ensure_email_free(conn, &row.email, Some(&row.id))?;
    row.updated_at = now();
    diesel::update(users::table.find(&id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete_user(conn: &mut AnyConnection, id: &str) -> Result<()> {
    // The person's keys end with the person (the foreign key would only forget who made them).
    diesel::update(
        api_keys::table
            .filter(api_keys::created_by.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(now())))
    .execute(conn)?;
    match diesel::delete(users::table.find(id)).execute(conn)? {
        0 => Err(Error::not_found("User", id)),
        _ => Ok(()),
    }
}

pub fn get_user(conn: &mut AnyConnection, id: &str) -> Result<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("User", id))
}

pub fn users_by_id(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, UserRow>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load::<UserRow>(conn)?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect())
}

fn user_query(filter: &UserFilter) -> users::BoxedQuery<'static, crate::db::Db> {
    let mut query = users::table.into_boxed();
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = contains_pattern(&text.to_lowercase());
        query = query.filter(
            lower(users::display_name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::email).like(pattern).escape('\\')),
        );
    }
    if let Some(role) = &filter.role {
        query = query.filter(users::role.eq(role.trim().to_lowercase()));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    query
}

pub fn list_users(
    conn: &mut AnyConnection,
    filter: &UserFilter,
    page: Page,
) -> Result<Vec<UserRow>> {
    Ok(user_query(filter)
        .order_by((users::display_name.asc(), users::id.asc()))
        .offset(page.offset)
        .limit(page.limit)
        .select(UserRow::as_select())
        .load(conn)?)
}

pub fn count_users(conn: &mut AnyConnection, filter: &UserFilter) -> Result<i64> {
    Ok(user_query(filter).count().get_result(conn)?)
}

/// Refuses references to users that do not exist; `field` names the input.
pub fn ensure_users_exist(conn: &mut AnyConnection, ids: &[String], field: &str) -> Result<()> {
    let found: HashSet<String> = users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    match ids.iter().position(|id| !found.contains(id)) {
        None => Ok(()),
        Some(i) if ids.len() == 1 => {
            Err(Error::invalid(field, format!("no user with ID {}", ids[i])))
        }
        Some(i) => Err(Error::invalid(
            format!("{field}[{i}]"),
            "no user with this ID",
        )),
    }
}

/// Refuses references to teams that do not exist; `field` names the input.
pub fn ensure_teams_exist(conn: &mut AnyConnection, ids: &[String], field: &str) -> Result<()> {
    let found: HashSet<String> = teams::table
        .filter(teams::id.eq_any(ids))
        .select(teams::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    match ids.iter().position(|id| !found.contains(id)) {
        None => Ok(()),
        Some(i) => Err(Error::invalid(
            format!("{field}[{i}]"),
            "no team with this ID",
        )),
    }
}

fn ensure_team_name_free(conn: &mut AnyConnection, name: &str, except: Option<&str>) -> Result<()> {
    // A firm has few teams: compare every name (see `same_ignoring_case`).
    let mut query = teams::table.select(teams::name).into_boxed();
    if let Some(id) = except {
        query = query.filter(teams::id.ne(id.to_owned()));
    }
    let names = query.load::<String>(conn)?;
    if names.iter().any(|other| same_ignoring_case(other, name)) {
        return Err(Error::Conflict {
            field: Some("input.name".to_owned()),
            message: "another team has this name".to_owned(),
        });
    }
    Ok(())
}

fn set_members(conn: &mut AnyConnection, team_id: &str, members: &[String]) -> Result<()> {
    ensure_users_exist(conn, members, "input.memberIds")?;
    diesel::delete(team_members::table.filter(team_members::team_id.eq(team_id))).execute(conn)?;
    let rows: Vec<_> = members
        .iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .map(|user| {
            (
                team_members::team_id.eq(team_id),
                team_members::user_id.eq(user),
            )
        })
        .collect();
    for row in &rows {
        diesel::insert_into(team_members::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn create_team(conn: &mut AnyConnection, input: CreateTeamInput) -> Result<TeamRow> {
    let mut v = Validator::new();
    let name = v.required("input.name", &input.name);
    let members = v.check(
        "input.memberIds",
        ids::decode_all(NodeType::User, &input.member_ids, "input.memberIds"),
    );
    v.finish()?;
    ensure_team_name_free(conn, &name, None)?;
    let timestamp = now();
    let row = TeamRow {
        id: new_id(),
        name,
        description: input.description.filter(|d| !d.trim().is_empty()),
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(teams::table)
        .values(&row)
        .execute(conn)?;
    set_members(conn, &row.id, &members.unwrap_or_default())?;
    Ok(row)
}

pub fn update_team(conn: &mut AnyConnection, input: UpdateTeamInput) -> Result<TeamRow> {
    let id = ids::decode(NodeType::Team, &input.id, "input.id")?;
    let mut row = get_team(conn, &id)?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        row.name = v.required("input.name", name);
    }
    match input.description {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.description = None,
        MaybeUndefined::Value(d) => row.description = Some(d).filter(|d| !d.trim().is_empty()),
    }
    let members = input.member_ids.as_ref().and_then(|m| {
        v.check(
            "input.memberIds",
            ids::decode_all(NodeType::User, m, "input.memberIds"),
        )
    });
    v.finish()?;
    ensure_team_name_free(conn, &row.name, Some(&id))?;
    row.updated_at = now();
    diesel::update(teams::table.find(&id))
        .set(&row)
        .execute(conn)?;
    if let Some(members) = members {
        set_members(conn, &id, &members)?;
    }
    Ok(row)
}

pub fn delete_team(conn: &mut AnyConnection, id: &str) -> Result<()> {
    match diesel::delete(teams::table.find(id)).execute(conn)? {
        0 => Err(Error::not_found("Team", id)),
        _ => Ok(()),
    }
}

/// Adds or removes one member; returns the team.
pub fn change_membership(
    conn: &mut AnyConnection,
    input: TeamMembershipInput,
    add: bool,
) -> Result<TeamRow> {
    let team_id = ids::decode(NodeType::Team, &input.team_id, "input.teamId")?;
    let user_id = ids::decode(NodeType::User, &input.user_id, "input.userId")?;
    let team = get_team(conn, &team_id)?;
    ensure_users_exist(conn, std::slice::from_ref(&user_id), "input.userId")?;
    let existing = team_members::table
        .find((&team_id, &user_id))
        .select(team_members::user_id)
        .first::<String>(conn)
        .optional()?;
    match (add, existing) {
        (true, None) => {
            diesel::insert_into(team_members::table)
                .values((
                    team_members::team_id.eq(&team_id),
                    team_members::user_id.eq(&user_id),
                ))
                .execute(conn)?;
        }
        (false, Some(_)) => {
            diesel::delete(team_members::table.find((&team_id, &user_id))).execute(conn)?;
        }
        _ => {}
    }
    Ok(team)
}

pub fn get_team(conn: &mut AnyConnection, id: &str) -> Result<TeamRow> {
    teams::table
        .find(id)
        .select(TeamRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Team", id))
}

pub fn teams_by_id(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, TeamRow>> {
    Ok(teams::table
        .filter(teams::id.eq_any(ids))
        .select(TeamRow::as_select())
        .load::<TeamRow>(conn)?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect())
}

pub fn list_teams(
    conn: &mut AnyConnection,
    text: Option<&str>,
    page: Page,
) -> Result<Vec<TeamRow>> {
    Ok(team_query(text)
        .order_by((teams::name.asc(), teams::id.asc()))
        .offset(page.offset)
        .limit(page.limit)
        .select(TeamRow::as_select())
        .load(conn)?)
}

pub fn count_teams(conn: &mut AnyConnection, text: Option<&str>) -> Result<i64> {
    Ok(team_query(text).count().get_result(conn)?)
}

fn team_query(text: Option<&str>) -> teams::BoxedQuery<'static, crate::db::Db> {
    let mut query = teams::table.into_boxed();
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        query = query.filter(
            lower(teams::name)
                .like(contains_pattern(&text.to_lowercase()))
                .escape('\\'),
        );
    }
    query
}

/// The users in each team, with their rows.
pub fn members_of_teams(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<UserRow>>> {
    let rows: Vec<(String, UserRow)> = team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq_any(ids))
        .order_by((team_members::team_id, team_members::user_id))
        .select((team_members::team_id, UserRow::as_select()))
        .load(conn)?;
    Ok(group_pairs(rows))
}

/// The teams each user is in, with their rows.
pub fn teams_of_users(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<TeamRow>>> {
    let rows: Vec<(String, TeamRow)> = team_members::table
        .inner_join(teams::table)
        .filter(team_members::user_id.eq_any(ids))
        .order_by((team_members::user_id, team_members::team_id))
        .select((team_members::user_id, TeamRow::as_select()))
        .load(conn)?;
    Ok(group_pairs(rows))
}
