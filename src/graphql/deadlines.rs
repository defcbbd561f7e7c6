//! Deadlines and tasks in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::deadlines::terms::{
    self, Computation, DeadlineTermInput, TermDirection, TermRule, TermRules, TermUnit,
};
use crate::deadlines::{
    self, CreateDeadlineInput, DeadlineFilter, DeadlineKind, DeadlineQuery, DeadlineRow,
    DeadlineStatus, UpdateDeadlineInput,
};
use crate::error::GraphqlResult;
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, state, write};
use crate::graphql::directory::{Team, User};
use crate::graphql::loaders::*;
use crate::graphql::matters::Matter;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::visibility;
use crate::graphql::{DeleteInput, DeletePayload};
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

/// A court deadline, hearing, filing or internal task, usually of a matter, with the people and
/// teams who must meet it. Casework roles; lawyers and trainees see those of their matters and
/// those assigned to them.
#[Object]
impl Deadline {
    /// The deadline's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Deadline, &self.0.id)
    }

    /// A short title, e.g. "Deposito comparsa conclusionale".
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What sort of deadline it is.
    async fn kind(&self) -> async_graphql::Result<DeadlineKind> {
        DeadlineKind::from_db(&self.0.kind).gql()
    }

    /// Free-text details; null when none.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// When it falls due (UTC, ISO 8601).
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at.and_utc()
    }

    /// Whether it is open, done or cancelled.
    async fn status(&self) -> async_graphql::Result<DeadlineStatus> {
        DeadlineStatus::from_db(&self.0.status).gql()
    }

    /// When it was marked done (UTC, ISO 8601); null unless done.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at.map(|t| t.and_utc())
    }

    /// Open and past its due time.
    async fn overdue(&self) -> bool {
        self.0.status == DeadlineStatus::Open.as_str() && self.0.due_at < Utc::now().naive_utc()
    }

    /// The matter it belongs to; null when none, or null with a `FORBIDDEN` error when the caller
    /// is not on that matter.
    async fn matter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Matter>> {
        let Some(id) = &self.0.matter_id else {
            return Ok(None);
        };
        visibility::referenced_matter(ctx, id).await
    }

    /// The contact it concerns; null when none, or null with a `FORBIDDEN` error when the caller
    /// may not see the contact.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.contact_id else {
            return Ok(None);
        };
        visibility::referenced_contact(ctx, id).await
    }

    /// The users who must meet it.
    async fn assigned_users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let users = loader(ctx)
            .load_one(AssignedUsersOf(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(users.into_iter().map(User).collect())
    }

    /// The teams who must meet it.
    async fn assigned_teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        let teams = loader(ctx)
            .load_one(AssignedTeamsOf(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(teams.into_iter().map(Team).collect())
    }

    /// Minutes before the due time at which reminders fire, largest first.
    async fn reminder_offsets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<i32>> {
        Ok(loader(ctx)
            .load_one(RemindersOf(self.0.id.clone()))
            .await?
            .unwrap_or_default())
    }

    /// When it was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When it last changed (UTC, ISO 8601).
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

/// One reminder message to one person, through the outbox: its delivery state.
#[Object]
impl ReminderDelivery {
    /// The address it goes to.
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }

    /// The firm user it goes to; null if the user was since deleted.
    async fn recipient_user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = &self.0.user_id else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(UserById(id.clone())).await?.map(User))
    }

    /// Where delivery stands.
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

    /// When the reminder was queued (UTC, ISO 8601).
    async fn queued_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the SMTP server accepted it (UTC, ISO 8601); null until then.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at.map(|t| t.and_utc())
    }
}

/// The answer to the deadline mutations.
#[derive(SimpleObject)]
pub struct DeadlinePayload {
    /// The deadline as saved.
    pub deadline: Deadline,
    /// How the due date was computed, when the deadline was created from a term.
    pub term_computation: Option<DeadlineComputation>,
}

impl DeadlinePayload {
    fn of(row: DeadlineRow) -> DeadlinePayload {
        DeadlinePayload {
            deadline: Deadline(row),
            term_computation: None,
        }
    }
}

/// The last day of a procedural term and the rules that moved it there.
#[derive(SimpleObject)]
pub struct DeadlineComputation {
    /// The last day on which the act may be done.
    date: NaiveDate,
    /// The end of that day, Italian time: the due time of a deadline created from the term.
    expires_at: DateTime<Utc>,
    /// Whether the suspension of 1-31 August applied (no exemption was named).
    feriale_suspension_applied: bool,
    /// The rules that moved the date, in the order applied.
    steps: Vec<DeadlineStep>,
}

/// One rule's effect on the date.
#[derive(SimpleObject)]
pub struct DeadlineStep {
    /// The rule applied.
    rule: TermRule,
    /// The date before the rule applied (ISO 8601 date).
    from: NaiveDate,
    /// The date after it (ISO 8601 date).
    to: NaiveDate,
    /// Why the rule moved the date, citing the provision, in words.
    explanation: String,
}

