//! Pipeline counters and the public `Stats` snapshot.
//!
//! Every span accepted from the caller ends in exactly one bucket: exported, dropped
//! (by reason), filtered, or still queued. `Stats::spans_recorded` equals the sum.
//! When a shutdown gives up at its deadline, the counters are final: what was
//! still in the queue is taken out and counted as dropped, and what the abandoned
//! threads still hold is reported as dropped (export failed), never as queued.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Declares the conditions that are logged once, and how many there are: the
/// latch array below is sized from the list itself, so no variant can be added
/// without its latch.
macro_rules! warnings {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Conditions that are logged once, not per span.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Warn { $($(#[$doc])* $name),* }
        impl Warn {
            /// Every condition, in declaration order.
            #[cfg_attr(not(test), allow(dead_code))]
            const ALL: &'static [Warn] = &[$(Warn::$name),*];
            const COUNT: usize = Warn::ALL.len();
        }
    };
}

warnings! {
    /// The queue was full.
    QueueFull,
    /// An export failed.
    ExportFailed,
    /// A receiver rejected spans.
    Rejected,
    /// A span ended after shutdown.
    AfterShutdown,
    /// An exporter, span filter or the encoder panicked.
    Panic,
    /// Credentials were refused.
    Unauthorized,
    /// A metrics export failed or had data points rejected.
    MetricsFailed,
    /// A destination does not take metrics (404/405/415/501 on its metrics path).
    MetricsRefused,
    /// Spans were written to the spool instead of being delivered.
    Spooled,
    /// The spool could not be written, read or cleaned up.
    Spool,
}

/// Counters of one exporter, kept by the sending threads.
#[derive(Debug, Default)]
pub(crate) struct ExporterCounters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub bytes: AtomicU64,
    /// Spans handed to this destination, and what became of them
    /// (`pipeline/fanout.rs`).
    pub spans_received: AtomicU64,
    pub spans_exported: AtomicU64,
    pub spans_dropped: AtomicU64,
    pub spans_spooled: AtomicU64,
}

impl ExporterCounters {
    pub(crate) const fn new() -> Self {
        ExporterCounters {
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            spans_received: AtomicU64::new(0),
            spans_exported: AtomicU64::new(0),
            spans_dropped: AtomicU64::new(0),
            spans_spooled: AtomicU64::new(0),
        }
    }

    /// What they count so far, for the exporter `name`. `given_up`: the pipeline
    /// stopped waiting (a shutdown past its deadline, or its threads gone), so what
    /// the destination still holds is dropped, not queued.
    pub(crate) fn stats(&self, name: &str, given_up: bool) -> ExporterStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (exported, mut dropped, spooled) =
            (get(&self.spans_exported), get(&self.spans_dropped), get(&self.spans_spooled));
        let mut held = get(&self.spans_received).saturating_sub(exported + dropped + spooled);
        if given_up {
            dropped += std::mem::take(&mut held);
        }
        ExporterStats {
            name: name.to_owned(),
            requests: get(&self.requests),
            retries: get(&self.retries),
            bytes_sent: get(&self.bytes),
            spans_exported: exported,
            spans_dropped: dropped,
            spans_spooled: spooled,
            spans_queued: held,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Spans and events the export thread took from the queue (its own counter, so
    /// callers never write a shared cache line on the way in).
    pub received: AtomicU64,
    pub exported: AtomicU64,
    pub dropped_queue_full: AtomicU64,
    pub dropped_export_failed: AtomicU64,
    pub dropped_rejected: AtomicU64,
    pub dropped_after_shutdown: AtomicU64,
    pub dropped_panicked: AtomicU64,
    pub filtered: AtomicU64,
    pub sampled_out: AtomicU64,
    pub values_truncated: AtomicU64,
    pub session_starts_dropped: AtomicU64,
    /// Control messages (session starts, flushes, shutdown) in the queue, so that
    /// the queue's length can be told apart into spans and control.
    pub controls_queued: AtomicU64,
    pub batches: AtomicU64,
    pub export_panics: AtomicU64,
    /// Metrics collections delivered, and failed, per destination.
    pub metrics_exports: AtomicU64,
    pub metrics_exports_failed: AtomicU64,
    pub metrics_exports_refused: AtomicU64,
    pub metric_points_rejected: AtomicU64,
    /// Spans this client wrote to the spool (settled, for its invariant).
    pub spooled: AtomicU64,
    /// What the spool's delivery thread did (any writer's files).
    pub spool_files_delivered: AtomicU64,
    pub spool_spans_delivered: AtomicU64,
    pub spool_spans_rejected: AtomicU64,
    pub spool_files_evicted: AtomicU64,
    pub spool_spans_evicted: AtomicU64,
    pub spool_batches_skipped: AtomicU64,
    pub worker_finished: AtomicBool,
    /// Sending lanes still running; the last one out sets `worker_finished`.
    pub lanes_running: AtomicUsize,
    pub last_error: Mutex<Option<String>>,
    /// Set when a shutdown gave up at its deadline (see the module docs).
    pub shutdown_gave_up: AtomicBool,
    warned: [AtomicBool; Warn::COUNT],
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Logs `msg` the first time `cond` happens; later occurrences only count. With
    /// no logger that shows warnings (the application set none up), the one line
    /// goes to stderr instead, so that it is not lost (`util/say.rs`).
    pub fn warn_once(&self, cond: Warn, msg: impl FnOnce() -> String) {
        if !self.warned[cond as usize].swap(true, Ordering::Relaxed) {
            let line = format!("{} (further occurrences are only counted in stats())", msg());
            crate::util::say::say(log::Level::Warn, format_args!("{line}"));
        }
    }

    pub fn set_last_error(&self, e: String) {
        *self.last_error.lock() = Some(e);
    }
}

/// Counters of one exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// The exporter's name.
    pub name: String,
    /// HTTP requests made (attempts, retries included); 0 for local exporters.
    pub requests: u64,
    /// Retries made.
    pub retries: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Spans this destination accepted. Destinations are independent: one can
    /// have a span that another dropped (`Stats::spans_exported` counts the spans
    /// every destination accepted).
    pub spans_exported: u64,
    /// Spans dropped for this destination: export failed or rejected, the shutdown
    /// deadline, or the destination a queue's worth behind the others.
    pub spans_dropped: u64,
    /// Spans written to the spool for this destination.
    pub spans_spooled: u64,
    /// Spans handed to this destination and not settled yet (waiting for or in
    /// its lanes).
    pub spans_queued: u64,
}

/// What the spool did, over every file in it (this client's and earlier ones'):
/// every span written to a spool ends delivered, rejected, evicted, skipped, or is
/// still on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolStats {
    /// Spooled files delivered (and removed) by this client.
    pub files_delivered: u64,
    /// Spans from the spool the receiver accepted.
    pub spans_delivered: u64,
    /// Spans from the spool the receiver refused for good (a 4xx, partial success).
    pub spans_rejected: u64,
    /// Files removed, oldest first, to stay within the spool's bound.
    pub files_evicted: u64,
    /// Spans in those files: dropped to keep the bound.
    pub spans_evicted: u64,
    /// Spooled batches that could not be read back (a line cut short or corrupted,
    /// a `.tmp` file a crash left half-written): skipped and removed.
    pub batches_skipped: u64,
}

/// A snapshot of the pipeline's counters. Invariant: `spans_recorded = spans_exported
/// + spans_dropped() + spans_filtered + spans_spooled + spans_queued`, at every
/// moment; once `shutdown` has returned, `spans_queued` is 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans handed to the pipeline (sampled-out sessions excluded).
    pub spans_recorded: u64,
    /// Spans waiting in the queue or being exported now.
    pub spans_queued: u64,
    /// Spans every exporter accepted.
    pub spans_exported: u64,
    /// Dropped because the queue was full.
    pub spans_dropped_queue_full: u64,
    /// Dropped because export failed (retries exhausted, shutdown deadline, I/O).
    pub spans_dropped_export_failed: u64,
    /// Dropped because the receiver rejected them (non-retryable status, partial
    /// success, too large, credentials refused).
    pub spans_dropped_rejected: u64,
    /// Dropped because they ended after shutdown.
    pub spans_dropped_after_shutdown: u64,
    /// Dropped because a span filter or the encoder panicked on them (a span filter may
    /// have been redacting, so the span is not sent half-formatted).
    pub spans_dropped_panicked: u64,
    /// Removed by a span filter (it returned `false`).
    pub spans_filtered: u64,
    /// Not delivered but written to the spool, to be delivered by this client later
    /// or by the next one (see [`spool`](Self::spool) for what became of them).
    pub spans_spooled: u64,
    /// Not recorded because their session was sampled out.
    pub spans_sampled_out: u64,
    /// String values cut at the length limit (`max_value_len`), message contents
    /// included.
    pub values_truncated: u64,
    /// Distinct models of recorded LLM calls that the price table has no price for
    /// (those calls get no cost; each such model is logged once).
    pub models_without_price: u64,
    /// Session-start notices exporters did not get because the queue was full. The
    /// session's spans are not affected; the legacy AgentOps exporter creates the
    /// session when they arrive.
    pub session_starts_dropped: u64,
    /// Export batches handled.
    pub batches: u64,
    /// HTTP requests over all exporters.
    pub requests: u64,
    /// Retries over all exporters.
    pub retries: u64,
    /// Request bytes over all exporters.
    pub bytes_sent: u64,
    /// Exporter, span filter or encoder panics caught.
    pub export_panics: u64,
    /// Metrics collections delivered (one per collection and destination).
    pub metrics_exports: u64,
    /// Metrics collections not delivered (one per collection and destination):
    /// retries exhausted, rejected, shutdown deadline. With cumulative temporality
    /// the next collection carries their data again; with delta it is lost, and
    /// counted here.
    pub metrics_exports_failed: u64,
    /// Metrics collections not sent to a destination that does not take metrics
    /// (one per collection and destination): it answered 404, 405, 415 or 501 on its
    /// metrics path, as traces-only backends do, so metrics to it were switched off
    /// (with one warning) while its traces go on. Neither a flush nor a shutdown
    /// fails for it.
    pub metrics_exports_refused: u64,
    /// Data points a receiver accepted the request for but reported as rejected.
    pub metric_points_rejected: u64,
    /// The spool's side (when there is one).
    pub spool: SpoolStats,
    /// The latest export error.
    pub last_error: Option<String>,
    /// Per-exporter counters.
    pub exporters: Vec<ExporterStats>,
}

