//! Row-level need-to-know as a value: which matters, contacts, deadlines, communications,
//! documents, time entries and invoices a piece of work may touch.
//!
//! A [`Scope`] is handed to every domain list and lookup. It renders SQL predicates over the
//! row being read (`EXISTS (SELECT … FROM matter_team_members WHERE matter_id = matters.id
//! AND user_id = $1)` and the like), so the database applies need-to-know inside the page
//! query itself, row by row: nothing is loaded into memory first, and no list of IDs is bound
//! back (which would meet SQLite's bound-parameter ceiling on a large firm and cost a round
//! trip per set).

use std::collections::HashSet;

use diesel::dsl::{case_when, exists, AsExprOf, InnerJoinQuerySource};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::query_source::AliasedField;
use diesel::sql_types::Bool;

use super::roles::RowScope;
use crate::db::schema::{
    affiliations, communication_participants, communications, contacts, deadline_team_assignees,
    deadline_user_assignees, deadlines, documents, invoice_matters, invoices, matter_parties,
    matter_team_members, matters, team_members, time_entries,
};
use crate::db::{AnyConnection, Db};
use crate::error::Result;

/// A boolean SQL condition over the rows of table `T`.
pub type Predicate<T> = Box<dyn BoxableExpression<T, Db, SqlType = Bool>>;

/// What a piece of work may see of the firm's client work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Work done without a request (the command line, retention, the sync engine, the
    /// scheduler): everything, by decision of the code that runs it.
    System,
    /// A caller whose role sees the whole firm.
    Firm,
    /// A user who sees the work of the matters they are on or lead, and what hangs off it.
    OwnMatters { user_id: String },
    /// A caller limited to their own matters who is no user (an API key or a provider
    /// token under such a role): nothing of the firm's matters.
    Nothing,
}

/// The kinds of rows need-to-know decides on; every other record is firm-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowKind {
    Matter,
    Contact,
    Deadline,
    Communication,
    Document,
    TimeEntry,
    Invoice,
}

// The conditions are macros, not functions: each expands to a plain (unboxed) expression,
// which stays generic over the backend and over the query source it is used in. A boxed
// select is tied to the multi-backend type and cannot render inside a subquery on either
// concrete backend.
//
// Each condition asks about the row at hand with correlated `EXISTS` probes of indexed link
// tables, never `column IN (every row the user may see)`: a page shows a few dozen rows, and
// the set of everything a lawyer on thousands of matters meets is most of the firm, which
// PostgreSQL built into a hash on every statement (747 ms of a 50-matter page at the
// benchmark's full size). PostgreSQL still hashes a probe when a statement would run it on
// most of a table; SQLite runs each probe from its index.

/// `$matter` (a column naming a matter) is one whose team `$user` is on.
macro_rules! on_team_of {
    ($matter:expr, $user:expr) => {
        exists(
            matter_team_members::table
                .filter(matter_team_members::matter_id.eq($matter))
                .filter(matter_team_members::user_id.eq($user.to_owned()))
                .select(matter_team_members::matter_id),
        )
    };
}

/// `$matter` (a column naming a matter) is one whose team `$user` is on or which they lead.
macro_rules! on_own_matter {
    ($matter:expr, $user:expr) => {
        on_team_of!($matter, $user).or(exists(
            matters::table
                .filter(matters::id.eq($matter))
                .filter(matters::responsible_user_id.eq($user.to_owned()))
                .select(matters::id),
        ))
    };
}

/// The communications of `$user`'s matters, and those they logged (over `communications`).
macro_rules! own_communications {
    ($user:expr) => {
        on_own_matter!(communications::matter_id.assume_not_null(), $user).or(
            communications::author_user_id
                .assume_not_null()
                .eq($user.to_owned()),
        )
    };
}

/// `$contact` is a party of one of `$user`'s matters.
macro_rules! party_of_own_matter {
    ($contact:expr, $user:expr) => {
        exists(
            matter_parties::table
                .filter(matter_parties::contact_id.eq($contact))
                .filter(on_own_matter!(matter_parties::matter_id, $user))
                .select(matter_parties::contact_id),
        )
    };
}

