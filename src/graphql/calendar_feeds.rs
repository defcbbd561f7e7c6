//! Calendar feeds in the GraphQL API: a user creates, lists and revokes their own.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::calendar_feeds::{self, CalendarFeedRow};
use crate::error::{Error, GraphqlResult};
use crate::graphql::context::{read, write};
use crate::graphql::field_guard::access;
use crate::graphql::DeleteInput;
use crate::ids::{self, NodeType};

/// A subscription URL of the caller's deadlines and hearings, for any calendar application.
pub struct CalendarFeed(CalendarFeedRow);

/// A subscription URL of the caller's deadlines and hearings, for any calendar application. Its
/// token is stored hashed: the URL is shown once, when the feed is created.
#[Object]
impl CalendarFeed {
    /// The feed's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::CalendarFeed, &self.0.id)
    }

    /// When the feed was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the feed was revoked (UTC, ISO 8601); null while it is live.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.map(|t| t.and_utc())
    }

    /// When a calendar last fetched the feed (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.map(|t| t.and_utc())
    }
}

/// The answer to `createCalendarFeed`.
#[derive(SimpleObject)]
pub struct CreateCalendarFeedPayload {
    /// The new feed.
    feed: CalendarFeed,
    /// The feed's path on this server, `/ical/{token}.ics`: shown only here. Whoever has it
    /// reads the feed, so treat it as a password; revoke the feed if it leaks.
    path: String,
}

/// The answer to `revokeCalendarFeed`.
#[derive(SimpleObject)]
pub struct CalendarFeedPayload {
    /// The feed as it now stands.
    feed: CalendarFeed,
}

/// Feeds belong to users: an API key has no deadlines of its own.
fn caller_user(ctx: &Context<'_>) -> async_graphql::Result<String> {
    access(ctx)
        .user_id()
        .map(str::to_owned)
        .ok_or_else(|| Error::forbidden(None, "calendar feeds belong to users; log in as one"))
        .gql()
}

#[derive(Default)]
pub struct CalendarFeedQueries;

#[Object]
impl CalendarFeedQueries {
    /// The caller's calendar feeds, newest first.
    async fn calendar_feeds(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CalendarFeed>> {
        let user = caller_user(ctx)?;
        let feeds = read(ctx, move |c| calendar_feeds::list(c, &user)).await?;
        Ok(feeds.into_iter().map(CalendarFeed).collect())
    }
}

#[derive(Default)]
pub struct CalendarFeedMutations;

#[Object]
impl CalendarFeedMutations {
    /// A new feed of the caller's deadlines and hearings.
    async fn create_calendar_feed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<CreateCalendarFeedPayload>> {
        let user = caller_user(ctx)?;
        let (row, token) = write(ctx, move |c| calendar_feeds::create(c, &user)).await?;
        Ok(Some(CreateCalendarFeedPayload {
            feed: CalendarFeed(row),
            path: format!("/ical/{token}.ics"),
        }))
    }

    /// Ends one of the caller's feeds: its URL answers 404 from now on.
    async fn revoke_calendar_feed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The feed to revoke: one of the caller's own.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<CalendarFeedPayload>> {
        let user = caller_user(ctx)?;
        let key = input.key(NodeType::CalendarFeed)?;
        let row = write(ctx, move |c| calendar_feeds::revoke(c, &user, &key)).await?;
        Ok(Some(CalendarFeedPayload {
            feed: CalendarFeed(row),
        }))
    }
}
