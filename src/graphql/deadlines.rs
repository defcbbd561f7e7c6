//! Deadlines and tasks in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::deadlines::{
    self, CreateDeadlineInput, DeadlineFilter, DeadlineKind, DeadlineQuery, DeadlineRow,
    DeadlineStatus, UpdateDeadlineInput,
};
use crate::error::GraphqlResult;
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, write};
use crate::graphql::directory::{Team, User};
use crate::graphql::loaders::*;
use crate::graphql::matters::Matter;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::rows;
use crate::graphql::{load_many, DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::listing::SortDirection;
use crate::mail::{MessageStatus, OutboxRow};

/// A court deadline, hearing, filing or internal task.
pub struct Deadline(pub DeadlineRow);

impl From<DeadlineRow> for Deadline {
    fn from(row: DeadlineRow) -> Self {
        Deadline(row)
    }
}

#[Object]
impl Deadline {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Deadline, &self.0.id)
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn kind(&self) -> async_graphql::Result<DeadlineKind> {
        DeadlineKind::from_db(&self.0.kind).gql()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at.and_utc()
    }

    async fn status(&self) -> async_graphql::Result<DeadlineStatus> {
        DeadlineStatus::from_db(&self.0.status).gql()
    }

    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at.map(|t| t.and_utc())
    }

    /// Open and past its due time.
    async fn overdue(&self) -> bool {
        self.0.status == DeadlineStatus::Open.as_str() && self.0.due_at < Utc::now().naive_utc()
    }

    async fn matter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Matter>> {
        let Some(id) = &self.0.matter_id else {
            return Ok(None);
        };
        let matter = loader(ctx)
            .load_one(MatterById(id.clone()))
            .await?
            .map(Matter);
        rows::reference(ctx, matter).await
    }

    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.contact_id else {
            return Ok(None);
        };
        let contact = loader(ctx)
            .load_one(ContactById(id.clone()))
            .await?
            .map(Contact);
        rows::reference(ctx, contact).await
    }

    async fn assigned_users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let ids = loader(ctx)
            .load_one(UserAssigneesOf(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        load_many(ctx, ids, UserById, User).await
    }

    async fn assigned_teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        let ids = loader(ctx)
            .load_one(TeamAssigneesOf(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        load_many(ctx, ids, TeamById, Team).await
    }

    /// Minutes before the due time at which reminders fire, largest first.
    async fn reminder_offsets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<i32>> {
        Ok(loader(ctx)
            .load_one(RemindersOf(self.0.id.clone()))
            .await?
            .unwrap_or_default())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }

    /// The reminder messages sent or being sent, one per person and reminder, oldest first:
    /// where delivery failed, `lastError` says why.
    async fn reminder_deliveries(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ReminderDelivery>> {
        Ok(loader(ctx)
            .load_one(ReminderDeliveriesOf(self.0.id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(ReminderDelivery)
            .collect())
    }
}

/// One reminder message to one person, through the outbox.
pub struct ReminderDelivery(OutboxRow);

#[Object]
impl ReminderDelivery {
    /// The address it goes to.
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }

    async fn recipient_user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = &self.0.user_id else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(UserById(id.clone())).await?.map(User))
    }

    async fn status(&self) -> async_graphql::Result<MessageStatus> {
        MessageStatus::from_db(&self.0.status).gql()
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Why the last attempt failed (the SMTP server's reply, or why it could not be reached).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == MessageStatus::Pending.as_str()).then(|| self.0.next_attempt_at.and_utc())
    }

    async fn queued_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at.map(|t| t.and_utc())
    }
}

#[derive(SimpleObject)]
pub struct DeadlinePayload {
    pub deadline: Deadline,
}

#[derive(Default)]
pub struct DeadlineQueries;

#[Object]
impl DeadlineQueries {
    /// Deadlines and tasks, soonest first unless `order: DESC`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn deadlines(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeadlineFilter>,
        #[graphql(default_with = "SortDirection::Asc")] order: SortDirection,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Option<Paged<Deadline>>> {
        let visibility = rows::visibility(ctx).await?;
        let query = DeadlineQuery::new(filter.unwrap_or_default())
            .gql()?
            .within(visibility.deadline_ids());
        let count_query = query.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| deadlines::count(c, &count_query),
            move |c, page| deadlines::list(c, &query, order, page),
        )
        .await
        .map(Some)
    }
}

#[derive(Default)]
pub struct DeadlineMutations;

#[Object]
impl DeadlineMutations {
    async fn create_deadline(
        &self,
        ctx: &Context<'_>,
        input: CreateDeadlineInput,
    ) -> async_graphql::Result<Option<DeadlinePayload>> {
        rows::require_visible_opt(
            ctx,
            NodeType::Matter,
            input.matter_id.as_ref(),
            "input.matterId",
        )
        .await?;
        rows::require_visible_opt(
            ctx,
            NodeType::Contact,
            input.contact_id.as_ref(),
            "input.contactId",
        )
        .await?;
        let row = write(ctx, move |c| deadlines::create(c, input)).await?;
        Ok(Some(DeadlinePayload {
            deadline: Deadline(row),
        }))
    }

    async fn update_deadline(
        &self,
        ctx: &Context<'_>,
        input: UpdateDeadlineInput,
    ) -> async_graphql::Result<Option<DeadlinePayload>> {
        rows::require_visible(ctx, NodeType::Deadline, &input.id, "input.id").await?;
        rows::require_visible_opt(
            ctx,
            NodeType::Matter,
            input.matter_id.value(),
            "input.matterId",
        )
        .await?;
        rows::require_visible_opt(
            ctx,
            NodeType::Contact,
            input.contact_id.value(),
            "input.contactId",
        )
        .await?;
        let row = write(ctx, move |c| deadlines::update(c, input)).await?;
        Ok(Some(DeadlinePayload {
            deadline: Deadline(row),
        }))
    }

    /// Marks a deadline done and records when.
    async fn complete_deadline(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> async_graphql::Result<Option<DeadlinePayload>> {
        rows::require_visible(ctx, NodeType::Deadline, &input.id, "input.id").await?;
        let key = input.key(NodeType::Deadline)?;
        let row = write(ctx, move |c| deadlines::complete(c, &key)).await?;
        Ok(Some(DeadlinePayload {
            deadline: Deadline(row),
        }))
    }

    async fn delete_deadline(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        rows::require_visible(ctx, NodeType::Deadline, &input.id, "input.id").await?;
        let key = input.key(NodeType::Deadline)?;
        write(ctx, move |c| deadlines::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }
}
