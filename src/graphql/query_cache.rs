//! Parsed documents kept by their text, and the validation of those that declare no
//! variables: clients send the same few documents again and again, and parsing and
//! validating one cost more instructions than answering a one-row query (BENCHMARKS.md,
//! "Levers taken since (issue 20)").
//!
//! Reuse is safe because both are functions of what the key holds: a document is the parse
//! of its text; the validation of a document that declares no variables reads only the
//! document, the operation it runs and the schema with its limits, all fixed for the
//! process (a document with variables is validated on every request: its variables' values
//! are checked, and they may set a page size its cost depends on). Only successes are kept:
//! a failing document fails afresh each time, with the same errors as before. The limits
//! that async-graphql checks during parsing (recursion depth, directives) and those of
//! `limits::LimitCheck` (aliases, introspection, input text) still run on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::{Request, ValidationResult};

use super::admission::{self, Admitted};
use crate::access_policy::RoleGrant;

/// At most this many documents are kept; when one more comes the cache starts afresh, so a
/// client sending ever new documents costs memory within bounds and time as without a cache.
const MAX_DOCUMENTS: usize = 256;
/// Nor more than this much query text in all (parsed, a document takes several times that).
const MAX_TEXT_BYTES: usize = 256 * 1024;
/// A longer document is parsed on every request: it would crowd the others out.
const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
/// At most this many (operation, role grant) decisions are kept per document; past that
/// they start afresh (a grant is made anew whenever the roles change).
const MAX_ADMISSIONS: usize = 32;

/// The documents of one schema.
#[derive(Default)]
pub struct QueryCache(Mutex<Entries>);

#[derive(Default)]
struct Entries {
    by_text: HashMap<Box<str>, Arc<Prepared>>,
    text_bytes: usize,
}

/// One document and the validations that passed, per operation name.
pub struct Prepared {
    document: ExecutableDocument,
    /// No operation declares variables: then validation reads none.
    variable_free: bool,
    validated: Mutex<Vec<(Option<String>, ValidationResult)>>,
    /// Per operation and role grant: the operation decided in advance, or `None` when its
    /// fields are decided as they resolve. The grant is kept, so its address stays its own.
    admissions: Mutex<Vec<Admission>>,
}

struct Admission {
    operation: Option<String>,
    grant: Arc<RoleGrant>,
    admitted: Option<Arc<Admitted>>,
}

impl QueryCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives the request its parsed document: a copy of the kept one, or parses it and keeps
    /// it. A document that does not parse is left to the executor, which reports why.
    pub fn parse(&self, request: &mut Request) {
        if let Some(prepared) = self.get(&request.query) {
            request.set_parsed_query(prepared.document.clone());
            return;
        }
        if request.query.len() > MAX_DOCUMENT_BYTES {
            let _ = request.parsed_query(); // for this request only
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let prepared = Arc::new(Prepared {
            variable_free: document
                .operations
                .iter()
                .all(|(_, op)| op.node.variable_definitions.is_empty()),
            document: document.clone(),
            validated: Mutex::default(),
            admissions: Mutex::default(),
        });
        let text = request.query.as_str();
        let mut entries = self.entries();
        if entries.by_text.contains_key(text) {
            return; // another request kept it meanwhile
        }
        if entries.by_text.len() >= MAX_DOCUMENTS
            || entries.text_bytes + text.len() > MAX_TEXT_BYTES
        {
            *entries = Entries::default();
        }
        entries.text_bytes += text.len();
        entries.by_text.insert(text.into(), prepared);
    }

    /// The kept document of this text, if any.
    pub fn get(&self, query: &str) -> Option<Arc<Prepared>> {
        self.entries().by_text.get(query).cloned()
    }
}

impl Prepared {
    fn validations(&self) -> std::sync::MutexGuard<'_, Vec<(Option<String>, ValidationResult)>> {
        self.validated.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The result of an earlier validation that passed for this operation, if it may be
    /// reused.
    pub fn validation(&self, operation: Option<&str>) -> Option<ValidationResult> {
        if !self.variable_free {
            return None;
        }
        self.validations()
            .iter()
            .find(|(name, _)| name.as_deref() == operation)
            .map(|(_, result)| *result)
    }

