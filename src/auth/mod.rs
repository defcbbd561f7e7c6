//! Who is calling: users with passwords and login sessions, and API keys for integrations.

mod password;
mod service;
mod tokens;

pub use password::{check_policy, policy_violations, MIN_LENGTH};
pub use service::*;
pub use tokens::{random_secret, Claims, TokenKeys};
