//! The `json_feed` connector: a provider (or the firm's middleware in front of one) that
//! serves lexgate's normalised records as JSON change feeds over OAuth 2.
//!
//! - `GET {base}/contacts?cursor=C&limit=N` → `{"records": [RemoteContact…], "cursor": "…",
//!   "more": bool}`; without a cursor, every live record; 410 (or 404) when the cursor is no
//!   longer valid.
//! - `POST {base}/contacts` with an `Idempotency-Key` → `{"external_id": "…"}`.

use serde::Deserialize;

use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, OutboundContact, Page,
    RemoteContact,
};

pub const KIND: &str = "json_feed";

pub struct JsonFeedConnector {
    base_url: String,
    client: AuthorizedClient,
    page_size: u32,
}

#[derive(Deserialize)]
struct FeedPage {
    records: Vec<RemoteContact>,
    cursor: String,
    more: bool,
}

#[derive(Deserialize)]
struct Created {
    external_id: String,
}

impl JsonFeedConnector {
    pub fn new(base_url: &str, client: AuthorizedClient, page_size: u32) -> JsonFeedConnector {
        JsonFeedConnector {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
            page_size: page_size.max(1),
        }
    }
}

impl Connector for JsonFeedConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_contacts: true,
            push_contacts: true,
            ..Capabilities::default()
        }
    }

    fn pull_contacts<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        Box::pin(async move {
            let url = format!("{}/contacts", self.base_url);
            let limit = self.page_size.to_string();
            let response = self
                .client
                .send(|http| {
                    let mut query = vec![("limit", limit.as_str())];
                    if let Some(cursor) = cursor {
                        query.push(("cursor", cursor.0.as_str()));
                    }
                    http.get(&url).query(&query)
                })
                .await?;
            let page: FeedPage = response
                .json()
                .await
                .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()))?;
            Ok(Page {
                records: page.records,
                cursor: Cursor(page.cursor),
                more: page.more,
            })
        })
    }

    fn push_contact<'a>(
        &'a self,
        contact: &'a OutboundContact,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            let url = format!("{}/contacts", self.base_url);
            let response = self
                .client
                .send(|http| {
                    http.post(&url)
                        .header("idempotency-key", &contact.id)
                        .json(contact)
                })
                .await?;
            let created: Created = response
                .json()
                .await
                .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()))?;
            Ok(created.external_id)
        })
    }
}
