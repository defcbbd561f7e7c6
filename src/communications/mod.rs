//! The history of communications with contacts: emails, PEC, calls, meetings, letters.

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::access_policy::scope::{participant_links, ParticipantContacts};
use crate::access_policy::Scope;
use crate::contacts::{with_contact_columns, ContactColumns, ContactRecord};
use crate::db::schema::{
    communication_attachments, communication_imports, communication_participants, communications,
    connector_instances, contacts,
};
use crate::db::{insert_batch, new_id, now, text_enum, AnyConnection, Db};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{contains_pattern, group_by_key, group_pairs, lower, Page, SortDirection};
use crate::validation::{apply_change, non_blank};

text_enum! {
    /// How a communication took place.
    Channel {
        /// Ordinary email.
        Email => "email",
        /// Posta elettronica certificata: certified email with legal value.
        Pec => "pec",
        /// A phone call.
        Phone => "phone",
        /// A meeting in person.
        Meeting => "meeting",
        /// A video call.
        Video => "video",
        /// A paper letter (post, courier or by hand).
        Letter => "letter",
    }
}

text_enum! {
    /// Which way a communication went.
    Direction {
        /// From a contact to the firm.
        Inbound => "inbound",
        /// From the firm to a contact.
        Outbound => "outbound",
        /// Within the firm, e.g. a note of a call between colleagues about a matter.
        Internal => "internal",
    }
}

/// `None` binds as NULL rather than `DEFAULT`, so that SQLite writes a batch of rows in one
/// statement (see `crate::db::insert_batch`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = communications,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct CommunicationRow {
    pub id: String,
    pub channel: String,
    pub direction: String,
    pub occurred_at: NaiveDateTime,
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub matter_id: Option<String>,
    pub author_user_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

const COMMUNICATION_COLUMNS: usize = 10;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = communication_participants, treat_none_as_default_value = false)]
struct ParticipantRow {
    communication_id: String,
    contact_id: String,
}

const PARTICIPANT_COLUMNS: usize = 2;

/// A communication that passed validation, with its participants, ready to be written: what
/// `log` writes, and what bulk writers (seeding) collect to write many at once.
pub struct PreparedCommunication {
    pub row: CommunicationRow,
    participants: Vec<String>,
}

impl PreparedCommunication {
    /// A communication built elsewhere (imports), with distinct participant contact ids.
    pub fn new(row: CommunicationRow, participants: Vec<String>) -> PreparedCommunication {
        PreparedCommunication { row, participants }
    }
}

/// A communication to record, for `logCommunication`.
#[derive(Debug, Clone, InputObject)]
pub struct LogCommunicationInput {
    /// How it took place.
    pub channel: Channel,
    /// Into the firm, out of it, or inside it.
    pub direction: Direction,
    /// When it took place or was sent (ISO 8601).
    pub occurred_at: DateTime<Utc>,
    /// The subject line or a short title.
    pub subject: Option<String>,
    /// What was said or written, in brief.
    pub summary: Option<String>,
    /// The `Matter` it belongs to, if any.
    pub matter_id: Option<ID>,
    /// The contacts who took part; at least one.
    pub participant_ids: Vec<ID>,
    /// The `User` who recorded it; the caller when omitted.
    pub author_id: Option<ID>,
}

/// Changes to a communication, for `updateCommunication`: omitted fields keep their value; null
/// clears an optional one.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateCommunicationInput {
    /// The `Communication` to change.
    pub id: ID,
    /// How it took place.
    pub channel: Option<Channel>,
    /// Into the firm, out of it, or inside it.
    pub direction: Option<Direction>,
    /// When it took place or was sent (ISO 8601).
    pub occurred_at: Option<DateTime<Utc>>,
    /// The subject line; null clears it.
    pub subject: MaybeUndefined<String>,
    /// The summary; null clears it.
    pub summary: MaybeUndefined<String>,
    /// The `Matter` it belongs to; null unlinks it.
    pub matter_id: MaybeUndefined<ID>,
    /// The `Contact` IDs of those who took part (at least one); the list replaces the old one.
    pub participant_ids: Option<Vec<ID>>,
}

