//! Opaque Relay global IDs: `base64("Type:uuid")`, so clients never depend on table keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

/// The node types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Contact,
    Matter,
    Communication,
    Deadline,
    User,
    Team,
    Campaign,
    /// API keys have IDs but are not fetched through `node`.
    ApiKey,
    ProcessingActivity,
    Breach,
    Assessment,
    /// GDPR records read through their contact, not through `node`.
    ProcessingGround,
    Consent,
    Objection,

    SubjectRequest,
    /// Legal holds are listed, not fetched through `node`.
    LegalHold,
    RetentionPolicy,
    /// Connector configuration and sync records: IDs, not fetched through `node`.
    ConnectorInstance,
    SyncRun,
    SyncReviewItem,
    /// A user's calendar feed: listed by its owner, not fetched through `node`.
    CalendarFeed,
    /// A document of a matter's case file (issue 17).
    Document,
    /// Billing (issue 16).
    TimeEntry,
    Invoice,
    /// A payment on an invoice: listed with it, not fetched through `node`.
    InvoicePayment,
}

impl NodeType {
    const ALL: [NodeType; 25] = [
        NodeType::Contact,
        NodeType::Matter,
        NodeType::Communication,
        NodeType::Deadline,
        NodeType::User,
        NodeType::Team,
        NodeType::Campaign,
        NodeType::ApiKey,
        NodeType::ProcessingActivity,
        NodeType::Breach,
        NodeType::Assessment,
        NodeType::ProcessingGround,
        NodeType::Consent,
        NodeType::Objection,
        NodeType::SubjectRequest,
        NodeType::LegalHold,
        NodeType::RetentionPolicy,
        NodeType::ConnectorInstance,
        NodeType::SyncRun,
        NodeType::SyncReviewItem,
        NodeType::CalendarFeed,
        NodeType::Document,
        NodeType::TimeEntry,
        NodeType::Invoice,
        NodeType::InvoicePayment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NodeType::Contact => "Contact",
            NodeType::Matter => "Matter",
            NodeType::Communication => "Communication",
            NodeType::Deadline => "Deadline",
            NodeType::User => "User",
            NodeType::Team => "Team",
            NodeType::Campaign => "Campaign",
            NodeType::ApiKey => "ApiKey",
            NodeType::ProcessingActivity => "ProcessingActivity",
            NodeType::Breach => "Breach",
            NodeType::Assessment => "Assessment",
            NodeType::ProcessingGround => "ProcessingGround",
            NodeType::Consent => "Consent",
            NodeType::Objection => "Objection",
            NodeType::SubjectRequest => "SubjectRequest",
            NodeType::LegalHold => "LegalHold",
            NodeType::RetentionPolicy => "RetentionPolicy",
            NodeType::ConnectorInstance => "ConnectorInstance",
            NodeType::SyncRun => "SyncRun",
            NodeType::SyncReviewItem => "SyncReviewItem",
            NodeType::CalendarFeed => "CalendarFeed",
            NodeType::Document => "Document",
            NodeType::TimeEntry => "TimeEntry",
            NodeType::Invoice => "Invoice",
            NodeType::InvoicePayment => "InvoicePayment",
        }
    }
}

/// Most IDs' `Type:key` fits: a UUID key and the longest type name take 55 bytes.
const PLAIN_ON_STACK: usize = 64;

pub fn encode(node_type: NodeType, key: &str) -> async_graphql::ID {
    // Every row of a list encodes its ID: `Type:key` is put together on the stack, so an ID
    // costs one allocation, its text.
    let (name, key) = (node_type.name().as_bytes(), key.as_bytes());
    let len = name.len() + 1 + key.len();
    let mut encoded = String::with_capacity(base64::encoded_len(len, false).unwrap_or(0));
    let mut stack = [0u8; PLAIN_ON_STACK];
    match stack.get_mut(..len) {
        Some(plain) => {
            let (head, rest) = plain.split_at_mut(name.len());
            head.copy_from_slice(name);
            rest[0] = b':';
            rest[1..].copy_from_slice(key);
            URL_SAFE_NO_PAD.encode_string(plain, &mut encoded);
        }
        None => URL_SAFE_NO_PAD.encode_string([name, b":", key].concat(), &mut encoded),
    }
    async_graphql::ID(encoded)
}

/// Splits a global ID into its type and key; `None` when it is not one of ours.
pub fn parse(id: &str) -> Option<(NodeType, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (type_name, key) = text.split_once(':')?;
    let node_type = NodeType::ALL.into_iter().find(|t| t.name() == type_name)?;
    uuid::Uuid::parse_str(key).ok()?;
    Some((node_type, key.to_owned()))
}

/// Decodes an ID that must be of `expected` type; the error names the input `field`.
pub fn decode(expected: NodeType, id: &async_graphql::ID, field: &str) -> Result<String> {
    match parse(id) {
        Some((node_type, key)) if node_type == expected => Ok(key),
        Some((node_type, _)) => Err(Error::invalid(
            field,
            format!(
                "expected a {} ID, got a {} ID",
                expected.name(),
                node_type.name()
            ),
        )),
        None => Err(Error::invalid(
            field,
            format!("`{}` is not a valid ID", id.as_str()),
        )),
    }
}

/// Decodes a list of IDs of one type, naming the position of a bad one.
pub fn decode_all(
    expected: NodeType,
    ids: &[async_graphql::ID],
    field: &str,
) -> Result<Vec<String>> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| decode(expected, id, &format!("{field}[{i}]")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_type() {
        let key = uuid::Uuid::now_v7().to_string();
        let id = encode(NodeType::Matter, &key);
        assert_eq!(parse(&id), Some((NodeType::Matter, key.clone())));
        assert_eq!(decode(NodeType::Matter, &id, "id").ok(), Some(key));
        assert!(decode(NodeType::Contact, &id, "id").is_err());
        assert!(parse("not-an-id").is_none());
        assert!(parse(&URL_SAFE_NO_PAD.encode("Contact:123")).is_none());
    }

    #[test]
    fn encodes_base64_of_type_and_key_whatever_the_key_length() {
        for key in ["", "0190c0de-0000-7000-8000-000000000001", &"k".repeat(200)] {
            for node_type in NodeType::ALL {
                let expected = URL_SAFE_NO_PAD.encode(format!("{}:{key}", node_type.name()));
                assert_eq!(encode(node_type, key).0, expected);
            }
        }
    }
}
