//! DataLoaders: every relation is fetched once per request for all parents at once, so the
//! number of SQL statements grows with the depth of a query, not with its rows.

use std::collections::{HashMap, HashSet};

use async_graphql::dataloader::Loader;

use crate::access_policy::{RowKind, Scope};

use crate::billing::invoices::{self as billing_invoices, InvoiceLineRow, InvoiceRow, PaymentRow};
use crate::billing::{self, TimeEntryRow};
use crate::campaigns::{self, CampaignRow};
use crate::communications::{self, CommunicationRow, ParticipantContact};
use crate::contacts::{
    self, AddressRow, AffiliatedContact, ContactColumns, ContactRow, EmailRow, PhoneRow,
};
use crate::db::Database;
use crate::deadlines::{self, DeadlineRow};
use crate::directory::{self, TeamRow, UserRow};
use crate::documents::{self, DocumentRow};
use crate::error::GraphqlResult;
use crate::gdpr::assessments::{self, AssessmentRow};
use crate::gdpr::grounds::{self, ConsentRow, GroundRow};
use crate::gdpr::objections::{self, ObjectionRow};
use crate::gdpr::provenance::{self, ContactSourceRow};
use crate::gdpr::purposes::{self, PurposeRow};
use crate::mail::OutboxRow;
use crate::matters::{self, MatterRow, MatterTeamMember, PartyContact, PartyMatter};
use crate::sync::folders::{self, CaseFolder};

/// The one loader type; each relation is a key type it loads. It lives for one request, and
/// knows what that request's caller may see.
pub struct DbLoader {
    db: Database,
    scope: Scope,
    user_id: Option<String>,
}

impl DbLoader {
    pub fn new(db: Database, scope: Scope, user_id: Option<String>) -> DbLoader {
        DbLoader { db, scope, user_id }
    }
}

/// A row of a need-to-know kind the caller may see: loaded (as `()`) only when it exists and
/// the caller's scope keeps it. One statement per kind for a whole batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Visible(pub RowKind, pub String);

impl Loader<Visible> for DbLoader {
    type Value = ();
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Visible]) -> Result<HashMap<Visible, ()>, Self::Error> {
        let mut by_kind: HashMap<RowKind, Vec<String>> = HashMap::new();
        for Visible(kind, id) in keys {
            by_kind.entry(*kind).or_default().push(id.clone());
        }
        let scope = self.scope.clone();
        let seen = self
            .db
            .run(move |conn| {
                let mut seen = Vec::new();
                for (kind, ids) in by_kind {
                    let kept = scope.visible_ids(conn, kind, &ids)?;
                    seen.extend(kept.into_iter().map(|id| Visible(kind, id)));
                }
                Ok(seen)
            })
            .await
            .gql()?;
        Ok(seen.into_iter().map(|key| (key, ())).collect())
    }
}

/// A matter whose team the caller is on or which they lead, whatever their role: loaded (as
/// `()`) only then.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OnTeamOf(pub String);

impl Loader<OnTeamOf> for DbLoader {
    type Value = ();
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[OnTeamOf]) -> Result<HashMap<OnTeamOf, ()>, Self::Error> {
        let Some(user) = self.user_id.clone() else {
            return Ok(HashMap::new());
        };
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let theirs = self
            .db
            .run(move |conn| Scope::own_matters(&user).visible_ids(conn, RowKind::Matter, &ids))
            .await
            .gql()?;
        Ok(theirs.into_iter().map(|id| (OnTeamOf(id), ())).collect())
    }
}

/// A loader of the rows related to a batch of keys, by `$fetch(conn, ids)`. A relation whose
/// rows are need-to-know ends in `scoped`: `$fetch(conn, scope, ids)` then says, under the
/// request's scope, which of them the caller may see.
macro_rules! relation {
    ($(#[$meta:meta])* $key:ident => $value:ty, $fetch:path $(, $scoped:ident)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                $(let $scoped = self.scope.clone();)?
                let found = self
                    .db
                    .run(move |conn| $fetch(conn, $(&$scoped,)? &ids))
                    .await
                    .gql()?;
                Ok(found.into_iter().map(|(k, v)| ($key(k), v)).collect())
            }
        }
    };
}