impl Stats {
    /// All dropped spans, whatever the reason.
    pub fn spans_dropped(&self) -> u64 {
        self.spans_dropped_queue_full
            + self.spans_dropped_export_failed
            + self.spans_dropped_rejected
            + self.spans_dropped_after_shutdown
            + self.spans_dropped_panicked
    }

    /// `queue_len` gives the messages in the queue now; the control messages among
    /// them are not counted as spans. It is read after the export thread's count,
    /// so a span moving from the queue to that count in between is never counted
    /// twice.
    pub(crate) fn snapshot(
        c: &Counters,
        exporters: &[(String, std::sync::Arc<ExporterCounters>)],
        queue_len: impl FnOnce() -> u64,
    ) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let received = get(&c.received);
        let in_queue = queue_len().saturating_sub(get(&c.controls_queued));
        let given_up = c.worker_finished.load(Ordering::Acquire) || c.shutdown_gave_up.load(Ordering::Acquire);
        let exporters: Vec<ExporterStats> = exporters.iter().map(|(name, e)| e.stats(name, given_up)).collect();
        let mut s = Stats {
            spans_recorded: received + in_queue + get(&c.dropped_queue_full) + get(&c.dropped_after_shutdown),
            spans_queued: 0,
            spans_exported: get(&c.exported),
            spans_dropped_queue_full: get(&c.dropped_queue_full),
            spans_dropped_export_failed: get(&c.dropped_export_failed),
            spans_dropped_rejected: get(&c.dropped_rejected),
            spans_dropped_after_shutdown: get(&c.dropped_after_shutdown),
            spans_dropped_panicked: get(&c.dropped_panicked),
            spans_filtered: get(&c.filtered),
            spans_spooled: get(&c.spooled),
            batches: get(&c.batches),
            ..Stats::default()
        };
        s.read_live(c, exporters);
        let settled = s.spans_exported + s.spans_dropped() + s.spans_filtered + s.spans_spooled;
        let left = s.spans_recorded.saturating_sub(settled);
        if c.worker_finished.load(Ordering::Acquire) {
            // The export thread is gone: whatever slipped into the queue after its
            // last drain will never be exported.
            s.spans_dropped_after_shutdown += left;
        } else if c.shutdown_gave_up.load(Ordering::Acquire) {
            // A shutdown gave up: what the threads still hold will not be exported.
            s.spans_dropped_export_failed += left;
        } else {
            s.spans_queued = left;
        }
        s
    }

    /// The counters outside the span invariant.
    fn read_live(&mut self, c: &Counters, exporters: Vec<ExporterStats>) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        self.spans_sampled_out = get(&c.sampled_out);
        self.values_truncated = get(&c.values_truncated);
        self.session_starts_dropped = get(&c.session_starts_dropped);
        self.export_panics = get(&c.export_panics);
        self.metrics_exports = get(&c.metrics_exports);
        self.metrics_exports_failed = get(&c.metrics_exports_failed);
        self.metrics_exports_refused = get(&c.metrics_exports_refused);
        self.metric_points_rejected = get(&c.metric_points_rejected);
        self.spool = SpoolStats {
            files_delivered: get(&c.spool_files_delivered),
            spans_delivered: get(&c.spool_spans_delivered),
            spans_rejected: get(&c.spool_spans_rejected),
            files_evicted: get(&c.spool_files_evicted),
            spans_evicted: get(&c.spool_spans_evicted),
            batches_skipped: get(&c.spool_batches_skipped),
        };
        self.last_error = c.last_error.lock().clone();
        self.requests = exporters.iter().map(|e| e.requests).sum();
        self.retries = exporters.iter().map(|e| e.retries).sum();
        self.bytes_sent = exporters.iter().map(|e| e.bytes_sent).sum();
        self.exporters = exporters;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_condition_has_its_latch() {
        let c = Counters::default();
        for &w in Warn::ALL {
            c.warn_once(w, || format!("{w:?}"));
            c.warn_once(w, || unreachable!("logged once"));
            assert!(c.warned[w as usize].load(Ordering::Relaxed));
        }
        assert_eq!(Warn::ALL.len(), Warn::COUNT);
    }
}
