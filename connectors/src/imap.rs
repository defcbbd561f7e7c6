//! The `imap` connector: a firm mailbox (including Italian PEC mailboxes) over IMAP4rev1.
//!
//! Each pull logs in, and per configured folder: SELECTs it (with CONDSTORE where the server
//! offers it), compares its UIDVALIDITY with the cursor's (a change is an invalid cursor: the
//! engine starts a full resync, and Message-IDs keep it from duplicating anything), skips it
//! when its HIGHESTMODSEQ did not move, reports the UIDs that vanished as deletions and
//! fetches the UIDs above the last one seen, at most a page of messages per pull. The cursor
//! carries, per folder, the UIDVALIDITY, the last UID, the mod-sequence and the set of UIDs
//! known (as ranges), so deletions are found without any state on lexgate's side.
//!
//! Throttling: a server that refuses for load (`NO [LIMIT]`, `NO [UNAVAILABLE]`, "too many
//! connections" as Dovecot's `mail_max_userip_connections` answers a login, or a `BYE` on
//! overload) is retried with the HTTP connectors' backoff (exponential, jittered, at most
//! `retries` times); after that the pull fails with [`ConnectorError::Throttled`], not as a
//! refused login. Each instance opens at most
//! `max_connections` sessions at once, whatever the number of pulls running.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::types::Fetch;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::oauth::TokenManager;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, MailAddress, Page,
    RemoteAttachment, RemoteChannel, RemoteCommunication,
};

pub const KIND: &str = "imap";

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`imaps://`, port 993).
    Tls,
    /// Plain connection upgraded with STARTTLS before the login (`imap://`, port 143).
    StartTls,
    /// No TLS: only for loopback (tests, local relays); the instance says so explicitly.
    Plain,
}

/// How the connector logs in.
#[derive(Clone)]
pub enum ImapLogin {
    Password(String),
    /// SASL XOAUTH2 with an access token of the OAuth layer.
    Xoauth2(Arc<TokenManager>),
    /// SASL OAUTHBEARER (RFC 7628).
    OauthBearer(Arc<TokenManager>),
}

pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub login: ImapLogin,
    pub folders: Vec<String>,
    /// Messages fetched per pull.
    pub page_size: u32,
    /// Certificates trusted besides the public roots (a firm's own CA), DER-encoded.
    pub extra_roots: Vec<Vec<u8>>,
    /// Sessions this instance opens at once (at least one); further pulls wait their turn.
    pub max_connections: usize,
    /// Retries of a throttled pull, and their backoff (the HTTP policy's).
    pub retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

/// Sessions an instance opens at once by default: well under the 10 per user and address
/// that Dovecot allows by default, and under the other servers' usual limits.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2;

/// The DER certificates of a PEM text (one or more `BEGIN CERTIFICATE` blocks): what
/// `extra_roots` takes from an instance's `ca_certificate`.
pub fn certificates_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if certificates.is_empty() {
        return Err("no PEM certificate (BEGIN CERTIFICATE) found".into());
    }
    Ok(certificates)
}

impl ImapSettings {
    /// Host, port and security from `imaps://host[:port]` or `imap://host[:port]`.
    pub fn endpoint(url: &str, plaintext: bool) -> Result<(String, u16, Security), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad IMAP URL: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or("an IMAP URL needs a host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let (security, default_port) = match (parsed.scheme(), plaintext) {
            ("imaps", false) => (Security::Tls, 993),
            ("imap", false) => (Security::StartTls, 143),
            ("imap", true) => (Security::Plain, 143),
            _ => return Err("an imaps:// or imap:// URL (plaintext only with imap://)".into()),
        };
        Ok((host, parsed.port().unwrap_or(default_port), security))
    }
}

pub struct ImapConnector {
    settings: ImapSettings,
    tls: TlsConnector,
    /// One permit per session this instance may have open.
    sessions: Semaphore,
}

/// Any stream the IMAP client runs on (plain TCP or TLS).
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}
type Session = async_imap::Session<Box<dyn Io>>;

/// Where one folder stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FolderState {
    name: String,
    uid_validity: u32,
    last_uid: u32,
    /// HIGHESTMODSEQ when the folder was last caught up (CONDSTORE servers only).
    modseq: Option<u64>,
    /// The UIDs known, as ranges ("1:5,7").
    uids: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ImapCursor {
    folders: Vec<FolderState>,
}