relation!(ContactById => ContactRow, contacts::get_many);
relation!(
    /// A contact another row refers to, with whether the caller may see it.
    ReferencedContact => (ContactRow, bool), contacts::get_many_seen, scoped
);
relation!(
    /// A matter another row refers to, with whether the caller may see it.
    ReferencedMatter => (MatterRow, bool), matters::get_many_seen, scoped
);
relation!(MatterById => MatterRow, matters::get_many);
relation!(CommunicationById => CommunicationRow, communications::get_many);
relation!(DeadlineById => DeadlineRow, deadlines::get_many);
relation!(UserById => UserRow, directory::users_by_id);
relation!(TeamById => TeamRow, directory::teams_by_id);
relation!(CampaignById => CampaignRow, campaigns::get_many);
relation!(EmailsOf => Vec<EmailRow>, contacts::emails_of);
relation!(PhonesOf => Vec<PhoneRow>, contacts::phones_of);
relation!(AddressesOf => Vec<AddressRow>, contacts::addresses_of);
relation!(TagsOf => Vec<String>, contacts::tags_of);
/// A loader of contacts related to a batch of keys, with the columns each key asks for (the
/// field's look-ahead, `graphql::contacts::columns_here`): `$fetch(conn, scope, ids, columns)`,
/// one statement per batch. It reads every column when any key asks for them: a whole row
/// answers a summary's key too, so a relation asked for by a field that needs whole rows and
/// by a guard that needs only IDs is still one statement.
macro_rules! contact_relation {
    ($(#[$meta:meta])* $key:ident => $value:ty, $fetch:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String, pub ContactColumns);

        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let columns = if keys.iter().any(|k| k.1 == ContactColumns::All) {
                    ContactColumns::All
                } else {
                    ContactColumns::Summary
                };
                let (mut ids, mut asked_twice) = (Vec::with_capacity(keys.len()), HashSet::new());
                let mut seen = HashSet::with_capacity(keys.len());
                for $key(id, _) in keys {
                    if seen.insert(id) {
                        ids.push(id.clone());
                    } else {
                        asked_twice.insert(id);
                    }
                }
                let scope = self.scope.clone();
                let mut rows = self
                    .db
                    .run(move |conn| $fetch(conn, &scope, &ids, columns))
                    .await
                    .gql()?;
                Ok(keys
                    .iter()
                    .filter_map(|key| {
                        let value = if asked_twice.contains(&key.0) {
                            rows.get(&key.0).cloned()
                        } else {
                            rows.remove(&key.0)
                        };
                        value.map(|value| (key.clone(), value))
                    })
                    .collect())
            }
        }
    };
}

contact_relation!(
    /// The organisations a person works for, with their rows.
    EmployersOf => Vec<AffiliatedContact>, contacts::employers_of_people
);
contact_relation!(
    /// The people on record for an organisation, with their rows.
    MembersOf => Vec<AffiliatedContact>, contacts::members_of_organizations
);
relation!(
    /// The matters a contact is a party to, with their rows.
    MattersOfContact => Vec<PartyMatter>, matters::matters_of_contacts, scoped
);
contact_relation!(
    /// A matter's parties, with their contacts' rows.
    PartiesOfMatter => Vec<PartyContact>, matters::parties_with_contacts
);
relation!(TeamOfMatter => Vec<MatterTeamMember>, matters::team_of);
relation!(CommunicationsOfMatter => Vec<CommunicationRow>, communications::of_matters);
relation!(CommunicationsOfContact => Vec<CommunicationRow>, communications::of_contacts);
contact_relation!(
    /// A communication's participants, with their contacts' rows.
    ParticipantsOf => Vec<ParticipantContact>, communications::participants_of
);
relation!(DeadlinesOfMatter => Vec<DeadlineRow>, deadlines::of_matters);
relation!(DocumentById => DocumentRow, documents::get_many);
relation!(
    /// A matter's documents, deleted ones included.
    DocumentsOfMatter => Vec<DocumentRow>, documents::of_matters
);
relation!(
    /// A matter's case-file folders in document stores.
    FoldersOfMatter => Vec<CaseFolder>, folders::of_matters
);
relation!(TimeEntryById => TimeEntryRow, billing::entries_by_id);
relation!(TimeEntriesOfMatter => Vec<TimeEntryRow>, billing::entries_of_matters);
relation!(InvoiceById => InvoiceRow, billing_invoices::get_many);
relation!(LinesOfInvoice => Vec<InvoiceLineRow>, billing_invoices::lines_of);
relation!(PaymentsOfInvoice => Vec<PaymentRow>, billing_invoices::payments_of);
relation!(
    /// The matters an invoice bills, with their rows.
    MattersOfInvoice => Vec<(MatterRow, bool)>, billing_invoices::matters_of, scoped
);
relation!(ExternalIdsOfInvoice => Vec<billing_invoices::InvoiceExternalIdRow>, billing_invoices::external_ids_of);
relation!(AssignedUsersOf => Vec<UserRow>, deadlines::assigned_users_of);
relation!(AssignedTeamsOf => Vec<TeamRow>, deadlines::assigned_teams_of);
relation!(RemindersOf => Vec<i32>, deadlines::reminders_of);
relation!(ReminderDeliveriesOf => Vec<OutboxRow>, deadlines::reminders::deliveries_of);
relation!(MembersOfTeam => Vec<UserRow>, directory::members_of_teams);
relation!(TeamsOfUser => Vec<TeamRow>, directory::teams_of_users);
relation!(AssessmentById => AssessmentRow, assessments::get_many);
relation!(PurposesOfAssessment => Vec<PurposeRow>, assessments::purposes_of);
relation!(SourcesOf => Vec<ContactSourceRow>, provenance::of_contacts);
relation!(GroundsOf => Vec<GroundRow>, grounds::of_contacts);
relation!(ConsentsOf => Vec<ConsentRow>, grounds::consents_of_contacts);
relation!(ConsentById => ConsentRow, grounds::consents_by_id);
relation!(ObjectionsOf => Vec<ObjectionRow>, objections::of_contacts);
relation!(PurposeById => PurposeRow, purposes::by_id_map);
