//! Campaigns in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::campaigns::{
    self, CampaignFilter, CampaignRow, CampaignStatus, CreateCampaignInput, UpdateCampaignInput,
};
use crate::contacts::{self, ContactFilter, ContactQuery, TextSearchScope};
use crate::error::GraphqlResult;
use crate::graphql::context::{read, state, write};
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::{DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};

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
        read(ctx, move |c| contacts::count(c, &query, &rules)).await
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

    /// Deletes a campaign. Admins, partners and marketing.
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
