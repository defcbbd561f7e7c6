//! Contacts: people and organisations, with their emails, phones, addresses, tags and links.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{
    affiliations, contact_addresses, contact_emails, contact_phones, contacts,
};
use crate::db::text_enum;
use crate::listing::SortDirection;

text_enum! {
    /// Whether a contact is a natural person or an organisation.
    ContactKind {
        /// A natural person.
        Person => "person",
        /// A company, public body, association or other organisation.
        Organization => "organization",
    }
}

text_enum! {
    /// The contact's relationship with the firm.
    ContactCategory {
        /// A client of the firm, current or past.
        Client => "client",
        /// A possible client the firm is in touch with.
        Prospect => "prospect",
        /// The other side in a client's matter.
        Counterparty => "counterparty",
        /// A business partner: a correspondent firm, a consultant, a supplier.
        Partner => "partner",
        /// A court or tribunal, or one of its offices.
        Court => "court",
        /// An expert witness or court-appointed technical consultant (CTU).
        Expert => "expert",
        /// Anyone else.
        Other => "other",
    }
}

/// Serialize: the rectification history compares contacts column by column.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(
    table_name = contacts,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct ContactRow {
    pub id: String,
    pub kind: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub organization_name: Option<String>,
    pub display_name: String,
    pub sort_name: String,
    pub category: String,
    pub codice_fiscale: Option<String>,
    pub partita_iva: Option<String>,
    pub notes: Option<String>,
    pub responsible_user_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set while processing is restricted (Art. 18): kept, used for nothing else.
    pub restricted_at: Option<NaiveDateTime>,
    pub restriction_reason: Option<String>,
    /// Optional personal fields, refused while data minimisation switches them off.
    pub birth_date: Option<NaiveDate>,
    pub personal_interests: Option<String>,
    pub family_details: Option<String>,
}

/// The columns of a contact that a list asking for nothing more shows: who it is and what it
/// is to the firm. A page of these decodes four columns of the row's nineteen.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct ContactSummaryRow {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub category: String,
}

/// Which columns of the contacts a list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactColumns {
    /// Every column: a [`ContactRow`].
    All,
    /// Only a [`ContactSummaryRow`]'s.
    Summary,
}

/// A contact as a list read it: the whole row, or its summary.
#[derive(Debug, Clone)]
pub enum ContactRecord {
    Whole(Box<ContactRow>),
    Summary(ContactSummaryRow),
}

impl From<ContactRow> for ContactRecord {
    fn from(row: ContactRow) -> Self {
        ContactRecord::Whole(Box::new(row))
    }
}

impl From<ContactSummaryRow> for ContactRecord {
    fn from(row: ContactSummaryRow) -> Self {
        ContactRecord::Summary(row)
    }
}

/// Evaluates `$load` with `$row` naming the type of the contact columns `$columns` asks for,
/// [`ContactRow`] or [`ContactSummaryRow`]: a query that selects `$row::as_select()` is
/// written once for both. `$load` turns its rows into [`ContactRecord`]s, so both arms have
/// one type.
macro_rules! with_contact_columns {
    ($columns:expr, $row:ident => $load:expr) => {
        match $columns {
            $crate::contacts::ContactColumns::All => {
                type $row = $crate::contacts::ContactRow;
                $load
            }
            $crate::contacts::ContactColumns::Summary => {
                type $row = $crate::contacts::ContactSummaryRow;
                $load
            }
        }
    };
}
pub(crate) use with_contact_columns;

impl ContactRecord {
    pub fn id(&self) -> &str {
        match self {
            ContactRecord::Whole(row) => &row.id,
            ContactRecord::Summary(row) => &row.id,
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            ContactRecord::Whole(row) => &row.kind,
            ContactRecord::Summary(row) => &row.kind,
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            ContactRecord::Whole(row) => &row.display_name,
            ContactRecord::Summary(row) => &row.display_name,
        }
    }

    pub fn category(&self) -> &str {
        match self {
            ContactRecord::Whole(row) => &row.category,
            ContactRecord::Summary(row) => &row.category,
        }
    }

    /// The whole row, when it was read.
    pub fn whole(&self) -> Option<&ContactRow> {
        match self {
            ContactRecord::Whole(row) => Some(row),
            ContactRecord::Summary(_) => None,
        }
    }
}

/// An email address of a contact; PEC addresses (certified email) have legal value in Italy.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, SimpleObject)]
#[diesel(table_name = contact_emails, treat_none_as_default_value = false)]
#[graphql(name = "EmailAddress")]
pub struct EmailRow {
    #[graphql(skip)]
    pub id: String,
    #[graphql(skip)]
    pub contact_id: String,
    #[graphql(skip)]
    pub position: i32,
    /// The address as entered.
    pub address: String,
    #[graphql(skip)]
    pub address_key: String,
    /// What the address is for, e.g. "work"; null when unlabelled.
    pub label: Option<String>,
    /// Whether it is a PEC (certified email) address.
    pub is_pec: bool,
}

