//! Provenance rules: what an instance records as the source of every contact it imports, and
//! the legal basis (for which purpose) each origin of record gets. An origin without a basis
//! sends new contacts to the review queue instead of creating them.

use async_graphql::{ComplexObject, Enum, InputObject, SimpleObject, ID};
use lexgate_connectors::ContactOrigin;
use serde::{Deserialize, Serialize};

use crate::contacts::ContactCategory;
use crate::db::AnyConnection;
use crate::error::{Result, Validator};
use crate::gdpr::grounds::{self, LegalBasis};
use crate::gdpr::{assessments, purposes};
use crate::ids::{self, NodeType};

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
    /// Art. 6(1)(b): a contract with the person, or steps they asked for before one.
    Contract,
    /// Art. 6(1)(f): the firm's legitimate interest, backed by an approved LIA covering the
    /// purpose.
    LegitimateInterest,
    /// Art. 6(1)(c): a legal obligation of the firm.
    LegalObligation,
}

impl ImportBasis {
    pub fn legal_basis(self) -> LegalBasis {
        match self {
            ImportBasis::Contract => LegalBasis::Contract,
            ImportBasis::LegitimateInterest => LegalBasis::LegitimateInterest,
            ImportBasis::LegalObligation => LegalBasis::LegalObligation,
        }
    }
}

/// The rule for one origin; without `basis` the record needs review.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "ProvenanceRule", complex)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceRule {
    /// The kind of record the rule applies to.
    pub origin: RecordOrigin,
    /// The basis new contacts of this origin are recorded on; null sends them to the review queue.
    pub basis: Option<ImportBasis>,
    /// The purpose (key, e.g. `client_relationship`) the basis is recorded for.
    pub purpose_key: Option<String>,
    /// The key of the legitimate-interest assessment a legitimate-interest basis cites.
    #[graphql(skip)]
    #[serde(default)]
    pub assessment: Option<String>,
    /// The category of contacts created under this rule.
    pub category: ContactCategory,
}

#[ComplexObject]
impl ProvenanceRule {
    /// The approved legitimate-interest assessment (LIA) a legitimate-interest basis cites.
    async fn assessment_id(&self) -> Option<ID> {
        self.assessment
            .as_deref()
            .map(|key| ids::encode(NodeType::Assessment, key))
    }
}

/// The legal basis for contacts a connector imports from records of one origin.
#[derive(InputObject, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceRuleInput {
    /// The kind of record the rule applies to.
    pub origin: RecordOrigin,
    /// Leave out to send new contacts of this origin to the review queue.
    pub basis: Option<ImportBasis>,
    /// The purpose the basis is recorded for (its key, e.g. `client_relationship`).
    pub purpose_key: Option<String>,
    /// Required for LEGITIMATE_INTEREST: an approved LIA covering the purpose.
    pub assessment_id: Option<ID>,
    /// The category of contacts created under this rule.
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

/// The purpose matter correspondents are imported for by default.
const MATTER_HANDLING: &str = "matter_handling";

impl Provenance {
    /// The defaults: billing clients on contract for the client relationship; matter
    /// correspondents on the firm's legitimate interest in handling the matter, citing the
    /// newest approved LIA that covers matter handling (without one they are reviewed: a
    /// legitimate interest nobody assessed is no basis); everyone else reviewed first (and so
    /// never usable for marketing by default).
    pub fn defaults(conn: &mut AnyConnection, source_detail: &str) -> Result<Provenance> {
        let matter_lia = assessments::newest_approved_lia_for(conn, MATTER_HANDLING)?;
        let rule = |origin, basis, purpose: Option<&str>, assessment, category| ProvenanceRule {
            origin,
            basis,
            purpose_key: purpose.map(str::to_owned),
            assessment,
            category,
        };
        let correspondents = match matter_lia {
            Some(lia) => rule(
                RecordOrigin::MatterCorrespondent,
                Some(ImportBasis::LegitimateInterest),
                Some(MATTER_HANDLING),
                Some(lia),
                ContactCategory::Other,
            ),
            None => rule(
                RecordOrigin::MatterCorrespondent,
                None,
                None,
                None,
                ContactCategory::Other,
            ),
        };
        Ok(Provenance {
            source_detail: source_detail.to_owned(),
            rules: vec![
                rule(
                    RecordOrigin::BillingClient,
                    Some(ImportBasis::Contract),
                    Some("client_relationship"),
                    None,
                    ContactCategory::Client,
                ),
                correspondents,
                rule(
                    RecordOrigin::UnknownCorrespondent,
                    None,
                    None,
                    None,
                    ContactCategory::Other,
                ),
                rule(
                    RecordOrigin::AddressBook,
                    None,
                    None,
                    None,
                    ContactCategory::Other,
                ),
            ],
        })
    }

