//! Sets of data subjects: an entry names the set of contacts it touched, and each distinct
//! set is stored once, one row per contact, in `access_log_subject_sets`.
//!
//! Requests of one shape touch the same contacts again and again (a list page, one contact's
//! page, a matter with its clients), so most entries name a set that is already stored and
//! add no subject rows at all; a new set costs what one row per contact cost before.

use std::collections::HashMap;

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::access_log_subject_sets;
use crate::db::AnyConnection;
use crate::error::Result;

use super::model::SetMemberRow;

/// Set ids per `IN (...)` list: far below SQLite's bind-parameter limit.
const SETS_PER_QUERY: usize = 10_000;

/// Distinguishes this digest from the chain's entry hashes.
const SET_DIGEST_TAG: &[u8] = b"lexgate-access-log-subject-set-v1";

/// Hex digits of a set id: the first 128 bits of the SHA-256, enough that two different sets
/// never share an id by chance, and half the size of the full digest in both indexes that
/// hold it. The id only names the set; the hash chain covers the subjects themselves.
const SET_ID_HEX_DIGITS: usize = 32;

/// The id of the set of `subjects` (sorted and deduplicated, as a normalized entry holds
/// them): the same set always gets the same id, on every server sharing the database.
pub(crate) fn set_id(subjects: &[String]) -> String {
    let mut digest = Sha256::new();
    digest.update(SET_DIGEST_TAG);
    digest.update((subjects.len() as u64).to_be_bytes());
    for subject in subjects {
        digest.update((subject.len() as u64).to_be_bytes());
        digest.update(subject.as_bytes());
    }
    hex::encode(&digest.finalize()[..SET_ID_HEX_DIGITS / 2])
}

/// The stored contacts of each of `set_ids`, unsorted; a set without rows (the empty set,
/// or one whose rows are missing) is absent from the map.
pub(crate) fn members_of(
    conn: &mut AnyConnection,
    set_ids: &[&str],
) -> Result<HashMap<String, Vec<String>>> {
    let mut by_set: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in set_ids.chunks(SETS_PER_QUERY) {
        let rows: Vec<SetMemberRow> = access_log_subject_sets::table
            .filter(access_log_subject_sets::set_id.eq_any(chunk))
            .select(SetMemberRow::as_select())
            .load(conn)?;
        for row in rows {
            by_set.entry(row.set_id).or_default().push(row.contact_id);
        }
    }
    Ok(by_set)
}

/// Which of `set_ids` have rows already.
pub(crate) fn stored(conn: &mut AnyConnection, set_ids: &[&str]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for chunk in set_ids.chunks(SETS_PER_QUERY) {
        found.extend(
            access_log_subject_sets::table
                .filter(access_log_subject_sets::set_id.eq_any(chunk))
                .select(access_log_subject_sets::set_id)
                .distinct()
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_set_id_is_stable_hex_and_depends_on_every_member() {
        let id = set_id(&ids(&["c1", "c2"]));
        assert_eq!(id.len(), SET_ID_HEX_DIGITS);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, set_id(&ids(&["c1", "c2"])));
        assert_ne!(id, set_id(&ids(&["c1"])));
        assert_ne!(id, set_id(&ids(&["c1", "c3"])));
        // Length prefixes: members are never run together.
        assert_ne!(id, set_id(&ids(&["c1c2"])));
        assert_ne!(set_id(&[]), set_id(&ids(&[""])));
    }
}