/// A phone number in E.164 form.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, SimpleObject)]
#[diesel(table_name = contact_phones, treat_none_as_default_value = false)]
#[graphql(name = "PhoneNumber")]
pub struct PhoneRow {
    #[graphql(skip)]
    pub id: String,
    #[graphql(skip)]
    pub contact_id: String,
    #[graphql(skip)]
    pub position: i32,
    /// The number in E.164 form, e.g. `+390212345678`.
    pub number: String,
    /// What the number is for, e.g. "mobile"; null when unlabelled.
    pub label: Option<String>,
}

/// A postal address of a contact.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, SimpleObject)]
#[diesel(table_name = contact_addresses)]
#[graphql(name = "PostalAddress")]
pub struct AddressRow {
    #[graphql(skip)]
    pub id: String,
    #[graphql(skip)]
    pub contact_id: String,
    #[graphql(skip)]
    pub position: i32,
    /// What the address is for, e.g. "registered office"; null when unlabelled.
    pub label: Option<String>,
    /// Street and number, e.g. "Via Dante 12".
    pub street: String,
    /// The postal code (CAP in Italy, five digits); null when unknown.
    pub postal_code: Option<String>,
    /// The city or municipality.
    pub city: String,
    /// Italian province code (e.g. "MI") or region.
    pub province: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// A person's link to an organisation.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = affiliations)]
pub struct AffiliationRow {
    pub id: String,
    pub person_id: String,
    pub organization_id: String,
    pub job_title: Option<String>,
}

/// An email or PEC address of a contact.
#[derive(Debug, Clone, InputObject)]
pub struct EmailInput {
    /// The email address.
    pub address: String,
    /// What the address is for, e.g. "work"; optional.
    pub label: Option<String>,
    /// Certified email (posta elettronica certificata).
    #[graphql(default)]
    pub is_pec: bool,
}

/// A phone number of a contact.
#[derive(Debug, Clone, InputObject)]
pub struct PhoneInput {
    /// Any common notation; national numbers are read in the configured default region.
    pub number: String,
    /// What the number is for, e.g. "mobile"; optional.
    pub label: Option<String>,
}

/// A postal address of a contact.
#[derive(Debug, Clone, InputObject)]
pub struct AddressInput {
    /// What the address is for, e.g. "registered office"; optional.
    pub label: Option<String>,
    /// Street and number, e.g. "Via Dante 12".
    pub street: String,
    /// The postal code (CAP in Italy, five digits).
    pub postal_code: Option<String>,
    /// The city or municipality.
    pub city: String,
    /// Italian province code (e.g. "MI") or region.
    pub province: Option<String>,
    /// ISO 3166-1 alpha-2; defaults to IT.
    pub country: Option<String>,
}

/// A person's link to an organisation, for `CreateContactInput.affiliations`.
#[derive(Debug, Clone, InputObject)]
pub struct AffiliationInput {
    /// The organisation's `Contact` ID.
    pub organization_id: ID,
    /// The person's job title there, e.g. "Direttore acquisti".
    pub job_title: Option<String>,
}

/// A new contact, for `createContact`: a person needs a given or family name, an organisation its
/// name; the source and at least one legal ground are required.
#[derive(Debug, Clone, InputObject)]
pub struct CreateContactInput {
    /// A person or an organisation.
    pub kind: ContactKind,
    /// A person's given name.
    pub given_name: Option<String>,
    /// A person's family name.
    pub family_name: Option<String>,
    /// An organisation's name (for `ORGANIZATION` contacts).
    pub organization_name: Option<String>,
    /// What the contact is to the firm.
    pub category: ContactCategory,
    /// Email and PEC addresses, in order.
    #[graphql(default)]
    pub emails: Vec<EmailInput>,
    /// Phone numbers, in order.
    #[graphql(default)]
    pub phones: Vec<PhoneInput>,
    /// Postal addresses, in order.
    #[graphql(default)]
    pub addresses: Vec<AddressInput>,
    /// Free labels, e.g. `newsletter`.
    #[graphql(default)]
    pub tags: Vec<String>,
    /// Italian tax code: 16 characters for people (with a check character), 11 digits for
    /// organisations; checked.
    pub codice_fiscale: Option<String>,
    /// Italian VAT number: 11 digits with a check digit; checked.
    pub partita_iva: Option<String>,
    /// Free-text notes about the contact.
    pub notes: Option<String>,
    /// The `User` responsible for the contact.
    pub responsible_user_id: Option<ID>,
    /// For people: the organisations they work for.
    #[graphql(default)]
    pub affiliations: Vec<AffiliationInput>,
    /// Optional; refused while switched off by data minimisation.
    pub birth_date: Option<NaiveDate>,
    /// Optional; refused while data minimisation switches it off.
    pub personal_interests: Option<String>,
    /// Optional; refused while data minimisation switches it off.
    pub family_details: Option<String>,
    /// Where the firm obtained the contact's data: required.
    pub source: crate::gdpr::provenance::ContactSourceInput,
    /// The legal bases for processing the contact's data, per purpose: at least one.
    pub grounds: Vec<crate::gdpr::grounds::ProcessingGroundInput>,
    /// Confirms that a person the firm erased came back: the `source` and `grounds` above
    /// are the new, documented ones. Without it their identifiers are refused
    /// (`ERASED_SUBJECT`); with it the source records the return.
    #[graphql(default)]
    pub confirm_returning_subject: bool,
}

/// Fields left out stay as they are; `null` clears a field; a list replaces the whole list.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateContactInput {
    /// The `Contact` to change.
    pub id: ID,
    /// A person's given name.
    pub given_name: MaybeUndefined<String>,
    /// A person's family name.
    pub family_name: MaybeUndefined<String>,
    /// An organisation's name (for `ORGANIZATION` contacts).
    pub organization_name: MaybeUndefined<String>,
    /// What the contact is to the firm.
    pub category: Option<ContactCategory>,
    /// Email and PEC addresses; the list replaces the old one.
    pub emails: Option<Vec<EmailInput>>,
    /// Phone numbers; the list replaces the old one.
    pub phones: Option<Vec<PhoneInput>>,
    /// Postal addresses; the list replaces the old one.
    pub addresses: Option<Vec<AddressInput>>,
    /// Free labels, e.g. `newsletter`; the list replaces the old one.
    pub tags: Option<Vec<String>>,
    /// Italian tax code: 16 characters for people (with a check character), 11 digits for
    /// organisations; checked.
    pub codice_fiscale: MaybeUndefined<String>,
    /// Italian VAT number: 11 digits with a check digit; checked.
    pub partita_iva: MaybeUndefined<String>,
    /// Free-text notes about the contact; null clears them.
    pub notes: MaybeUndefined<String>,
    /// The `User` responsible for the contact; null for none.
    pub responsible_user_id: MaybeUndefined<ID>,
    /// For people: the organisations they work for; the list replaces the old one.
    pub affiliations: Option<Vec<AffiliationInput>>,
    /// Optional (ISO 8601 date); refused while data minimisation switches it off.
    pub birth_date: MaybeUndefined<NaiveDate>,
    /// Optional; refused while data minimisation switches it off.
    pub personal_interests: MaybeUndefined<String>,
    /// Optional; refused while data minimisation switches it off.
    pub family_details: MaybeUndefined<String>,
    /// The new, documented source of an erased person who came back, required when the
    /// emails, phones or tax codes added are theirs (`ERASED_SUBJECT` otherwise); recorded
    /// among the contact's sources with the return noted. The contact's active processing
    /// grounds are the basis.
    pub returning_subject_source: Option<crate::gdpr::provenance::ContactSourceInput>,
}

