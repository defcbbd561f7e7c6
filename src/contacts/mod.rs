//! People and organisations the firm deals with.

pub mod history;
mod merge;
mod minimisation;
mod model;
pub mod restriction;
mod service;

pub use merge::{find_duplicates, merge, DuplicateGroup, DuplicateReason, MergeContactsInput};
pub use minimisation::OptionalContactField;
pub use model::*;
pub use restriction::{is_restricted, not_restricted, restricted_among};
pub use service::*;