    /// Keeps a validation that passed, when it may be reused.
    pub fn validated(&self, operation: Option<&str>, result: ValidationResult) {
        if !self.variable_free {
            return;
        }
        let mut validations = self.validations();
        if !validations
            .iter()
            .any(|(name, _)| name.as_deref() == operation)
        {
            validations.push((operation.map(str::to_owned), result));
        }
    }
}

impl Prepared {
    /// The operation decided in advance for `grant` (`admission::admit`): only an operation
    /// that passed validation here before and runs without variables, so that it runs exactly
    /// as it did then, is considered. `operation` is the name the request gives, if any.
    pub fn admitted(
        &self,
        operation: Option<&str>,
        grant: &Arc<RoleGrant>,
    ) -> Option<Arc<Admitted>> {
        self.validation(operation)?;
        let mut admissions = self.admissions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = admissions
            .iter()
            .find(|a| a.operation.as_deref() == operation && Arc::ptr_eq(&a.grant, grant))
        {
            return known.admitted.clone();
        }
        let (name, definition) = operation_of(&self.document, operation)?;
        let admitted = admission::admit(grant, &self.document, definition, name).map(Arc::new);
        if admissions.len() >= MAX_ADMISSIONS {
            admissions.clear();
        }
        admissions.push(Admission {
            operation: operation.map(str::to_owned),
            grant: grant.clone(),
            admitted: admitted.clone(),
        });
        admitted
    }
}

/// The operation a request runs, and the name the executor gives it: the one the request
/// names (`name`), else the document's only one (named only if the document names it).
pub fn operation_of<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'d str>, &'d OperationDefinition)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => Some((None, &operation.node)),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(n, op)| (Some(n.as_str()), &op.node)),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .iter()
            .next()
            .map(|(n, op)| (Some(n.as_str()), &op.node)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::CacheControl;

    fn result(complexity: usize) -> ValidationResult {
        ValidationResult {
            cache_control: CacheControl::default(),
            complexity,
            depth: 1,
        }
    }

    #[test]
    fn documents_are_reused_by_their_text_and_bad_ones_are_not_kept() {
        let cache = QueryCache::default();
        let mut first = Request::new("{ users { totalCount } }");
        cache.parse(&mut first);
        assert!(cache.get("{ users { totalCount } }").is_some());
        let mut again = Request::new("{ users { totalCount } }");
        cache.parse(&mut again);
        assert_eq!(
            format!("{:?}", again.parsed_query().expect("parsed")),
            format!("{:?}", first.parsed_query().expect("parsed"))
        );
        let mut bad = Request::new("{ users { ");
        cache.parse(&mut bad);
        assert!(cache.get("{ users { ").is_none());
    }

    #[test]
    fn validations_are_reused_per_operation_only_without_variables() {
        let cache = QueryCache::default();
        let mut plain = Request::new("query A { users { totalCount } } query B { me { id } }");
        cache.parse(&mut plain);
        let prepared = cache.get(&plain.query).expect("kept");
        assert!(prepared.validation(Some("A")).is_none());
        prepared.validated(Some("A"), result(7));
        assert_eq!(
            prepared.validation(Some("A")).map(|r| r.complexity),
            Some(7)
        );
        assert!(prepared.validation(Some("B")).is_none());
        assert!(prepared.validation(None).is_none());

        let mut with_variables = Request::new("query($id: ID!) { node(id: $id) { id } }");
        cache.parse(&mut with_variables);
        let prepared = cache.get(&with_variables.query).expect("kept");
        prepared.validated(None, result(3));
        assert!(prepared.validation(None).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let cache = QueryCache::default();
        for i in 0..MAX_DOCUMENTS + 10 {
            cache.parse(&mut Request::new(format!(
                "{{ a{i}: users {{ totalCount }} }}"
            )));
        }
        let entries = cache.entries();
        assert!(entries.by_text.len() <= MAX_DOCUMENTS);
        assert!(entries.text_bytes <= MAX_TEXT_BYTES);
        drop(entries);
        let long = format!(
            "{{ users {{ totalCount }} }}{}",
            " ".repeat(MAX_DOCUMENT_BYTES)
        );
        cache.parse(&mut Request::new(long.clone()));
        assert!(cache.get(&long).is_none());
    }
}