/// Which communications `communications` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CommunicationFilter {
    /// Part of the subject or summary, of those the caller's role may read (refused for a role
    /// that may read neither).
    pub text: Option<String>,
    /// Communications of this `Matter`.
    pub matter_id: Option<ID>,
    /// Communications this contact took part in.
    pub contact_id: Option<ID>,
    /// Any of these channels.
    pub channels: Option<Vec<Channel>>,
    /// Only this direction.
    pub direction: Option<Direction>,
    /// At or after this instant (ISO 8601).
    pub occurred_from: Option<DateTime<Utc>>,
    /// Before this instant (ISO 8601).
    pub occurred_to: Option<DateTime<Utc>>,
}

fn ensure_references(
    conn: &mut AnyConnection,
    matter: Option<&String>,
    participants: &[String],
    author: Option<&String>,
) -> Result<()> {
    if let Some(matter) = matter {
        crate::matters::get(conn, matter)
            .map_err(|e| e.as_bad_reference("input.matterId", "no matter with this ID"))?;
    }
    let found: HashSet<String> = crate::contacts::get_many(conn, participants)?
        .into_keys()
        .collect();
    if let Some(i) = participants.iter().position(|p| !found.contains(p)) {
        return Err(Error::invalid(
            format!("input.participantIds[{i}]"),
            "no contact with this ID",
        ));
    }
    if let Some(author) = author {
        crate::directory::ensure_users_exist(conn, std::slice::from_ref(author), "input.authorId")?;
    }
    Ok(())
}

