//! The exporter interface: the [`Exporter`] trait and what it is given and returns.
//! A leaf of the crate: the pipeline and every exporter depend on it, it depends on
//! neither.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::batch::ExportBatch;
use crate::config::retry::RetryPolicy;
use crate::stats::ExporterCounters;
use crate::util::ids;
use crate::util::time::deadline_after;

/// A destination for finished spans. Called on a sending thread only, so it may
/// block (within [`ExportContext::deadline`]); it never runs on the caller's thread.
/// A panic inside `export` is caught, counted, and the batch counted as failed.
///
/// Your own exporter can be unit-tested without a pipeline:
///
/// ```
/// use agentops::otel::{Resource, SpanData};
/// use agentops::{ExportBatch, ExportContext, ExportError, ExportOutcome, Exporter, RetryPolicy};
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
    /// ([`SessionBuilder::resume`](crate::SessionBuilder::resume)).
    pub resumed: bool,
    /// The legacy AgentOps JWT the resumed session came with, if any.
    pub jwt: Option<String>,
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

/// Why an export failed. Decides how the batch's spans are counted in
/// [`Stats`](crate::Stats): `Rejected`, `Unauthorized` and `Encode` as rejected,
/// the others as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportErrorKind {
    /// The receiver answered with a status that must not be retried.
    Rejected {
        /// The HTTP status.
        status: u16,
    },
    /// Credentials were refused (AgentOps API key).
    Unauthorized,
    /// The receiver could not be reached, or stayed unavailable (429, 502, 503,
    /// 504, connection failures), through the retry budget.
    Network,
    /// Requests timed out through the retry budget.
    Timeout,
    /// The shutdown deadline came before the export could finish.
    Cancelled,
    /// The batch could not be encoded or was too large to send.
    Encode,
    /// Anything else: a local I/O error, a panic, an answer that made no sense.
    Failed,
}

impl ExportErrorKind {
    /// Whether spans that failed so are counted as rejected (rather than failed).
    pub(crate) fn is_rejection(self) -> bool {
        matches!(self, ExportErrorKind::Rejected { .. } | ExportErrorKind::Unauthorized | ExportErrorKind::Encode)
    }

    /// Whether a batch that failed so may be delivered later, so it goes to the
    /// spool (when there is one): the receiver was unreachable, kept failing or
    /// timing out, or the shutdown deadline came. What a receiver refused would be
    /// refused again.
    pub(crate) fn is_spoolable(self) -> bool {
        matches!(self, ExportErrorKind::Network | ExportErrorKind::Timeout | ExportErrorKind::Cancelled)
    }
}

/// An export failure: a kind for accounting, a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

/// The shutdown deadline, shared with exporters so that every wait ends early.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    deadline: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Cancel {
    const fn new() -> Self {
        Cancel { deadline: parking_lot::const_mutex(None), changed: Condvar::new() }
    }

    pub fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock()
    }

    pub fn set_deadline(&self, d: Instant) {
        let mut g = self.deadline.lock();
        *g = Some(g.map_or(d, |old| old.min(d)));
        self.changed.notify_all();
    }

    pub fn expired(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps `d` or until the deadline; `false` if the deadline cut it short.
    pub fn sleep(&self, d: Duration) -> bool {
        let wake = deadline_after(d);
        let mut g = self.deadline.lock();
        loop {
            if let Some(dl) = *g {
                if dl <= wake {
                    // The lock is released while waiting (Condvar), so neither the
                    // shutdown caller nor exporters contend on it.
                    self.changed.wait_until(&mut g, dl);
                    return false;
                }
            }
            if self.changed.wait_until(&mut g, wake).timed_out() {
                return true;
            }
        }
    }
}

/// What an exporter may use while exporting: the deadline, a cancellable sleep, and
/// the retry policy.
pub struct ExportContext<'a> {
    pub(crate) retry: &'a RetryPolicy,
    pub(crate) cancel: &'a Cancel,
    pub(crate) counters: &'a ExporterCounters,
}

/// Calls into an exporter (`f`), named `name`, doing `what`: a panic becomes the
/// `Failed` error saying so, after `on_panic` has seen its message (to count it),
/// so one exporter's bug never takes a background thread down.
pub(crate) fn call_exporter<T>(
    name: &str,
    what: &str,
    f: impl FnOnce() -> Result<T, ExportError>,
    on_panic: impl FnOnce(&str),
) -> Result<T, ExportError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        // A panic's payload is its message when it was raised with one.
        let said = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        let msg = format!("the {name} exporter panicked {what}: {said}");
        on_panic(&msg);
        Err(ExportError::new(ExportErrorKind::Failed, msg))
    })
}

/// For contexts outside a pipeline: never cancelled, counts nowhere.
static DETACHED_CANCEL: Cancel = Cancel::new();
static DETACHED_COUNTERS: ExporterCounters = ExporterCounters::new();

impl<'a> ExportContext<'a> {
    /// A context outside any pipeline, to call an [`Exporter`] directly (in a unit
    /// test of your own exporter, say): no shutdown deadline, requests counted
    /// nowhere, retries per `retry`.
    pub fn detached(retry: &'a RetryPolicy) -> Self {
        ExportContext { retry, cancel: &DETACHED_CANCEL, counters: &DETACHED_COUNTERS }
    }

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
        ids::random_unit()
    }

    pub(crate) fn count_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_request(&self, bytes: usize) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn cancel_sleep_ends_at_the_deadline() {
        let c = Arc::new(Cancel::default());
        assert!(c.sleep(Duration::from_millis(1)));
        c.set_deadline(Instant::now());
        assert!(!c.sleep(Duration::from_secs(3600)));
        assert!(!c.sleep(Duration::MAX), "an unbounded sleep neither panics nor outlives the deadline");
        assert!(c.expired());
    }

    #[test]
    fn cancel_sleep_is_woken_by_a_new_deadline() {
        let c = Arc::new(Cancel::default());
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.sleep(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(20));
        c.set_deadline(Instant::now());
        assert!(!t.join().unwrap());
    }
}