fn unavailable(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Unavailable(format!("IMAP: {e}"))
}

/// A failed TLS handshake; an untrusted certificate says so plainly.
fn tls_error(e: std::io::Error) -> ConnectorError {
    use tokio_rustls::rustls::Error as TlsError;
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
    {
        Some(TlsError::InvalidCertificate(why)) => ConnectorError::Unavailable(format!(
            "IMAP: the server's TLS certificate is not trusted ({why:?}); \
             a firm's own CA goes in the instance's ca_certificate"
        )),
        Some(other) => unavailable(format!("TLS: {other}")),
        None => unavailable(format!("TLS: {e}")),
    }
}

/// Whether a server's refusal says it is overloaded or limiting us, rather than that
/// something is wrong: the response codes of RFC 5530 and the usual wordings of connection
/// limits (Dovecot: "Maximum number of connections from user+IP exceeded").
pub fn is_throttling(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "[limit]",
        "[unavailable]",
        "[inuse]",
        "too many connections",
        "maximum number of connections",
        "too many simultaneous",
        "server overloaded",
        "try again later",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

fn throttled(text: &str) -> ConnectorError {
    ConnectorError::Throttled {
        message: format!("IMAP: {}", text.trim()),
        retry_after: None,
    }
}

fn imap_error(e: async_imap::error::Error) -> ConnectorError {
    match e {
        async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text)
            if is_throttling(&text) =>
        {
            throttled(&text)
        }
        // async-imap reports an untagged BYE as an I/O error naming the status.
        async_imap::error::Error::Io(e)
            if e.to_string().contains("Bye") && is_throttling(&e.to_string()) =>
        {
            throttled(&e.to_string())
        }
        async_imap::error::Error::Io(e) => unavailable(e),
        async_imap::error::Error::ConnectionLost => unavailable("connection lost"),
        other => ConnectorError::Protocol(format!("IMAP: {other}")),
    }
}

impl ImapConnector {
    pub fn new(settings: ImapSettings) -> Result<ImapConnector, String> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for der in &settings.extra_roots {
            roots
                .add(der.clone().into())
                .map_err(|e| format!("trusted certificate: {e}"))?;
        }
        let config = ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(ImapConnector {
            sessions: Semaphore::new(settings.max_connections.max(1)),
            settings,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    async fn tls(&self, tcp: TcpStream) -> Result<Box<dyn Io>, ConnectorError> {
        let name = ServerName::try_from(self.settings.host.clone())
            .map_err(|e| unavailable(format!("server name: {e}")))?;
        let stream = self.tls.connect(name, tcp).await.map_err(tls_error)?;
        Ok(Box::new(stream))
    }

    async fn connect(&self) -> Result<Session, ConnectorError> {
        let s = &self.settings;
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(unavailable)?;
        let stream: Box<dyn Io> = match s.security {
            Security::Tls => self.tls(tcp).await?,
            Security::StartTls => {
                let mut client = async_imap::Client::new(tcp);
                greeting(&mut client).await?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(imap_error)?;
                self.tls(client.into_inner()).await?
            }
            Security::Plain => Box::new(tcp),
        };
        let mut client = async_imap::Client::new(stream);
        if s.security != Security::StartTls {
            greeting(&mut client).await?;
        }
        let refused = |(e, _): (async_imap::error::Error, _)| match e {
            // A login refused for load (Dovecot answers `NO [LIMIT]` when the user has too
            // many connections from this address) is not a bad credential.
            async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text)
                if is_throttling(&text) =>
            {
                throttled(&text)
            }
            async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                ConnectorError::Unauthorized(format!(
                    "the IMAP server refused the login of {}",
                    s.username
                ))
            }
            other => imap_error(other),
        };
        match &s.login {
            ImapLogin::Password(password) => {
                client.login(&s.username, password).await.map_err(refused)
            }
            ImapLogin::Xoauth2(tokens) | ImapLogin::OauthBearer(tokens) => {
                let oauth_error =
                    |e: crate::oauth::OAuthError| ConnectorError::Unauthorized(e.to_string());
                let token = tokens.access_token().await.map_err(oauth_error)?;
                let xoauth2 = matches!(&s.login, ImapLogin::Xoauth2(_));
                let mechanism = if xoauth2 { "XOAUTH2" } else { "OAUTHBEARER" };
                let response = |token: &str| {
                    if xoauth2 {
                        format!("user={}\x01auth=Bearer {token}\x01\x01", s.username)
                    } else {
                        format!("n,a={},\x01auth=Bearer {token}\x01\x01", s.username)
                    }
                };
                match client
                    .authenticate(mechanism, SaslResponse(Some(response(&token))))
                    .await
                {
                    Ok(session) => Ok(session),
                    // A token the server no longer accepts (revoked, expired early): one
                    // refresh through the OAuth layer and one more attempt on this connection.
                    Err((async_imap::error::Error::No(text), client)) if !is_throttling(&text) => {
                        let fresh = tokens.refresh_rejected(&token).await.map_err(oauth_error)?;
                        client
                            .authenticate(mechanism, SaslResponse(Some(response(&fresh))))
                            .await
                            .map_err(refused)
                    }
                    Err(other) => Err(refused(other)),
                }
            }
        }
    }

