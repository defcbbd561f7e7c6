//! What one query may cost: depth, complexity, aliases, directives, introspection, time.
//!
//! async-graphql enforces depth, complexity and directives itself but reports them without
//! an error code; the extension here adds stable codes, counts aliases (async-graphql has no
//! such limit) and refuses introspection with a clear message when it is off.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::extensions::{ExtensionContext, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    Name, Positioned, Request, Response, ServerError, ServerResult, ValidationResult,
};
use async_graphql::{SchemaBuilder, Variables};

use crate::config::Settings;
use crate::graphql::pagination::{with_page_sizes, PageSizes};
use crate::graphql::query_cache::{Prepared, QueryCache};

/// The limits a schema enforces on every query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_directives: usize,
    pub introspection: bool,
    pub suggestions: bool,
    /// What a list's cost counts per page.
    pub page_sizes: PageSizes,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Limits {
        Limits {
            max_depth: settings.max_query_depth,
            max_complexity: settings.max_query_complexity,
            max_aliases: settings.max_aliases,
            max_directives: settings.max_directives,
            introspection: settings.introspection_enabled(),
            suggestions: settings.suggestions_enabled(),
            page_sizes: PageSizes {
                default: settings.default_page_size,
                max: settings.max_page_size,
            },
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_settings(&Settings::default())
    }
}

/// async-graphql's own guard against deep recursion in its parser and validator; never
/// below its default, and never the first limit a query within `max_depth` runs into.
const MIN_RECURSIVE_DEPTH: usize = 32;

/// Applies the limits async-graphql enforces itself to a schema under construction; the
/// schema's extension adds the others with `LimitCodes`.
pub fn apply<Q, M, S>(builder: SchemaBuilder<Q, M, S>, limits: &Limits) -> SchemaBuilder<Q, M, S> {
    apply_to_parsing(builder, limits)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
}

/// The limits async-graphql checks while parsing and executing, without those it checks
/// while validating (depth and complexity): for a schema that runs only documents that
/// passed them before.
pub fn apply_to_parsing<Q, M, S>(
    builder: SchemaBuilder<Q, M, S>,
    limits: &Limits,
) -> SchemaBuilder<Q, M, S> {
    let mut builder = builder
        .limit_directives(limits.max_directives)
        .limit_recursive_depth(limits.max_depth.max(MIN_RECURSIVE_DEPTH));
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !limits.suggestions {
        builder = builder.disable_suggestions();
    }
    builder
}

/// A request-level error with a stable `extensions.code`.
fn coded(message: String, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// Stops waiting for a request once `deadline` passes; `limit` only words the error.
///
/// Work already handed to the database (a write in its transaction) is not interrupted and
/// may still complete: the message says so rather than promise nothing happened.
pub async fn execute_until(
    schema: &super::AppSchema,
    state: &crate::app::AppState,
    request: Request,
    caller: super::Caller,
    deadline: tokio::time::Instant,
    limit: Duration,
) -> Response {
    match tokio::time::timeout_at(deadline, super::execute(schema, state, request, caller)).await {
        Ok(response) => response,
        Err(_) => Response::from_errors(vec![coded(
            format!(
                "the request took longer than {} ms and was stopped; a change it was making \
                 may still have been applied",
                limit.as_millis()
            ),
            "TIMEOUT",
        )]),
    }
}

/// The schema's limits beyond async-graphql's own, and where validations that passed are
/// kept (`queries`, which must serve this schema only).
pub struct LimitCodes {
    limits: Arc<Limits>,
    queries: Arc<QueryCache>,
}

impl LimitCodes {
    pub fn new(limits: &Limits, queries: Arc<QueryCache>) -> LimitCodes {
        LimitCodes {
            limits: Arc::new(limits.clone()),
            queries,
        }
    }

    /// The checks of one request.
    pub fn check(&self) -> LimitCheck {
        LimitCheck {
            limits: self.limits.clone(),
            queries: self.queries.clone(),
            prepared: Mutex::new(None),
        }
    }
}

/// One request's limit checks: the hooks the schema's extension runs before execution.
pub struct LimitCheck {
    limits: Arc<Limits>,
    queries: Arc<QueryCache>,
    /// The request's kept document, if any, and the operation the request names.
    prepared: Mutex<Option<(Arc<Prepared>, Option<String>)>>,
}

impl LimitCheck {
    /// Before parsing: notes the request's kept document, whose validation may be known.
    pub fn prepare(&self, request: &Request) {
        let prepared = self.queries.get(&request.query);
        *self.prepared.lock().unwrap_or_else(|e| e.into_inner()) =
            prepared.map(|p| (p, request.operation_name.clone()));
    }

    /// Parsing, with the parse-time limits coded and aliases, input text and introspection
    /// checked.
    pub async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| self.code_parse_error(e))?;
        let aliases = count_aliases(&document);
        if aliases > self.limits.max_aliases {
            return Err(coded(
                format!(
                    "the query has {aliases} aliased fields; at most {} are allowed",
                    self.limits.max_aliases
                ),
                "TOO_MANY_ALIASES",
            ));
        }
        super::input_text::check(&document, variables)?;
        if !self.limits.introspection && asks_for_introspection(&document) {
            return Err(coded(
                "introspection is disabled on this server".to_owned(),
                "INTROSPECTION_DISABLED",
            ));
        }
        Ok(document)
    }

    /// Validation (with the complexity and depth limits coded), or its known result.
    pub async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let prepared = self
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((document, operation)) = &prepared {
            if let Some(passed) = document.validation(operation.as_deref()) {
                return Ok(passed);
            }
        }
        let passed = with_page_sizes(self.limits.page_sizes, next.run(ctx))
            .await
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| self.code_limit(e))
                    .collect::<Vec<_>>()
            })?;
        if let Some((document, operation)) = prepared {
            document.validated(operation.as_deref(), passed);
        }
        Ok(passed)
    }

    /// The directive and recursion limits fail during parsing, worded by async-graphql.
    fn code_parse_error(&self, error: ServerError) -> ServerError {
        let code = if error.message.starts_with("The number of directives") {
            "TOO_MANY_DIRECTIVES"
        } else if error.message.starts_with("The recursion depth") {
            "QUERY_TOO_DEEP"
        } else {
            return error;
        };
        let mut coded_error = coded(error.message, code);
        coded_error.locations = error.locations;
        coded_error
    }

    /// async-graphql words these two without the limit; say what it is and what to do.
    fn code_limit(&self, error: ServerError) -> ServerError {
        match error.message.as_str() {
            "Query is too complex." => coded(
                format!(
                    "the query is too complex: its cost exceeds {}; ask for smaller pages \
                     (`first`/`last`) or fewer nested lists",
                    self.limits.max_complexity
                ),
                "QUERY_TOO_COMPLEX",
            ),
            "Query is nested too deep." => coded(
                format!(
                    "the query is nested too deep: at most {} levels of fields are allowed",
                    self.limits.max_depth
                ),
                "QUERY_TOO_DEEP",
            ),
            _ => error,
        }
    }
}