fn set_participants(conn: &mut AnyConnection, id: &str, participants: &[String]) -> Result<()> {
    diesel::delete(
        communication_participants::table
            .filter(communication_participants::communication_id.eq(id)),
    )
    .execute(conn)?;
    for contact in participants.iter().collect::<HashSet<_>>() {
        diesel::insert_into(communication_participants::table)
            .values((
                communication_participants::communication_id.eq(id),
                communication_participants::contact_id.eq(contact),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn decode_participants(v: &mut Validator, ids_in: &[ID]) -> Vec<String> {
    if ids_in.is_empty() {
        v.add("input.participantIds", "name at least one participant");
    }
    v.check(
        "input.participantIds",
        ids::decode_all(NodeType::Contact, ids_in, "input.participantIds"),
    )
    .unwrap_or_default()
}

/// Validates a new communication without touching the database; the matter, participants
/// and author it names are checked by `log`, or by the foreign keys when written with
/// `insert_prepared`.
pub fn prepare(input: LogCommunicationInput) -> Result<PreparedCommunication> {
    let mut v = Validator::new();
    let matter = input.matter_id.as_ref().and_then(|id| {
        v.check(
            "input.matterId",
            ids::decode(NodeType::Matter, id, "input.matterId"),
        )
    });
    let author = input.author_id.as_ref().and_then(|id| {
        v.check(
            "input.authorId",
            ids::decode(NodeType::User, id, "input.authorId"),
        )
    });
    let mut participants = decode_participants(&mut v, &input.participant_ids);
    let mut seen = HashSet::new();
    participants.retain(|p| seen.insert(p.clone()));
    let subject = non_blank(input.subject);
    let summary = non_blank(input.summary);
    if subject.is_none() && summary.is_none() {
        v.add("input.subject", "give a subject or a summary");
    }
    v.finish()?;
    let timestamp = now();
    let row = CommunicationRow {
        id: new_id(),
        channel: input.channel.as_str().to_owned(),
        direction: input.direction.as_str().to_owned(),
        occurred_at: input.occurred_at.naive_utc(),
        subject,
        summary,
        matter_id: matter,
        author_user_id: author,
        created_at: timestamp,
        updated_at: timestamp,
    };
    Ok(PreparedCommunication { row, participants })
}

/// Records a communication with its participants.
pub fn log(conn: &mut AnyConnection, input: LogCommunicationInput) -> Result<CommunicationRow> {
    let prepared = prepare(input)?;
    ensure_references(
        conn,
        prepared.row.matter_id.as_ref(),
        &prepared.participants,
        prepared.row.author_user_id.as_ref(),
    )?;
    let mut rows = insert_prepared(conn, vec![prepared])?;
    rows.pop()
        .ok_or_else(|| Error::Internal("communication not written".to_owned()))
}

/// Writes prepared communications and their participants with one multi-row INSERT per
/// table (per chunk), in the caller's transaction.
pub fn insert_prepared(
    conn: &mut AnyConnection,
    prepared: Vec<PreparedCommunication>,
) -> Result<Vec<CommunicationRow>> {
    let mut rows = Vec::with_capacity(prepared.len());
    let mut participants = Vec::new();
    for communication in prepared {
        participants.extend(communication.participants.into_iter().map(|contact_id| {
            ParticipantRow {
                communication_id: communication.row.id.clone(),
                contact_id,
            }
        }));
        rows.push(communication.row);
    }
    insert_batch(conn, communications::table, &rows, COMMUNICATION_COLUMNS)?;
    insert_batch(
        conn,
        communication_participants::table,
        &participants,
        PARTICIPANT_COLUMNS,
    )?;
    Ok(rows)
}

pub fn update(
    conn: &mut AnyConnection,
    input: UpdateCommunicationInput,
) -> Result<CommunicationRow> {
    let id = ids::decode(NodeType::Communication, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    let mut v = Validator::new();
    if let Some(channel) = input.channel {
        row.channel = channel.as_str().to_owned();
    }
    if let Some(direction) = input.direction {
        row.direction = direction.as_str().to_owned();
    }
    if let Some(at) = input.occurred_at {
        row.occurred_at = at.naive_utc();
    }
    row.subject = non_blank(apply_change(row.subject.take(), input.subject));
    row.summary = non_blank(apply_change(row.summary.take(), input.summary));
    match &input.matter_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.matter_id = None,
        MaybeUndefined::Value(m) => {
            row.matter_id = v.check(
                "input.matterId",
                ids::decode(NodeType::Matter, m, "input.matterId"),
            )
        }
    }
    if row.subject.is_none() && row.summary.is_none() {
        v.add("input.subject", "give a subject or a summary");
    }
    let participants = input
        .participant_ids
        .as_ref()
        .map(|p| decode_participants(&mut v, p));
    v.finish()?;
    ensure_references(
        conn,
        row.matter_id.as_ref(),
        participants.as_deref().unwrap_or_default(),
        None,
    )?;
    row.updated_at = now();
    diesel::update(communications::table.find(&id))
        .set(&row)
        .execute(conn)?;
    if let Some(participants) = participants {
        set_participants(conn, &id, &participants)?;
    }
    Ok(row)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    match diesel::delete(communications::table.find(id)).execute(conn)? {
        0 => Err(Error::not_found("Communication", id)),
        _ => Ok(()),
    }
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<CommunicationRow> {
    communications::table
        .find(id)
        .select(CommunicationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Communication", id))
}

pub fn get_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, CommunicationRow>> {
    Ok(communications::table
        .filter(communications::id.eq_any(ids))
        .select(CommunicationRow::as_select())
        .load::<CommunicationRow>(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct CommunicationQuery {
    filter: CommunicationFilter,
    matter_id: Option<String>,
    contact_id: Option<String>,
    searched: SearchedText,
}

/// What `filter.text` may search, given what the caller may read: a match must not reveal
/// contents the caller is not allowed to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSearchScope {
    pub subject: bool,
    pub summary: bool,
}

/// The fields a text search matches (never none: such a search is refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum SearchedText {
    #[default]
    SubjectAndSummary,
    Subject,
    Summary,
}

impl CommunicationQuery {
    /// Narrows what `filter.text` matches; refused when it could match nothing readable.
    pub fn searching(mut self, scope: TextSearchScope) -> Result<CommunicationQuery> {
        self.searched =
            match (scope.subject, scope.summary) {
                (true, true) => SearchedText::SubjectAndSummary,
                (true, false) => SearchedText::Subject,
                (false, true) => SearchedText::Summary,
                (false, false) if self.searches_text() => return Err(Error::Forbidden {
                    field: Some("filter.text".to_owned()),
                    message:
                        "your role may not read what communications say, so it may not search it"
                            .to_owned(),
                }),
                (false, false) => SearchedText::default(),
            };
        Ok(self)
    }

    fn searches_text(&self) -> bool {
        self.filter
            .text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty())
    }

    pub fn new(filter: CommunicationFilter) -> Result<CommunicationQuery> {
        Ok(CommunicationQuery {
            matter_id: filter
                .matter_id
                .as_ref()
                .map(|id| ids::decode(NodeType::Matter, id, "filter.matterId"))
                .transpose()?,
            contact_id: filter
                .contact_id
                .as_ref()
                .map(|id| ids::decode(NodeType::Contact, id, "filter.contactId"))
                .transpose()?,
            filter,
            searched: SearchedText::default(),
        })
    }

    pub fn for_matter(matter_id: String) -> CommunicationQuery {
        CommunicationQuery {
            matter_id: Some(matter_id),
            ..CommunicationQuery::default()
        }
    }

    fn boxed(&self, scope: &Scope) -> communications::BoxedQuery<'static, Db> {
        let f = &self.filter;
        let mut query = communications::table.into_boxed();
        if let Some(visible) = scope.communications() {
            query = query.filter(visible);
        }
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = contains_pattern(&text.to_lowercase());
            let in_subject = lower(communications::subject.assume_not_null())
                .like(pattern.clone())
                .escape('\\');
            let in_summary = lower(communications::summary.assume_not_null())
                .like(pattern)
                .escape('\\');
            query = match self.searched {
                SearchedText::SubjectAndSummary => query.filter(in_subject.or(in_summary)),
                SearchedText::Subject => query.filter(in_subject),
                SearchedText::Summary => query.filter(in_summary),
            };
        }
        if let Some(matter) = &self.matter_id {
            query = query.filter(communications::matter_id.eq(matter.clone()));
        }
        if let Some(contact) = &self.contact_id {
            let joined = communication_participants::table
                .filter(communication_participants::contact_id.eq(contact.clone()))
                .select(communication_participants::communication_id);
            query = query.filter(communications::id.eq_any(joined));
        }
        if let Some(channels) = &f.channels {
            query = query.filter(
                communications::channel
                    .eq_any(channels.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(direction) = f.direction {
            query = query.filter(communications::direction.eq(direction.as_str()));
        }
        if let Some(from) = f.occurred_from {
            query = query.filter(communications::occurred_at.ge(from.naive_utc()));
        }
        if let Some(to) = f.occurred_to {
            query = query.filter(communications::occurred_at.lt(to.naive_utc()));
        }
        query
    }
}

/// Newest first unless `direction` says otherwise.
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    query: &CommunicationQuery,
    direction: SortDirection,
    page: Page,
) -> Result<Vec<CommunicationRow>> {
    let q = query.boxed(scope);
    let q = match direction {
        SortDirection::Asc => {
            q.order_by((communications::occurred_at.asc(), communications::id.asc()))
        }
        SortDirection::Desc => q.order_by((
            communications::occurred_at.desc(),
            communications::id.desc(),
        )),
    };
    Ok(q.offset(page.offset)
        .limit(page.limit)
        .select(CommunicationRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, scope: &Scope, query: &CommunicationQuery) -> Result<i64> {
    Ok(query.boxed(scope).count().get_result(conn)?)
}

/// A participant of a communication with their contact row, and whether the scope it was read
/// under lets the caller see them (the link itself is kept: the access log names everyone).
#[derive(Debug, Clone)]
pub struct ParticipantContact {
    pub contact: ContactRecord,
    pub visible: bool,
}

/// The participants of each communication with their contacts, by contact ID: one statement
/// joining the participants to the contacts, which also says which contacts `scope` keeps.
pub fn participants_of(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
    columns: ContactColumns,
) -> Result<HashMap<String, Vec<ParticipantContact>>> {
    let communication_id = participant_links.field(communication_participants::communication_id);
    let contact_id = participant_links.field(communication_participants::contact_id);
    let rows: Vec<(String, ContactRecord, bool)> = with_contact_columns!(columns, Row => contacts::table
        .inner_join(participant_links.on(contact_id.eq(contacts::id)))
        .filter(communication_id.eq_any(ids))
        .order_by((communication_id, contact_id))
        .select((
            communication_id,
            Row::as_select(),
            scope.sees_contacts::<ParticipantContacts>(),
        ))
        .load::<(String, Row, bool)>(conn)?
        .into_iter()
        .map(|(communication, contact, visible)| (communication, contact.into(), visible))
        .collect());
    Ok(group_by_key(rows, |r| r.0.clone())
        .into_iter()
        .map(|(communication, rows)| {
            let participants = rows
                .into_iter()
                .map(|(_, contact, visible)| ParticipantContact { contact, visible })
                .collect();
            (communication, participants)
        })
        .collect())
}

/// All communications of each matter, newest first.
pub fn of_matters(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<CommunicationRow>>> {
    let rows = communications::table
        .filter(communications::matter_id.eq_any(ids))
        .order_by((
            communications::occurred_at.desc(),
            communications::id.desc(),
        ))
        .select(CommunicationRow::as_select())
        .load::<CommunicationRow>(conn)?;
    Ok(group_by_key(rows, |r| {
        r.matter_id.clone().unwrap_or_default()
    }))
}

/// All communications each contact took part in, newest first.
pub fn of_contacts(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<CommunicationRow>>> {
    let rows: Vec<(String, CommunicationRow)> = communications::table
        .inner_join(communication_participants::table)
        .filter(communication_participants::contact_id.eq_any(ids))
        .order_by((
            communications::occurred_at.desc(),
            communications::id.desc(),
        ))
        .select((
            communication_participants::contact_id,
            CommunicationRow::as_select(),
        ))
        .load(conn)?;
    Ok(group_pairs(rows))
}

/// Where an imported communication came from.
#[derive(Debug, Clone, Queryable)]
pub struct ImportRow {
    pub message_id: String,
    /// The importing instance's name (gone when the instance was deleted).
    pub connector: Option<String>,
    pub body: Option<String>,
    pub imported_at: NaiveDateTime,
}

/// The import record of a communication, if it was imported by a connector.
pub fn import_of(conn: &mut AnyConnection, id: &str) -> Result<Option<ImportRow>> {
    Ok(communication_imports::table
        .left_join(connector_instances::table)
        .filter(communication_imports::communication_id.eq(id))
        .select((
            communication_imports::message_id,
            connector_instances::name.nullable(),
            communication_imports::body,
            communication_imports::imported_at,
        ))
        .first(conn)
        .optional()?)
}

/// An attachment's metadata (its bytes are never kept).
#[derive(Debug, Clone, Queryable)]
pub struct AttachmentRow {
    pub name: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

pub fn attachments_of(conn: &mut AnyConnection, id: &str) -> Result<Vec<AttachmentRow>> {
    Ok(communication_attachments::table
        .filter(communication_attachments::communication_id.eq(id))
        .order(communication_attachments::position)
        .select((
            communication_attachments::name,
            communication_attachments::content_type,
            communication_attachments::size_bytes,
            communication_attachments::sha256,
        ))
        .load(conn)?)
}
