//! Matters: the firm's engagements, their parties, team and history.

mod model;
mod service;

pub use model::*;
pub use service::*;
