//! The `graph_mail` connector: a Microsoft 365 / Outlook mailbox through Microsoft Graph,
//! one `messages/delta` stream per configured folder, over the OAuth layer.
//!
//! - A folder's first pull is `GET {base}/me/mailFolders/{folder}/messages/delta?$select=…`
//!   with `Prefer: odata.maxpagesize=N`. Every later request replays the absolute
//!   `@odata.nextLink` (while paging) or `@odata.deltaLink` (the next sync) exactly as the
//!   service gave it: the links carry the query, `$select` included. A link to another host
//!   than the configured one is refused (it would carry the bearer token there).
//! - An item with `"@removed"` (whatever its reason: deleted, or moved out of the folder) is
//!   a deletion of that location. Any other item is fetched as MIME (`/messages/{id}/$value`)
//!   and normalised by the IMAP connector's parser, so Graph mail and IMAP mail make the
//!   same records (Message-ID as natural key, PEC headers, `List-Id`, attachment hashes).
//! - 410 Gone (`SyncStateNotFound`, `resyncRequired`) is an invalid cursor: the engine starts
//!   a full resync, which Message-IDs keep from duplicating anything. 429 and 503 with
//!   `Retry-After` are waited out by the shared HTTP client; a 401
//!   (`InvalidAuthenticationToken`) refreshes the token once through the OAuth layer.
//!
//! The cursor holds, per folder, the link to replay, and the folder a paged pull resumes at.

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, Page, RemoteCommunication,
};

pub const KIND: &str = "graph_mail";

/// The properties a delta page is asked for: the MIME content brings the rest.
pub const SELECT: &str = "id,internetMessageId,receivedDateTime";

