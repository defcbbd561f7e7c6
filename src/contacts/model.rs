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
        Person => "person",
        Organization => "organization",
    }
}

text_enum! {
    /// The contact's relationship with the firm.
    ContactCategory {
        Client => "client",
        Prospect => "prospect",
        Counterparty => "counterparty",
        Partner => "partner",
        Court => "court",
        Expert => "expert",
        Other => "other",
    }
}

/// Serialize: the rectification history compares contacts column by column.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
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

/// An email address of a contact; PEC addresses (certified email) have legal value in Italy.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, SimpleObject)]
#[diesel(table_name = contact_emails)]
#[graphql(name = "EmailAddress")]
pub struct EmailRow {
    #[graphql(skip)]
    pub id: String,
    #[graphql(skip)]
    pub contact_id: String,
    #[graphql(skip)]
    pub position: i32,
    pub address: String,
    #[graphql(skip)]
    pub address_key: String,
    pub label: Option<String>,
    pub is_pec: bool,
}

/// A phone number in E.164 form.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, SimpleObject)]
#[diesel(table_name = contact_phones)]
#[graphql(name = "PhoneNumber")]
pub struct PhoneRow {
    #[graphql(skip)]
    pub id: String,
    #[graphql(skip)]
    pub contact_id: String,
    #[graphql(skip)]
    pub position: i32,
    pub number: String,
    pub label: Option<String>,
}

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
    pub label: Option<String>,
    pub street: String,
    pub postal_code: Option<String>,
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

#[derive(Debug, Clone, InputObject)]
pub struct EmailInput {
    pub address: String,
    pub label: Option<String>,
    /// Certified email (posta elettronica certificata).
    #[graphql(default)]
    pub is_pec: bool,
}

#[derive(Debug, Clone, InputObject)]
pub struct PhoneInput {
    /// Any common notation; national numbers are read in the configured default region.
    pub number: String,
    pub label: Option<String>,
}

#[derive(Debug, Clone, InputObject)]
pub struct AddressInput {
    pub label: Option<String>,
    pub street: String,
    pub postal_code: Option<String>,
    pub city: String,
    pub province: Option<String>,
    /// ISO 3166-1 alpha-2; defaults to IT.
    pub country: Option<String>,
}

#[derive(Debug, Clone, InputObject)]
pub struct AffiliationInput {
    pub organization_id: ID,
    pub job_title: Option<String>,
}

#[derive(Debug, Clone, InputObject)]
pub struct CreateContactInput {
    pub kind: ContactKind,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub organization_name: Option<String>,
    pub category: ContactCategory,
    #[graphql(default)]
    pub emails: Vec<EmailInput>,
    #[graphql(default)]
    pub phones: Vec<PhoneInput>,
    #[graphql(default)]
    pub addresses: Vec<AddressInput>,
    #[graphql(default)]
    pub tags: Vec<String>,
    pub codice_fiscale: Option<String>,
    pub partita_iva: Option<String>,
    pub notes: Option<String>,
    pub responsible_user_id: Option<ID>,
    /// For people: the organisations they work for.
    #[graphql(default)]
    pub affiliations: Vec<AffiliationInput>,
    /// Optional; refused while switched off by data minimisation.
    pub birth_date: Option<NaiveDate>,
    pub personal_interests: Option<String>,
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
    pub id: ID,
    pub given_name: MaybeUndefined<String>,
    pub family_name: MaybeUndefined<String>,
    pub organization_name: MaybeUndefined<String>,
    pub category: Option<ContactCategory>,
    pub emails: Option<Vec<EmailInput>>,
    pub phones: Option<Vec<PhoneInput>>,
    pub addresses: Option<Vec<AddressInput>>,
    pub tags: Option<Vec<String>>,
    pub codice_fiscale: MaybeUndefined<String>,
    pub partita_iva: MaybeUndefined<String>,
    pub notes: MaybeUndefined<String>,
    pub responsible_user_id: MaybeUndefined<ID>,
    pub affiliations: Option<Vec<AffiliationInput>>,
    pub birth_date: MaybeUndefined<NaiveDate>,
    pub personal_interests: MaybeUndefined<String>,
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
    pub kind: Option<ContactKind>,
    /// Any of these categories.
    pub categories: Option<Vec<ContactCategory>>,
    /// Any of these tags.
    pub tags: Option<Vec<String>>,
    pub responsible_user_id: Option<ID>,
    /// People affiliated with this organisation.
    pub organization_id: Option<ID>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

text_enum! {
    ContactOrderField {
        Name => "name",
        CreatedAt => "created_at",
        UpdatedAt => "updated_at",
    }
}

#[derive(Debug, Clone, Copy, InputObject)]
pub struct ContactOrder {
    pub field: ContactOrderField,
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
