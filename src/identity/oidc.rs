//! Bearer tokens from the firm's OpenID Connect identity provider: signature checked against
//! the provider's published keys (JWKS, fetched and cached), issuer and audience checked, and a
//! configurable claim mapped to a lexgate role.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The provider's settings.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    /// The claim holding the role (a string or a list of strings).
    pub role_claim: String,
    pub jwks_cache: Duration,
}

/// Checks provider tokens; keeps the provider's keys for `jwks_cache`.
pub struct OidcVerifier {
    settings: OidcSettings,
    http: reqwest::Client,
    keys: tokio::sync::Mutex<Option<(Instant, JwkSet)>>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Unverified {
    iss: Option<String>,
}

fn unauthenticated(message: &str) -> Error {
    Error::Unauthenticated(format!("identity provider token refused: {message}"))
}

/// The issuer a JWT claims, read without checking it: only to pick the verifier.
pub fn claimed_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Unverified>(&bytes).ok()?.iss
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings) -> Result<OidcVerifier> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build HTTP client: {e}")))?;
        Ok(OidcVerifier {
            settings,
            http,
            keys: tokio::sync::Mutex::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// GETs a JSON document from the provider.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T> {
        let unavailable = |e: reqwest::Error| {
            tracing::warn!(error = %e, issuer = %self.settings.issuer, "identity provider unreachable");
            Error::Unavailable("the identity provider cannot be reached".to_owned())
        };
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)
    }

    async fn fetch_keys(&self) -> Result<JwkSet> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.get_json(&discovery_url).await?;
        self.get_json(&discovery.jwks_uri).await
    }

    /// The key with `kid`; the key set is refetched when stale or when `kid` is new (the
    /// provider rotated its keys).
    async fn key(&self, kid: &str) -> Result<DecodingKey> {
        let mut cached = self.keys.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < self.settings.jwks_cache);
        let known = cached.as_ref().and_then(|(_, set)| set.find(kid)).is_some();
        if !fresh || !known {
            *cached = Some((Instant::now(), self.fetch_keys().await?));
        }
        let jwk = cached
            .as_ref()
            .and_then(|(_, set)| set.find(kid))
            .ok_or_else(|| unauthenticated("signed with an unknown key"))?;
        DecodingKey::from_jwk(jwk).map_err(|_| unauthenticated("the provider's key is unusable"))
    }

    /// Who a genuine provider token stands for.
    pub async fn verify(&self, token: &str) -> Result<ProviderIdentity> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed"))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::ES256
                | Algorithm::ES384
        ) {
            return Err(unauthenticated("unsupported signature algorithm"));
        }
        let kid = header.kid.ok_or_else(|| unauthenticated("no key ID"))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| unauthenticated(&e.to_string()))?
            .claims;
        // A provider that says the address is unverified does not get it matched to a user.
        let email = claims["email"]
            .as_str()
            .filter(|_| claims["email_verified"].as_bool() != Some(false))
            .map(str::to_owned);
        Ok(ProviderIdentity {
            issuer: self.settings.issuer.clone(),
            subject: claims["sub"].as_str().unwrap_or_default().to_owned(),
            role_claims: self.role_claims(&claims),
            email,
        })
    }

    /// The values of the role claim, lower-cased; which of them name lexgate roles is the
    /// role catalogue's business.
    fn role_claims(&self, claims: &serde_json::Value) -> Vec<String> {
        let claim = &claims[self.settings.role_claim.as_str()];
        let values: Vec<&str> = match claim {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        values.into_iter().map(str::to_lowercase).collect()
    }
}

/// What a genuine provider token says about its bearer.
#[derive(Debug, Clone)]
pub struct ProviderIdentity {
    pub issuer: String,
    pub subject: String,
    pub role_claims: Vec<String>,
    /// The verified email address, which links the bearer to a lexgate user.
    pub email: Option<String>,
}