    /// One pull, retried with backoff while the server throttles us (a pull changes nothing
    /// on the server, so it can always be repeated).
    async fn pull(
        &self,
        cursor: Option<&Cursor>,
    ) -> Result<Page<RemoteCommunication>, ConnectorError> {
        let mut attempt = 0;
        loop {
            let result = {
                let _permit = self
                    .sessions
                    .acquire()
                    .await
                    .map_err(|_| unavailable("the connector is shutting down"))?;
                self.pull_once(cursor).await
            };
            match result {
                Err(ConnectorError::Throttled { message, .. })
                    if attempt < self.settings.retries =>
                {
                    let wait = self.backoff(attempt);
                    tracing::info!(target: "connectors::imap", host = %self.settings.host, attempt, wait_ms = wait.as_millis() as u64, %message, "throttled; retrying");
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// The wait before retry `attempt` (from 0): the base doubled per retry, capped, then
    /// jittered between half and all of it, so instances throttled together spread out.
    fn backoff(&self, attempt: u32) -> Duration {
        let s = &self.settings;
        let capped = s
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(s.max_backoff);
        capped.mul_f64(0.5 + rand::random::<f64>() / 2.0)
    }

    async fn pull_once(
        &self,
        cursor: Option<&Cursor>,
    ) -> Result<Page<RemoteCommunication>, ConnectorError> {
        let mut state: ImapCursor = match cursor {
            Some(cursor) => {
                serde_json::from_str(&cursor.0).map_err(|_| ConnectorError::InvalidCursor)?
            }
            None => ImapCursor::default(),
        };
        let mut session = self.connect().await?;
        let condstore = session
            .capabilities()
            .await
            .map_err(imap_error)?
            .has_str("CONDSTORE");
        let mut records = Vec::new();
        let mut budget = self.settings.page_size.max(1) as usize;
        let mut more = false;
        for folder in &self.settings.folders {
            let index = match state.folders.iter().position(|f| &f.name == folder) {
                Some(i) => i,
                None => {
                    state.folders.push(FolderState {
                        name: folder.clone(),
                        ..FolderState::default()
                    });
                    state.folders.len() - 1
                }
            };
            let folder_state = &mut state.folders[index];
            more |= self
                .pull_folder(
                    &mut session,
                    condstore,
                    folder_state,
                    &mut records,
                    &mut budget,
                )
                .await?;
            if more {
                break;
            }
        }
        // A failed LOGOUT loses nothing: the pull is complete.
        let _ = session.logout().await;
        let cursor = serde_json::to_string(&state)
            .map_err(|e| ConnectorError::Protocol(format!("cursor: {e}")))?;
        Ok(Page {
            records,
            cursor: Cursor(cursor),
            more,
        })
    }

    /// Pulls what changed in one folder; returns whether messages remain beyond the budget.
    async fn pull_folder(
        &self,
        session: &mut Session,
        condstore: bool,
        state: &mut FolderState,
        records: &mut Vec<RemoteCommunication>,
        budget: &mut usize,
    ) -> Result<bool, ConnectorError> {
        let mailbox = if condstore {
            session.select_condstore(&state.name).await
        } else {
            session.select(&state.name).await
        }
        .map_err(imap_error)?;
        let uid_validity = mailbox
            .uid_validity
            .ok_or_else(|| ConnectorError::Protocol("IMAP: no UIDVALIDITY".into()))?;
        if state.uid_validity != 0 && state.uid_validity != uid_validity {
            return Err(ConnectorError::InvalidCursor);
        }
        state.uid_validity = uid_validity;
        if condstore && state.modseq.is_some() && state.modseq == mailbox.highest_modseq {
            return Ok(false);
        }
        let present: BTreeSet<u32> = session
            .uid_search("ALL")
            .await
            .map_err(imap_error)?
            .into_iter()
            .collect();
        let mut known = decode_uids(&state.uids)?;
        for uid in known.difference(&present) {
            records.push(RemoteCommunication {
                external_id: external_id(&state.name, uid_validity, *uid),
                deleted: true,
                ..RemoteCommunication::default()
            });
        }
        known.retain(|uid| present.contains(uid));
        let new: Vec<u32> = present
            .range(state.last_uid.saturating_add(1)..)
            .copied()
            .collect();
        let take = new.len().min(*budget);
        let (now, later) = new.split_at(take);
        if !now.is_empty() {
            let set = encode_uids(now.iter().copied());
            let fetched: Vec<Fetch> = session
                .uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])")
                .await
                .map_err(imap_error)?
                .try_collect()
                .await
                .map_err(imap_error)?;
            for fetch in &fetched {
                let Some(uid) = fetch.uid else { continue };
                if !now.contains(&uid) {
                    continue;
                }
                let Some(raw) = fetch.body() else { continue };
                let internal = fetch.internal_date().map(|d| d.with_timezone(&Utc));
                records.push(parse_message(
                    external_id(&state.name, uid_validity, uid),
                    raw,
                    internal,
                ));
            }
            known.extend(now.iter().copied());
            state.last_uid = state.last_uid.max(now.iter().copied().max().unwrap_or(0));
            *budget -= take;
        }
        state.uids = encode_uids(known.into_iter());
        // Caught up: the next pull may skip the folder while its mod-sequence stays put.
        state.modseq = if later.is_empty() {
            mailbox.highest_modseq
        } else {
            None
        };
        Ok(!later.is_empty())
    }
}

/// Reads the server's greeting: a `BYE` there refuses the connection (overload, too many
/// connections from this address, or a server going down).
async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Debug + Send>(
    client: &mut async_imap::Client<T>,
) -> Result<(), ConnectorError> {
    let response = client
        .read_response()
        .await
        .map_err(unavailable)?
        .ok_or_else(|| unavailable("the server closed the connection before its greeting"))?;
    if let async_imap::imap_proto::Response::Data {
        status: async_imap::imap_proto::Status::Bye,
        information,
        ..
    } = response.parsed()
    {
        let text = information.as_deref().unwrap_or("BYE");
        return Err(if is_throttling(text) {
            throttled(text)
        } else {
            unavailable(format!("the server refused the connection: {text}"))
        });
    }
    Ok(())
}

/// Answers the server's first challenge with the prepared SASL response; an error
/// challenge afterwards gets the empty response RFC 7628 asks for.
struct SaslResponse(Option<String>);

impl async_imap::Authenticator for SaslResponse {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.0.take().unwrap_or_default()
    }
}

fn external_id(folder: &str, uid_validity: u32, uid: u32) -> String {
    format!("{folder}/{uid_validity}/{uid}")
}

/// "1:3,5" for {1, 2, 3, 5}; the input must be ascending.
fn encode_uids(uids: impl Iterator<Item = u32>) -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for uid in uids {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == uid => *end = uid,
            _ => ranges.push((uid, uid)),
        }
    }
    ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_uids(text: &str) -> Result<BTreeSet<u32>, ConnectorError> {
    let mut uids = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (a, b) = (
            a.parse::<u32>()
                .map_err(|_| ConnectorError::InvalidCursor)?,
            b.parse::<u32>()
                .map_err(|_| ConnectorError::InvalidCursor)?,
        );
        uids.extend(a..=b);
    }
    Ok(uids)
}

