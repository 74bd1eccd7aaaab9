//! Exporters: where batches of finished spans go. All run on a sending thread,
//! one after the other, behind one synchronous [`Exporter`] trait that applications
//! can implement too.

use std::cell::OnceCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::retry::RetryPolicy;
use super::sender::Cancel;

mod console;
mod file;
mod memory;
mod otlp;
mod session;
mod session_v2;

pub use console::{ConsoleExporter, ConsoleMode};
pub use file::FileExporter;
pub use memory::InMemoryExporter;
pub use otlp::OtlpExporter;
pub use session::SessionExporter;
pub(crate) use session::SharedAuth;
pub use session_v2::LegacySessionExporter;
pub(crate) use session_v2::SessionCosts;

/// A destination for finished spans. Called on a sending thread only, so it may
/// block (within [`ExportContext::deadline`]); it never runs on the caller's thread.
/// A panic inside `export` is caught, counted, and the batch counted as failed.
pub trait Exporter: Send {
    /// A short name for stats and logs (`otlp`, `file`, …).
    fn name(&self) -> &str;

    /// Exports one batch. Must not return before it is done with it: the batch is
    /// counted as exported (or dropped, on `Err`) when this returns.
    fn export(&mut self, batch: &ExportBatch, cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError>;

    /// Whether this exporter reads [`ExportBatch::spans`]. One that only uses
    /// [`ExportBatch::to_otlp`] returns `false`; when no exporter reads the spans,
    /// the pipeline builds the OTLP request by moving them instead of copying.
    fn reads_spans(&self) -> bool {
        true
    }

    /// Called when a session starts, before any of its spans reach `export`. (If
    /// the queue was full when the session started, this is not called for it.)
    fn session_started(&mut self, _session: &SessionStart, _cx: &ExportContext<'_>) -> Result<(), ExportError> {
        Ok(())
    }

    /// Called once when the pipeline shuts down, after the last batch.
    fn shutdown(&mut self, _cx: &ExportContext<'_>) -> Result<(), ExportError> {
        Ok(())
    }
}

/// A session that just started, as exporters see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStart {
    /// The session id (= the trace id).
    pub session_id: uuid::Uuid,
    /// The session's tags.
    pub tags: Vec<String>,
    /// When it started.
    pub started_at: std::time::SystemTime,
}

/// The result of a successful export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Spans the receiver accepted the request for but reported as rejected
    /// (OTLP `partialSuccess.rejectedSpans`).
    pub rejected_spans: u64,
    /// The receiver's message about rejected spans, if any.
    pub message: Option<String>,
}

/// Why an export failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportErrorKind {
    /// The receiver answered with a status that must not be retried.
    Rejected {
        /// The HTTP status.
        status: u16,
    },
    /// A transient failure outlasted the retry budget, or a local I/O error.
    Failed,
    /// The shutdown deadline came before the export could finish.
    Cancelled,
    /// The batch could not be encoded or was too large to send.
    Encode,
    /// Credentials were refused (AgentOps API key).
    Unauthorized,
}

/// An export failure: a kind for accounting, a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportError {
    /// What kind of failure.
    pub kind: ExportErrorKind,
    /// What happened.
    pub message: String,
}

