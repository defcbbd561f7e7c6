//! Matters (mandates, cases): the firm's engagements for its clients.

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{matter_events, matters};
use crate::db::text_enum;
use crate::listing::SortDirection;

text_enum! {
    /// Where a matter is in its life.
    MatterStatus {
        /// Being taken on: conflict check, engagement letter.
        Intake => "intake",
        /// Active work.
        Open => "open",
        /// On hold, e.g. waiting for a hearing date or for the client.
        Suspended => "suspended",
        /// Finished; `closedOn` says when.
        Closed => "closed",
        /// Kept with its history, out of active work.
        Archived => "archived",
    }
}

text_enum! {
    /// A contact's side in a matter.
    PartyRole {
        /// A client the firm acts for.
        Client => "client",
        /// The other side.
        Counterparty => "counterparty",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = matters, treat_none_as_null = true)]
pub struct MatterRow {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub practice_area: String,
    pub status: String,
    pub description: Option<String>,
    pub responsible_user_id: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Art. 10 GDPR: criminal proceedings and offences. Only the matter's team reads it.
    pub criminal_proceedings_notes: Option<String>,
    /// Art. 9 GDPR: health data. Only the matter's team reads it.
    pub health_details: Option<String>,
}

/// A recorded change of a matter, part of its history.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = matter_events)]
pub struct MatterEventRow {
    pub id: String,
    pub matter_id: String,
    pub occurred_at: NaiveDateTime,
    pub kind: String,
    pub summary: String,
    pub actor_user_id: Option<String>,
}

/// A user on a new matter's team, with their role on it.
#[derive(Debug, Clone, InputObject)]
pub struct TeamMemberInput {
    /// The `User` on the team.
    pub user_id: ID,
    /// e.g. "lead", "associate", "trainee".
    pub role: Option<String>,
}

/// A new matter, for `createMatter`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateMatterInput {
    /// The firm's unique matter number, e.g. "2026/0042".
    pub reference: String,
    /// A short title, e.g. "Rossi c. Bianchi - risarcimento danni".
    pub title: String,
    /// The firm's practice area, e.g. "employment".
    pub practice_area: String,
    /// Where the matter starts (default `OPEN`).
    #[graphql(default_with = "MatterStatus::Open")]
    pub status: MatterStatus,
    /// What the matter is about.
    pub description: Option<String>,
    /// The responsible lawyer's `User` ID.
    pub responsible_user_id: Option<ID>,
    /// Defaults to today.
    pub opened_on: Option<NaiveDate>,
    /// At least one client.
    pub client_ids: Vec<ID>,
    /// The other parties' `Contact` IDs.
    #[graphql(default)]
    pub counterparty_ids: Vec<ID>,
    /// The users working on the matter, with their roles.
    #[graphql(default)]
    pub team: Vec<TeamMemberInput>,
    /// Art. 10 GDPR data; only a member of `team` (or the responsible lawyer) may set it.
    pub criminal_proceedings_notes: Option<String>,
    /// Art. 9 GDPR data; only a member of `team` (or the responsible lawyer) may set it.
    pub health_details: Option<String>,
}

/// Fields left out stay as they are; `null` clears a field; a list replaces the whole list.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateMatterInput {
    /// The `Matter` to change.
    pub id: ID,
    /// The firm's unique matter number.
    pub reference: Option<String>,
    /// A short title.
    pub title: Option<String>,
    /// The firm's practice area.
    pub practice_area: Option<String>,
    /// The matter's new status.
    pub status: Option<MatterStatus>,
    /// What the matter is about; null clears it.
    pub description: MaybeUndefined<String>,
    /// The responsible lawyer's `User` ID; null for none.
    pub responsible_user_id: MaybeUndefined<ID>,
    /// The day the firm took the matter on (ISO 8601 date).
    pub opened_on: MaybeUndefined<NaiveDate>,
    /// The day the matter was closed (ISO 8601 date).
    pub closed_on: MaybeUndefined<NaiveDate>,
    /// The clients' `Contact` IDs (at least one); the list replaces the old one.
    pub client_ids: Option<Vec<ID>>,
    /// The other parties' `Contact` IDs; the list replaces the old one.
    pub counterparty_ids: Option<Vec<ID>>,
    /// Only the matter's team may change it.
    pub criminal_proceedings_notes: MaybeUndefined<String>,
    /// Only the matter's team may change it.
    pub health_details: MaybeUndefined<String>,
}

/// A user on a matter's team, for `addMatterTeamMember` and `removeMatterTeamMember`.
#[derive(Debug, Clone, InputObject)]
pub struct MatterTeamMemberInput {
    /// The `Matter` ID.
    pub matter_id: ID,
    /// The `User` ID.
    pub user_id: ID,
    /// The user's role on the matter, e.g. "lead", "associate", "trainee".
    pub role: Option<String>,
}

/// Which matters `matters` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct MatterFilter {
    /// Part of the reference or title.
    pub text: Option<String>,
    /// Any of these statuses.
    pub statuses: Option<Vec<MatterStatus>>,
    /// Any of these practice areas.
    pub practice_areas: Option<Vec<String>>,
    /// Matters where this contact is a client or counterparty.
    pub contact_id: Option<ID>,
    /// Matters this `User` is responsible for.
    pub responsible_user_id: Option<ID>,
    /// Matters whose team includes this user.
    pub team_member_id: Option<ID>,
    /// Opened on or after this day (ISO 8601 date).
    pub opened_from: Option<NaiveDate>,
    /// Opened before this day (ISO 8601 date).
    pub opened_to: Option<NaiveDate>,
}

text_enum! {
    /// What a matter list is sorted by.
    MatterOrderField {
        /// The matter number.
        Reference => "reference",
        /// The title.
        Title => "title",
        /// The day the matter was opened.
        OpenedOn => "opened_on",
        /// When the matter last changed.
        UpdatedAt => "updated_at",
    }
}

/// How a matter list is sorted.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct MatterOrder {
    /// What to sort by.
    pub field: MatterOrderField,
    /// Ascending (default) or descending.
    #[graphql(default_with = "SortDirection::Asc")]
    pub direction: SortDirection,
}

impl Default for MatterOrder {
    fn default() -> Self {
        MatterOrder {
            field: MatterOrderField::Reference,
            direction: SortDirection::Asc,
        }
    }
}

/// A member of a matter's team, with their user row, and their role on it.
#[derive(Debug, Clone)]
pub struct MatterTeamMember {
    pub user: crate::directory::UserRow,
    pub role: Option<String>,
}

/// A party of a matter with its contact row, and whether the scope it was read under lets the
/// caller see that contact (the link itself is kept: the access log names every party).
#[derive(Debug, Clone)]
pub struct PartyContact {
    pub role: String,
    pub contact: crate::contacts::ContactRecord,
    pub visible: bool,
}

/// A matter a contact is a party to, with its row, the contact's role in it, and whether the
/// scope it was read under lets the caller see the matter.
#[derive(Debug, Clone)]
pub struct PartyMatter {
    pub role: String,
    pub matter: MatterRow,
    pub visible: bool,
}