/// `$contact` took part in one of `$user`'s communications.
macro_rules! in_own_communication {
    ($contact:expr, $user:expr) => {
        exists(
            communication_participants::table
                .filter(communication_participants::contact_id.eq($contact))
                .filter(exists(
                    communications::table
                        .filter(communications::id.eq(communication_participants::communication_id))
                        .filter(own_communications!($user))
                        .select(communications::id),
                ))
                .select(communication_participants::contact_id),
        )
    };
}

// Tables under another name, because diesel refuses a table twice in one query unless it is
// aliased: `contacts` for a probe inside a condition over `contacts` itself, and the link
// tables a relation query joins to its rows, whose contact condition probes the same tables.
diesel::alias!(
    contacts as responsible_contacts: ResponsibleContacts,
    matter_parties as party_links: PartyLinks,
    communication_participants as participant_links: ParticipantLinks,
    affiliations as affiliation_links: AffiliationLinks,
);

/// `$contact` is one `$user` is responsible for.
macro_rules! responsible_for {
    ($contact:expr, $user:expr) => {
        exists(
            responsible_contacts
                .filter(responsible_contacts.field(contacts::id).eq($contact))
                .filter(
                    responsible_contacts
                        .field(contacts::responsible_user_id)
                        .eq($user.to_owned()),
                )
                .select(responsible_contacts.field(contacts::id)),
        )
    };
}

/// The contacts `$user` may see (over a source that reads `contacts`): those they are
/// responsible for, the parties of their matters, the participants of their communications,
/// and the organisations any such person is affiliated to.
macro_rules! contact_condition {
    ($user:expr) => {
        contacts::responsible_user_id
            .assume_not_null()
            .eq($user.to_owned())
            .or(party_of_own_matter!(contacts::id, $user))
            .or(in_own_communication!(contacts::id, $user))
            .or(exists(
                affiliations::table
                    .filter(affiliations::organization_id.eq(contacts::id))
                    // True of every organisation, and a condition on the outer row that is
                    // no equality, so PostgreSQL cannot turn this probe into a hash of every
                    // affiliation whose person the user meets: building that ran the probes
                    // below for each of the firm's affiliations (seconds for a lawyer's first
                    // page of contacts at the benchmark's full size).
                    .filter(contacts::kind.ne("person"))
                    .filter(
                        party_of_own_matter!(affiliations::person_id, $user)
                            .or(in_own_communication!(affiliations::person_id, $user))
                            .or(responsible_for!(affiliations::person_id, $user)),
                    )
                    .select(affiliations::organization_id),
            ))
    };
}

/// The matters whose team `$user` is on, or which they lead (over a source that reads
/// `matters`).
macro_rules! matter_condition {
    ($user:expr) => {
        on_team_of!(matters::id, $user).or(matters::responsible_user_id
            .assume_not_null()
            .eq($user.to_owned()))
    };
}

/// A condition no row meets.
fn none<T>() -> Predicate<T>
where
    AsExprOf<bool, Bool>: BoxableExpression<T, Db, SqlType = Bool>,
{
    Box::new(false.into_sql::<Bool>())
}

/// A condition every row meets.
fn all<T>() -> Predicate<T>
where
    AsExprOf<bool, Bool>: BoxableExpression<T, Db, SqlType = Bool>,
{
    Box::new(true.into_sql::<Bool>())
}

/// A query source that reads contacts (`contacts` itself, or a link table joined to it), over
/// which the scope renders its condition on contacts.
pub trait ContactSource: Sized {
    /// The contacts `user` may see, over this source.
    fn own(user: &str) -> Predicate<Self>;
    /// [`ContactSource::own`] as a value: false, never NULL, where it does not hold.
    fn sees(user: &str) -> Predicate<Self>;
}

/// A query source that reads matters, over which the scope renders its condition on matters.
pub trait MatterSource: Sized {
    /// The matters `user` may see, over this source.
    fn own(user: &str) -> Predicate<Self>;
    /// [`MatterSource::own`] as a value: false, never NULL, where it does not hold.
    fn sees(user: &str) -> Predicate<Self>;
}

/// A matter's parties joined to their contacts.
pub type PartyContacts = InnerJoinQuerySource<
    contacts::table,
    party_links,
    diesel::dsl::Eq<AliasedField<PartyLinks, matter_parties::contact_id>, contacts::id>,