/// Headers by which PEC providers mark certified messages and their receipts.
const PEC_HEADERS: [&str; 3] = ["X-Trasporto", "X-Ricevuta", "X-TipoRicevuta"];

/// The normalised message. Unreadable parts are left out rather than failing the message.
pub fn parse_message(
    external_id: String,
    raw: &[u8],
    internal_date: Option<DateTime<Utc>>,
) -> RemoteCommunication {
    let Some(message) = MessageParser::default().parse(raw) else {
        return RemoteCommunication {
            external_id,
            occurred_at: internal_date.unwrap_or_else(Utc::now),
            ..RemoteCommunication::default()
        };
    };
    let addresses = |list: Option<&mail_parser::Address>| -> Vec<MailAddress> {
        list.map(|a| {
            a.iter()
                .filter_map(|addr| {
                    Some(MailAddress {
                        address: addr.address()?.trim().to_owned(),
                        name: addr
                            .name()
                            .map(|n| n.trim().to_owned())
                            .filter(|n| !n.is_empty()),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let mut recipients = addresses(message.to());
    recipients.extend(addresses(message.cc()));
    recipients.extend(addresses(message.bcc()));
    let header = |name: &'static str| message.header_raw(name).map(str::trim);
    let channel = if PEC_HEADERS.iter().any(|h| header(h).is_some()) {
        RemoteChannel::Pec
    } else {
        RemoteChannel::Email
    };
    let automated = header("List-Id").is_some()
        || header("Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no"))
        || header("Precedence").is_some_and(|v| {
            ["bulk", "list", "junk"]
                .iter()
                .any(|p| v.eq_ignore_ascii_case(p))
        });
    let occurred_at = message
        .date()
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0))
        .or(internal_date)
        .unwrap_or_else(Utc::now);
    let attachments = message
        .attachments()
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned())
                .to_lowercase();
            let contents = part.contents();
            RemoteAttachment {
                name: part.attachment_name().map(str::to_owned),
                content_type,
                size: contents.len() as u64,
                sha256: hex(&Sha256::digest(contents)),
            }
        })
        .collect();
    RemoteCommunication {
        external_id,
        deleted: false,
        message_id: message
            .message_id()
            .map(|id| {
                id.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
            .filter(|id| !id.is_empty()),
        channel,
        occurred_at,
        subject: message.subject().map(str::to_owned),
        from: addresses(message.from()),
        recipients,
        body: message
            .body_text(0)
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty()),
        attachments,
        automated,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Connector for ImapConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_communications: true,
            ..Capabilities::default()
        }
    }

    fn pull_communications<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteCommunication>, ConnectorError>> {
        Box::pin(self.pull(cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_round_trip_as_ranges() {
        let uids = [1, 2, 3, 5, 7, 8];
        let text = encode_uids(uids.into_iter());
        assert_eq!(text, "1:3,5,7:8");
        assert_eq!(
            decode_uids(&text)
                .expect("decodes")
                .into_iter()
                .collect::<Vec<_>>(),
            uids
        );
        assert!(matches!(
            decode_uids("1:x"),
            Err(ConnectorError::InvalidCursor)
        ));
    }

    #[test]
    fn a_message_is_normalised_with_pec_attachments_and_lists() {
        let raw = b"Message-ID: <abc@pec.example.it>\r\n\
From: Studio Rossi <avv.rossi@pec.example.it>\r\n\
To: Mario Bianchi <mario@client.it>, info@firm.it\r\n\
Cc: anna@client.it\r\n\
Subject: Pratica 2026/001\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0100\r\n\
X-Trasporto: posta-certificata\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nBuongiorno\r\n\
--b\r\nContent-Type: application/pdf; name=atto.pdf\r\n\
Content-Disposition: attachment; filename=atto.pdf\r\n\r\n%PDF-1\r\n--b--\r\n";
        let m = parse_message("INBOX/1/1".into(), raw, None);
        assert_eq!(m.message_id.as_deref(), Some("abc@pec.example.it"));
        assert_eq!(m.channel, RemoteChannel::Pec);
        assert_eq!(m.from[0].address, "avv.rossi@pec.example.it");
        assert_eq!(m.from[0].name.as_deref(), Some("Studio Rossi"));
        assert_eq!(m.recipients.len(), 3);
        assert_eq!(m.body.as_deref(), Some("Buongiorno"));
        assert_eq!(m.occurred_at.to_rfc3339(), "2026-12-01T09:00:00+00:00");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name.as_deref(), Some("atto.pdf"));
        assert_eq!(m.attachments[0].content_type, "application/pdf");
        assert_eq!(m.attachments[0].size, 6);
        assert_eq!(m.attachments[0].sha256, hex(&Sha256::digest(b"%PDF-1")));
        assert!(!m.automated);
        let list = parse_message(
            "INBOX/1/2".into(),
            b"Message-ID: <n@x.it>\r\nFrom: news@x.it\r\nList-Id: <news.x.it>\r\n\r\nhi\r\n",
            None,
        );
        assert!(list.automated);
        assert_eq!(list.channel, RemoteChannel::Email);
    }
}
