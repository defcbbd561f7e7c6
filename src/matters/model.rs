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
        Intake => "intake",
        Open => "open",
        Suspended => "suspended",
        Closed => "closed",
        Archived => "archived",
    }
}

text_enum! {
    /// A contact's side in a matter.
    PartyRole {
        Client => "client",
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

#[derive(Debug, Clone, InputObject)]
pub struct TeamMemberInput {
    pub user_id: ID,
    /// e.g. "lead", "associate", "trainee".
    pub role: Option<String>,
}

#[derive(Debug, Clone, InputObject)]
pub struct CreateMatterInput {
    /// The firm's unique matter number, e.g. "2026/0042".
    pub reference: String,
    pub title: String,
    pub practice_area: String,
    #[graphql(default_with = "MatterStatus::Open")]
    pub status: MatterStatus,
    pub description: Option<String>,
    pub responsible_user_id: Option<ID>,
    /// Defaults to today.
    pub opened_on: Option<NaiveDate>,
    /// At least one client.
    pub client_ids: Vec<ID>,
    #[graphql(default)]
    pub counterparty_ids: Vec<ID>,
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
    pub id: ID,
    pub reference: Option<String>,
    pub title: Option<String>,
    pub practice_area: Option<String>,
    pub status: Option<MatterStatus>,
    pub description: MaybeUndefined<String>,
    pub responsible_user_id: MaybeUndefined<ID>,
    pub opened_on: MaybeUndefined<NaiveDate>,
    pub closed_on: MaybeUndefined<NaiveDate>,
    pub client_ids: Option<Vec<ID>>,
    pub counterparty_ids: Option<Vec<ID>>,
    /// Only the matter's team may change it.
    pub criminal_proceedings_notes: MaybeUndefined<String>,
    /// Only the matter's team may change it.
    pub health_details: MaybeUndefined<String>,
}

#[derive(Debug, Clone, InputObject)]
pub struct MatterTeamMemberInput {
    pub matter_id: ID,
    pub user_id: ID,
    pub role: Option<String>,
}

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
    pub responsible_user_id: Option<ID>,
    /// Matters whose team includes this user.
    pub team_member_id: Option<ID>,
    pub opened_from: Option<NaiveDate>,
    pub opened_to: Option<NaiveDate>,
}

text_enum! {
    MatterOrderField {
        Reference => "reference",
        Title => "title",
        OpenedOn => "opened_on",
        UpdatedAt => "updated_at",
    }
}

#[derive(Debug, Clone, Copy, InputObject)]
pub struct MatterOrder {
    pub field: MatterOrderField,
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

/// A member of a matter's team and their role on it.
#[derive(Debug, Clone)]
pub struct MatterTeamMember {
    pub user_id: String,
    pub role: Option<String>,
}