>;

/// A communication's participants joined to their contacts.
pub type ParticipantContacts = InnerJoinQuerySource<
    contacts::table,
    participant_links,
    diesel::dsl::Eq<
        AliasedField<ParticipantLinks, communication_participants::contact_id>,
        contacts::id,
    >,
>;

/// People's affiliations joined to the organisations' contacts.
pub type AffiliationOrganizations = InnerJoinQuerySource<
    contacts::table,
    affiliation_links,
    diesel::dsl::Eq<AliasedField<AffiliationLinks, affiliations::organization_id>, contacts::id>,
>;

/// Organisations' affiliations joined to the people's contacts.
pub type AffiliationPeople = InnerJoinQuerySource<
    contacts::table,
    affiliation_links,
    diesel::dsl::Eq<AliasedField<AffiliationLinks, affiliations::person_id>, contacts::id>,
>;

/// A contact's parties joined to their matters.
pub type PartyMatters = InnerJoinQuerySource<matters::table, matter_parties::table>;

/// An invoice's matters joined to their rows.
pub type InvoiceMatters = InnerJoinQuerySource<matters::table, invoice_matters::table>;

/// Implements a source trait with a condition macro for each query source named.
macro_rules! sources {
    ($trait:ident, $condition:ident: $($source:ty),+) => {$(
        impl $trait for $source {
            fn own(user: &str) -> Predicate<Self> {
                Box::new($condition!(user))
            }

            // A condition is NULL where a column it compares is (a matter without a
            // responsible lawyer): a filter drops such a row, a column must say false.
            fn sees(user: &str) -> Predicate<Self> {
                Box::new(
                    case_when($condition!(user), true.into_sql::<Bool>())
                        .otherwise(false.into_sql::<Bool>()),
                )
            }
        }
    )+};
}

sources!(
    ContactSource,
    contact_condition: contacts::table,
    PartyContacts,
    ParticipantContacts,
    AffiliationOrganizations,
    AffiliationPeople
);
sources!(
    MatterSource,
    matter_condition: matters::table,
    PartyMatters,
    InvoiceMatters
);

impl Scope {
    /// Everything, for work done without a request. Named so that it stands out in review.
    pub fn system() -> Scope {
        Scope::System
    }

    /// What a caller sees under a role of row scope `rows`, acting as `user_id` if any.
    pub fn for_caller(rows: RowScope, user_id: Option<&str>) -> Scope {
        match (rows, user_id) {
            (RowScope::Firm, _) => Scope::Firm,
            (RowScope::OwnMatters, Some(user)) => Scope::own_matters(user),
            (RowScope::OwnMatters, None) => Scope::Nothing,
        }
    }

    /// The work of `user`'s own matters, whatever their role (their digest, their calendar).
    pub fn own_matters(user: &str) -> Scope {
        Scope::OwnMatters {
            user_id: user.to_owned(),
        }
    }

    /// Whether nothing is left out (the firm, or the system).
    pub fn is_unrestricted(&self) -> bool {
        matches!(self, Scope::System | Scope::Firm)
    }

