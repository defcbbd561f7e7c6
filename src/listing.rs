//! What every list query shares: a page window and a sort direction.

use crate::db::text_enum;

text_enum! {
    /// Which way a list is sorted.
    SortDirection {
        /// Ascending: A to Z, oldest or soonest first.
        Asc => "asc",
        /// Descending: Z to A, newest or latest first.
        Desc => "desc",
    }
}

/// A window over an ordered result: skip `offset` rows, return at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

/// Escapes LIKE wildcards in user text and wraps it for a "contains" match (escape char `\`).
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Groups `(key, value)` rows by key, each group's values in the rows' order: a relation's
/// rows, read joined to the link table that names their owner.
pub fn group_pairs<K, V>(
    rows: impl IntoIterator<Item = (K, V)>,
) -> std::collections::HashMap<K, Vec<V>>
where
    K: std::hash::Hash + Eq,
{
    let mut map: std::collections::HashMap<K, Vec<V>> = std::collections::HashMap::new();
    for (key, value) in rows {
        map.entry(key).or_default().push(value);
    }
    map
}

/// Groups rows by a key, keeping their order: the shape every DataLoader answer needs.
pub fn group_by_key<K, V>(
    rows: impl IntoIterator<Item = V>,
    key: impl Fn(&V) -> K,
) -> std::collections::HashMap<K, Vec<V>>
where
    K: std::hash::Hash + Eq,
{
    group_pairs(rows.into_iter().map(|row| (key(&row), row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }
}
