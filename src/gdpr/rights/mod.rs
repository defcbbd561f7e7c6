//! Data-subject rights (Art. 12-22 GDPR): the register of requests with their deadlines, the
//! rectification history, restriction of processing, erasure under legal holds with its log
//! and tombstones, and the subject access export.

pub mod erasure;
pub mod export;
pub mod history;
pub mod holds;
pub mod requests;
pub mod restriction;
pub mod tombstones;

pub use restriction::{is_restricted, not_restricted, restricted_among};
pub use tombstones::is_erased;