/// Which contacts a list returns. All given conditions must hold.
#[derive(Debug, Clone, Default, InputObject, SimpleObject, Serialize, Deserialize)]
#[graphql(input_name = "ContactFilter", name = "ContactFilterValue")]
#[serde(default, rename_all = "camelCase")]
pub struct ContactFilter {
    /// Matches part of the name or of an email address, or a whole codice fiscale,
    /// partita IVA or phone number: only the fields the caller's role may read (a campaign
    /// audience matches names and email addresses only).
    pub text: Option<String>,
    /// Only people or only organisations.
    pub kind: Option<ContactKind>,
    /// Any of these categories.
    pub categories: Option<Vec<ContactCategory>>,
    /// Any of these tags.
    pub tags: Option<Vec<String>>,
    /// Contacts this `User` is responsible for.
    pub responsible_user_id: Option<ID>,
    /// People affiliated with this organisation.
    pub organization_id: Option<ID>,
    /// Created at or after this instant (ISO 8601).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this instant (ISO 8601).
    pub created_to: Option<DateTime<Utc>>,
}

text_enum! {
    /// What a contact list is sorted by.
    ContactOrderField {
        /// The sort name: family name then given name for people, the name for organisations.
        Name => "name",
        /// When the contact was created.
        CreatedAt => "created_at",
        /// When the contact last changed.
        UpdatedAt => "updated_at",
    }
}

/// How a contact list is sorted; ties break by ID.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct ContactOrder {
    /// What to sort by.
    pub field: ContactOrderField,
    /// Ascending (default) or descending.
    #[graphql(default_with = "SortDirection::Asc")]
    pub direction: SortDirection,
}

impl Default for ContactOrder {
    fn default() -> Self {
        ContactOrder {
            field: ContactOrderField::Name,
            direction: SortDirection::Asc,
        }
    }
}
