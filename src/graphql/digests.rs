//! The daily digest in the GraphQL API: a user turns their own on or off and reads it back.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::deadlines::digest::{self, DigestSettingRow, SetDailyDigestInput};
use crate::error::{Error, GraphqlResult};
use crate::graphql::context::{read, write};
use crate::graphql::field_guard::access;

/// A user's daily email of the open deadlines and tasks they may see, due today and in the
/// next days.
pub struct DailyDigest(DigestSettingRow);

/// A user's daily email of the open deadlines and tasks of their matters and assigned to
/// them or their teams, due today and in the next `daysAhead` days; nothing is sent on a day
/// with nothing to list.
#[Object]
impl DailyDigest {
    /// Whether the digest is sent.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// The hour of the day (0-23, in `timeZone`) it is sent at.
    async fn hour(&self) -> i32 {
        self.0.hour
    }

    /// The IANA time zone of the hour and of "today".
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }

    /// How many days after today it looks ahead.
    async fn days_ahead(&self) -> i32 {
        self.0.days_ahead
    }

    /// When the setting last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// The answer to `setDailyDigest`.
#[derive(SimpleObject)]
pub struct DailyDigestPayload {
    /// The setting as saved.
    daily_digest: DailyDigest,
}

/// Digests belong to users: an API key has no deadlines of its own.
fn caller_user(ctx: &Context<'_>) -> async_graphql::Result<String> {
    access(ctx)
        .user_id()
        .map(str::to_owned)
        .ok_or_else(|| Error::forbidden(None, "daily digests belong to users; log in as one"))
        .gql()
}

#[derive(Default)]
pub struct DailyDigestQueries;

#[Object]
impl DailyDigestQueries {
    /// The caller's daily digest setting; null until they choose one (no digest is sent).
    async fn daily_digest(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DailyDigest>> {
        let user = caller_user(ctx)?;
        let row = read(ctx, move |c| digest::get(c, &user)).await?;
        Ok(row.map(DailyDigest))
    }
}

#[derive(Default)]
pub struct DailyDigestMutations;

#[Object]
impl DailyDigestMutations {
    /// Turns the caller's daily digest on or off, and chooses its hour, time zone and how many
    /// days it looks ahead.
    async fn set_daily_digest(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The caller's choice.")] input: SetDailyDigestInput,
    ) -> async_graphql::Result<Option<DailyDigestPayload>> {
        let user = caller_user(ctx)?;
        let row = write(ctx, move |c| digest::set(c, &user, input)).await?;
        Ok(Some(DailyDigestPayload {
            daily_digest: DailyDigest(row),
        }))
    }
}
