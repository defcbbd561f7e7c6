//! Reports in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::communications::Channel;
use crate::contacts::ContactCategory;
use crate::error::{Error, GraphqlResult};
use crate::graphql::context::{loader, read};
use crate::graphql::directory::{Team, User};
use crate::graphql::loaders::{TeamById, UserById};
use crate::matters::MatterStatus;
use crate::reports;

/// How many matters have one status in one practice area.
#[derive(SimpleObject)]
pub struct MatterStatusCount {
    /// The matters' status.
    pub status: MatterStatus,
    /// The matters' practice area.
    pub practice_area: String,
    /// How many matters.
    pub count: i64,
}

/// Open deadlines assigned to one user or one team.
#[derive(SimpleObject)]
pub struct AssigneeDeadlineCount {
    /// Set when the deadlines are assigned to a user.
    pub user: Option<User>,
    /// Set when the deadlines are assigned to a team.
    pub team: Option<Team>,
    /// How many open deadlines.
    pub count: i64,
}

/// How many communications took place in one month on one channel.
#[derive(SimpleObject)]
pub struct MonthlyChannelCount {
    /// YYYY-MM (UTC).
    pub month: String,
    /// The channel.
    pub channel: Channel,
    /// How many communications.
    pub count: i64,
}

/// How many contacts of one category were created in one month.
#[derive(SimpleObject)]
pub struct MonthlyCategoryCount {
    /// YYYY-MM (UTC).
    pub month: String,
    /// The contacts' category.
    pub category: ContactCategory,
    /// How many contacts were created.
    pub count: i64,
}

fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> async_graphql::Result<()> {
    if to <= from {
        return Err(Error::invalid("to", "`to` must be after `from`")).gql();
    }
    Ok(())
}

/// Aggregate figures for management.
#[derive(Default)]
pub struct Reports;

/// Aggregate figures for management, over the whole firm. Admins, partners, staff and marketing.
#[Object]
impl Reports {
    /// How many matters there are per status and practice area.
    async fn matters_by_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<MatterStatusCount>>> {
        let rows = read(ctx, reports::matters_by_status_and_area).await?;
        rows.into_iter()
            .map(|r| {
                Ok(Some(MatterStatusCount {
                    status: MatterStatus::from_db(&r.status).gql()?,
                    practice_area: r.practice_area,
                    count: r.count,
                }))
            })
            .collect()
    }

    /// Open deadlines due in `[from, to)` per assigned user and team.
    async fn open_deadlines_per_assignee(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the period (ISO 8601, inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the period (ISO 8601, exclusive); after `from`.")] to: DateTime<
            Utc,
        >,
    ) -> async_graphql::Result<Option<Vec<AssigneeDeadlineCount>>> {
        check_range(from, to)?;
        let counts = read(ctx, move |c| {
            reports::open_deadlines_per_assignee(c, from, to)
        })
        .await?;
        let users = loader(ctx)
            .load_many(counts.per_user.iter().map(|(id, _)| UserById(id.clone())))
            .await?;
        let teams = loader(ctx)
            .load_many(counts.per_team.iter().map(|(id, _)| TeamById(id.clone())))
            .await?;
        let per_user = counts
            .per_user
            .into_iter()
            .map(|(id, count)| AssigneeDeadlineCount {
                user: users.get(&UserById(id)).cloned().map(User),
                team: None,
                count,
            });
        let per_team = counts
            .per_team
            .into_iter()
            .map(|(id, count)| AssigneeDeadlineCount {
                user: None,
                team: teams.get(&TeamById(id)).cloned().map(Team),
                count,
            });
        Ok(Some(per_user.chain(per_team).collect()))
    }

    /// Communications per month and channel in `[from, to)`.
    async fn communications_per_month(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the period (ISO 8601, inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the period (ISO 8601, exclusive); after `from`.")] to: DateTime<
            Utc,
        >,
    ) -> async_graphql::Result<Option<Vec<MonthlyChannelCount>>> {
        check_range(from, to)?;
        let rows = read(ctx, move |c| reports::communications_per_month(c, from, to)).await?;
        rows.into_iter()
            .map(|(month, channel, count)| {
                Ok(Some(MonthlyChannelCount {
                    month,
                    channel: Channel::from_db(&channel).gql()?,
                    count,
                }))
            })
            .collect()
    }

    /// New contacts per month and category in `[from, to)`.
    async fn new_contacts_per_month(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the period (ISO 8601, inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the period (ISO 8601, exclusive); after `from`.")] to: DateTime<
            Utc,
        >,
    ) -> async_graphql::Result<Option<Vec<MonthlyCategoryCount>>> {
        check_range(from, to)?;
        let rows = read(ctx, move |c| reports::new_contacts_per_month(c, from, to)).await?;
        rows.into_iter()
            .map(|(month, category, count)| {
                Ok(Some(MonthlyCategoryCount {
                    month,
                    category: ContactCategory::from_db(&category).gql()?,
                    count,
                }))
            })
            .collect()
    }
}
