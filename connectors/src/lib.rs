//! Connectors sync lexgate with a firm's email, calendar, billing and case-file systems.
//!
//! Every connector implements [`Connector`]. A connector only talks to its remote system and
//! returns normalised records with an opaque cursor; it never touches lexgate's database.
//! The sync engine in the server applies provenance and GDPR rules to what it returns.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// What a remote system failed to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("this connector cannot {0}")]
    Unsupported(&'static str),
    #[error("the provider refused the cursor; a full resync is needed")]
    InvalidCursor,
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

/// An opaque position in a provider's change stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// One page of records and where the next pull starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub records: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

/// A person or organisation as the provider knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteContact {
    /// The provider's stable identifier, the key of idempotent upserts.
    pub external_id: String,
    pub display_name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
}

/// What a connector can do; the engine only calls what is offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub pull_contacts: bool,
}

/// A connection to one remote system.
pub trait Connector: Send + Sync {
    /// The connector's kind, e.g. "imap" or "caldav".
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Contacts changed since `cursor` (all of them when `None`).
    fn pull_contacts(
        &self,
        cursor: Option<Cursor>,
    ) -> impl Future<Output = Result<Page<RemoteContact>, ConnectorError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider with two contacts, delivered one per page.
    struct TwoPages;

    impl Connector for TwoPages {
        fn kind(&self) -> &'static str {
            "two-pages"
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities {
                pull_contacts: true,
            }
        }

        async fn pull_contacts(
            &self,
            cursor: Option<Cursor>,
        ) -> Result<Page<RemoteContact>, ConnectorError> {
            let index = match cursor.as_ref().map(|c| c.0.as_str()) {
                None => 0,
                Some("1") => 1,
                Some(_) => return Err(ConnectorError::InvalidCursor),
            };
            let contact = RemoteContact {
                external_id: format!("ext-{index}"),
                display_name: format!("Contact {index}"),
                emails: vec![],
                phones: vec![],
            };
            Ok(Page {
                records: vec![contact],
                next_cursor: (index == 0).then(|| Cursor("1".to_owned())),
            })
        }
    }

    #[tokio::test]
    async fn a_pull_follows_cursors_to_the_end() {
        let connector = TwoPages;
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let page = connector.pull_contacts(cursor).await.expect("page");
            seen.extend(page.records.into_iter().map(|r| r.external_id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["ext-0", "ext-1"]);
        assert!(matches!(
            connector.pull_contacts(Some(Cursor("bogus".into()))).await,
            Err(ConnectorError::InvalidCursor)
        ));
    }
}
