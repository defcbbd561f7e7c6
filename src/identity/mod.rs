//! Who is calling: users with passwords and login sessions, and API keys for integrations.

mod cache;
mod oidc;
mod password;
mod service;
mod tokens;

pub use cache::{Authenticated, PrincipalCache};
pub use oidc::{claimed_issuer, OidcSettings, OidcVerifier, ProviderIdentity};
pub use password::{check_policy, policy_violations, MIN_LENGTH};
pub use service::*;
pub use tokens::{digest, random_secret, Claims, TokenKeys};