pub struct GraphMailConnector {
    base: Url,
    client: AuthorizedClient,
    folders: Vec<String>,
    page_size: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FolderState {
    name: String,
    /// An `@odata.nextLink` while a listing is paged, else the last `@odata.deltaLink`.
    link: Option<String>,
    /// Whether `link` is a next link (the folder's listing is not finished).
    paging: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct GraphCursor {
    folders: Vec<FolderState>,
    /// The folder the next pull of this round starts at.
    resume: usize,
}

#[derive(Deserialize)]
struct DeltaPage {
    #[serde(default)]
    value: Vec<DeltaItem>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

#[derive(Deserialize)]
struct DeltaItem {
    id: String,
    #[serde(rename = "internetMessageId")]
    internet_message_id: Option<String>,
    #[serde(rename = "receivedDateTime")]
    received: Option<DateTime<Utc>>,
    #[serde(rename = "@removed")]
    removed: Option<serde_json::Value>,
}

fn protocol(what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol(format!("Microsoft Graph: {what}"))
}

impl GraphMailConnector {
    /// `base_url` is the Graph root with its version, e.g. `https://graph.microsoft.com/v1.0`;
    /// `folders` are well-known folder names (`inbox`, `sentitems`) or folder ids.
    pub fn new(
        base_url: &str,
        client: AuthorizedClient,
        folders: Vec<String>,
        page_size: u32,
    ) -> Result<GraphMailConnector, ConnectorError> {
        let mut base = base_url.trim().trim_end_matches('/').to_owned();
        base.push('/');
        let base = Url::parse(&base).map_err(|e| protocol(format!("base URL: {e}")))?;
        Ok(GraphMailConnector {
            base,
            client,
            folders,
            page_size: page_size.max(1),
        })
    }

    fn url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| protocol("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// The first request of a folder's listing.
    fn initial(&self, folder: &str) -> Result<Url, ConnectorError> {
        let mut url = self.url(&["me", "mailFolders", folder, "messages", "delta"])?;
        url.query_pairs_mut().append_pair("$select", SELECT);
        Ok(url)
    }

    /// A link the service gave, used as given, if it points back at the configured service.
    fn replayable(&self, link: &str) -> Result<Url, ConnectorError> {
        let url = Url::parse(link).map_err(|_| protocol("a link that is not a URL"))?;
        if url.origin() != self.base.origin() {
            return Err(protocol("a link to another host"));
        }
        Ok(url)
    }

    async fn get(&self, url: &Url) -> Result<reqwest::Response, ConnectorError> {
        let prefer = format!("odata.maxpagesize={}", self.page_size);
        Ok(self
            .client
            .send(|http| http.get(url.clone()).header("Prefer", prefer.as_str()))
            .await?)
    }

    async fn message(
        &self,
        folder: &str,
        item: &DeltaItem,
    ) -> Result<RemoteCommunication, ConnectorError> {
        let url = self.url(&["me", "messages", &item.id, "$value"])?;
        let raw = self
            .get(&url)
            .await?
            .bytes()
            .await
            .map_err(|e| ConnectorError::Unavailable(e.without_url().to_string()))?;
        let mut record =
            crate::imap::parse_message(external_id(folder, &item.id), &raw, item.received);
        if record.message_id.is_none() {
            record.message_id = item
                .internet_message_id
                .as_deref()
                .map(|id| {
                    id.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned()
                })
                .filter(|id| !id.is_empty());
        }
        Ok(record)
    }

    async fn pull(
        &self,
        cursor: Option<&Cursor>,
    ) -> Result<Page<RemoteCommunication>, ConnectorError> {
        let mut state: GraphCursor = match cursor {
            Some(cursor) => {
                serde_json::from_str(&cursor.0).map_err(|_| ConnectorError::InvalidCursor)?
            }
            None => GraphCursor::default(),
        };
        // The configured folders, in order, with what the cursor knows of them.
        let folders: Vec<FolderState> = self
            .folders
            .iter()
            .map(|name| {
                state
                    .folders
                    .iter()
                    .find(|f| &f.name == name)
                    .cloned()
                    .unwrap_or_else(|| FolderState {
                        name: name.clone(),
                        ..FolderState::default()
                    })
            })
            .collect();
        state.folders = folders;
        let mut records = Vec::new();
        let mut index = state.resume.min(state.folders.len());
        while index < state.folders.len() {
            let folder = state.folders[index].clone();
            let url = match &folder.link {
                Some(link) => self.replayable(link)?,
                None => self.initial(&folder.name)?,
            };
            let page: DeltaPage = self
                .get(&url)
                .await?
                .json()
                .await
                .map_err(|e| protocol(e.without_url()))?;
            for item in &page.value {
                if item.removed.is_some() {
                    records.push(RemoteCommunication {
                        external_id: external_id(&folder.name, &item.id),
                        deleted: true,
                        ..RemoteCommunication::default()
                    });
                } else {
                    match self.message(&folder.name, item).await {
                        Ok(record) => records.push(record),
                        // Gone since the page was listed (404): the next delta removes it,
                        // and the sync state stays valid.
                        Err(ConnectorError::InvalidCursor) => {}
                        Err(other) => return Err(other),
                    }
                }
            }
            let entry = &mut state.folders[index];
            match (page.next_link, page.delta_link) {
                (Some(next), _) => {
                    entry.link = Some(next);
                    entry.paging = true;
                    state.resume = index;
                    return finish(state, records, true);
                }
                (None, Some(delta)) => {
                    entry.link = Some(delta);
                    entry.paging = false;
                }
                (None, None) => return Err(protocol("a delta page without a next or delta link")),
            }
            index += 1;
            if records.len() >= self.page_size as usize && index < state.folders.len() {
                state.resume = index;
                return finish(state, records, true);
            }
        }
        state.resume = 0;
        finish(state, records, false)
    }
}

fn finish(
    state: GraphCursor,
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

/// A message's location: the folder as configured and Graph's id of the message in it.
fn external_id(folder: &str, id: &str) -> String {
    format!("{folder}/{id}")
}

impl Connector for GraphMailConnector {
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
