//! The [`Exporter`] trait: what every destination of spans implements, and what it
//! is told about sessions and returns.

use super::batch::ExportBatch;
use super::context::ExportContext;
use crate::error::export::ExportError;

/// A destination for finished spans. Called on a sending thread only, so it may
/// block (within [`ExportContext::deadline`]); it never runs on the caller's thread.
/// A panic inside `export` is caught, counted, and the batch counted as failed.
///
/// Your own exporter can be unit-tested without a pipeline:
///
/// ```
/// use agentops::otel::{Resource, SpanData};
/// use agentops::RetryPolicy;
/// use agentops::exporters::{ExportBatch, ExportContext, ExportError, ExportOutcome, Exporter};
///
/// #[derive(Default)]
/// struct Counting(usize);
///
/// impl Exporter for Counting {
///     fn name(&self) -> &str {
///         "counting"
///     }
///     fn export(&mut self, batch: &ExportBatch, _: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
///         self.0 += batch.len();
///         Ok(ExportOutcome::accepted())
///     }
/// }
///
/// let mut exporter = Counting::default();
/// let batch = ExportBatch::new(Vec::<SpanData>::new(), Resource::builder_empty().build());
/// let retry = RetryPolicy::default();
/// exporter.export(&batch, &ExportContext::detached(&retry)).unwrap();
/// assert_eq!(exporter.0, 0);
/// assert!(batch.to_otlp().resource_spans[0].scope_spans.is_empty());
/// ```
pub trait Exporter: Send {
    /// A short name for stats and logs (`otlp`, `file`, …).
    fn name(&self) -> &str;

    /// Exports one batch. Must not return before it is done with it: the batch is
    /// counted as exported (or dropped, on `Err`) when this returns.
    ///
    /// # Errors
    /// An [`ExportError`] whose kind decides how the batch's spans are counted
    /// (rejected or failed).
    fn export(&mut self, batch: &ExportBatch, cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError>;

    /// Whether this exporter reads [`ExportBatch::spans`]. One that only uses
    /// [`ExportBatch::to_otlp`] returns `false`; when no exporter reads the spans,
    /// the pipeline builds the OTLP request by moving them instead of copying.
    fn reads_spans(&self) -> bool {
        true
    }

    /// Called when a session starts, before any of its spans reach `export`. (If
    /// the queue was full when the session started, this is not called for it; see
    /// [`Stats::session_starts_dropped`](crate::Stats::session_starts_dropped).)
    ///
    /// # Errors
    /// An [`ExportError`]; it is logged and recorded as the last error.
    fn session_started(&mut self, _session: &SessionStart, _cx: &ExportContext<'_>) -> Result<(), ExportError> {
        Ok(())
    }

    /// Called once when the pipeline shuts down, after the last batch.
    ///
    /// # Errors
    /// An [`ExportError`]; it is recorded as the last error.
    fn shutdown(&mut self, _cx: &ExportContext<'_>) -> Result<(), ExportError> {
        Ok(())
    }
}

/// A session that just started, as exporters see it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionStart {
    /// The session id (= the trace id).
    pub session_id: uuid::Uuid,
    /// The session's tags.
    pub tags: Vec<String>,
    /// When it started.
    pub started_at: std::time::SystemTime,
    /// The session was started elsewhere and is continued here
    /// ([`SessionBuilder::resume`](crate::SessionBuilder::resume)); only the legacy
    /// AgentOps v2 exporter acts on it, so it is not public.
    pub(crate) resumed: bool,
    /// The legacy AgentOps JWT the resumed session came with, if any (v2 only).
    pub(crate) jwt: Option<String>,
}

impl SessionStart {
    /// A session start, e.g. to call [`Exporter::session_started`] in a test.
    pub fn new(session_id: uuid::Uuid, tags: Vec<String>, started_at: std::time::SystemTime) -> Self {
        SessionStart { session_id, tags, started_at, resumed: false, jwt: None }
    }
}

/// The result of a successful export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportOutcome {
    /// Spans the receiver accepted the request for but reported as rejected
    /// (OTLP `partialSuccess.rejectedSpans`).
    pub rejected_spans: u64,
    /// The receiver's message about rejected spans, if any.
    pub message: Option<String>,
}

impl ExportOutcome {
    /// Every span was accepted.
    pub fn accepted() -> Self {
        ExportOutcome::default()
    }

    /// The request was accepted, but `spans` of its spans were rejected.
    pub fn partially_rejected(spans: u64, message: impl Into<String>) -> Self {
        ExportOutcome { rejected_spans: spans, message: Some(message.into()) }
    }
}
