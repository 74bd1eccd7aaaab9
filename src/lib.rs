//! # agentops
//!
//! Observability for AI agents written in plain, synchronous Rust. Every agent
//! **session is one OpenTelemetry trace**; every **event** in it — an LLM call, an
//! action, a tool call, an error — is a span. Spans leave the process from one
//! background thread, in batches, over OTLP/HTTP, with retry and backoff; the caller
//! never needs an async runtime and never waits on the network.
//!
//! ```no_run
//! use agentops::{Client, EndState, LlmEvent, OtelConfig};
//! use std::time::Duration;
//!
//! let client = Client::new(OtelConfig::from_env()?)?;
//! let session = client.start_session(&["demo"]);
//! session.record(LlmEvent::new("gpt-4o").prompt("2+2?").completion("4").tokens(3, 1));
//! let plan = session.start_action("plan");
//! let sum: Result<i32, std::io::Error> = plan.tool("calculator", &(2, 2), || Ok(4));
//! plan.end();
//! let summary = session.end(EndState::Success, "answered");
//! println!("{summary}");
//! client.shutdown(Duration::from_secs(5))?;
//! # Ok::<(), agentops::Error>(())
//! ```
//!
//! Data flow: [`Client`] → [`Session`] → events → export queue → export thread
//! ([`EventToSpanEncoder`], formatters, batching) → sending lane(s) → [`Exporter`]s
//! ([`OtlpExporter`], [`SessionExporter`], [`LegacySessionExporter`], [`FileExporter`],
//! [`ConsoleExporter`], [`InMemoryExporter`], or your own).
//!
//! Warnings (queue full, export failures) go to the [`log`] facade, once per
//! condition; every lost span is counted in [`Stats`].

#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod event;
mod session;
pub mod telemetry;

pub use client::{Client, SessionBuilder};
pub use config::{AgentOpsConfig, AgentOpsProtocol, DEFAULT_API_ENDPOINT, DEFAULT_APP_URL, DEFAULT_EXPORTER_ENDPOINT};
pub use config::{
    BatchConfig, Compression, ConfigError, Formatter, OtelConfig, OtelConfigBuilder, OtlpConfig, Protocol,
    DEFAULT_TRACES_FILE,
};
pub use error::Error;
pub use event::{
    ActionEvent, ChatMessage, Content, ErrorEvent, Event, EventCommon, EventRef, EventType, LlmEvent, ToolEvent,
};
pub use session::{ActionScope, EndState, EventCounts, Session, SessionSummary};
pub use telemetry::encoder::EventToSpanEncoder;
pub use telemetry::exporters::{
    ConsoleExporter, ConsoleMode, ExportBatch, ExportContext, ExportError, ExportErrorKind, ExportOutcome, Exporter,
    FileExporter, InMemoryExporter, LegacySessionExporter, OtlpExporter, SessionExporter, SessionStart,
};
pub use telemetry::retry::RetryPolicy;
pub use telemetry::stats::{ExporterStats, Stats};

/// Re-exports of the OpenTelemetry types that appear in this crate's API.
pub mod otel {
    pub use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceId};
    pub use opentelemetry::{Context, KeyValue, Value};
    pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    pub use opentelemetry_sdk::trace::SpanData;
    pub use opentelemetry_sdk::Resource;
}
