//! Pipeline counters and the public `Stats` snapshot.
//!
//! Every span accepted from the caller ends in exactly one bucket: exported, dropped
//! (by reason), filtered, or still queued. `Stats::spans_recorded` equals the sum.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::exporters::ExporterCounters;

/// Conditions that are logged once, not per span.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Warn {
    QueueFull = 0,
    ExportFailed = 1,
    Rejected = 2,
    AfterShutdown = 3,
    Panic = 4,
    Unauthorized = 5,
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
    pub filtered: AtomicU64,
    pub sampled_out: AtomicU64,
    pub batches: AtomicU64,
    pub export_panics: AtomicU64,
    pub worker_finished: AtomicBool,
    /// Sending lanes still running; the last one out sets `worker_finished`.
    pub lanes_running: AtomicUsize,
    pub last_error: Mutex<Option<String>>,
    warned: [AtomicBool; 6],
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Logs `msg` the first time `cond` happens; later occurrences only count.
    pub fn warn_once(&self, cond: Warn, msg: impl FnOnce() -> String) {
        if !self.warned[cond as usize].swap(true, Ordering::Relaxed) {
            log::warn!("agentops: {} (further occurrences are only counted in stats())", msg());
        }
    }

    pub fn set_last_error(&self, e: String) {
        *self.last_error.lock() = Some(e);
    }
}

/// Counters of one exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterStats {
    /// The exporter's name.
    pub name: String,
    /// HTTP requests made (attempts, retries included); 0 for local exporters.
    pub requests: u64,
    /// Retries made.
    pub retries: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
}

/// A snapshot of the pipeline's counters. Invariant: `spans_recorded = spans_exported
/// + spans_dropped() + spans_filtered + spans_queued`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// success, too large).
    pub spans_dropped_rejected: u64,
    /// Dropped because they ended after shutdown.
    pub spans_dropped_after_shutdown: u64,
    /// Removed by a formatter.
    pub spans_filtered: u64,
    /// Not recorded because their session was sampled out.
    pub spans_sampled_out: u64,
    /// Export batches handled.
    pub batches: u64,
    /// HTTP requests over all exporters.
    pub requests: u64,
    /// Retries over all exporters.
    pub retries: u64,
    /// Request bytes over all exporters.
    pub bytes_sent: u64,
    /// Exporter or formatter panics caught.
    pub export_panics: u64,
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
    }

    /// `in_queue`: messages in the queue now (a flush or shutdown request among them
    /// may count as one span for a moment).
    pub(crate) fn snapshot(c: &Counters, exporters: &[(String, Arc<ExporterCounters>)], in_queue: u64) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = Stats {
            spans_recorded: get(&c.received) + in_queue + get(&c.dropped_queue_full) + get(&c.dropped_after_shutdown),
            spans_queued: 0,
            spans_exported: get(&c.exported),
            spans_dropped_queue_full: get(&c.dropped_queue_full),
            spans_dropped_export_failed: get(&c.dropped_export_failed),
            spans_dropped_rejected: get(&c.dropped_rejected),
            spans_dropped_after_shutdown: get(&c.dropped_after_shutdown),
            spans_filtered: get(&c.filtered),
            spans_sampled_out: get(&c.sampled_out),
            batches: get(&c.batches),
            requests: 0,
            retries: 0,
            bytes_sent: 0,
            export_panics: get(&c.export_panics),
            last_error: c.last_error.lock().clone(),
            exporters: exporters
                .iter()
                .map(|(name, e)| ExporterStats {
                    name: name.clone(),
                    requests: get(&e.requests),
                    retries: get(&e.retries),
                    bytes_sent: get(&e.bytes),
                })
                .collect(),
        };
        for e in &s.exporters {
            s.requests += e.requests;
            s.retries += e.retries;
            s.bytes_sent += e.bytes_sent;
        }
        let settled = s.spans_exported + s.spans_dropped() + s.spans_filtered;
        let left = s.spans_recorded.saturating_sub(settled);
        if c.worker_finished.load(Ordering::Acquire) {
            // The export thread is gone: whatever slipped into the queue after its
            // last drain will never be exported.
            s.spans_dropped_after_shutdown += left;
        } else {
            s.spans_queued = left;
        }
        s
    }
}
