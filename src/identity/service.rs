//! Logging in and out, refreshing sessions, API keys, and turning a bearer credential into a
//! principal.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::password;
use super::tokens::{digest, random_secret, TokenKeys};
use crate::db::schema::{api_keys, login_failures, retired_refresh_tokens, roles, sessions, users};
use crate::db::{new_id, now, AnyConnection};
use crate::directory;
use crate::error::{Error, Result};

/// How tokens and logins behave.
#[derive(Clone)]
pub struct AuthConfig {
    pub keys: TokenKeys,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
    /// Failed logins for one account from one client address that go unthrottled; after
    /// them each further attempt waits twice as long as the one before.
    pub free_failures: i64,
    /// The longest wait between attempts, and how long failures are remembered.
    pub failure_window_minutes: i64,
    /// The firm's OpenID Connect provider, when one is configured.
    pub oidc: Option<std::sync::Arc<super::oidc::OidcVerifier>>,
}

impl AuthConfig {
    pub fn new(secret: &[u8]) -> AuthConfig {
        AuthConfig {
            keys: TokenKeys::new(secret),
            access_token_ttl_seconds: 15 * 60,
            refresh_token_ttl_days: 30,
            free_failures: 5,
            failure_window_minutes: 15,
            oidc: None,
        }
    }
}

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub role: String,
}

impl Principal {
    /// The lexgate user the principal acts as, if any (an API key acts as none).
    pub fn user_id(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::User { user_id, .. } => Some(user_id),
            PrincipalKind::External { user_id, .. } => user_id.as_deref(),
            PrincipalKind::CalendarFeed { user_id, .. } => Some(user_id),
            PrincipalKind::ApiKey { .. } => None,
        }
    }

    /// What kind of principal this is and its identifier, as the logs record them.
    pub fn kind_and_id(&self) -> (&'static str, String) {
        match &self.kind {
            // A feed reads as its user: the access log names them.
            PrincipalKind::User { user_id, .. } | PrincipalKind::CalendarFeed { user_id, .. } => {
                ("user", user_id.clone())
            }
            PrincipalKind::ApiKey { key_id } => ("api_key", key_id.clone()),
            PrincipalKind::External {
                issuer, subject, ..
            } => ("external", format!("{issuer}#{subject}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    User {
        user_id: String,
        session_id: String,
    },
    ApiKey {
        key_id: String,
    },
    /// A user of the firm's identity provider.
    External {
        issuer: String,
        subject: String,
        /// The active lexgate user with the provider's verified email address, if any: whose
        /// matters the caller sees.
        user_id: Option<String>,
    },
    /// A calendar application fetching a user's feed with its token.
    CalendarFeed {
        user_id: String,
    },
}

/// What a successful login or refresh hands the client; the refresh token is shown only here.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub access_token: String,
    pub access_token_expires_at: i64,
    pub refresh_token: String,
}

const API_KEY_PREFIX: &str = "lxg_";

fn unauthenticated() -> Error {
    Error::Unauthenticated("wrong email or password".to_owned())
}

/// Sets a user's password after checking the policy against the user's own name and email.
pub fn set_password(conn: &mut AnyConnection, user_id: &str, new_password: &str) -> Result<()> {
    let user = directory::get_user(conn, user_id)?;
    password::check_policy(
        "input.password",
        new_password,
        &user.email,
        &user.display_name,
    )?;
    let hash = password::hash(new_password)?;
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(Some(hash)))
        .execute(conn)?;
    // A new password ends every existing session.
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// How many recent failed logins there were for `email` from `address`, and when the last was.
fn recent_failures(
    conn: &mut AnyConnection,
    since: NaiveDateTime,
    email: &str,
    address: Option<&str>,
) -> Result<(i64, Option<NaiveDateTime>)> {
    let recent = login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::occurred_at.ge(since));
    let (count, last) = match address {
        Some(address) => recent
            .filter(login_failures::address.eq(address))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::max(login_failures::occurred_at),
            ))
            .first(conn)?,
        None => recent
            .filter(login_failures::address.is_null())
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::max(login_failures::occurred_at),
            ))
            .first(conn)?,
    };
    Ok((count, last))
}

