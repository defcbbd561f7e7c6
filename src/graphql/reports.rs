//! Reports in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::communications::Channel;
use crate::contacts::ContactCategory;
use crate::error::{Error, GraphqlResult};
use crate::graphql::context::{loader, read};
use crate::graphql::directory::{Team, User};
use crate::graphql::loaders::{MatterById, TeamById, UserById};
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

/// Billable time not yet invoiced, of one matter or one lawyer.
#[derive(SimpleObject)]
pub struct UnbilledTime {
    /// The matter, in the per-matter report.
    pub matter: Option<crate::graphql::matters::Matter>,
    /// The timekeeper, in the per-lawyer report (null there for a deleted user's time).
    pub user: Option<User>,
    /// How many time entries.
    pub entries: i64,
    /// Their minutes.
    pub minutes: i64,
    /// Their value at their rates, in cents.
    pub amount_cents: i64,
}

/// What was invoiced in one month.
#[derive(SimpleObject)]
pub struct MonthlyInvoiced {
    /// YYYY-MM, by date of issue.
    pub month: String,
    /// How many invoices were issued (cancelled ones left out).
    pub invoices: i64,
    /// Their fees, in cents.
    pub net_cents: i64,
    /// Their totals (fees, contribution and VAT), in cents.
    pub total_cents: i64,
}

/// What was collected in one month.
#[derive(SimpleObject)]
pub struct MonthlyCollected {
    /// YYYY-MM, by the day the money arrived.
    pub month: String,
    /// How many payments.
    pub payments: i64,
    /// Their sum, in cents.
    pub amount_cents: i64,
}

fn check_dates(from: chrono::NaiveDate, to: chrono::NaiveDate) -> async_graphql::Result<()> {
    if to < from {
        return Err(Error::invalid("to", "`to` must not be before `from`")).gql();
    }
    Ok(())
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

    /// Billable time not yet invoiced, per matter.
    async fn unbilled_time_per_matter(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<UnbilledTime>>> {
        let rows = read(ctx, reports::billing::unbilled_per_matter).await?;
        let matters = loader(ctx)
            .load_many(rows.iter().filter_map(|r| r.key.clone()).map(MatterById))
            .await?;
        Ok(Some(
            rows.into_iter()
                .map(|r| UnbilledTime {
                    matter: r
                        .key
                        .and_then(|k| matters.get(&MatterById(k)).cloned())
                        .map(crate::graphql::matters::Matter),
                    user: None,
                    entries: r.entries,
                    minutes: r.minutes,
                    amount_cents: r.amount_cents,
                })
                .collect(),
        ))
    }

    /// Billable time not yet invoiced, per timekeeper.
    async fn unbilled_time_per_lawyer(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<UnbilledTime>>> {
        let rows = read(ctx, reports::billing::unbilled_per_lawyer).await?;
        let users = loader(ctx)
            .load_many(rows.iter().filter_map(|r| r.key.clone()).map(UserById))
            .await?;
        Ok(Some(
            rows.into_iter()
                .map(|r| UnbilledTime {
                    matter: None,
                    user: r
                        .key
                        .and_then(|k| users.get(&UserById(k)).cloned())
                        .map(User),
                    entries: r.entries,
                    minutes: r.minutes,
                    amount_cents: r.amount_cents,
                })
                .collect(),
        ))
    }

    /// Invoices issued per month in `[from, to]` (dates of issue; cancelled ones left out).
    async fn invoiced_per_month(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day of the period (ISO 8601 date, inclusive).")]
        from: chrono::NaiveDate,
        #[graphql(desc = "Last day of the period (ISO 8601 date, inclusive); not before `from`.")]
        to: chrono::NaiveDate,
    ) -> async_graphql::Result<Option<Vec<MonthlyInvoiced>>> {
        check_dates(from, to)?;
        let rows = read(ctx, move |c| {
            reports::billing::invoiced_per_month(c, from, to)
        })
        .await?;
        Ok(Some(
            rows.into_iter()
                .map(|r| MonthlyInvoiced {
                    month: r.month,
                    invoices: r.invoices,
                    net_cents: r.net_cents,
                    total_cents: r.total_cents,
                })
                .collect(),
        ))
    }

    /// Payments received per month in `[from, to]`.
    async fn collected_per_month(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day of the period (ISO 8601 date, inclusive).")]
        from: chrono::NaiveDate,
        #[graphql(desc = "Last day of the period (ISO 8601 date, inclusive); not before `from`.")]
        to: chrono::NaiveDate,
    ) -> async_graphql::Result<Option<Vec<MonthlyCollected>>> {
        check_dates(from, to)?;
        let rows = read(ctx, move |c| {
            reports::billing::collected_per_month(c, from, to)
        })
        .await?;
        Ok(Some(
            rows.into_iter()
                .map(|(month, payments, amount_cents)| MonthlyCollected {
                    month,
                    payments,
                    amount_cents,
                })
                .collect(),
        ))
    }
}
