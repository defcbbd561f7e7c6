//! Small rules every mutation input follows.

use async_graphql::MaybeUndefined;

/// Trimmed text, or `None` when nothing but blanks was given.
pub fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// An update of a nullable field: left out keeps `current`, `null` clears it, a value replaces it.
pub fn apply_change<T>(current: Option<T>, change: MaybeUndefined<T>) -> Option<T> {
    match change {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(value) => Some(value),
    }
}
