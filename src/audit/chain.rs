//! The hash chain: how an entry is hashed, and how the stored chain is checked.
//!
//! `hash = hex(SHA-256(encoding))`, where the encoding starts with a version tag and the
//! previous entry's hash, followed by every stored value, each length-prefixed (and options
//! tagged, lists counted) so that no two different entries encode alike. Changing, removing or
//! reordering any entry changes its hash or breaks the link to the next one; removing entries
//! at the end is caught by `access_log_head`, which records the last seq and hash.

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::model::{AccessEntry, AccessLogRow};
use super::sets;
use crate::db::schema::{access_log, access_log_head};
use crate::db::AnyConnection;
use crate::error::Result;

/// The `prev_hash` of the first entry (and the hash of the empty log's head).
pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Changes whenever the encoding does, so old and new hashes can never be confused.
const ENCODING_VERSION: &[u8] = b"lexgate-access-log-v1";

/// Rows read per round trip while verifying, so the log is never held in memory at once.
const VERIFY_CHUNK: i64 = 1000;

/// The values an entry's hash covers, borrowed from an entry about to be written or from a
/// stored row (whose `action` is hashed as stored, so that a tampered value still hashes).
pub(crate) struct Chained<'a> {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub principal_kind: &'a str,
    pub principal_id: &'a str,
    pub role: &'a str,
    pub operation_name: Option<&'a str>,
    pub client_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub action: &'a str,
    pub fields: Vec<&'a str>,
    pub subjects: Vec<&'a str>,
}

impl<'a> Chained<'a> {
    /// A normalized entry about to be written at `seq`.
    pub(crate) fn of_entry(seq: i64, entry: &'a AccessEntry) -> Chained<'a> {
        Chained {
            seq,
            occurred_at: entry.occurred_at,
            principal_kind: &entry.principal_kind,
            principal_id: &entry.principal_id,
            role: &entry.role,
            operation_name: entry.operation_name.as_deref(),
            client_address: entry.client_address.as_deref(),
            user_agent: entry.user_agent.as_deref(),
            action: entry.action.as_str(),
            fields: entry.fields.iter().map(String::as_str).collect(),
            subjects: entry.subjects.iter().map(String::as_str).collect(),
        }
    }

    /// A stored row with its subjects, sorted as the writer hashed them.
    fn of_row(row: &'a AccessLogRow, subjects: &'a [String]) -> Chained<'a> {
        let mut subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        subjects.sort_unstable();
        Chained {
            seq: row.seq,
            occurred_at: row.occurred_at,
            principal_kind: &row.principal_kind,
            principal_id: &row.principal_id,
            role: &row.role,
            operation_name: row.operation_name.as_deref(),
            client_address: row.client_address.as_deref(),
            user_agent: row.user_agent.as_deref(),
            action: &row.action,
            fields: row.field_names(),
            subjects,
        }
    }

    /// The canonical bytes hashed after the previous hash.
    pub(crate) fn encode(&self, prev_hash: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_bytes(&mut out, ENCODING_VERSION);
        put_str(&mut out, prev_hash);
        out.extend_from_slice(&self.seq.to_be_bytes());
        let time = self
            .occurred_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        put_str(&mut out, &time);
        put_str(&mut out, self.principal_kind);
        put_str(&mut out, self.principal_id);
        put_str(&mut out, self.role);
        put_opt(&mut out, self.operation_name);
        put_opt(&mut out, self.client_address);
        put_opt(&mut out, self.user_agent);
        put_str(&mut out, self.action);
        put_list(&mut out, &self.fields);
        put_list(&mut out, &self.subjects);
        out
    }

