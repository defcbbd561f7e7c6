//! Campaigns in the GraphQL API.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::access_policy::Scope;
use crate::campaigns::audience::AudienceBasis;
use crate::campaigns::sending::{self, Delivery};
use crate::campaigns::{
    self, CampaignFilter, CampaignRow, CampaignStatus, CreateCampaignInput, UpdateCampaignInput,
};
use crate::contacts::{self, ContactFilter, ContactQuery, TextSearchScope};
use crate::error::GraphqlResult;
use crate::gdpr::unsubscribe::UnsubscribeLinks;
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, read, state, write, write_about};
use crate::graphql::field_guard::SubjectRead;
use crate::graphql::loaders::ContactById;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::{DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::mail::MessageStatus;

/// A marketing campaign or newsletter.
pub struct Campaign(pub CampaignRow);

impl From<CampaignRow> for Campaign {
    fn from(row: CampaignRow) -> Self {
        Campaign(row)
    }
}

/// A marketing campaign or newsletter for one processing purpose; its audience is the contacts its
/// filter matches that may lawfully receive it. Admins, partners and marketing read campaigns.
#[Object]
impl Campaign {
    /// The campaign's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Campaign, &self.0.id)
    }

    /// The campaign's name, e.g. "Newsletter giuslavoristica, marzo".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The processing purpose the campaign serves.
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }

    /// Where the campaign is in its life; a sent or cancelled campaign keeps its status.
    async fn status(&self) -> async_graphql::Result<CampaignStatus> {
        CampaignStatus::from_db(&self.0.status).gql()
    }

    /// Free text about the campaign; null when none.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Which contacts the campaign is aimed at.
    async fn audience_filter(&self) -> async_graphql::Result<ContactFilter> {
        self.0.audience().gql()
    }

    /// How many contacts the audience filter matches now, before the GDPR checks.
    async fn matching_contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let query = ContactQuery::new(self.0.audience().gql()?)
            .gql()?
            .searching(TextSearchScope::NAMES_AND_EMAILS);
        let rules = state(ctx).contact_rules.clone();
        // The audience is drawn from the whole firm: campaigns are firm-wide records, which
        // the field policy alone guards.
        read(ctx, move |c| {
            contacts::count(c, &Scope::Firm, &query, &rules)
        })
        .await
    }

    /// How many contacts the campaign may reach now (see `campaignAudience`): never more
    /// than those with a valid ground, not restricted, not objecting, not suppressed.
    async fn audience_size(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let recipients = crate::graphql::gdpr::campaign_recipients(ctx, self.0.clone()).await?;
        Ok(recipients.len() as i64)
    }

    /// About services analogous to those clients already bought (soft-spam exception).
    async fn analogous_services(&self) -> bool {
        self.0.analogous_services
    }

    /// When the campaign is to be sent (UTC, ISO 8601); null while unscheduled.
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at.map(|t| t.and_utc())
    }

    /// When the campaign was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the campaign last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }

    /// The campaign's messages by where their delivery stands.
    async fn delivery_counts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<CampaignDeliveryCounts> {
        let id = self.0.id.clone();
        let counts = read(ctx, move |c| sending::counts(c, &id)).await?;
        Ok(CampaignDeliveryCounts {
            pending: counts.pending,
            sent: counts.sent,
            failed: counts.failed,
            unsubscribed: counts.unsubscribed,
        })
    }

    /// Who the campaign was sent to, one record per recipient, oldest first: the address, the
    /// basis the send rested on and the message's delivery state.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn deliveries(
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
    ) -> async_graphql::Result<Option<Paged<CampaignDelivery>>> {
        let (count_id, id) = (self.0.id.clone(), self.0.id.clone());
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| sending::count_deliveries(c, &count_id),
            move |c, page| sending::deliveries(c, &id, page),
        )
        .await
        .map(Some)
    }
}

/// A campaign's messages by where their delivery stands.
#[derive(SimpleObject)]
pub struct CampaignDeliveryCounts {
    /// Queued, waiting for their (next) attempt.
    pub pending: i64,
    /// Accepted by the SMTP server.
    pub sent: i64,
    /// Given up (refused for good, or too many attempts).
    pub failed: i64,
    /// Recipients who used the message's unsubscribe link.
    pub unsubscribed: i64,
}

/// One recipient's copy of a campaign.
pub struct CampaignDelivery(Delivery);

impl From<Delivery> for CampaignDelivery {
    fn from(delivery: Delivery) -> Self {
        CampaignDelivery(delivery)
    }
}

