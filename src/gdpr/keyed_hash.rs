//! Keyed hashes (HMAC-SHA256) of personal values that must be recognised later without being
//! kept: suppressed addresses, tombstones of erased people, consistent pseudonyms. Without the
//! key a leaked hash cannot be checked against a guessed address.

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::schema::instance_keys;
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result};

/// The row of `instance_keys` holding a generated key when none is configured.
const GENERATED_KEY_NAME: &str = "gdpr";

/// What a hashed value is, so the same text hashes differently as an email and as a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashDomain {
    Email,
    Phone,
    TaxCode,
    ExternalId,
    Pseudonym,
    /// Signatures of double-opt-in confirmation links.
    ConsentConfirmation,
    /// Signatures of campaigns' one-click unsubscribe links.
    Unsubscribe,
}

impl HashDomain {
    fn tag(self) -> &'static [u8] {
        match self {
            HashDomain::Email => b"email",
            HashDomain::Phone => b"phone",
            HashDomain::TaxCode => b"tax-code",
            HashDomain::ExternalId => b"external-id",
            HashDomain::Pseudonym => b"pseudonym",
            HashDomain::ConsentConfirmation => b"consent-confirmation",
            HashDomain::Unsubscribe => b"unsubscribe",
        }
    }
}

#[derive(Clone)]
pub struct KeyedHasher {
    key: std::sync::Arc<[u8]>,
}

impl std::fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHasher(..)")
    }
}

impl KeyedHasher {
    pub fn new(key: &[u8]) -> KeyedHasher {
        KeyedHasher { key: key.into() }
    }

    /// Hex HMAC-SHA256 of the domain tag and the value; callers normalise the value first
    /// (email keys, E.164 numbers) so equal values hash equally.
    pub fn hash(&self, domain: HashDomain, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(domain.tag());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `mac` (hex) is the hash of `value` in `domain`, compared in constant time: for
    /// signatures, where a timing difference would help forge one.
    pub fn verify(&self, domain: HashDomain, value: &str, mac: &str) -> bool {
        let Ok(expected) = hex::decode(mac) else {
            return false;
        };
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        check.update(domain.tag());
        check.update(&[0]);
        check.update(value.as_bytes());
        check.verify_slice(&expected).is_ok()
    }

    /// The configured key, or else the instance's generated one (created on first use and
    /// kept in the database so hashes stay comparable across restarts).
    pub fn load(conn: &mut AnyConnection, configured: Option<&str>) -> Result<KeyedHasher> {
        if let Some(key) = configured {
            return Ok(KeyedHasher::new(key.as_bytes()));
        }
        let stored = |conn: &mut AnyConnection| {
            instance_keys::table
                .find(GENERATED_KEY_NAME)
                .select(instance_keys::secret)
                .first::<String>(conn)
                .optional()
        };
        if let Some(secret) = stored(conn)? {
            return Ok(KeyedHasher::new(secret.as_bytes()));
        }
        // Another replica starting at the same moment may store its key first: whichever
        // insert wins, every process reads back and uses the one stored.
        let row = (
            instance_keys::name.eq(GENERATED_KEY_NAME),
            instance_keys::secret.eq(crate::identity::random_secret()),
            instance_keys::created_at.eq(now()),
        );
        let insert = diesel::insert_into(instance_keys::table).values(row);
        match conn {
            AnyConnection::Postgresql(pg) => insert.on_conflict_do_nothing().execute(pg),
            AnyConnection::Sqlite(sqlite) => insert.on_conflict_do_nothing().execute(sqlite),
        }
        .map_err(|e| Error::Internal(format!("could not store the GDPR key: {e}")))?;
        let secret = stored(conn)?
            .ok_or_else(|| Error::Internal("the generated GDPR key was not stored".to_owned()))?;
        Ok(KeyedHasher::new(secret.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_key_domain_and_value() {
        let a = KeyedHasher::new(b"key one");
        let b = KeyedHasher::new(b"key two");
        let h = a.hash(HashDomain::Email, "anna@example.com");
        assert_eq!(h.len(), 64);
        assert_eq!(h, a.hash(HashDomain::Email, "anna@example.com"));
        assert_ne!(h, b.hash(HashDomain::Email, "anna@example.com"));
        assert_ne!(h, a.hash(HashDomain::Phone, "anna@example.com"));
        assert_ne!(h, a.hash(HashDomain::Email, "anna@example.org"));
    }
}
