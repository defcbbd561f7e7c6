//! What is done with a person's data across the whole CRM, driven by the personal-data
//! catalogue (`gdpr::catalogue`): the subject access export, erasure under legal holds with its
//! log, the legal holds themselves, and retention. It sits above the domain services whose
//! tables it reads and clears (contacts, matters, billing, ...), which in turn only use the
//! GDPR records below them (`gdpr`).

pub mod erasure;
pub mod export;
pub mod holds;
pub mod retention;
