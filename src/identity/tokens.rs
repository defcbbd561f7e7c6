//! Signed access tokens and random opaque secrets (refresh tokens, API keys).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const ISSUER: &str = "lexgate";

/// What an access token says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's ID.
    pub sub: String,
    /// The login session the token belongs to (revoked by `logout`).
    pub sid: String,
    pub role: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens (HMAC-SHA256 with the configured secret).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// An access token for `user` in `session`, valid `ttl_seconds` from now.
    pub fn issue(
        &self,
        user: &str,
        session: &str,
        role: &str,
        ttl_seconds: i64,
    ) -> Result<(String, i64)> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_owned(),
            sid: session.to_owned(),
            role: role.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + ttl_seconds,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("cannot sign token: {e}")))?;
        Ok((token, claims.exp))
    }

    /// The claims of a genuine, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| {
                Error::Unauthenticated("the access token is invalid or expired".to_owned())
            })
    }
}

/// 32 random bytes, URL-safe: unguessable, so a fast hash is enough to store it.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a random secret.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_fail() {
        let keys = TokenKeys::new(b"a test secret that is long enough");
        let (token, exp) = keys
            .issue("user-1", "session-1", "lawyer", 60)
            .expect("issue");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(
            (
                claims.sub.as_str(),
                claims.sid.as_str(),
                claims.role.as_str()
            ),
            ("user-1", "session-1", "lawyer")
        );
        assert_eq!(claims.exp, exp);
        let other = TokenKeys::new(b"another secret entirely, also long");
        assert!(other.verify(&token).is_err());
        let (expired, _) = keys
            .issue("user-1", "session-1", "lawyer", -60)
            .expect("issue");
        assert!(keys.verify(&expired).is_err());
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        assert_ne!(random_secret(), random_secret());
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
