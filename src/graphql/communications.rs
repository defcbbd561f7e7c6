//! Communications in the GraphQL API.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::communications::{
    self, Channel, CommunicationFilter, CommunicationQuery, CommunicationRow, Direction,
    LogCommunicationInput, TextSearchScope, UpdateCommunicationInput,
};
use crate::contacts::ContactColumns;
use crate::error::{Error, GraphqlResult};
use crate::graphql::contacts::{columns_here, Contact};
use crate::graphql::context::{loader, read, write};
use crate::graphql::directory::User;
use crate::graphql::field_guard::{access, note_read_subjects, reads_personal};
use crate::graphql::loaders::*;
use crate::graphql::matters::Matter;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::visibility;
use crate::graphql::{DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::listing::SortDirection;

/// An email, PEC, call, meeting, video call or letter with contacts.
pub struct Communication(pub CommunicationRow);

impl From<CommunicationRow> for Communication {
    fn from(row: CommunicationRow) -> Self {
        Communication(row)
    }
}

/// Notes a communication's participants as read when a personal field of `type_name` (the
/// communication, its source or an attachment) is: what it says is about them.
struct ParticipantsRead<'a> {
    type_name: &'static str,
    communication_id: &'a str,
}

impl async_graphql::Guard for ParticipantsRead<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if reads_personal(ctx, self.type_name) {
            let participants = loader(ctx)
                .load_one(ParticipantsOf(
                    self.communication_id.to_owned(),
                    ContactColumns::Summary,
                ))
                .await?
                .unwrap_or_default();
            note_read_subjects(ctx, participants.iter().map(|p| p.contact.id()));
        }
        Ok(())
    }
}

/// An email, PEC, call, meeting, video call or letter with contacts, usually filed under a matter.
/// Casework roles read it; its subject, summary and body are withheld from administrative staff.
#[Object(guard = "ParticipantsRead { type_name: \"Communication\", communication_id: &self.0.id }")]
impl Communication {
    /// The communication's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Communication, &self.0.id)
    }

    /// How it took place.
    async fn channel(&self) -> async_graphql::Result<Channel> {
        Channel::from_db(&self.0.channel).gql()
    }

    /// Whether it came into the firm, went out of it, or stayed inside.
    async fn direction(&self) -> async_graphql::Result<Direction> {
        Direction::from_db(&self.0.direction).gql()
    }

    /// When it took place or was sent (UTC, ISO 8601).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at.and_utc()
    }

    /// The subject line or a short title; null when none. Not for administrative staff.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// What was said or written, in brief; null when none. Not for administrative staff.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }

    /// The matter it belongs to; null when none, or null with a `FORBIDDEN` error when the caller
    /// is not on that matter.
    async fn matter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Matter>> {
        let Some(id) = &self.0.matter_id else {
            return Ok(None);
        };
        visibility::referenced_matter(ctx, id).await
    }

    /// The contacts who took part, as far as the caller may see them.
    async fn participants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        let participants = loader(ctx)
            .load_one(ParticipantsOf(self.0.id.clone(), columns_here(ctx)))
            .await?
            .unwrap_or_default();
        Ok(participants
            .into_iter()
            .filter(|p| p.visible)
            .map(|p| Contact::from(p.contact))
            .collect())
    }

    /// The text body, kept only for communications imported by an instance that stores
    /// bodies.
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let id = self.0.id.clone();
        let import = read(ctx, move |c| communications::import_of(c, &id)).await?;
        Ok(import.and_then(|i| i.body))
    }

    /// The connector that imported it; none for communications logged in lexgate.
    async fn source(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<CommunicationSource>> {
        let id = self.0.id.clone();
        let import = read(ctx, move |c| communications::import_of(c, &id)).await?;
        Ok(import.map(|i| CommunicationSource {
            communication_id: self.0.id.clone(),
            connector: i.connector,
            message_id: i.message_id,
            imported_at: i.imported_at.and_utc(),
        }))
    }

    /// Attachments as metadata: their bytes are never kept.
    async fn attachments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CommunicationAttachment>> {
        let id = self.0.id.clone();
        let rows = read(ctx, move |c| communications::attachments_of(c, &id)).await?;
        Ok(rows
            .into_iter()
            .map(|a| CommunicationAttachment {
                communication_id: self.0.id.clone(),
                name: a.name,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
            })
            .collect())
    }

    /// The user who recorded it.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = &self.0.author_user_id else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(UserById(id.clone())).await?.map(User))
    }

    /// When it was recorded (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When it last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

pub struct CommunicationSource {
    communication_id: String,
    connector: Option<String>,
    message_id: String,
    imported_at: DateTime<Utc>,
}

/// Where an imported communication came from.
#[Object(
    guard = "ParticipantsRead { type_name: \"CommunicationSource\", communication_id: &self.communication_id }"
)]
impl CommunicationSource {
    /// The connector instance's name (none once the instance was deleted).
    async fn connector(&self) -> Option<&str> {
        self.connector.as_deref()
    }

