//! OAuth 2 for connectors, on the `oauth2` crate: the authorization-code flow with PKCE and
//! `state`, tokens refreshed ahead of expiry with one refresh in flight per account, rotated
//! refresh tokens handed to a [`TokenStore`], and a client that answers a 401 with one
//! refresh and one retry. Tokens never reach `Debug` output or logs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::http::{HttpClient, HttpError};
use crate::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("the OAuth settings are invalid: {0}")]
    Config(String),
    #[error("the authorisation server refused the request: {0}")]
    Refused(String),
    #[error("the authorisation server could not be reached: {0}")]
    Unreachable(String),
    #[error("the account has no refresh token; authorise the connector again")]
    NoRefreshToken,
    #[error("the refreshed tokens could not be saved: {0}")]
    Store(String),
}

/// A connector's registration at the provider's authorisation server.
#[derive(Clone, Serialize, Deserialize)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub auth_url: String,
    pub token_url: String,
    pub redirect_url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// Where to send the user, and what the callback must be checked against.
pub struct AuthorizationStart {
    pub url: String,
    /// The `state` the callback must bring back.
    pub state: String,
    /// The PKCE verifier, kept server-side (encrypted) until the callback.
    pub pkce_verifier: String,
}

/// An account's tokens.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Keeps an account's tokens (the server encrypts them in the database), shared by every
/// process that uses the account.
pub trait TokenStore: Send + Sync {
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), String>>;
    /// The tokens as last saved, by whichever process.
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, String>>;
}

type ConfiguredClient = oauth2::Client<
    BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

impl OAuthApp {
    fn client(&self) -> Result<ConfiguredClient, OAuthError> {
        let invalid = |what: &str| OAuthError::Config(format!("{what} is not a valid URL"));
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(self.auth_url.clone()).map_err(|_| invalid("auth_url"))?)
            .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(|_| invalid("token_url"))?)
            .set_redirect_uri(
                RedirectUrl::new(self.redirect_url.clone()).map_err(|_| invalid("redirect_url"))?,
            );
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }

    /// The authorisation URL with a fresh `state` and PKCE (S256) challenge.
    pub fn start(&self) -> Result<AuthorizationStart, OAuthError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client()?;
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state) = request.url();
        Ok(AuthorizationStart {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the callback's code (with the verifier kept since the start) for tokens.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<TokenSet, OAuthError> {
        let response = self
            .client()?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        Ok(token_set(&response, None))
    }

    async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh_token: &str,
    ) -> Result<TokenSet, OAuthError> {
        let response = self
            .client()?
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        // A provider that does not rotate refresh tokens keeps the old one valid.
        Ok(token_set(&response, Some(refresh_token)))
    }
}

fn token_set(
    response: &oauth2::basic::BasicTokenResponse,
    previous_refresh: Option<&str>,
) -> TokenSet {
    TokenSet {
        access_token: response.access_token().secret().clone(),
        refresh_token: response
            .refresh_token()
            .map(|t| t.secret().clone())
            .or_else(|| previous_refresh.map(str::to_owned)),
        expires_at: response
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
    }
}

/// The provider's error code only: bodies and URLs may echo secrets.
fn token_error<E: std::error::Error>(
    error: RequestTokenError<E, BasicErrorResponse>,
) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            OAuthError::Refused(response.error().to_string())
        }
        RequestTokenError::Request(_) => OAuthError::Unreachable("the token request failed".into()),
        RequestTokenError::Parse(_, _) => {
            OAuthError::Unreachable("the token response could not be read".into())
        }
        RequestTokenError::Other(message) => OAuthError::Unreachable(message),
    }
}

/// The client the token endpoint is called with: no redirects, so credentials stay with the
/// configured host.
pub fn token_http_client() -> Result<reqwest::Client, HttpError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| HttpError::Build(e.to_string()))
}

/// One account's tokens, refreshed on demand. The lock is held across a refresh, so
/// concurrent callers wait for the one refresh in flight instead of starting their own
/// (which, with rotating refresh tokens, would invalidate each other). Other processes may
/// refresh the account too: before refreshing, the stored tokens are read, and another
/// process's newer ones are taken instead of spending a refresh token it already spent.
pub struct TokenManager {
    app: OAuthApp,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    tokens: Mutex<TokenSet>,
    /// Refresh when the access token expires within this margin.
    margin: chrono::Duration,
}

