//! Trace spans of the GraphQL phases: parse, validation, execution, and one span per root
//! field (the resolver group under it: its nested fields and their data loads).
//!
//! async-graphql's own `Tracing` extension is not used: it records the query with the
//! variables' values written in (`source`) and resolver error messages, which may hold
//! personal data. These spans carry names and types from the schema only, plus the
//! operation's name.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
    NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use tracing::Instrument;

use crate::telemetry::TRACE_TARGET;

/// Adds the spans; registered only when traces are exported.
pub struct Spans;

impl ExtensionFactory for Spans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Spans)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Spans {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let span = tracing::info_span!(target: TRACE_TARGET, "graphql.parse");
        next.run(ctx, query, variables).instrument(span).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let span = tracing::info_span!(target: TRACE_TARGET, "graphql.validate");
        next.run(ctx).instrument(span).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "graphql.execute",
            graphql.operation.name = operation_name,
            graphql.error_count = tracing::field::Empty,
        );
        let response = next.run(ctx, operation_name).instrument(span.clone()).await;
        span.record("graphql.error_count", response.errors.len());
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Root fields only: a span per nested field would cost more than the fields do.
        if info.path_node.parent.is_some() || info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "graphql.resolve",
            otel.name = format!("{}.{}", info.parent_type, info.name),
            graphql.field.parent_type = info.parent_type,
            graphql.field.name = info.name,
        );
        next.run(ctx, info).instrument(span).await
    }
}