/// How long after the last failure the next attempt must wait: nothing for the first
/// `free_failures`, then 1 s, 2 s, 4 s, ... up to the window.
fn throttle_wait(config: &AuthConfig, failures: i64) -> TimeDelta {
    let beyond = failures - config.free_failures;
    if beyond < 0 {
        return TimeDelta::zero();
    }
    let ceiling = TimeDelta::minutes(config.failure_window_minutes);
    let doubling = u32::try_from(beyond).unwrap_or(u32::MAX).min(30);
    TimeDelta::seconds(1i64 << doubling).min(ceiling)
}

/// A hash of a random password with the same parameters as users' hashes: an unknown email
/// costs the same argon2id verification as a wrong password, so timing does not tell whether
/// an account exists.
static DUMMY_HASH: std::sync::LazyLock<Option<String>> =
    std::sync::LazyLock::new(|| password::hash(&random_secret()).ok());

fn record_failure(conn: &mut AnyConnection, email: &str, address: Option<&str>) -> Result<()> {
    tracing::warn!(email, address, "failed login");
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(new_id()),
            login_failures::email.eq(email),
            login_failures::address.eq(address),
            login_failures::occurred_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

fn start_session(
    conn: &mut AnyConnection,
    config: &AuthConfig,
    user_id: &str,
    role: &str,
) -> Result<Session> {
    let refresh_token = random_secret();
    let session_id = new_id();
    let created = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session_id),
            sessions::user_id.eq(user_id),
            sessions::refresh_token_hash.eq(digest(&refresh_token)),
            sessions::created_at.eq(created),
            sessions::expires_at.eq(created + TimeDelta::days(config.refresh_token_ttl_days)),
        ))
        .execute(conn)?;
    let (access_token, access_token_expires_at) =
        config
            .keys
            .issue(user_id, &session_id, role, config.access_token_ttl_seconds)?;
    Ok(Session {
        user_id: user_id.to_owned(),
        access_token,
        access_token_expires_at,
        refresh_token,
    })
}

/// Checks email and password; failures are recorded (they must survive, so this runs
/// outside a transaction) and, past a few, slow further attempts on that account from that
/// address down (growing waits), so one address behind a proxy cannot lock everyone out.
pub fn login(
    conn: &mut AnyConnection,
    config: &AuthConfig,
    email: &str,
    password_given: &str,
    address: Option<&str>,
) -> Result<Session> {
    let email = email.trim().to_lowercase();
    let current = now();
    let since = current - TimeDelta::minutes(config.failure_window_minutes);
    let (failures, last) = recent_failures(conn, since, &email, address)?;
    let wait = throttle_wait(config, failures);
    if let Some(next) = last.map(|at| at + wait).filter(|next| *next > current) {
        tracing::warn!(email, address, "login refused: too many failures");
        let seconds = (next - current).num_seconds().max(1);
        return Err(Error::TooManyRequests(format!(
            "too many failed logins; try again in {seconds} seconds"
        )));
    }
    let found: Option<(String, String, bool, Option<String>)> = users::table
        .filter(crate::listing::lower(users::email).eq(&email))
        .select((users::id, users::role, users::active, users::password_hash))
        .first(conn)
        .optional()?;
    let Some((user_id, role, true, Some(hash))) = found else {
        if let Some(dummy) = DUMMY_HASH.as_deref() {
            password::verify(password_given, dummy);
        }
        record_failure(conn, &email, address)?;
        return Err(unauthenticated());
    };
    if !password::verify(password_given, &hash) {
        record_failure(conn, &email, address)?;
        return Err(unauthenticated());
    }
    start_session(conn, config, &user_id, &role)
}