impl ExportError {
    /// A new error.
    pub fn new(kind: ExportErrorKind, message: impl Into<String>) -> Self {
        ExportError { kind, message: message.into() }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExportError {}

/// One batch of finished spans and the resource they belong to.
pub struct ExportBatch {
    spans: Vec<SpanData>,
    len: usize,
    resource: Arc<Resource>,
    resource_attrs: Arc<ResourceAttributesWithSchema>,
    otlp: OnceCell<ExportTraceServiceRequest>,
}

impl ExportBatch {
    pub(crate) fn new(
        spans: Vec<SpanData>,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        ExportBatch { len: spans.len(), spans, resource, resource_attrs, otlp: OnceCell::new() }
    }

    /// A batch converted to OTLP up front by moving the spans; `spans()` is empty.
    pub(crate) fn moved_to_otlp(
        spans: Vec<SpanData>,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        let len = spans.len();
        let otlp = OnceCell::from(to_otlp_request(spans, &resource_attrs));
        ExportBatch { spans: Vec::new(), len, resource, resource_attrs, otlp }
    }

    /// A batch of spans already in OTLP form, all of one instrumentation scope.
    pub(crate) fn from_otlp_spans(
        spans: Vec<opentelemetry_proto::tonic::trace::v1::Span>,
        scope: &opentelemetry::InstrumentationScope,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        let len = spans.len();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(otlp_resource(&resource_attrs)),
                scope_spans: vec![ScopeSpans {
                    scope: Some((scope, None).into()),
                    schema_url: scope.schema_url().unwrap_or_default().to_owned(),
                    spans,
                }],
                schema_url: resource_attrs.schema_url.clone().unwrap_or_default(),
            }],
        };
        ExportBatch { spans: Vec::new(), len, resource, resource_attrs, otlp: OnceCell::from(request) }
    }

    /// The OTLP spans of the batch, taken apart for reuse.
    pub(crate) fn into_otlp_spans(self) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
        self.otlp
            .into_inner()
            .map(|req| req.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans).collect())
            .unwrap_or_default()
    }

    /// The spans, in the order they finished. Empty when every exporter declared
    /// it does not read them ([`Exporter::reads_spans`]).
    pub fn spans(&self) -> &[SpanData] {
        &self.spans
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch is empty (never true for batches given to exporters).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The resource (service, host, process, SDK, user attributes).
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The batch as one OTLP request, built once and shared by every exporter that
    /// asks for it.
    pub fn to_otlp(&self) -> &ExportTraceServiceRequest {
        self.otlp.get_or_init(|| to_otlp_request(self.spans.iter().cloned(), &self.resource_attrs))
    }
}

/// Builds an OTLP request with opentelemetry-proto's own span conversion. Every span
/// of this crate shares one instrumentation scope, so a single `ScopeSpans` is made
/// per scope, in first-seen order.
pub(crate) fn to_otlp_request(
    spans: impl IntoIterator<Item = SpanData>,
    resource: &ResourceAttributesWithSchema,
) -> ExportTraceServiceRequest {
    let mut scopes: Vec<ScopeSpans> = Vec::new();
    let mut scope_keys: Vec<opentelemetry::InstrumentationScope> = Vec::new();
    for span in spans {
        let idx = match scope_keys.iter().position(|s| *s == span.instrumentation_scope) {
            Some(i) => i,
            None => {
                let scope = span.instrumentation_scope.clone();
                scopes.push(ScopeSpans {
                    scope: Some((&scope, None).into()),
                    schema_url: scope.schema_url().unwrap_or_default().to_owned(),
                    spans: Vec::new(),
                });
                scope_keys.push(scope);
                scopes.len() - 1
            }
        };
        scopes[idx].spans.push(span.into());
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(otlp_resource(resource)),
            scope_spans: scopes,
            schema_url: resource.schema_url.clone().unwrap_or_default(),
        }],
    }
}

fn otlp_resource(resource: &ResourceAttributesWithSchema) -> opentelemetry_proto::tonic::resource::v1::Resource {
    opentelemetry_proto::tonic::resource::v1::Resource {
        attributes: resource.attributes.0.clone(),
        dropped_attributes_count: 0,
        entity_refs: vec![],
    }
}

/// Per-exporter counters kept by the sending threads.
#[derive(Debug, Default)]
pub(crate) struct ExporterCounters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub bytes: AtomicU64,
}

/// What an exporter may use while exporting: the deadline, a cancellable sleep, and
/// the retry policy.
pub struct ExportContext<'a> {
    pub(crate) retry: &'a RetryPolicy,
    pub(crate) cancel: &'a Cancel,
    pub(crate) counters: &'a ExporterCounters,
}

impl ExportContext<'_> {
    /// The shutdown deadline, once a shutdown has begun; work must be done by then.
    pub fn deadline(&self) -> Option<Instant> {
        self.cancel.deadline()
    }

    /// Sleeps for `d`, or less if a shutdown deadline comes first; returns `false`
    /// when cut short (the caller should give up).
    pub fn sleep(&self, d: Duration) -> bool {
        self.cancel.sleep(d)
    }

    /// The configured retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.retry
    }

    pub(crate) fn random_unit(&self) -> f64 {
        super::ids::random_unit()
    }

    pub(crate) fn count_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_request(&self, bytes: usize) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}
