#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(unsafe_code)]

mod adapters;
#[cfg(feature = "tracing")]
pub mod bridge;
#[cfg(feature = "cli")]
pub mod capture;
mod client;
mod config;
mod encode;
mod error;
pub mod event;
mod export;
pub mod exporters;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod global;
mod metrics;
mod pipeline;
pub mod providers;
mod session;
mod spool;
mod stats;
mod transport;
mod util;

pub use client::{Client, SessionBuilder};
pub use config::agentops::{
    AgentOpsConfig, AgentOpsProtocol, DEFAULT_API_ENDPOINT, DEFAULT_APP_URL, DEFAULT_EXPORTER_ENDPOINT,
};
pub use config::batch::BatchConfig;
pub use config::builder::OtelConfigBuilder;
pub use config::console::ConsoleMode;
pub use config::otel::{OtelConfig, SpanFilter, DEFAULT_TRACES_FILE};
pub use config::otlp::{Compression, OtlpExporterConfig};
pub use encode::attr;
pub use encode::protocol::Protocol;
pub use error::{ConfigError, Error};
pub use event::{ActionEvent, AgentEvent, ErrorEvent, LlmEvent, ToolEvent};
pub use export::retry::RetryPolicy;
pub use global::{client, current_scope, flush, init, init_from_env, record, shutdown, start_session, InitGuard};
pub use session::current::ScopeGuard;
pub use session::handle::Session;
pub use session::scope::{ActionScope, AgentScope, Scope};
pub use session::summary::{EndState, EventCounts, SessionSummary};
pub use stats::{ExporterStats, SpoolStats, Stats};

/// Re-exports of the OpenTelemetry types that appear in this crate's API, so that no
/// application needs to pin `opentelemetry*` versions of its own.
///
/// **Semver:** these are the types of the `opentelemetry`, `opentelemetry_sdk` and
/// `opentelemetry-proto` versions this crate depends on (0.33 today). A release of
/// this crate that moves to newer OpenTelemetry crates is a breaking release; the
/// rest of the API does not depend on them. They appear only where the API meets
/// OpenTelemetry: exporters and span filters (`SpanData`, `Resource`, the OTLP
/// requests), [`Client::tracer`], and trace contexts (`SpanContext`, `Context`).
pub mod otel {
    pub use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
    pub use opentelemetry::{Context, KeyValue, Value};
    pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    pub use opentelemetry_sdk::metrics::Temporality;
    pub use opentelemetry_sdk::trace::SpanData;
    pub use opentelemetry_sdk::Resource;
}
