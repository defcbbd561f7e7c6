//! The DPO's registers: the record of processing activities (Art. 30 GDPR) with its export,
//! and the register of personal data breaches (Art. 33, 34).

pub mod activities;
pub mod breaches;
pub mod export;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Lists kept as JSON arrays in a text column.
fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode a list: {e}")))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("unreadable list in the database: {e}")))
}

/// Trims each entry of a list of categories; blank entries are refused by name.
fn category_list(v: &mut crate::error::Validator, field: &str, items: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let item = item.trim().to_owned();
        if item.is_empty() {
            v.add(format!("{field}[{i}]"), "must not be empty");
        } else if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
