//! "Is this person erased?": the sync engine asks before it creates, links or updates
//! anything, so a person erased under Art. 17 is not brought back by the next import. The
//! engine only sees [`ErasureRegister`]; the register compares keyed hashes of the
//! identities with the tombstones the erasure left.

use crate::db::AnyConnection;
use crate::error::Result;

/// The normalised identities of a provider's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    /// Email and PEC keys (lower-cased addresses).
    pub emails: Vec<String>,
    /// E.164 numbers.
    pub phones: Vec<String>,
    /// Codici fiscali and partite IVA.
    pub tax_codes: Vec<String>,
    /// The connector instance's name and the provider's id of the record.
    pub connector: String,
    pub external_id: String,
}

/// The register of erased people, as the sync engine needs it.
pub trait ErasureRegister: Send + Sync {
    fn is_erased(&self, conn: &mut AnyConnection, identities: &Identities) -> Result<bool>;

    /// [`ErasureRegister::is_erased`] for each of many people (a page of records): one flag
    /// per entry. A register that cannot do better asks about each in turn.
    fn erased_each(&self, conn: &mut AnyConnection, people: &[Identities]) -> Result<Vec<bool>> {
        people.iter().map(|p| self.is_erased(conn, p)).collect()
    }
}

/// The register of erased people kept by the erasure (Art. 17): keyed-hash tombstones of
/// their addresses, numbers, tax codes and connector external ids.
pub struct Tombstones {
    pub hasher: crate::gdpr::KeyedHasher,
}

impl ErasureRegister for Tombstones {
    fn is_erased(&self, conn: &mut AnyConnection, identities: &Identities) -> Result<bool> {
        crate::gdpr::is_erased(conn, &self.hasher, &identifiers(identities))
    }

    fn erased_each(&self, conn: &mut AnyConnection, people: &[Identities]) -> Result<Vec<bool>> {
        let ids: Vec<_> = people.iter().map(identifiers).collect();
        crate::gdpr::tombstones::erased_each(conn, &self.hasher, &ids)
    }
}

fn identifiers(identities: &Identities) -> crate::gdpr::tombstones::Identifiers {
    use crate::gdpr::tombstones::{ExternalId, Identifiers};
    Identifiers {
        emails: identities.emails.clone(),
        phones: identities.phones.clone(),
        tax_codes: identities.tax_codes.clone(),
        external_ids: vec![ExternalId {
            connector: identities.connector.clone(),
            id: identities.external_id.clone(),
        }],
    }
}
