//! Logs and traces: log lines on standard error (text or JSON), and OpenTelemetry traces
//! exported over OTLP/HTTP when a collector is configured.
//!
//! The spans meant for traces (request, GraphQL phases, database work, connector calls) use
//! the target [`TRACE_TARGET`]. Only the OpenTelemetry layer listens to it, so the log lines
//! stay as they were and, with no collector configured, no layer is interested in those
//! spans: creating one costs a cached check, nothing is recorded.
//!
//! Trace spans carry names, kinds and counts only, never values a client sent (variables,
//! arguments, query text) nor anything read from the database.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use serde::Deserialize;

/// The target of the spans exported as traces.
pub const TRACE_TARGET: &str = "lexgate::trace";

/// How log lines are written on standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where logs and traces go: read from the settings by `config`.
#[derive(Debug, Clone, Copy)]
pub struct Outputs<'a> {
    /// The log filter when `LEXGATE_LOG` is not set, e.g. `info`.
    pub log: &'a str,
    pub log_format: LogFormat,
    /// The OTLP/HTTP collector traces are exported to; none: no traces.
    pub otlp_endpoint: Option<&'a str>,
    pub otlp_service_name: &'a str,
}

/// Keeps the trace exporter alive; dropping it sends the spans not yet exported.
#[must_use = "traces stop being exported when this is dropped"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown() {
                eprintln!("the last traces could not be exported: {error}");
            }
        }
    }
}

/// Installs the global subscriber: logs filtered by `LEXGATE_LOG` (else `outputs.log`) in
/// `outputs.log_format`, plus traces when `outputs.otlp_endpoint` is set.
pub fn init(outputs: Outputs<'_>) -> anyhow::Result<Telemetry> {
    let filter =
        EnvFilter::try_from_env("LEXGATE_LOG").unwrap_or_else(|_| EnvFilter::new(outputs.log));
    // Logs go to standard error, coloured only on a terminal: commands print their data on
    // standard output, so `lexgate dsar export > file.json` is valid JSON.
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match outputs.log_format {
        LogFormat::Text => logs
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        // One flat object per line; span fields are left out so a line holds only what the
        // event itself logged.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .boxed(),
    };
    let logs = logs.with_filter(filter.and(filter_fn(|meta| meta.target() != TRACE_TARGET)));

    let (traces, provider) = match outputs.otlp_endpoint {
        Some(endpoint) => {
            let provider = tracer_provider(endpoint, outputs.otlp_service_name)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("lexgate"))
                .with_filter(filter_fn(|meta| meta.target() == TRACE_TARGET));
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()?;
    Ok(Telemetry { provider })
}

/// Spans are batched and exported from a thread of the SDK's own, off the request path.
fn tracer_provider(endpoint: &str, service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
