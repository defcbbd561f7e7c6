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

#[Object]
impl Campaign {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Campaign, &self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The processing purpose the campaign serves.
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }

    async fn status(&self) -> async_graphql::Result<CampaignStatus> {
        CampaignStatus::from_db(&self.0.status).gql()
    }

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

    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at.map(|t| t.and_utc())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

#[derive(SimpleObject)]
pub struct CampaignPayload {
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
        filter: Option<CampaignFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
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
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        input: CreateCampaignInput,
    ) -> async_graphql::Result<Option<CampaignPayload>> {
        let row = write(ctx, move |c| campaigns::create(c, input)).await?;
        Ok(Some(CampaignPayload {
            campaign: Campaign(row),
        }))
    }

    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        input: UpdateCampaignInput,
    ) -> async_graphql::Result<Option<CampaignPayload>> {
        let row = write(ctx, move |c| campaigns::update(c, input)).await?;
        Ok(Some(CampaignPayload {
            campaign: Campaign(row),
        }))
    }

    async fn delete_campaign(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = input.key(NodeType::Campaign)?;
        write(ctx, move |c| campaigns::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }
}