impl DeadlineComputation {
    fn new(computed: Computation) -> async_graphql::Result<DeadlineComputation> {
        Ok(DeadlineComputation {
            date: computed.date,
            expires_at: terms::expiry(computed.date).gql()?,
            feriale_suspension_applied: computed.feriale_applies,
            steps: computed
                .steps
                .into_iter()
                .map(|s| DeadlineStep {
                    rule: s.rule,
                    from: s.from,
                    to: s.to,
                    explanation: s.explanation,
                })
                .collect(),
        })
    }
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
        #[graphql(
            desc = "Only deadlines matching this filter; all the caller may see when omitted."
        )]
        filter: Option<DeadlineFilter>,
        #[graphql(
            default_with = "SortDirection::Asc",
            desc = "`ASC` (default) for soonest first, `DESC` for latest first, by `dueAt`."
        )]
        order: SortDirection,
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
    ) -> async_graphql::Result<Option<Paged<Deadline>>> {
        let scope = visibility::scope(ctx).clone();
        let query = DeadlineQuery::new(filter.unwrap_or_default()).gql()?;
        let (count_scope, count_query) = (scope.clone(), query.clone());
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| deadlines::count(c, &count_scope, &count_query),
            move |c, page| deadlines::list(c, &scope, &query, order, page),
        )
        .await
        .map(Some)
    }

    /// The last day of a procedural term of the Italian civil process: days excluding the
    /// first (art. 155 c.1 c.p.c.), months and years by the calendar (c.2), the August
    /// suspension (L. 742/1969), holidays, Sundays and Saturdays (c.4, c.5).
    async fn compute_deadline(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The day of the event the term runs from (notification, hearing), ISO 8601 date."
        )]
        from: NaiveDate,
        #[graphql(desc = "The term's length in `unit`s, at least 1.")] amount: i32,
        #[graphql(desc = "Days, months or years.")] unit: TermUnit,
        #[graphql(
            default_with = "TermDirection::Forward",
            desc = "Forward from the event, or backward before it (e.g. twenty days before a hearing)."
        )]
        direction: TermDirection,
        #[graphql(
            desc = "Which special rules apply: free days, August exemptions, the act, the court."
        )]
        rules: Option<TermRules>,
    ) -> async_graphql::Result<Option<DeadlineComputation>> {
        let term = DeadlineTermInput {
            from,
            amount,
            unit,
            direction,
            rules,
        };
        let computed = term.compute("", &state(ctx).courts).gql()?;
        DeadlineComputation::new(computed).map(Some)
    }
}

#[derive(Default)]
pub struct DeadlineMutations;

#[Object]
impl DeadlineMutations {
    /// Creates a deadline or task, optionally of a matter and a contact the caller may see.
    /// Casework roles.
    async fn create_deadline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new deadline: give `dueAt` or a procedural `term`.")]
        mut input: CreateDeadlineInput,
    ) -> async_graphql::Result<Option<DeadlinePayload>> {
        visibility::require_visible_opt(
            ctx,
            NodeType::Matter,
            input.matter_id.as_ref(),
            "input.matterId",
        )
        .await?;
        visibility::require_visible_opt(
            ctx,
            NodeType::Contact,
            input.contact_id.as_ref(),
            "input.contactId",
        )
        .await?;
        let computed = deadlines::apply_term(&mut input, &state(ctx).courts).gql()?;
        let row = write(ctx, move |c| deadlines::create(c, input)).await?;
        Ok(Some(DeadlinePayload {
            deadline: Deadline(row),
            term_computation: computed.map(DeadlineComputation::new).transpose()?,
        }))
    }

    /// Changes a deadline the caller may see; fields left out keep their value. Casework roles.
    async fn update_deadline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deadline's ID and the fields to change.")] input: UpdateDeadlineInput,
    ) -> async_graphql::Result<Option<DeadlinePayload>> {
        visibility::require_visible(ctx, NodeType::Deadline, &input.id, "input.id").await?;
        visibility::require_visible_opt(
            ctx,
            NodeType::Matter,
            input.matter_id.value(),
            "input.matterId",
        )
        .await?;
        visibility::require_visible_opt(
            ctx,
            NodeType::Contact,
            input.contact_id.value(),
            "input.contactId",
        )
        .await?;
        let row = write(ctx, move |c| deadlines::update(c, input)).await?;
        Ok(Some(DeadlinePayload::of(row)))
    }

    /// Marks a deadline done and records when.
    async fn complete_deadline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Deadline` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeadlinePayload>> {
        visibility::require_visible(ctx, NodeType::Deadline, &input.id, "input.id").await?;
        let key = input.key(NodeType::Deadline)?;
        let row = write(ctx, move |c| deadlines::complete(c, &key)).await?;
        Ok(Some(DeadlinePayload::of(row)))
    }

    /// Deletes a deadline the caller may see. Admins, partners, lawyers and staff.
    async fn delete_deadline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Deadline` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        visibility::require_visible(ctx, NodeType::Deadline, &input.id, "input.id").await?;
        let key = input.key(NodeType::Deadline)?;
        write(ctx, move |c| deadlines::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }
}
