//! Matters in the GraphQL API, with their parties, team, history and timeline.

use async_graphql::{Context, Object, SimpleObject, Union, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::contacts::ContactColumns;
use crate::deadlines::DeadlineStatus;
use crate::error::GraphqlResult;
use crate::graphql::billing::TimeEntry;
use crate::graphql::communications::Communication;
use crate::graphql::contacts::{columns_here, Contact};
use crate::graphql::context::{loader, state, write};
use crate::graphql::deadlines::Deadline;
use crate::graphql::directory::User;
use crate::graphql::documents::{CaseFileFolder, Document};
use crate::graphql::field_guard::{access, note_read_subjects, reads_personal, special_category};
use crate::graphql::loaders::*;
use crate::graphql::pagination::{paginate_db, paginate_loaded, PageArgs, Paged};
use crate::graphql::visibility;
use crate::graphql::{decode_id, DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::matters::{
    self, CreateMatterInput, MatterEventRow, MatterFilter, MatterOrder, MatterQuery, MatterRow,
    MatterStatus, MatterTeamMemberInput, PartyRole, UpdateMatterInput,
};
use crate::sync::folders;
use crate::timeline::{self, TimelineEntry};

/// An engagement of the firm for one or more clients.
pub struct Matter(pub MatterRow);

impl From<MatterRow> for Matter {
    fn from(row: MatterRow) -> Self {
        Matter(row)
    }
}

impl Matter {
    async fn parties(
        &self,
        ctx: &Context<'_>,
        role: PartyRole,
    ) -> async_graphql::Result<Vec<Contact>> {
        // One statement: the parties with their contacts, which the caller's scope marks
        // visible or not (the loader's query applies it).
        let parties = loader(ctx)
            .load_one(PartiesOfMatter(self.0.id.clone(), columns_here(ctx)))
            .await?
            .unwrap_or_default();
        Ok(parties
            .into_iter()
            .filter(|p| p.visible && p.role == role.as_str())
            .map(|p| Contact::from(p.contact))
            .collect())
    }
}

/// Notes the matter's clients and counterparties as read when one of its personal fields is:
/// what a matter file says is about its parties.
struct PartiesRead<'a>(&'a str);

impl async_graphql::Guard for PartiesRead<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if reads_personal(ctx, "Matter") {
            let parties = loader(ctx)
                .load_one(PartiesOfMatter(self.0.to_owned(), ContactColumns::Summary))
                .await?
                .unwrap_or_default();
            note_read_subjects(ctx, parties.iter().map(|p| p.contact.id()));
        }
        Ok(())
    }
}

