//! Retention in the GraphQL API: the policies (the DPO's) and running them now.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::error::GraphqlResult;
use crate::graphql::context::{loader, read, state};
use crate::graphql::field_guard::access;
use crate::graphql::gdpr::Purpose;
use crate::graphql::loaders::PurposeById;
use crate::ids::{self, NodeType};
use crate::personal_data::retention::{
    self, CreateRetentionPolicyInput, PurposeCategory, RetentionCategory, RetentionPolicyRow,
    RetentionSummary, UpdateRetentionPolicyInput,
};

/// How long data of one category (and purpose) is kept.
pub struct RetentionPolicy(pub RetentionPolicyRow);

/// How long data of one category (and purpose) is kept before a retention run ends, erases or
/// anonymises it. Admins and the DPO read the policies; the DPO changes them.
#[Object]
impl RetentionPolicy {
    /// The policy's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::RetentionPolicy, &self.0.id)
    }

    /// The policy's name, e.g. "Newsletter consent: 24 months".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the policy limits.
    async fn category(&self) -> async_graphql::Result<RetentionCategory> {
        RetentionCategory::from_db(&self.0.category).gql()
    }

    /// The purpose whose grounds the policy limits (processing-ground policies).
    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        let Some(id) = &self.0.purpose_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(PurposeById(id.clone()))
            .await?
            .map(Purpose))
    }

    /// The category of purposes whose grounds the policy limits, when it covers every purpose
    /// of a category rather than one purpose.
    async fn purpose_category(&self) -> async_graphql::Result<Option<PurposeCategory>> {
        self.0
            .purpose_category
            .as_deref()
            .map(PurposeCategory::from_db)
            .transpose()
            .gql()
    }

    /// How long the data is kept, in months from the start of its clock.
    async fn months(&self) -> i32 {
        self.0.months
    }

    /// A logged call, meeting or video call with the person restarts the clock.
    async fn renew_on_contact(&self) -> bool {
        self.0.renew_on_contact
    }

    /// Why this period, e.g. the rule it follows; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Whether retention runs apply the policy.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// When the policy last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// The answer to `createRetentionPolicy` and `updateRetentionPolicy`.
#[derive(SimpleObject)]
pub struct RetentionPolicyPayload {
    /// The policy as saved.
    pub policy: RetentionPolicy,
}

#[derive(Default)]
pub struct RetentionQueries;

#[Object]
impl RetentionQueries {
    /// The retention policies, by category.
    async fn retention_policies(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<RetentionPolicy>>> {
        let rows = read(ctx, retention::list).await?;
        Ok(Some(rows.into_iter().map(RetentionPolicy).collect()))
    }
}

#[derive(Default)]
pub struct RetentionMutations;

#[Object]
impl RetentionMutations {
    /// Adds a retention policy. The DPO only.
    async fn create_retention_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new policy.")] input: CreateRetentionPolicyInput,
    ) -> async_graphql::Result<Option<RetentionPolicyPayload>> {
        let row = crate::graphql::context::write(ctx, move |c| retention::create(c, input)).await?;
        Ok(Some(RetentionPolicyPayload {
            policy: RetentionPolicy(row),
        }))
    }

    /// Changes a retention policy; fields left out keep their value. The DPO only.
    async fn update_retention_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The policy's ID and the fields to change.")]
        input: UpdateRetentionPolicyInput,
    ) -> async_graphql::Result<Option<RetentionPolicyPayload>> {
        let row = crate::graphql::context::write(ctx, move |c| retention::update(c, input)).await?;
        Ok(Some(RetentionPolicyPayload {
            policy: RetentionPolicy(row),
        }))
    }

    /// Applies the retention policies now, as the scheduled run does; with `dryRun` it
    /// reports what would change and changes nothing.
    async fn run_retention(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Report what would change without changing anything (default false)."
        )]
        dry_run: bool,
    ) -> async_graphql::Result<Option<RetentionSummary>> {
        let by = access(ctx).principal_id();
        let log = crate::graphql::context::change_log(ctx);
        let summary = retention::run_logged(
            &state(ctx).db,
            &state(ctx).gdpr.hasher,
            dry_run,
            by,
            std::sync::Arc::new(|_, _| {}),
            log.clone(),
        )
        .await;
        crate::graphql::context::change_log_done(ctx, log.as_ref());
        Ok(Some(summary.gql()?))
    }
}
