//! Tombstones of erased people: keyed hashes of their email addresses, phone numbers, tax
//! codes and external IDs, so that a connector sync recognises a person the firm erased and
//! does not import them again, without the firm keeping the values.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::db::schema::tombstones;
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::{HashDomain, KeyedHasher};
use crate::validation::email_key;

/// An external system's ID for a person: which connector, which ID there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId {
    pub connector: String,
    pub id: String,
}

/// What identifies a person, as an import sees it. Phone numbers in E.164.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub tax_codes: Vec<String>,
    pub external_ids: Vec<ExternalId>,
}

/// One identifier, normalised and hashed: (kind stored, hash, connector).
struct Hashed {
    kind: &'static str,
    hash: String,
    connector: Option<String>,
}

fn normalised_tax_code(code: &str) -> String {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let code = code.to_uppercase();
    code.strip_prefix("IT")
        .filter(|rest| rest.len() == 11 && rest.chars().all(|c| c.is_ascii_digit()))
        .map_or(code.clone(), str::to_owned)
}

/// The external ID hashed together with its connector, so equal IDs in two systems differ.
fn external_value(external: &ExternalId) -> String {
    format!("{}\u{0}{}", external.connector, external.id)
}

fn hashed(hasher: &KeyedHasher, ids: &Identifiers) -> Vec<Hashed> {
    let mut out = Vec::new();
    for email in &ids.emails {
        out.push(Hashed {
            kind: "email",
            hash: hasher.hash(HashDomain::Email, &email_key(email)),
            connector: None,
        });
    }
    for phone in &ids.phones {
        out.push(Hashed {
            kind: "phone",
            hash: hasher.hash(HashDomain::Phone, phone.trim()),
            connector: None,
        });
    }
    for code in &ids.tax_codes {
        out.push(Hashed {
            kind: "tax_code",
            hash: hasher.hash(HashDomain::TaxCode, &normalised_tax_code(code)),
            connector: None,
        });
    }
    for external in &ids.external_ids {
        out.push(Hashed {
            kind: "external_id",
            hash: hasher.hash(HashDomain::ExternalId, &external_value(external)),
            connector: Some(external.connector.clone()),
        });
    }
    out
}

/// Records tombstones for an erased person's identifiers (once per identifier).
pub fn bury(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    ids: &Identifiers,
    request_id: Option<&str>,
) -> Result<usize> {
    let erased_at = now();
    let mut written = 0;
    for h in hashed(hasher, ids) {
        let exists = tombstones::table
            .filter(tombstones::kind.eq(h.kind))
            .filter(tombstones::value_hash.eq(&h.hash))
            .select(tombstones::id)
            .first::<String>(conn)
            .optional()?
            .is_some();
        if exists {
            continue;
        }
        diesel::insert_into(tombstones::table)
            .values((
                tombstones::id.eq(new_id()),
                tombstones::kind.eq(h.kind),
                tombstones::value_hash.eq(&h.hash),
                tombstones::connector.eq(&h.connector),
                tombstones::request_id.eq(request_id),
                tombstones::erased_at.eq(erased_at),
            ))
            .execute(conn)?;
        written += 1;
    }
    Ok(written)
}

/// Whether any of the identifiers belongs to a person the firm erased: a connector sync calls
/// this before importing or updating a record, and skips the record when it answers true.
pub fn is_erased(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    ids: &Identifiers,
) -> Result<bool> {
    for h in hashed(hasher, ids) {
        let found = tombstones::table
            .filter(tombstones::kind.eq(h.kind))
            .filter(tombstones::value_hash.eq(&h.hash))
            .select(tombstones::id)
            .first::<String>(conn)
            .optional()?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// [`is_erased`] for many people at once, in one query per thousand identifiers: the sync
/// engine asks it for a whole page of records. Answers one flag per entry of `people`.
pub fn erased_each(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    people: &[Identifiers],
) -> Result<Vec<bool>> {
    let per_person: Vec<Vec<Hashed>> = people.iter().map(|ids| hashed(hasher, ids)).collect();
    let mut hashes: Vec<&str> = per_person
        .iter()
        .flatten()
        .map(|h| h.hash.as_str())
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut found: HashSet<(String, String)> = HashSet::new();
    for chunk in hashes.chunks(1000) {
        let rows: Vec<(String, String)> = tombstones::table
            .filter(tombstones::value_hash.eq_any(chunk))
            .select((tombstones::kind, tombstones::value_hash))
            .load(conn)?;
        found.extend(rows);
    }
    Ok(per_person
        .iter()
        .map(|hashes| {
            hashes
                .iter()
                .any(|h| found.contains(&(h.kind.to_owned(), h.hash.clone())))
        })
        .collect())
}

/// What creating or updating a contact checks before it writes identifiers: those of an
/// erased person are refused with `ERASED_SUBJECT` at `field` unless the caller `confirmed`
/// that the person came back on a new, documented source and basis. Answers whether the
/// identifiers were an erased person's (so the caller records the return in the sources).
pub fn check_returning(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    ids: &Identifiers,
    confirmed: bool,
    field: &str,
) -> Result<bool> {
    let erased = is_erased(conn, hasher, ids)?;
    if erased && !confirmed {
        return Err(Error::ErasedSubject {
            field: field.to_owned(),
            message: "an email address, phone number or tax code given belongs to a person the \
                      firm erased; record them again only if they came back on a new source and \
                      legal basis, and confirm it"
                .to_owned(),
        });
    }
    Ok(erased)
}

/// How a source notes that the person came back after an erasure.
pub const RETURNING_SUBJECT_NOTE: &str = "returning after an erasure, confirmed on this source";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_codes_compare_without_spaces_case_or_country_prefix() {
        assert_eq!(normalised_tax_code("it 01234567890"), "01234567890");
        assert_eq!(normalised_tax_code("rssmra80a01h501u"), "RSSMRA80A01H501U");
    }

    #[test]
    fn the_same_external_id_in_two_connectors_hashes_differently() {
        let hasher = KeyedHasher::new(b"test key");
        let ids = |connector: &str| Identifiers {
            external_ids: vec![ExternalId {
                connector: connector.to_owned(),
                id: "42".to_owned(),
            }],
            ..Identifiers::default()
        };
        let a = hashed(&hasher, &ids("billing"));
        let b = hashed(&hasher, &ids("mailer"));
        assert_ne!(a[0].hash, b[0].hash);
        let email = hashed(
            &hasher,
            &Identifiers {
                emails: vec!["Anna@Example.IT".to_owned()],
                ..Identifiers::default()
            },
        );
        let same = hashed(
            &hasher,
            &Identifiers {
                emails: vec!["anna@example.it".to_owned()],
                ..Identifiers::default()
            },
        );
        assert_eq!(email[0].hash, same[0].hash);
    }
}
