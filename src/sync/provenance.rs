//! Provenance rules: what an instance records as the source of every contact it imports, and
//! the legal basis (for which purpose) each origin of record gets. An origin without a basis
//! sends new contacts to the review queue instead of creating them.

use async_graphql::{Enum, InputObject, SimpleObject};
use lexgate_connectors::ContactOrigin;
use serde::{Deserialize, Serialize};

use crate::contacts::ContactCategory;
use crate::error::Validator;

/// Where a provider's record comes from (the provenance rules choose a basis by it).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordOrigin {
    /// A party the firm invoices.
    BillingClient,
    /// A correspondent of a known matter.
    MatterCorrespondent,
    /// A correspondent without a known matter.
    UnknownCorrespondent,
    /// An address-book entry.
    AddressBook,
}

impl From<ContactOrigin> for RecordOrigin {
    fn from(origin: ContactOrigin) -> Self {
        match origin {
            ContactOrigin::BillingClient => RecordOrigin::BillingClient,
            ContactOrigin::MatterCorrespondent => RecordOrigin::MatterCorrespondent,
            ContactOrigin::UnknownCorrespondent => RecordOrigin::UnknownCorrespondent,
            ContactOrigin::AddressBook => RecordOrigin::AddressBook,
        }
    }
}

impl RecordOrigin {
    pub fn as_str(self) -> &'static str {
        ContactOrigin::from(self).as_str()
    }
}

impl From<RecordOrigin> for ContactOrigin {
    fn from(origin: RecordOrigin) -> Self {
        match origin {
            RecordOrigin::BillingClient => ContactOrigin::BillingClient,
            RecordOrigin::MatterCorrespondent => ContactOrigin::MatterCorrespondent,
            RecordOrigin::UnknownCorrespondent => ContactOrigin::UnknownCorrespondent,
            RecordOrigin::AddressBook => ContactOrigin::AddressBook,
        }
    }
}

/// The Art. 6(1) bases an import can rest on. Consent is not among them: a provider's record
/// is no evidence of consent.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportBasis {
    Contract,
    LegitimateInterest,
    LegalObligation,
}

impl ImportBasis {
    /// As stored in `processing_grounds.legal_basis`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportBasis::Contract => "contract",
            ImportBasis::LegitimateInterest => "legitimate_interest",
            ImportBasis::LegalObligation => "legal_obligation",
        }
    }
}

/// The rule for one origin; without `basis` the record needs review.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "ProvenanceRule")]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceRule {
    pub origin: RecordOrigin,
    pub basis: Option<ImportBasis>,
    /// The purpose (key, e.g. `client_relationship`) the basis is recorded for.
    pub purpose_key: Option<String>,
    /// The category of contacts created under this rule.
    pub category: ContactCategory,
}

#[derive(InputObject, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceRuleInput {
    pub origin: RecordOrigin,
    /// Leave out to send new contacts of this origin to the review queue.
    pub basis: Option<ImportBasis>,
    pub purpose_key: Option<String>,
    pub category: ContactCategory,
}

/// An instance's provenance configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// Recorded as the detail of every imported contact's source.
    pub source_detail: String,
    pub rules: Vec<ProvenanceRule>,
}

impl Provenance {
    /// The defaults: billing clients on contract for the client relationship,
    /// matter correspondents on legitimate interests for matter handling, everyone else
    /// reviewed first (and so never usable for marketing by default).
    pub fn defaults(source_detail: &str) -> Provenance {
        let rule = |origin, basis, purpose: Option<&str>, category| ProvenanceRule {
            origin,
            basis,
            purpose_key: purpose.map(str::to_owned),
            category,
        };
        Provenance {
            source_detail: source_detail.to_owned(),
            rules: vec![
                rule(
                    RecordOrigin::BillingClient,
                    Some(ImportBasis::Contract),
                    Some("client_relationship"),
                    ContactCategory::Client,
                ),
                rule(
                    RecordOrigin::MatterCorrespondent,
                    Some(ImportBasis::LegitimateInterest),
                    Some("matter_handling"),
                    ContactCategory::Other,
                ),
                rule(
                    RecordOrigin::UnknownCorrespondent,
                    None,
                    None,
                    ContactCategory::Other,
                ),
                rule(
                    RecordOrigin::AddressBook,
                    None,
                    None,
                    ContactCategory::Other,
                ),
            ],
        }
    }

    /// The rule for `origin`; an origin without one needs review.
    pub fn rule(&self, origin: RecordOrigin) -> Option<&ProvenanceRule> {
        self.rules.iter().find(|r| r.origin == origin)
    }

    /// Builds rules from input, checking each (`field` is the input path of the list).
    pub fn from_input(
        v: &mut Validator,
        field: &str,
        source_detail: String,
        inputs: Vec<ProvenanceRuleInput>,
    ) -> Provenance {
        let mut rules: Vec<ProvenanceRule> = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let path = format!("{field}[{i}]");
            if rules.iter().any(|r| r.origin == input.origin) {
                v.add(format!("{path}.origin"), "each origin has one rule");
                continue;
            }
            let purpose_key = input
                .purpose_key
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty());
            match (input.basis, &purpose_key) {
                (Some(_), None) => v.add(
                    format!("{path}.purposeKey"),
                    "a basis is recorded for a purpose",
                ),
                (None, Some(_)) => v.add(
                    format!("{path}.basis"),
                    "a purpose needs the basis it is processed on",
                ),
                _ => {}
            }
            rules.push(ProvenanceRule {
                origin: input.origin,
                basis: input.basis,
                purpose_key,
                category: input.category,
            });
        }
        Provenance {
            source_detail,
            rules,
        }
    }
}