    /// The user limited to their own matters, if this scope is one.
    pub fn own_user(&self) -> Option<&str> {
        match self {
            Scope::OwnMatters { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// Matters whose team the user is on, or which they lead. `None`: no condition.
    pub fn matters(&self) -> Option<Predicate<matters::table>> {
        self.render(<matters::table as MatterSource>::own)
    }

    /// Contacts: the parties of the user's matters, the participants of the communications
    /// of those matters or logged by the user, those the user is responsible for, and the
    /// organisations all of these people are affiliated to.
    pub fn contacts(&self) -> Option<Predicate<contacts::table>> {
        self.render(<contacts::table as ContactSource>::own)
    }

    /// Whether the caller may see the contact of each row of `S`, as a column of the query
    /// (so a relation says in its own statement which of its rows are hidden).
    pub fn sees_contacts<S: ContactSource>(&self) -> Predicate<S>
    where
        AsExprOf<bool, Bool>: BoxableExpression<S, Db, SqlType = Bool>,
    {
        self.render(S::sees).unwrap_or_else(all)
    }

    /// Whether the caller may see the matter of each row of `S`, as a column of the query.
    pub fn sees_matters<S: MatterSource>(&self) -> Predicate<S>
    where
        AsExprOf<bool, Bool>: BoxableExpression<S, Db, SqlType = Bool>,
    {
        self.render(S::sees).unwrap_or_else(all)
    }

    /// Deadlines of the user's matters, and those assigned to them or to a team of theirs.
    pub fn deadlines(&self) -> Option<Predicate<deadlines::table>> {
        self.render(|user| {
            // The user's teams are a handful of rows: one set per statement, not a probe.
            let own_teams = team_members::table
                .filter(team_members::user_id.eq(user.to_owned()))
                .select(team_members::team_id);
            Box::new(
                on_own_matter!(deadlines::matter_id.assume_not_null(), user)
                    .or(exists(
                        deadline_user_assignees::table
                            .filter(deadline_user_assignees::deadline_id.eq(deadlines::id))
                            .filter(deadline_user_assignees::user_id.eq(user.to_owned()))
                            .select(deadline_user_assignees::deadline_id),
                    ))
                    .or(exists(
                        deadline_team_assignees::table
                            .filter(deadline_team_assignees::deadline_id.eq(deadlines::id))
                            .filter(deadline_team_assignees::team_id.eq_any(own_teams))
                            .select(deadline_team_assignees::deadline_id),
                    )),
            )
        })
    }

    /// Communications of the user's matters, and those the user logged.
    pub fn communications(&self) -> Option<Predicate<communications::table>> {
        self.render(|user| Box::new(own_communications!(user)))
    }

    /// Case-file documents come with their matter.
    pub fn documents(&self) -> Option<Predicate<documents::table>> {
        self.render(|user| Box::new(on_own_matter!(documents::matter_id, user)))
    }

    /// Time entries of the user's matters, and the time they recorded themselves.
    pub fn time_entries(&self) -> Option<Predicate<time_entries::table>> {
        self.render(|user| {
            Box::new(
                on_own_matter!(time_entries::matter_id, user)
                    .or(time_entries::user_id.assume_not_null().eq(user.to_owned())),
            )
        })
    }

    /// Invoices billing at least one of the user's matters.
    pub fn invoices(&self) -> Option<Predicate<invoices::table>> {
        self.render(|user| {
            Box::new(exists(
                invoice_matters::table
                    .filter(invoice_matters::invoice_id.eq(invoices::id))
                    .filter(on_own_matter!(invoice_matters::matter_id, user))
                    .select(invoice_matters::invoice_id),
            ))
        })
    }

    /// The condition for a restricted scope, built by `own` for a user; `None` when there
    /// is nothing to restrict.
    fn render<T>(&self, own: impl FnOnce(&str) -> Predicate<T>) -> Option<Predicate<T>>
    where
        AsExprOf<bool, Bool>: BoxableExpression<T, Db, SqlType = Bool>,
    {
        match self {
            Scope::System | Scope::Firm => None,
            Scope::OwnMatters { user_id } => Some(own(user_id)),
            Scope::Nothing => Some(none()),
        }
    }

    /// The rows of kind `kind` among `ids` that exist and this scope keeps, in one statement.
    pub fn visible_ids(
        &self,
        conn: &mut AnyConnection,
        kind: RowKind,
        ids: &[String],
    ) -> Result<HashSet<String>> {
        macro_rules! keep {
            ($table:ident, $predicate:ident) => {{
                let mut query = $table::table
                    .into_boxed()
                    .filter($table::id.eq_any(ids.to_vec()));
                if let Some(condition) = self.$predicate() {
                    query = query.filter(condition);
                }
                query.select($table::id).load::<String>(conn)?
            }};
        }
        let kept = match kind {
            RowKind::Matter => keep!(matters, matters),
            RowKind::Contact => keep!(contacts, contacts),
            RowKind::Deadline => keep!(deadlines, deadlines),
            RowKind::Communication => keep!(communications, communications),
            RowKind::Document => keep!(documents, documents),
            RowKind::TimeEntry => keep!(time_entries, time_entries),
            RowKind::Invoice => keep!(invoices, invoices),
        };
        Ok(kept.into_iter().collect())
    }
}
