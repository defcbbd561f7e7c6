//! The caller's identity in the GraphQL API: logging in and out, login sessions, the
//! caller's own identity (`viewer`), passwords and API keys.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::error::{Error, GraphqlResult};
use crate::identity::{self, ApiKeyRow, Principal, PrincipalKind, Session};
use std::sync::Arc;

use crate::graphql::context::{loader, read, state, write};
use crate::graphql::directory::User;
use crate::graphql::field_guard::RequestAccess;
use crate::graphql::loaders::UserById;
use crate::ids::{self, NodeType};

/// The caller, if the request carried valid credentials.
pub fn principal<'a>(ctx: &Context<'a>) -> Option<&'a Principal> {
    ctx.data_opt::<Arc<RequestAccess>>()
        .and_then(|access| access.principal.as_ref())
}

fn require_principal<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    principal(ctx)
        .ok_or_else(|| Error::Unauthenticated("log in or send an API key".to_owned()))
        .gql()
}

/// A user's credentials for `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// The address the user logs in with.
    pub email: String,
    /// The user's password.
    pub password: String,
}

/// The refresh token of a session, for `refreshSession`.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token from the last `login` or `refreshSession`; each works once.
    pub refresh_token: String,
}

/// Tokens for a logged-in user. Send the access token as `Authorization: Bearer ...`; keep
/// the refresh token to get a new pair when it expires (each refresh token works once).
pub struct SessionPayload(Session);

/// Tokens for a logged-in user: send the access token as `Authorization: Bearer ...`; keep the
/// refresh token to get a new pair when it expires (each refresh token works once).
#[Object]
impl SessionPayload {
    /// The bearer token to send with each request; it works until `accessTokenExpiresAt`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }

    /// When the access token stops working (UTC, ISO 8601).
    async fn access_token_expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.0.access_token_expires_at, 0)
    }

    /// A one-time token for `refreshSession`; using it twice ends the session. Keep it secret.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }

    /// The user who logged in.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loader(ctx)
            .load_one(UserById(self.0.user_id.clone()))
            .await?
            .map(User))
    }
}

/// The answer to `logout` and `setUserPassword`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Always true: the session (or, for `setUserPassword`, every other session of the user) has
    /// ended.
    pub logged_out: bool,
}

/// A new password for a user, for `setUserPassword`.
#[derive(InputObject)]
pub struct SetUserPasswordInput {
    /// The `User` whose password to set.
    pub user_id: ID,
    /// At least 12 characters, hard to guess (zxcvbn score 3 of 4), not containing the user's
    /// name or email.
    pub password: String,
}

/// A new API key, for `createApiKey`.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for, e.g. "billing sync".
    pub name: String,
    /// The role whose permissions the key has.
    pub role: String,
    /// When the key stops working (ISO 8601); never when omitted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key for an integration or firm tool. The key itself is shown once, at creation.
pub struct ApiKey(pub ApiKeyRow);

/// A key for an integration or firm tool, acting in one role; the secret itself is shown once, at
/// creation. Only admins list keys.
#[Object]
impl ApiKey {
    /// The key's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::ApiKey, &self.0.id)
    }

    /// What the key is for, e.g. "billing sync".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The role whose permissions the key has.
    async fn role(&self) -> &str {
        &self.0.role
    }

    /// The first characters of the key, to recognise it in lists and logs.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// When the key was created (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the key stops working (UTC, ISO 8601); null if it never expires.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(|t| t.and_utc())
    }

    /// When the key was revoked (UTC, ISO 8601); null while it works.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.map(|t| t.and_utc())
    }

    /// When the key was last used, to the minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.map(|t| t.and_utc())
    }
}

/// The answer to `createApiKey`: the new key and, once only, its secret.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The key as lists show it.
    pub api_key: ApiKey,
    /// The key to send as `Authorization: Bearer ...`. It is not stored and cannot be shown again.
    pub secret: String,
}

/// The answer to `revokeApiKey`.
#[derive(SimpleObject)]
pub struct ApiKeyPayload {
    /// The key, now revoked.
    pub api_key: ApiKey,
}

/// Who the caller is.
pub struct Viewer(Principal);

/// The caller of this request: a logged-in user, an API key, or a provider token.
#[Object]
impl Viewer {
    /// The role the caller acts in, which decides what it may read and change.
    async fn role(&self) -> &str {
        &self.0.role
    }

    /// The identity provider's subject, when the caller came with a provider token.
    async fn external_subject(&self) -> Option<&str> {
        match &self.0.kind {
            PrincipalKind::External { subject, .. } => Some(subject),
            _ => None,
        }
    }

