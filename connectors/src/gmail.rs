//! The `gmail` connector: a Google Workspace / Gmail mailbox through the Gmail API, over the
//! OAuth layer.
//!
//! - Full sync: the mailbox's current `historyId` from `users/me/profile` is noted first,
//!   then, per configured label (`INBOX`, `SENT`, any label id), `messages.list?labelIds=…`
//!   is paged with `pageToken` / `nextPageToken`, and every message listed is fetched with
//!   `messages.get?format=raw` and normalised by the IMAP connector's parser (so Gmail makes
//!   the same records as IMAP: Message-ID as natural key, PEC headers, `List-Id`, attachment
//!   hashes).
//! - Incremental: `history.list?startHistoryId=…` (paged the same way) from the noted id:
//!   a message added, or given one of the labels, is fetched; a message deleted, or left
//!   with none of the labels, is a deletion. The last page's `historyId` is the next start.
//! - A `startHistoryId` too old for the mailbox's history answers 404: an invalid cursor,
//!   and the engine starts a full sync (Message-IDs keep it from duplicating anything).
//!   429 with `Retry-After` is waited out by the shared HTTP client; a 401 refreshes the
//!   token once through the OAuth layer.
//!
//! A message is one object with labels in Gmail, so its location is its id.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, Page, RemoteCommunication,
};

pub const KIND: &str = "gmail";

