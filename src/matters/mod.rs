//! Matters: the firm's engagements, their parties, team and history.

mod model;
mod service;
mod timeline;

pub use model::*;
pub use service::*;
pub use timeline::*;
