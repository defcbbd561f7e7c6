//! The GDPR access log: which principal read or changed which contacts' personal data, when,
//! from where, and which fields (names, never values).
//!
//! An entry names the set of contacts it touched; each distinct set is stored once
//! (`access_log_subject_sets`), because requests of one shape touch the same contacts again.
//!
//! The entry of a change is appended by [`append_within`] in the change's own transaction, so
//! a committed change always has its entry ([`ChangeLog`] does it for changes committed by a
//! job of their own: a retention run, each page of a sync, a push). Reads are appended
//! through [`AccessLog`], a group-commit writer: the entries of concurrent requests go into
//! one transaction, and each caller resumes once its entries are committed (durably: see the
//! SQLite pragmas in `crate::db`). Both append after the chain's head row, locked, so the
//! chain has one order across writers and processes. The log is append-only (database
//! triggers refuse updates and deletes) and tamper-evident: every entry carries a SHA-256 hash
//! chained to the previous entry's, checked by [`verify_chain`] (`lexgate audit verify`).

mod chain;
mod change;
mod model;
mod queries;
mod sets;
mod writer;

pub use chain::{verify_chain, VerifyOutcome};
pub use change::ChangeLog;
pub use model::{AccessAction, AccessEntry, StoredAccessEntry};
pub use queries::{
    breach_scope, count_entries, fields_by_subject, list_entries, principal_global_id,
    principal_key, AccessLogFilter, BreachScope,
};
pub use writer::{append_within, AccessLog};