    /// The rule for `origin`; an origin without one needs review.
    pub fn rule(&self, origin: RecordOrigin) -> Option<&ProvenanceRule> {
        self.rules.iter().find(|r| r.origin == origin)
    }

    /// Builds rules from input, checking each against the basis rules (`field` is the input
    /// path of the list); objections go to `v`.
    pub fn from_input(
        conn: &mut AnyConnection,
        v: &mut Validator,
        field: &str,
        source_detail: String,
        inputs: Vec<ProvenanceRuleInput>,
    ) -> Result<Provenance> {
        let mut rules: Vec<ProvenanceRule> = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let path = format!("{field}[{i}]");
            if rules.iter().any(|r| r.origin == input.origin) {
                v.add(format!("{path}.origin"), "each origin has one rule");
                continue;
            }
            let basis = ImportGround {
                basis: input.basis,
                purpose_key: input.purpose_key,
                assessment_id: input.assessment_id,
            }
            .check(conn, v, &path)?;
            rules.push(ProvenanceRule {
                origin: input.origin,
                basis: basis.basis,
                purpose_key: basis.purpose_key,
                assessment: basis.assessment,
                category: input.category,
            });
        }
        Ok(Provenance {
            source_detail,
            rules,
        })
    }
}

/// The basis an import rule (or a reviewer) gives new contacts, as entered.
pub struct ImportGround {
    pub basis: Option<ImportBasis>,
    pub purpose_key: Option<String>,
    pub assessment_id: Option<ID>,
}

/// An [`ImportGround`] that passed the checks.
pub struct CheckedImportGround {
    pub basis: Option<ImportBasis>,
    pub purpose_key: Option<String>,
    pub assessment: Option<String>,
}

impl ImportGround {
    /// Checks the ground as `grounds::record` would for each contact, once for all of them: a
    /// basis goes with a purpose that exists and is not direct marketing (a provider's record
    /// is no evidence for marketing; such grounds are recorded per contact), and a
    /// legitimate interest cites an approved LIA covering the purpose. Errors name fields
    /// under `at`.
    pub fn check(
        self,
        conn: &mut AnyConnection,
        v: &mut Validator,
        at: &str,
    ) -> Result<CheckedImportGround> {
        let purpose_key = self
            .purpose_key
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        let mut assessment = None;
        match (self.basis, &purpose_key) {
            (Some(_), None) => v.add(
                format!("{at}.purposeKey"),
                "a basis is recorded for a purpose",
            ),
            (None, Some(_)) => v.add(
                format!("{at}.basis"),
                "a purpose needs the basis it is processed on",
            ),
            (None, None) => {}
            (Some(basis), Some(key)) => {
                assessment = check_basis(conn, v, at, basis, key, self.assessment_id.as_ref())?;
            }
        }
        if self.assessment_id.is_some() && self.basis != Some(ImportBasis::LegitimateInterest) {
            v.add(
                format!("{at}.assessmentId"),
                "only a legitimate-interest basis cites an assessment",
            );
        }
        Ok(CheckedImportGround {
            basis: self.basis,
            purpose_key,
            assessment,
        })
    }
}

fn check_basis(
    conn: &mut AnyConnection,
    v: &mut Validator,
    at: &str,
    basis: ImportBasis,
    purpose_key: &str,
    assessment_id: Option<&ID>,
) -> Result<Option<String>> {
    let Some(purpose) = purposes::find(conn, purpose_key)? else {
        v.add(format!("{at}.purposeKey"), "no purpose has this key");
        return Ok(None);
    };
    if purpose.marketing {
        v.add(
            format!("{at}.purposeKey"),
            "imports do not enrol anyone in direct marketing; record marketing grounds per \
             contact, with their consent or assessment",
        );
    }
    match basis {
        ImportBasis::LegitimateInterest => grounds::check_assessment(
            conn,
            v,
            &format!("{at}.assessmentId"),
            &purpose,
            assessment_id,
        ),
        _ => Ok(None),
    }
}