    /// The user, when the caller logged in as one (or came with a provider token carrying
    /// a user's verified email address).
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(user_id) = self.0.user_id() else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(UserById(user_id.to_owned()))
            .await?
            .map(User))
    }

    /// The API key, when the caller used one.
    async fn api_key(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        let PrincipalKind::ApiKey { key_id } = &self.0.kind else {
            return Ok(None);
        };
        let key_id = key_id.clone();
        Ok(Some(ApiKey(
            read(ctx, move |c| identity::get_api_key(c, &key_id)).await?,
        )))
    }
}

#[derive(Default)]
pub struct AuthQueries;

#[Object]
impl AuthQueries {
    /// The caller: a logged-in user or an API key.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        Ok(Viewer(require_principal(ctx)?.clone()))
    }

    /// All API keys, newest first (never their secrets).
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<ApiKey>>> {
        let rows = read(ctx, identity::list_api_keys).await?;
        Ok(Some(rows.into_iter().map(ApiKey).collect()))
    }
}

#[derive(Default)]
pub struct AuthMutations;

#[Object]
impl AuthMutations {
    /// Checks email and password and starts a session. After repeated failures for one
    /// account from one client address, further attempts from there must wait, longer each
    /// time (TOO_MANY_REQUESTS).
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's email address and password.")] input: LoginInput,
    ) -> async_graphql::Result<SessionPayload> {
        let config = state(ctx).auth.clone();
        let address = ctx
            .data_opt::<Arc<RequestAccess>>()
            .and_then(|access| access.client.address.clone());
        let session = read(ctx, move |c| {
            identity::login(
                c,
                &config,
                &input.email,
                &input.password,
                address.as_deref(),
            )
        })
        .await?;
        Ok(SessionPayload(session))
    }

    /// Trades a refresh token for a new access token and refresh token.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token from the last `login` or `refreshSession`.")]
        input: RefreshSessionInput,
    ) -> async_graphql::Result<SessionPayload> {
        let config = state(ctx).auth.clone();
        // Committed even when refused: a reused token's session is revoked.
        let session = write(ctx, move |c| {
            identity::refresh(c, &config, &input.refresh_token)
        })
        .await?;
        let session = session
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "the refresh token is invalid, expired or revoked".to_owned(),
                )
            })
            .gql()?;
        Ok(SessionPayload(session))
    }

    /// Ends the caller's session: its tokens stop working at once.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<LogoutPayload> {
        let PrincipalKind::User { session_id, .. } = &require_principal(ctx)?.kind else {
            return Err(Error::invalid(
                "logout",
                "API keys have no session; revoke the key instead",
            ))
            .gql();
        };
        let session_id = session_id.clone();
        write(ctx, move |c| identity::logout(c, &session_id)).await?;
        Ok(LogoutPayload { logged_out: true })
    }

    /// Sets a user's password; the user's other sessions end.
    async fn set_user_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and the new password.")] input: SetUserPasswordInput,
    ) -> async_graphql::Result<Option<LogoutPayload>> {
        crate::graphql::directory::require_may_manage_user(ctx, &input.user_id, "input.userId")
            .await?;
        let user_id = ids::decode(NodeType::User, &input.user_id, "input.userId").gql()?;
        write(ctx, move |c| {
            identity::set_password(c, &user_id, &input.password)
        })
        .await?;
        Ok(Some(LogoutPayload { logged_out: true }))
    }

    /// Creates an API key acting in the given role (admins only; a role the caller may hand out).
    /// The answer carries the secret once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's purpose, role and optional expiry.")] input: CreateApiKeyInput,
    ) -> async_graphql::Result<Option<CreateApiKeyPayload>> {
        let principal = require_principal(ctx)?.clone();
        crate::graphql::roles::require_may_hand_out(ctx, &input.role, "input.role").await?;
        let role = input.role.trim().to_lowercase();
        let (row, secret) = write(ctx, move |c| {
            // A key belongs to the person behind its creator: a key made with a key belongs
            // to whoever made that one, and stops with them.
            let created_by = match &principal.kind {
                PrincipalKind::ApiKey { key_id } => identity::get_api_key(c, key_id)?.created_by,
                _ => principal.user_id().map(str::to_owned),
            };
            identity::create_api_key(
                c,
                &input.name,
                &role,
                input.expires_at.map(|t| t.naive_utc()),
                created_by.as_deref(),
            )
        })
        .await?;
        Ok(Some(CreateApiKeyPayload {
            api_key: ApiKey(row),
            secret,
        }))
    }

    /// Revokes an API key at once.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `ApiKey` ID.")] id: ID,
    ) -> async_graphql::Result<Option<ApiKeyPayload>> {
        let key = ids::decode(NodeType::ApiKey, &id, "id").gql()?;
        let row = write(ctx, move |c| identity::revoke_api_key(c, &key)).await?;
        Ok(Some(ApiKeyPayload {
            api_key: ApiKey(row),
        }))
    }
}
