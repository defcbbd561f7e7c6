//! GDPR by design (EU 2016/679): where each contact came from, the purposes and legal bases
//! its data is processed on, consent evidence, objections and the suppression list.

pub mod keyed_hash;

pub use keyed_hash::{HashDomain, KeyedHasher};
pub mod anonymized_export;
pub mod registers;