    /// The message's Message-ID, its natural key.
    async fn message_id(&self) -> &str {
        &self.message_id
    }

    /// When the connector imported it (UTC, ISO 8601).
    async fn imported_at(&self) -> DateTime<Utc> {
        self.imported_at
    }
}

pub struct CommunicationAttachment {
    communication_id: String,
    name: Option<String>,
    content_type: String,
    size_bytes: i64,
    sha256: String,
}

/// An attachment of an imported communication, as metadata only: its bytes are never kept.
#[Object(
    guard = "ParticipantsRead { type_name: \"CommunicationAttachment\", communication_id: &self.communication_id }"
)]
impl CommunicationAttachment {
    /// The file name as sent; null when the message gave none. Not for administrative staff.
    async fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The MIME type as sent, e.g. `application/pdf`.
    async fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The size in bytes.
    async fn size_bytes(&self) -> i64 {
        self.size_bytes
    }

    /// Lower-case hex SHA-256 of the content.
    async fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// The answer to `logCommunication` and `updateCommunication`.
#[derive(SimpleObject)]
pub struct CommunicationPayload {
    /// The communication as saved.
    pub communication: Communication,
}

#[derive(Default)]
pub struct CommunicationQueries;

#[Object]
impl CommunicationQueries {
    /// Communications, newest first unless `order: ASC`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn communications(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only communications matching this filter; all the caller may see when omitted."
        )]
        filter: Option<CommunicationFilter>,
        #[graphql(
            default_with = "SortDirection::Desc",
            desc = "`DESC` (default) for newest first, `ASC` for oldest first, by `occurredAt`."
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
    ) -> async_graphql::Result<Option<Paged<Communication>>> {
        let visibility = visibility::scope(ctx).clone();
        let grant = &access(ctx).grant;
        let scope = TextSearchScope {
            subject: grant.allows("Communication", "subject"),
            summary: grant.allows("Communication", "summary"),
        };
        let query = CommunicationQuery::new(filter.unwrap_or_default())
            .and_then(|q| q.searching(scope))
            .gql()?;
        let (count_visibility, count_query) = (visibility.clone(), query.clone());
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| communications::count(c, &count_visibility, &count_query),
            move |c, page| communications::list(c, &visibility, &query, order, page),
        )
        .await
        .map(Some)
    }
}

#[derive(Default)]
pub struct CommunicationMutations;

#[Object]
impl CommunicationMutations {
    /// Records a communication with its participants.
    async fn log_communication(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The communication; `authorId` defaults to the caller, and only roles that see every matter may name someone else."
        )]
        mut input: LogCommunicationInput,
    ) -> async_graphql::Result<Option<CommunicationPayload>> {
        visibility::require_visible_opt(
            ctx,
            NodeType::Matter,
            input.matter_id.as_ref(),
            "input.matterId",
        )
        .await?;
        visibility::require_all_visible(
            ctx,
            NodeType::Contact,
            &input.participant_ids,
            "input.participantIds",
        )
        .await?;
        // Authorship makes a communication visible to its author: the author is the caller,
        // unless the caller sees every matter and records on someone else's behalf.
        let me = access(ctx)
            .user_id()
            .map(|u| ids::encode(NodeType::User, u));
        match &input.author_id {
            None => input.author_id = me,
            Some(author) if me.as_ref() == Some(author) => {}
            Some(_) => {
                if !visibility::scope(ctx).is_unrestricted() {
                    return Err(Error::forbidden(
                        Some("input.authorId"),
                        "only roles that see every matter may record a communication on \
                         someone else's behalf",
                    ))
                    .gql();
                }
            }
        }
        let row = write(ctx, move |c| communications::log(c, input)).await?;
        Ok(Some(CommunicationPayload {
            communication: Communication(row),
        }))
    }

    /// Changes a communication the caller may see; fields left out keep their value. Casework
    /// roles.
    async fn update_communication(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The communication's ID and the fields to change.")]
        input: UpdateCommunicationInput,
    ) -> async_graphql::Result<Option<CommunicationPayload>> {
        visibility::require_visible(ctx, NodeType::Communication, &input.id, "input.id").await?;
        visibility::require_visible_opt(
            ctx,
            NodeType::Matter,
            input.matter_id.value(),
            "input.matterId",
        )
        .await?;
        if let Some(participants) = &input.participant_ids {
            visibility::require_all_visible(
                ctx,
                NodeType::Contact,
                participants,
                "input.participantIds",
            )
            .await?;
        }
        let row = write(ctx, move |c| communications::update(c, input)).await?;
        Ok(Some(CommunicationPayload {
            communication: Communication(row),
        }))
    }

    /// Deletes a communication the caller may see. Admins, partners and lawyers.
    async fn delete_communication(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Communication` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        visibility::require_visible(ctx, NodeType::Communication, &input.id, "input.id").await?;
        let key = input.key(NodeType::Communication)?;
        write(ctx, move |c| communications::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }
}