impl TokenManager {
    pub fn new(
        app: OAuthApp,
        tokens: TokenSet,
        store: Arc<dyn TokenStore>,
    ) -> Result<TokenManager, HttpError> {
        Ok(TokenManager {
            app,
            http: token_http_client()?,
            store,
            tokens: Mutex::new(tokens),
            margin: chrono::Duration::seconds(60),
        })
    }

    /// A valid access token, refreshed first if it expires within the margin.
    pub async fn access_token(&self) -> Result<String, OAuthError> {
        let mut tokens = self.tokens.lock().await;
        if !self.usable(&tokens, None) {
            self.refresh_locked(&mut tokens, None).await?;
        }
        Ok(tokens.access_token.clone())
    }

    /// After the provider refused `rejected`: refresh, unless another caller already did.
    pub async fn refresh_rejected(&self, rejected: &str) -> Result<String, OAuthError> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access_token == rejected {
            self.refresh_locked(&mut tokens, Some(rejected)).await?;
        }
        Ok(tokens.access_token.clone())
    }

    /// Whether `tokens` can be used as they are: not expiring, and not the access token the
    /// provider just refused.
    fn usable(&self, tokens: &TokenSet, rejected: Option<&str>) -> bool {
        let expiring = tokens
            .expires_at
            .is_some_and(|at| at - self.margin <= Utc::now());
        !expiring && rejected != Some(tokens.access_token.as_str())
    }

    /// Takes tokens another process stored since these were read, if any; `true` when
    /// they differ from `tokens`.
    async fn adopt_stored(&self, tokens: &mut TokenSet) -> Result<bool, OAuthError> {
        match self.store.load().await.map_err(OAuthError::Store)? {
            Some(stored) if stored != *tokens => {
                *tokens = stored;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn refresh_locked(
        &self,
        tokens: &mut TokenSet,
        rejected: Option<&str>,
    ) -> Result<(), OAuthError> {
        if self.adopt_stored(tokens).await? && self.usable(tokens, rejected) {
            return Ok(());
        }
        let refresh_token = tokens
            .refresh_token
            .clone()
            .ok_or(OAuthError::NoRefreshToken)?;
        let fresh = match self.app.refresh(&self.http, &refresh_token).await {
            Ok(fresh) => fresh,
            // Another process may have spent the same refresh token a moment earlier: its
            // tokens are stored once the provider has answered it.
            Err(OAuthError::Refused(code)) => {
                if self.adopt_stored(tokens).await? && self.usable(tokens, rejected) {
                    return Ok(());
                }
                return Err(OAuthError::Refused(code));
            }
            Err(other) => return Err(other),
        };
        // Saved before use: a rotated refresh token lost here would lock the account out.
        self.store.save(&fresh).await.map_err(OAuthError::Store)?;
        tracing::info!(target: "connectors::oauth", "access token refreshed");
        *tokens = fresh;
        Ok(())
    }
}

/// An [`HttpClient`] that sends a bearer token and, on a 401, refreshes once and retries.
#[derive(Clone)]
pub struct AuthorizedClient {
    pub http: HttpClient,
    pub tokens: Arc<TokenManager>,
}

impl AuthorizedClient {
    /// Builds the request with `build` (called again for the retry) and sends it.
    pub async fn send<F>(&self, build: F) -> Result<reqwest::Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let token = self.tokens.access_token().await?;
        match self.send_with(&build, &token).await {
            Err(HttpError::Status { status: 401, .. }) => {
                let fresh = self.tokens.refresh_rejected(&token).await?;
                self.send_with(&build, &fresh).await
            }
            other => other,
        }
    }

    async fn send_with<F>(&self, build: &F, token: &str) -> Result<reqwest::Response, HttpError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let request = build(self.http.reqwest())
            .bearer_auth(token)
            .build()
            .map_err(|e| HttpError::Build(e.without_url().to_string()))?;
        self.http.send(request).await
    }
}