pub struct GmailConnector {
    base: Url,
    client: AuthorizedClient,
    labels: Vec<String>,
    page_size: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum GmailCursor {
    /// A full listing: label `label` (index into the configured labels) at `page_token`;
    /// `history_id` was the mailbox's when the listing began.
    Full {
        history_id: String,
        label: usize,
        page_token: Option<String>,
    },
    /// Changes since `history_id`, at `page_token` while paged.
    Incremental {
        history_id: String,
        page_token: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    history_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageList {
    #[serde(default)]
    messages: Vec<MessageRef>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRef {
    id: String,
    #[serde(default)]
    label_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    raw: String,
    internal_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryList {
    #[serde(default)]
    history: Vec<History>,
    next_page_token: Option<String>,
    history_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct History {
    #[serde(default)]
    messages_added: Vec<Changed>,
    #[serde(default)]
    messages_deleted: Vec<Changed>,
    #[serde(default)]
    labels_added: Vec<Changed>,
    #[serde(default)]
    labels_removed: Vec<Changed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Changed {
    message: MessageRef,
    /// The labels added or removed (label changes only).
    #[serde(default)]
    label_ids: Vec<String>,
}

fn protocol(what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol(format!("Gmail API: {what}"))
}

impl GmailConnector {
    /// `base_url` is the API root, e.g. `https://gmail.googleapis.com`; `labels` are label
    /// ids (`INBOX`, `SENT`, or a user label's id).
    pub fn new(
        base_url: &str,
        client: AuthorizedClient,
        labels: Vec<String>,
        page_size: u32,
    ) -> Result<GmailConnector, ConnectorError> {
        let mut base = base_url.trim().trim_end_matches('/').to_owned();
        base.push('/');
        let base = Url::parse(&base).map_err(|e| protocol(format!("base URL: {e}")))?;
        Ok(GmailConnector {
            base,
            client,
            labels,
            page_size: page_size.clamp(1, 500),
        })
    }

    fn url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| protocol("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(["gmail", "v1", "users", "me"])
            .extend(segments);
        Ok(url)
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<T, ConnectorError> {
        self.client
            .send(|http| http.get(url.clone()).query(query))
            .await?
            .json()
            .await
            .map_err(|e| protocol(e.without_url()))
    }

    async fn message(&self, id: &str) -> Result<RemoteCommunication, ConnectorError> {
        let message: RawMessage = self
            .get(self.url(&["messages", id])?, &[("format", "raw")])
            .await?;
        let raw = URL_SAFE_NO_PAD
            .decode(message.raw.trim_end_matches('='))
            .or_else(|_| URL_SAFE.decode(&message.raw))
            .map_err(|_| protocol("a raw message that is not base64url"))?;
        let internal = message
            .internal_date
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis);
        Ok(crate::imap::parse_message(id.to_owned(), &raw, internal))
    }

    fn wanted(&self, labels: &[String]) -> bool {
        labels.iter().any(|l| self.labels.contains(l))
    }

    async fn pull(
        &self,
        cursor: Option<&Cursor>,
    ) -> Result<Page<RemoteCommunication>, ConnectorError> {
        let state = match cursor {
            Some(cursor) => serde_json::from_str::<GmailCursor>(&cursor.0)
                .map_err(|_| ConnectorError::InvalidCursor)?,
            None => {
                let profile: Profile = self.get(self.url(&["profile"])?, &[]).await?;
                GmailCursor::Full {
                    history_id: profile.history_id,
                    label: 0,
                    page_token: None,
                }
            }
        };
        let max = self.page_size.to_string();
        let mut records = Vec::new();
        let next = match state {
            GmailCursor::Full {
                history_id,
                label,
                page_token,
            } => {
                let Some(label_id) = self.labels.get(label) else {
                    return finish(
                        GmailCursor::Incremental {
                            history_id,
                            page_token: None,
                        },
                        records,
                        false,
                    );
                };
                let mut query = vec![("labelIds", label_id.as_str()), ("maxResults", &max)];
                if let Some(token) = &page_token {
                    query.push(("pageToken", token));
                }
                let list: MessageList = self.get(self.url(&["messages"])?, &query).await?;
                for message in &list.messages {
                    match self.message(&message.id).await {
                        Ok(record) => records.push(record),
                        // Deleted since it was listed (404): the history reports it.
                        Err(ConnectorError::InvalidCursor) => {}
                        Err(other) => return Err(other),
                    }
                }
                match list.next_page_token {
                    Some(token) => GmailCursor::Full {
                        history_id,
                        label,
                        page_token: Some(token),
                    },
                    None if label + 1 < self.labels.len() => GmailCursor::Full {
                        history_id,
                        label: label + 1,
                        page_token: None,
                    },
                    None => {
                        return finish(
                            GmailCursor::Incremental {
                                history_id,
                                page_token: None,
                            },
                            records,
                            false,
                        )
                    }
                }
            }
            GmailCursor::Incremental {
                history_id,
                page_token,
            } => {
                let mut query = vec![
                    ("startHistoryId", history_id.as_str()),
                    ("maxResults", &max),
                    ("historyTypes", "messageAdded"),
                    ("historyTypes", "messageDeleted"),
                    ("historyTypes", "labelAdded"),
                    ("historyTypes", "labelRemoved"),
                ];
                if let Some(token) = &page_token {
                    query.push(("pageToken", token));
                }
                let list: HistoryList = self.get(self.url(&["history"])?, &query).await?;
                // The last word on each message in this page, in order.
                let mut changes: Vec<(String, bool)> = Vec::new();
                let mut note = |id: &str, present: bool| {
                    changes.retain(|(seen, _)| seen != id);
                    changes.push((id.to_owned(), present));
                };
                for entry in &list.history {
                    for added in &entry.messages_added {
                        if self.wanted(&added.message.label_ids) {
                            note(&added.message.id, true);
                        }
                    }
                    // Only a change of a synced label matters (not UNREAD, STARRED…).
                    for added in &entry.labels_added {
                        if self.wanted(&added.label_ids) {
                            note(&added.message.id, true);
                        }
                    }
                    for removed in &entry.labels_removed {
                        if self.wanted(&removed.label_ids)
                            && !self.wanted(&removed.message.label_ids)
                        {
                            note(&removed.message.id, false);
                        }
                    }
                    for deleted in &entry.messages_deleted {
                        let labels = &deleted.message.label_ids;
                        if labels.is_empty() || self.wanted(labels) {
                            note(&deleted.message.id, false);
                        }
                    }
                }
                for (id, present) in changes {
                    if present {
                        match self.message(&id).await {
                            Ok(record) => records.push(record),
                            // Deleted again since: a later page or sync reports it.
                            Err(ConnectorError::InvalidCursor) => {}
                            Err(other) => return Err(other),
                        }
                    } else {
                        records.push(RemoteCommunication {
                            external_id: id,
                            deleted: true,
                            ..RemoteCommunication::default()
                        });
                    }
                }
                match list.next_page_token {
                    Some(token) => GmailCursor::Incremental {
                        history_id,
                        page_token: Some(token),
                    },
                    None => {
                        return finish(
                            GmailCursor::Incremental {
                                history_id: list.history_id.unwrap_or(history_id),
                                page_token: None,
                            },
                            records,
                            false,
                        )
                    }
                }
            }
        };
        finish(next, records, true)
    }
}

fn finish(
    state: GmailCursor,
    records: Vec<RemoteCommunication>,
    more: bool,
) -> Result<Page<RemoteCommunication>, ConnectorError> {
    let cursor = serde_json::to_string(&state).map_err(|e| protocol(format!("cursor: {e}")))?;
    Ok(Page {
        records,
        cursor: Cursor(cursor),
        more,
    })
}

impl Connector for GmailConnector {
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