/// One recipient's copy of a campaign: who it went to, the basis the send rested on when it
/// was queued, and where its delivery stands.
#[Object(guard = "SubjectRead::new(\"CampaignDelivery\", Some(&self.0.row.contact_id))")]
impl CampaignDelivery {
    /// The contact it went to; null if the caller may not see them.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        Ok(loader(ctx)
            .load_one(ContactById(self.0.row.contact_id.clone()))
            .await?
            .map(Contact::from))
    }

    /// The address it went to.
    async fn recipient(&self) -> &str {
        &self.0.row.recipient
    }

    /// The basis the send rested on.
    async fn basis(&self) -> async_graphql::Result<AudienceBasis> {
        self.0.basis().gql()
    }

    /// The processing ground relied on (none for the soft-spam exception).
    async fn ground_id(&self) -> Option<ID> {
        self.0
            .row
            .ground_id
            .as_ref()
            .map(|id| ids::encode(NodeType::ProcessingGround, id))
    }

    /// The consent relied on, for a send on consent.
    async fn consent_id(&self) -> Option<ID> {
        self.0
            .row
            .consent_id
            .as_ref()
            .map(|id| ids::encode(NodeType::Consent, id))
    }

    /// The legitimate-interest assessment relied on, for a send on legitimate interest.
    async fn assessment_id(&self) -> Option<ID> {
        self.0
            .row
            .assessment_id
            .as_ref()
            .map(|id| ids::encode(NodeType::Assessment, id))
    }

    /// Where delivery stands; null if the message was removed.
    async fn status(&self) -> async_graphql::Result<Option<MessageStatus>> {
        self.0
            .message
            .as_ref()
            .map(|m| MessageStatus::from_db(&m.status))
            .transpose()
            .gql()
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.message.as_ref().map_or(0, |m| m.attempts)
    }

    /// Why the last attempt failed (the SMTP server's reply, or why it could not be reached).
    async fn last_error(&self) -> Option<&str> {
        self.0
            .message
            .as_ref()
            .and_then(|m| m.last_error.as_deref())
    }

    /// When the message was queued (UTC, ISO 8601).
    async fn queued_at(&self) -> DateTime<Utc> {
        self.0.row.queued_at.and_utc()
    }

    /// When the SMTP server accepted it (UTC, ISO 8601); null until then.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .message
            .as_ref()
            .and_then(|m| m.sent_at)
            .map(|t| t.and_utc())
    }

    /// When the recipient used the message's unsubscribe link (UTC, ISO 8601); null if not.
    async fn unsubscribed_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.unsubscribed_at.map(|t| t.and_utc())
    }
}

/// Which campaign `sendCampaign` sends.
#[derive(InputObject)]
pub struct SendCampaignInput {
    /// The `Campaign` to send.
    pub id: ID,
}

/// The answer to `sendCampaign`.
#[derive(SimpleObject)]
pub struct SendCampaignPayload {
    /// The campaign after the send: sending while messages wait, sent when none does.
    pub campaign: Campaign,
    /// Messages this send queued: one per recipient not sent the campaign before.
    pub queued: i32,
    /// Recipients who qualify now but were sent the campaign before: not sent it again.
    pub already_sent: i32,
}

/// The answer to `createCampaign` and `updateCampaign`.
#[derive(SimpleObject)]
pub struct CampaignPayload {
    /// The campaign as saved.
    pub campaign: Campaign,
}

#[derive(Default)]
pub struct CampaignQueries;

#[Object]
impl CampaignQueries {
    /// Campaigns, newest first.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only campaigns matching this filter; all when omitted.")] filter: Option<
            CampaignFilter,
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
    ) -> async_graphql::Result<Option<Paged<Campaign>>> {
        let filter = filter.unwrap_or_default();
        let count_filter = filter.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| campaigns::count(c, &count_filter),
            move |c, page| campaigns::list(c, &filter, page),
        )
        .await
        .map(Some)
    }
}

#[derive(Default)]
pub struct CampaignMutations;

#[Object]
impl CampaignMutations {
    /// Creates a campaign: scheduled when `scheduledAt` is given, a draft otherwise. Admins,
    /// partners and marketing.
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new campaign.")] input: CreateCampaignInput,
    ) -> async_graphql::Result<Option<CampaignPayload>> {
        let row = write(ctx, move |c| campaigns::create(c, input)).await?;
        Ok(Some(CampaignPayload {
            campaign: Campaign(row),
        }))
    }

    /// Changes a campaign; fields left out keep their value. A sent or cancelled campaign cannot
    /// change status. Admins, partners and marketing.
    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign's ID and the fields to change.")] input: UpdateCampaignInput,
    ) -> async_graphql::Result<Option<CampaignPayload>> {
        let row = write(ctx, move |c| campaigns::update(c, input)).await?;
        Ok(Some(CampaignPayload {
            campaign: Campaign(row),
        }))
    }

    /// Sends a campaign: computes its audience now (grounds, consents and double opt-in,
    /// objections, suppression, restriction) and queues one message to each recipient not
    /// sent it before, with a one-click unsubscribe link (RFC 8058), recording the basis of
    /// each send. Sending again reaches only those who qualify since; nobody gets it twice.
    /// The message is the campaign's name as subject and its description as text. Admins,
    /// partners and marketing.
    async fn send_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign to send.")] input: SendCampaignInput,
    ) -> async_graphql::Result<Option<SendCampaignPayload>> {
        let id = ids::decode(NodeType::Campaign, &input.id, "input.id").gql()?;
        let app = state(ctx);
        let (gdpr, rules) = (app.gdpr.clone(), app.contact_rules.clone());
        let links = UnsubscribeLinks {
            hasher: app.gdpr.hasher.clone(),
            base_url: app.public_base_url.clone(),
        };
        let outcome = write_about(
            ctx,
            move |c| sending::send(c, &Scope::Firm, &gdpr, &rules, &links, &id),
            |outcome| outcome.contacts.clone(),
        )
        .await?;
        Ok(Some(SendCampaignPayload {
            campaign: Campaign(outcome.campaign),
            queued: i32::try_from(outcome.queued).unwrap_or(i32::MAX),
            already_sent: i32::try_from(outcome.already_sent).unwrap_or(i32::MAX),
        }))
    }

    /// Deletes a campaign that has not been sent (a sent one keeps its send records: cancel
    /// it instead). Admins, partners and marketing.
    async fn delete_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Campaign` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = input.key(NodeType::Campaign)?;
        write(ctx, move |c| campaigns::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }
}