/// A matter (mandato, pratica): one engagement of the firm for one or more clients, with its
/// parties, team, communications, deadlines and history. Casework roles; lawyers and trainees see
/// only the matters they are on.
#[Object(guard = "PartiesRead(&self.0.id)")]
impl Matter {
    /// The matter's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Matter, &self.0.id)
    }

    /// The firm's unique matter number.
    async fn reference(&self) -> &str {
        &self.0.reference
    }

    /// A short title, e.g. "Rossi c. Bianchi - risarcimento danni".
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The firm's practice area, e.g. "employment" or "diritto societario", as the firm names them.
    async fn practice_area(&self) -> &str {
        &self.0.practice_area
    }

    /// Where the matter is in its life.
    async fn status(&self) -> async_graphql::Result<MatterStatus> {
        MatterStatus::from_db(&self.0.status).gql()
    }

    /// What the matter is about; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Art. 10 GDPR: notes on criminal proceedings. Readable only by the matter's team.
    async fn criminal_proceedings_notes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<String>> {
        special_category(ctx, &self.0.id, self.0.criminal_proceedings_notes.clone()).await
    }

    /// Art. 9 GDPR: health details. Readable only by the matter's team.
    async fn health_details(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        special_category(ctx, &self.0.id, self.0.health_details.clone()).await
    }

    /// The day the firm took the matter on (ISO 8601 date); null when unknown.
    async fn opened_on(&self) -> Option<NaiveDate> {
        self.0.opened_on
    }

    /// The day the matter was closed (ISO 8601 date); null while not closed.
    async fn closed_on(&self) -> Option<NaiveDate> {
        self.0.closed_on
    }

    /// The lawyer responsible for the matter.
    async fn responsible_lawyer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = &self.0.responsible_user_id else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(UserById(id.clone())).await?.map(User))
    }

    /// The clients the firm acts for in the matter.
    async fn clients(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        self.parties(ctx, PartyRole::Client).await
    }

    /// The other parties in the matter.
    async fn counterparties(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        self.parties(ctx, PartyRole::Counterparty).await
    }

    /// The users working on the matter, with their role on it.
    async fn team(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MatterTeamMember>> {
        let members = loader(ctx)
            .load_one(TeamOfMatter(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(members
            .into_iter()
            .map(|m| MatterTeamMember {
                user: User(m.user),
                role: m.role,
            })
            .collect())
    }

    /// The matter's communications, newest first.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn communications(
        &self,
        ctx: &Context<'_>,
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
    ) -> async_graphql::Result<Paged<Communication>> {
        let rows = loader(ctx)
            .load_one(CommunicationsOfMatter(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        paginate_loaded(ctx, PageArgs::new(after, before, first, last), rows).await
    }

    /// The matter's deadlines, soonest first; only those in `statuses` when given.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn deadlines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deadlines in one of these statuses.")] statuses: Option<
            Vec<DeadlineStatus>,
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
    ) -> async_graphql::Result<Paged<Deadline>> {
        let mut rows = loader(ctx)
            .load_one(DeadlinesOfMatter(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        if let Some(statuses) = statuses {
            rows.retain(|d| statuses.iter().any(|s| s.as_str() == d.status));
        }
        paginate_loaded(ctx, PageArgs::new(after, before, first, last), rows).await
    }

    /// The documents of the matter's case file, oldest first; those deleted at the store only
    /// with `includeDeleted`. Partners, the matter's team and admins.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Also the documents the store no longer holds.",
            default = false
        )]
        include_deleted: bool,
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
    ) -> async_graphql::Result<Option<Paged<Document>>> {
        let mut rows = loader(ctx)
            .load_one(DocumentsOfMatter(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        if !include_deleted {
            rows.retain(|d| d.is_current());
        }
        paginate_loaded(ctx, PageArgs::new(after, before, first, last), rows)
            .await
            .map(Some)
    }

    /// The matter's folders in the document stores that make one per matter, with whether
    /// each was made. Partners, the matter's team and admins.
    async fn case_file_folders(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<CaseFileFolder>>> {
        let folders = loader(ctx)
            .load_one(FoldersOfMatter(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(Some(folders.into_iter().map(CaseFileFolder).collect()))
    }

    /// The time recorded on the matter, oldest work first; only billed (true) or unbilled
    /// (false) time when `billed` is given.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn time_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only time already on an invoice (true) or not yet (false).")]
        billed: Option<bool>,
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
    ) -> async_graphql::Result<Paged<TimeEntry>> {
        let mut rows = loader(ctx)
            .load_one(TimeEntriesOfMatter(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        if let Some(billed) = billed {
            rows.retain(|t| t.invoice_id.is_some() == billed);
        }
        paginate_loaded(ctx, PageArgs::new(after, before, first, last), rows).await
    }

    /// Communications, deadlines, documents (for those who may read them) and changes of this
    /// matter, oldest first.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
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
    ) -> async_graphql::Result<Paged<TimelineItem>> {
        let id = self.0.id.clone();
        let count_id = id.clone();
        let documents = access(ctx).grant.allows("Document", "title");
        let nothing = crate::listing::Page {
            offset: 0,
            limit: 0,
        };
        let scope = visibility::scope(ctx).clone();
        let count_scope = scope.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| {
                timeline::of_matter(c, &count_scope, &count_id, nothing, documents).map(|t| t.1)
            },
            move |c, page| timeline::of_matter(c, &scope, &id, page, documents).map(|t| t.0),
        )
        .await
    }

    /// When the matter was created in lexgate (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the matter last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// A member of a matter's team.
#[derive(SimpleObject)]
pub struct MatterTeamMember {
    /// The user.
    pub user: User,
    /// e.g. "lead", "associate", "trainee".
    pub role: Option<String>,
}

/// A recorded change of a matter.
pub struct MatterEvent(pub MatterEventRow);

/// A recorded change of a matter, part of its history.
#[Object]
impl MatterEvent {
    /// created, status_changed, team_member_added, team_member_removed, clients_changed,
    /// counterparties_changed or updated; from a practice-management system's import also
    /// linked, deleted_upstream, deadline_cancelled, time_entry_removed or time_entry_kept.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// What changed, in words, e.g. "Status changed from open to suspended".
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    /// When the change happened (UTC, ISO 8601).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at.and_utc()
    }
}

/// One entry of a matter's timeline.
#[derive(Union)]
pub enum TimelineItem {
    Communication(Communication),
    Deadline(Deadline),
    Document(Document),
    MatterEvent(MatterEvent),
}

impl From<TimelineEntry> for TimelineItem {
    fn from(entry: TimelineEntry) -> Self {
        match entry {
            TimelineEntry::Communication(c) => TimelineItem::Communication(Communication(c)),
            TimelineEntry::Deadline(d) => TimelineItem::Deadline(Deadline(d)),
            TimelineEntry::Document(d) => TimelineItem::Document(Document(d)),
            TimelineEntry::Event(e) => TimelineItem::MatterEvent(MatterEvent(e)),
        }
    }
}

/// The answer to the matter mutations.
#[derive(SimpleObject)]
pub struct MatterPayload {
    /// The matter as saved.
    pub matter: Matter,
}

#[derive(Default)]
pub struct MatterQueries;

#[Object]
impl MatterQueries {
    /// Matters the caller may see, filtered and ordered. Casework roles.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn matters(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only matters matching this filter; all the caller may see when omitted."
        )]
        filter: Option<MatterFilter>,
        #[graphql(desc = "The order; by reference, ascending, when omitted.")] order_by: Option<
            MatterOrder,
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
    ) -> async_graphql::Result<Option<Paged<Matter>>> {
        let scope = visibility::scope(ctx).clone();
        let query = MatterQuery::new(filter.unwrap_or_default()).gql()?;
        let order = order_by.unwrap_or_default();
        let (count_scope, count_query) = (scope.clone(), query.clone());
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| matters::count(c, &count_scope, &count_query),
            move |c, page| matters::list(c, &scope, &query, order, page),
        )
        .await
        .map(Some)
    }

    /// One matter by ID; null when it does not exist or the caller may not see it. Casework
    /// roles.
    async fn matter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Matter` ID.")] id: ID,
    ) -> async_graphql::Result<Option<Matter>> {
        let key = decode_id(NodeType::Matter, &id)?;
        let matter = loader(ctx).load_one(MatterById(key)).await?.map(Matter);
        visibility::lookup(ctx, matter).await
    }
}

#[derive(Default)]
pub struct MatterMutations;

#[Object]
impl MatterMutations {
    /// Opens a matter with its clients, counterparties and team. Admins, partners, lawyers and
    /// integrations; only the team may set special-category data.
    async fn create_matter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new matter.")] input: CreateMatterInput,
    ) -> async_graphql::Result<Option<MatterPayload>> {
        if input.criminal_proceedings_notes.is_some() || input.health_details.is_some() {
            let on_team = access(ctx).user_id().is_some_and(|me| {
                let me = ids::encode(NodeType::User, me);
                input.responsible_user_id.as_ref() == Some(&me)
                    || input.team.iter().any(|m| m.user_id == me)
            });
            if !on_team {
                return Err(special_category_refusal()).gql();
            }
        }
        visibility::require_all_visible(
            ctx,
            NodeType::Contact,
            &input.client_ids,
            "input.clientIds",
        )
        .await?;
        visibility::require_all_visible(
            ctx,
            NodeType::Contact,
            &input.counterparty_ids,
            "input.counterpartyIds",
        )
        .await?;
        let row = write(ctx, move |c| {
            let row = matters::create(c, input)?;
            folders::request_for_matter(c, &row.id)?;
            Ok(row)
        })
        .await?;
        // The folders are made after the commit, without holding up the answer; what fails
        // is retried by the scheduler (see `sync::folders`).
        let sync = state(ctx).sync.clone();
        let matter_id = row.id.clone();
        tokio::spawn(async move {
            if let Err(error) = sync.make_due_folders(Some(matter_id)).await {
                tracing::warn!(%error, "cannot make the new matter's folders");
            }
        });
        Ok(Some(MatterPayload {
            matter: Matter(row),
        }))
    }

    /// Changes a matter the caller may see; fields left out keep their value. Admins, partners,
    /// lawyers and integrations; only the matter's team may change special-category data.
    async fn update_matter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The matter's ID and the fields to change.")] input: UpdateMatterInput,
    ) -> async_graphql::Result<Option<MatterPayload>> {
        visibility::require_visible(ctx, NodeType::Matter, &input.id, "input.id").await?;
        let special = !input.criminal_proceedings_notes.is_undefined()
            || !input.health_details.is_undefined();
        if special {
            let key = ids::decode(NodeType::Matter, &input.id, "input.id").gql()?;
            if !crate::graphql::field_guard::on_matter_team(ctx, &key).await? {
                return Err(special_category_refusal()).gql();
            }
        }
        if let Some(clients) = &input.client_ids {
            visibility::require_all_visible(ctx, NodeType::Contact, clients, "input.clientIds")
                .await?;
        }
        if let Some(counterparties) = &input.counterparty_ids {
            visibility::require_all_visible(
                ctx,
                NodeType::Contact,
                counterparties,
                "input.counterpartyIds",
            )
            .await?;
        }
        let row = write(ctx, move |c| matters::update(c, input)).await?;
        Ok(Some(MatterPayload {
            matter: Matter(row),
        }))
    }

    /// Archives a matter: kept with its history, out of active work.
    async fn archive_matter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Matter` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<MatterPayload>> {
        visibility::require_visible(ctx, NodeType::Matter, &input.id, "input.id").await?;
        let key = input.key(NodeType::Matter)?;
        let row = write(ctx, move |c| matters::archive(c, &key)).await?;
        Ok(Some(MatterPayload {
            matter: Matter(row),
        }))
    }

    /// Deletes a matter with its deadlines and history; its communications stay, unlinked.
    async fn delete_matter(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Matter` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        visibility::require_visible(ctx, NodeType::Matter, &input.id, "input.id").await?;
        let key = input.key(NodeType::Matter)?;
        write(ctx, move |c| matters::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Adds a user to the matter's team (or changes their role on it).
    async fn add_matter_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The matter, the user and their role on it.")]
        input: MatterTeamMemberInput,
    ) -> async_graphql::Result<Option<MatterPayload>> {
        visibility::require_visible(ctx, NodeType::Matter, &input.matter_id, "input.matterId")
            .await?;
        let row = write(ctx, move |c| matters::add_team_member(c, input)).await?;
        Ok(Some(MatterPayload {
            matter: Matter(row),
        }))
    }

    /// Removes a user from the matter's team.
    async fn remove_matter_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The matter and the user (`role` is ignored).")]
        input: MatterTeamMemberInput,
    ) -> async_graphql::Result<Option<MatterPayload>> {
        visibility::require_visible(ctx, NodeType::Matter, &input.matter_id, "input.matterId")
            .await?;
        let row = write(ctx, move |c| matters::remove_team_member(c, input)).await?;
        Ok(Some(MatterPayload {
            matter: Matter(row),
        }))
    }
}

fn special_category_refusal() -> crate::error::Error {
    crate::error::Error::forbidden(
        None,
        "special-category data: only the matter's team (or its responsible lawyer) may set it",
    )
}