/// Aliased fields the operations run, fragments counted each time they are spread (a
/// fragment spread a hundred times runs its aliases a hundred times). Each fragment's count
/// is worked out once, so nested spreads cannot make the count itself expensive; a cycle
/// counts nothing here and is refused by validation.
fn count_aliases(document: &ExecutableDocument) -> usize {
    struct Counter<'a> {
        document: &'a ExecutableDocument,
        known: HashMap<&'a Name, usize>,
        open: HashSet<&'a Name>,
    }
    impl<'a> Counter<'a> {
        fn in_set(&mut self, set: &'a SelectionSet) -> usize {
            set.items.iter().fold(0usize, |sum, item| {
                let here = match &item.node {
                    Selection::Field(f) => usize::from(f.node.alias.is_some())
                        .saturating_add(self.in_set(&f.node.selection_set.node)),
                    Selection::InlineFragment(i) => self.in_set(&i.node.selection_set.node),
                    Selection::FragmentSpread(s) => self.fragment(&s.node.fragment_name.node),
                };
                sum.saturating_add(here)
            })
        }

        fn fragment(&mut self, name: &'a Name) -> usize {
            if let Some(count) = self.known.get(name) {
                return *count;
            }
            let document = self.document;
            let Some(fragment) = document.fragments.get(name) else {
                return 0;
            };
            if !self.open.insert(name) {
                return 0;
            }
            let count = self.in_set(&fragment.node.selection_set.node);
            self.open.remove(name);
            self.known.insert(name, count);
            count
        }
    }
    let mut counter = Counter {
        document,
        known: HashMap::new(),
        open: HashSet::new(),
    };
    document.operations.iter().fold(0usize, |sum, (_, op)| {
        sum.saturating_add(counter.in_set(&op.node.selection_set.node))
    })
}

/// Whether any operation selects `__schema` or `__type` at its root.
fn asks_for_introspection(document: &ExecutableDocument) -> bool {
    // Spreads are followed once each: fragment cycles are only refused later, in validation.
    fn in_set<'a>(
        document: &'a ExecutableDocument,
        set: &'a Positioned<SelectionSet>,
        seen: &mut HashSet<&'a str>,
    ) -> bool {
        set.node.items.iter().any(|item| match &item.node {
            Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(i) => in_set(document, &i.node.selection_set, seen),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                seen.insert(name)
                    && document
                        .fragments
                        .get(&s.node.fragment_name.node)
                        .is_some_and(|f| in_set(document, &f.node.selection_set, seen))
            }
        })
    }
    let mut seen = HashSet::new();
    document
        .operations
        .iter()
        .any(|(_, op)| in_set(document, &op.node.selection_set, &mut seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("valid query")
    }

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = parse(
            "query { a: users { totalCount } b: teams { c: totalCount } ...F }
             fragment F on Query { d: users { totalCount } }",
        );
        assert_eq!(count_aliases(&doc), 4);
        assert_eq!(count_aliases(&parse("{ users { totalCount } }")), 0);
    }

    #[test]
    fn aliases_are_counted_per_spread_and_cycles_end() {
        let doc = parse(
            "{ users { ...C } teams { ...C } x: users { ...C } }
             fragment C on UserConnection { a: totalCount ...D }
             fragment D on UserConnection { b: totalCount c: totalCount }",
        );
        assert_eq!(count_aliases(&doc), 1 + 3 * 3);
        let cycle = parse("{ ...A } fragment A on Query { a: users { totalCount } ...A }");
        assert_eq!(count_aliases(&cycle), 1);
    }

    #[test]
    fn introspection_is_found_through_fragments_and_cycles_end() {
        assert!(asks_for_introspection(&parse(
            "{ ... on Query { __type(name: \"User\") { name } } }"
        )));
        assert!(asks_for_introspection(&parse(
            "{ ...A } fragment A on Query { ...A __schema { queryType { name } } }"
        )));
        assert!(!asks_for_introspection(&parse(
            "{ ...A } fragment A on Query { ...A users { __typename } }"
        )));
    }
}
