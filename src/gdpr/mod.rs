//! GDPR by design (EU 2016/679): where each contact came from, the purposes and legal bases
//! its data is processed on, consent evidence, objections, the suppression list, the
//! assessments bases rely on, and who may receive a campaign.

pub mod assessments;
pub mod double_opt_in;
pub mod grounds;
pub mod keyed_hash;
pub mod objections;
pub mod provenance;
pub mod purposes;
pub mod requests;
pub mod suppression;
pub mod tombstones;
pub mod unsubscribe;

pub use keyed_hash::{HashDomain, KeyedHasher};
pub use tombstones::is_erased;
pub mod anonymized_export;
pub mod catalogue;
pub mod registers;

use crate::identity::Principal;

/// Who records a GDPR fact, kept with it as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The firm's user, when the principal acts as one.
    pub user_id: Option<String>,
    /// "user:ID", "api_key:ID", "external:ISSUER#SUBJECT" or "system:WHAT".
    pub label: String,
}

impl Actor {
    pub fn of(principal: &Principal) -> Actor {
        let (kind, id) = principal.kind_and_id();
        Actor {
            user_id: principal.user_id().map(str::to_owned),
            label: format!("{kind}:{id}"),
        }
    }

    /// lexgate itself: the seeder, a retention run, a connector sync.
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            label: format!("system:{what}"),
        }
    }
}

/// The configurable rules on which legal bases a purpose may rely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasisRules {
    /// Job titles (matched case-insensitively as part of an affiliation's title) of business
    /// contacts that may receive marketing on the firm's legitimate interest.
    pub marketing_job_titles: Vec<String>,
    /// Clients may receive e-mail about analogous services unless they objected
    /// (art. 130(4) Codice Privacy).
    pub soft_spam: bool,
    /// Purposes (keys) whose consents count only once the person confirmed them through the
    /// link lexgate mails (double opt-in).
    pub double_opt_in_purposes: Vec<String>,
}

impl BasisRules {
    pub fn requires_double_opt_in(&self, purpose_key: &str) -> bool {
        self.double_opt_in_purposes.iter().any(|p| p == purpose_key)
    }
}

impl Default for BasisRules {
    fn default() -> Self {
        BasisRules {
            marketing_job_titles: DEFAULT_MARKETING_JOB_TITLES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            soft_spam: true,
            double_opt_in_purposes: Vec::new(),
        }
    }
}

/// Roles whose holders decide on buying legal services: the usual B2B audience.
pub const DEFAULT_MARKETING_JOB_TITLES: &[&str] = &[
    "CEO",
    "CFO",
    "COO",
    "General Counsel",
    "Legal Counsel",
    "Head of Legal",
    "Legal Director",
    "Company Secretary",
    "Amministratore Delegato",
    "Direttore Generale",
    "Direttore Finanziario",
    "Direttore Legale",
    "Responsabile Legale",
    "Responsabile Ufficio Legale",
    "Responsabile Affari Legali",
    "Giurista d'impresa",
];

/// What the GDPR services need from the process: the hasher and the basis rules.
#[derive(Debug, Clone)]
pub struct GdprContext {
    pub hasher: KeyedHasher,
    pub rules: BasisRules,
}
