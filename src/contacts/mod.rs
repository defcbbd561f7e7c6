//! People and organisations the firm deals with.

mod merge;
mod minimisation;
mod model;
mod service;

pub use merge::{find_duplicates, merge, DuplicateGroup, DuplicateReason, MergeContactsInput};
pub use minimisation::OptionalContactField;
pub use model::*;
pub use service::*;