/// Exchanges a refresh token for a new access token and a new refresh token (rotation:
/// the old one stops working). `None` when the token is refused; a token that was already
/// rotated out is refused and ends its whole session (it was stolen or replayed), so the
/// caller must commit what this wrote even then.
pub fn refresh(
    conn: &mut AnyConnection,
    config: &AuthConfig,
    refresh_token: &str,
) -> Result<Option<Session>> {
    let presented = digest(refresh_token);
    let found: Option<(String, String, String, bool)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::refresh_token_hash.eq(&presented))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now()))
        .select((sessions::id, users::id, users::role, users::active))
        .first(conn)
        .optional()?;
    let Some((session_id, user_id, role, true)) = found else {
        let reused: Option<String> = retired_refresh_tokens::table
            .find(&presented)
            .select(retired_refresh_tokens::session_id)
            .first(conn)
            .optional()?;
        if let Some(session_id) = reused {
            tracing::warn!(%session_id, "a rotated-out refresh token was reused: session revoked");
            revoke_session(conn, &session_id)?;
        }
        return Ok(None);
    };
    let rotated = random_secret();
    // Only if the token is still the current one: of two concurrent refreshes with one token,
    // the second is a reuse.
    let changed = diesel::update(
        sessions::table
            .find(&session_id)
            .filter(sessions::refresh_token_hash.eq(&presented)),
    )
    .set(sessions::refresh_token_hash.eq(digest(&rotated)))
    .execute(conn)?;
    if changed == 0 {
        revoke_session(conn, &session_id)?;
        return Ok(None);
    }
    diesel::insert_into(retired_refresh_tokens::table)
        .values((
            retired_refresh_tokens::token_hash.eq(&presented),
            retired_refresh_tokens::session_id.eq(&session_id),
            retired_refresh_tokens::retired_at.eq(now()),
        ))
        .execute(conn)?;
    let (access_token, access_token_expires_at) = config.keys.issue(
        &user_id,
        &session_id,
        &role,
        config.access_token_ttl_seconds,
    )?;
    Ok(Some(Session {
        user_id,
        access_token,
        access_token_expires_at,
        refresh_token: rotated,
    }))
}

fn revoke_session(conn: &mut AnyConnection, session_id: &str) -> Result<()> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// Ends a login session: its access and refresh tokens stop working at once.
pub fn logout(conn: &mut AnyConnection, session_id: &str) -> Result<()> {
    diesel::update(sessions::table.find(session_id))
        .set(sessions::revoked_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

/// An API key as stored (never its secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// Creates an API key bound to `role`; returns it with the full key, which is never stored.
pub fn create_api_key(
    conn: &mut AnyConnection,
    name: &str,
    role: &str,
    expires_at: Option<NaiveDateTime>,
    created_by: Option<&str>,
) -> Result<(ApiKeyRow, String)> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("input.name", "must not be empty"));
    }
    let role = &crate::access_policy::catalog::require_role(conn, "input.role", role)?;
    if expires_at.is_some_and(|at| at <= now()) {
        return Err(Error::invalid("input.expiresAt", "must be in the future"));
    }
    let prefix: String = random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(10)
        .collect();
    let key = format!("{API_KEY_PREFIX}{prefix}_{}", random_secret());
    let id = new_id();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&id),
            api_keys::name.eq(name),
            api_keys::role.eq(role),
            api_keys::prefix.eq(&prefix),
            api_keys::key_hash.eq(digest(&key)),
            api_keys::created_by.eq(created_by),
            api_keys::created_at.eq(now()),
            api_keys::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok((get_api_key(conn, &id)?, key))
}

pub fn get_api_key(conn: &mut AnyConnection, id: &str) -> Result<ApiKeyRow> {
    api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("ApiKey", id))
}

pub fn list_api_keys(conn: &mut AnyConnection) -> Result<Vec<ApiKeyRow>> {
    Ok(api_keys::table
        .order_by((api_keys::created_at.desc(), api_keys::id.desc()))
        .select(ApiKeyRow::as_select())
        .load(conn)?)
}

pub fn revoke_api_key(conn: &mut AnyConnection, id: &str) -> Result<ApiKeyRow> {
    let key = get_api_key(conn, id)?;
    if key.revoked_at.is_none() {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::revoked_at.eq(Some(now())))
            .execute(conn)?;
    }
    get_api_key(conn, id)
}

/// An API key's row as authentication reads it: ID, role, hash, expiry, revocation, last
/// use, and whether the person who made it is still active (`None` for the firm's keys).
type StoredKey = (
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<bool>,
);

/// Last-used times are kept to the minute: one write per key per minute, not per request.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

/// A credential checked against the database: its principal, until when that answer holds
/// without asking again (its expiry), and, for an API key, its id and last-used time.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    pub principal: Principal,
    pub valid_until: Option<NaiveDateTime>,
    pub key_last_used: Option<(String, NaiveDateTime)>,
}