    /// The hex SHA-256 of the encoding: this entry's `hash`.
    pub(crate) fn hash(&self, prev_hash: &str) -> String {
        hex::encode(Sha256::digest(self.encode(prev_hash)))
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// `None` and `Some("")` differ: a tag byte comes first.
fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn put_list(out: &mut Vec<u8>, items: &[&str]) {
    put_len(out, items.len());
    for item in items {
        put_str(out, item);
    }
}

/// What `lexgate audit verify` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every entry hashes to its stored hash, links to its predecessor, and the head matches.
    Intact { entries: i64 },
    /// The first entry that does not check out (or the first missing one), and why.
    Broken { seq: i64, reason: String },
}

/// Where the walk along the chain has got to.
struct Cursor {
    /// The seq the next entry must have.
    next_seq: i64,
    /// The hash the next entry must link to.
    prev_hash: String,
}

/// Walks the chain in seq order, a chunk at a time, up to the head read at the start, so
/// that entries appended meanwhile by a running server neither count nor break it.
pub fn verify_chain(conn: &mut AnyConnection) -> Result<VerifyOutcome> {
    let Some((head_seq, head_hash)) = read_head(conn)? else {
        return Ok(head_missing());
    };
    let mut cursor = Cursor {
        next_seq: 1,
        prev_hash: GENESIS_HASH.to_owned(),
    };
    let mut last_seen = i64::MIN;
    loop {
        let rows: Vec<AccessLogRow> = access_log::table
            .filter(access_log::seq.gt(last_seen))
            .filter(access_log::seq.le(head_seq))
            .order_by(access_log::seq.asc())
            .limit(VERIFY_CHUNK)
            .select(AccessLogRow::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else {
            break;
        };
        let mut set_ids: Vec<&str> = rows.iter().map(|r| r.subject_set.as_str()).collect();
        set_ids.sort_unstable();
        set_ids.dedup();
        let subjects = sets::members_of(conn, &set_ids)?;
        last_seen = last.seq;
        for row in &rows {
            let row_subjects = subjects
                .get(&row.subject_set)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if let Err(broken) = check_row(&mut cursor, row, row_subjects) {
                return Ok(broken);
            }
        }
    }
    if let Some(broken) = check_end(&cursor, head_seq, &head_hash) {
        return Ok(broken);
    }
    if let Some(broken) = check_nothing_beyond_head(conn)? {
        return Ok(broken);
    }
    Ok(VerifyOutcome::Intact { entries: head_seq })
}

fn read_head(conn: &mut AnyConnection) -> Result<Option<(i64, String)>> {
    Ok(access_log_head::table
        .find(1)
        .select((access_log_head::seq, access_log_head::hash))
        .first(conn)
        .optional()?)
}

/// The head row cannot be deleted while its trigger stands; without it there is no end to
/// check against. Reported at seq 0, which no entry has.
fn head_missing() -> VerifyOutcome {
    VerifyOutcome::Broken {
        seq: 0,
        reason: "the access log head is missing".to_owned(),
    }
}

/// The walk must end exactly at the head: entries removed from the end of the log leave the
/// head pointing past the last one.
fn check_end(cursor: &Cursor, head_seq: i64, head_hash: &str) -> Option<VerifyOutcome> {
    let last_seq = cursor.next_seq - 1;
    if last_seq < head_seq {
        Some(VerifyOutcome::Broken {
            seq: last_seq + 1,
            reason: format!(
                "entry missing: the log ends at {last_seq} but its head records {head_seq}"
            ),
        })
    } else if cursor.prev_hash != head_hash {
        Some(VerifyOutcome::Broken {
            seq: last_seq,
            reason: "hash does not match the one the head records".to_owned(),
        })
    } else {
        None
    }
}

/// Entries are inserted in the transaction that moves the head past them, so a committed
/// entry beyond the head was written around the writer. The highest seq is read before the
/// head: an entry committed in between moved the head too.
fn check_nothing_beyond_head(conn: &mut AnyConnection) -> Result<Option<VerifyOutcome>> {
    let highest: Option<i64> = access_log::table
        .select(diesel::dsl::max(access_log::seq))
        .first(conn)?;
    let Some((head_seq, _)) = read_head(conn)? else {
        return Ok(Some(head_missing()));
    };
    Ok(match highest {
        Some(highest) if highest > head_seq => Some(VerifyOutcome::Broken {
            seq: head_seq + 1,
            reason: format!("entry beyond the head, which records {head_seq}"),
        }),
        _ => None,
    })
}

/// Checks one entry against its predecessor and its own hash, then advances the cursor.
fn check_row(
    cursor: &mut Cursor,
    row: &AccessLogRow,
    subjects: &[String],
) -> std::result::Result<(), VerifyOutcome> {
    let broken = |seq: i64, reason: String| VerifyOutcome::Broken { seq, reason };
    if row.seq != cursor.next_seq {
        return Err(if row.seq > cursor.next_seq {
            broken(cursor.next_seq, "entry missing".to_owned())
        } else {
            broken(
                row.seq,
                format!("unexpected seq (expected {})", cursor.next_seq),
            )
        });
    }
    if row.prev_hash != cursor.prev_hash {
        return Err(broken(
            row.seq,
            "prev_hash does not match the previous entry's hash".to_owned(),
        ));
    }
    if usize::try_from(row.subject_count).ok() != Some(subjects.len()) {
        return Err(broken(
            row.seq,
            format!(
                "{} data subjects stored, {} recorded",
                subjects.len(),
                row.subject_count
            ),
        ));
    }
    if Chained::of_row(row, subjects).hash(&row.prev_hash) != row.hash {
        return Err(broken(
            row.seq,
            "hash does not match the entry's contents".to_owned(),
        ));
    }
    cursor.next_seq = row.seq + 1;
    cursor.prev_hash.clone_from(&row.hash);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AccessAction;

    fn entry() -> AccessEntry {
        AccessEntry {
            occurred_at: chrono::DateTime::from_timestamp(1_764_000_000, 250_000_000)
                .map(|t| t.naive_utc())
                .unwrap_or_default(),
            principal_kind: "user".to_owned(),
            principal_id: "0193-user".to_owned(),
            role: "lawyer".to_owned(),
            operation_name: Some("ContactPage".to_owned()),
            client_address: Some("10.0.0.7".to_owned()),
            user_agent: Some("curl/8".to_owned()),
            action: AccessAction::Read,
            fields: vec!["Contact.codiceFiscale".to_owned(), "Contact.pec".to_owned()],
            subjects: vec!["c1".to_owned(), "c2".to_owned()],
        }
    }

    fn hash_of(e: &AccessEntry) -> String {
        Chained::of_entry(7, e).hash(GENESIS_HASH)
    }

    #[test]
    fn the_hash_is_hex_sha256_and_stable() {
        let h = hash_of(&entry());
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(h, hash_of(&entry()));
    }

    #[test]
    fn the_time_is_encoded_as_rfc3339_microseconds_utc() {
        let bytes = Chained::of_entry(1, &entry()).encode(GENESIS_HASH);
        let needle = b"2025-11-24T16:00:00.250000Z";
        assert!(bytes.windows(needle.len()).any(|w| w == needle));
    }

    /// Every stored value is covered: changing any one changes the hash.
    #[test]
    fn a_changed_value_changes_the_hash() {
        let base = hash_of(&entry());
        let changes: Vec<fn(&mut AccessEntry)> = vec![
            |e| e.occurred_at += chrono::TimeDelta::microseconds(1),
            |e| e.principal_kind = "api_key".to_owned(),
            |e| e.principal_id.push('x'),
            |e| e.role = "admin".to_owned(),
            |e| e.operation_name = None,
            |e| e.client_address = Some("10.0.0.8".to_owned()),
            |e| e.user_agent = None,
            |e| e.action = AccessAction::Write,
            |e| e.fields.pop().map(drop).unwrap_or_default(),
            |e| e.subjects.push("c3".to_owned()),
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut e = entry();
            change(&mut e);
            assert_ne!(hash_of(&e), base, "change #{i} kept the hash");
        }
        assert_ne!(Chained::of_entry(8, &entry()).hash(GENESIS_HASH), base);
        assert_ne!(Chained::of_entry(7, &entry()).hash(&"1".repeat(64)), base);
    }

    /// Values that a naive concatenation would run together encode differently.
    #[test]
    fn different_entries_never_encode_alike() {
        let encode = |e: &AccessEntry| Chained::of_entry(1, e).encode(GENESIS_HASH);
        let variants: Vec<AccessEntry> = vec![
            entry(),
            AccessEntry {
                principal_id: "0193-use".to_owned(),
                role: "rlawyer".to_owned(),
                ..entry()
            },
            AccessEntry {
                operation_name: None,
                ..entry()
            },
            AccessEntry {
                operation_name: Some(String::new()),
                ..entry()
            },
            AccessEntry {
                operation_name: None,
                client_address: Some("ContactPage".to_owned()),
                ..entry()
            },
            AccessEntry {
                fields: vec!["Contact.codiceFiscaleContact.pec".to_owned()],
                ..entry()
            },
            AccessEntry {
                fields: vec!["Contact.codiceFiscale".to_owned()],
                subjects: vec!["Contact.pec".to_owned(), "c1".to_owned(), "c2".to_owned()],
                ..entry()
            },
            AccessEntry {
                fields: Vec::new(),
                subjects: Vec::new(),
                ..entry()
            },
            AccessEntry {
                fields: vec![String::new()],
                subjects: Vec::new(),
                ..entry()
            },
        ];
        let encodings: Vec<Vec<u8>> = variants.iter().map(encode).collect();
        for (i, a) in encodings.iter().enumerate() {
            for (j, b) in encodings.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "variants {i} and {j} encode alike");
            }
        }
    }

    /// A stored row hashes exactly like the entry it was written from.
    #[test]
    fn a_stored_row_hashes_like_its_entry() {
        let e = entry().normalized().expect("valid entry");
        let hash = Chained::of_entry(3, &e).hash(GENESIS_HASH);
        let row = AccessLogRow::new(
            3,
            &e,
            sets::set_id(&e.subjects),
            GENESIS_HASH.to_owned(),
            hash.clone(),
        );
        let mut subjects = e.subjects.clone();
        subjects.reverse();
        assert_eq!(Chained::of_row(&row, &subjects).hash(GENESIS_HASH), hash);
    }
}