fn authenticate_api_key(conn: &mut AnyConnection, key: &str) -> Result<Checked> {
    let invalid =
        || Error::Unauthenticated("the API key is invalid, expired or revoked".to_owned());
    let prefix = key
        .strip_prefix(API_KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(prefix, _)| prefix)
        .ok_or_else(invalid)?;
    let found: Option<StoredKey> = api_keys::table
        .left_join(users::table.on(api_keys::created_by.eq(users::id.nullable())))
        .filter(api_keys::prefix.eq(prefix))
        .select((
            api_keys::id,
            api_keys::role,
            api_keys::key_hash,
            api_keys::expires_at,
            api_keys::revoked_at,
            api_keys::last_used_at,
            users::active.nullable(),
        ))
        .first(conn)
        .optional()?;
    // A person's keys stop with the person; keys made outside any person's name (the
    // command line, a provider identity without a user) belong to the firm.
    let Some((key_id, role, hash, expires_at, None, last_used, None | Some(true))) = found else {
        return Err(invalid());
    };
    let current = now();
    if hash != digest(key) || expires_at.is_some_and(|at| at <= current) {
        return Err(invalid());
    }
    let last_used = note_key_use(conn, &key_id, last_used, current)?;
    Ok(Checked {
        principal: Principal {
            kind: PrincipalKind::ApiKey {
                key_id: key_id.clone(),
            },
            role,
        },
        valid_until: expires_at,
        key_last_used: Some((key_id, last_used)),
    })
}

/// Records a key's use when the last one recorded is a minute old or more; answers the
/// last-used time now on record.
pub(super) fn note_key_use(
    conn: &mut AnyConnection,
    key_id: &str,
    last_used: Option<NaiveDateTime>,
    current: NaiveDateTime,
) -> Result<NaiveDateTime> {
    match last_used {
        Some(at) if (current - at).num_seconds() < LAST_USED_RESOLUTION_SECONDS => Ok(at),
        _ => {
            diesel::update(api_keys::table.find(key_id))
                .set(api_keys::last_used_at.eq(Some(current)))
                .execute(conn)?;
            Ok(current)
        }
    }
}

fn authenticate_token(
    conn: &mut AnyConnection,
    config: &AuthConfig,
    token: &str,
) -> Result<Checked> {
    let claims = config.keys.verify(token)?;
    // Revocation and deactivation take effect at once, not when the token expires.
    let live: Option<(String, bool)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(&claims.sid))
        .filter(sessions::revoked_at.is_null())
        .select((users::role, users::active))
        .first(conn)
        .optional()?;
    match live {
        Some((role, true)) => Ok(Checked {
            valid_until: chrono::DateTime::from_timestamp(claims.exp, 0).map(|t| t.naive_utc()),
            principal: Principal {
                kind: PrincipalKind::User {
                    user_id: claims.sub,
                    session_id: claims.sid,
                },
                role,
            },
            key_last_used: None,
        }),
        _ => Err(Error::Unauthenticated(
            "the session has ended; log in again".to_owned(),
        )),
    }
}

/// Checks a bearer credential, an API key (`lxg_...`) or an access token, against the
/// database (see [`super::PrincipalCache`] for the cached path).
pub(super) fn check_credential(
    conn: &mut AnyConnection,
    config: &AuthConfig,
    bearer: &str,
) -> Result<Checked> {
    if bearer.starts_with(API_KEY_PREFIX) {
        authenticate_api_key(conn, bearer)
    } else {
        authenticate_token(conn, config, bearer)
    }
}

/// The principal a verified provider token stands for: the first role claim that names a
/// lexgate role, and the active user with the token's verified email address, if there is one.
pub fn provider_principal(
    conn: &mut AnyConnection,
    identity: super::ProviderIdentity,
) -> Result<Principal> {
    let known: Vec<String> = roles::table
        .filter(roles::name.eq_any(&identity.role_claims))
        .select(roles::name)
        .load(conn)?;
    let role = identity
        .role_claims
        .iter()
        .find(|claimed| known.contains(claimed))
        .cloned()
        .ok_or_else(|| Error::Unauthenticated("no lexgate role in the role claim".to_owned()))?;
    let user_id = match identity
        .email
        .as_deref()
        .and_then(|e| crate::validation::normalize_email(e).ok())
    {
        Some(email) => users::table
            .filter(users::email.eq(email))
            .filter(users::active.eq(true))
            .select(users::id)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    Ok(Principal {
        kind: PrincipalKind::External {
            issuer: identity.issuer,
            subject: identity.subject,
            user_id,
        },
        role,
    })
}
