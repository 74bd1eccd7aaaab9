//! The sending lanes: threads that run the exporters over finished batches (serialization,
//! HTTP, retries) and do the accounting, while the export thread is already
//! batching and encoding the next batch. Each lane has a FIFO from the export thread;
//! flushes and the shutdown go to every lane behind the batches it already has, and
//! the caller waits for all lanes' acknowledgements, so a flush still means that
//! everything recorded before it was exported or counted as dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use opentelemetry::Context;
use parking_lot::{Condvar, Mutex};

use super::exporters::{
    ExportBatch, ExportContext, ExportError, ExportErrorKind, Exporter, ExporterCounters, SessionStart,
};
use super::retry::RetryPolicy;
use super::stats::{Counters, Warn};

/// What the export thread hands to the sending thread.
pub(crate) enum Stage {
    Batch(ExportBatch),
    SessionStart(Arc<SessionStart>),
    Flush(Sender<FlushReport>),
    Shutdown(Sender<FlushReport>),
}

/// What happened to the spans exported since the previous flush.
#[derive(Debug, Default, Clone)]
pub(crate) struct FlushReport {
    pub dropped: u64,
    pub error: Option<String>,
}

/// The shutdown deadline, shared with exporters so that every wait ends early.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    deadline: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Cancel {
    pub fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock()
    }

    pub fn set_deadline(&self, d: Instant) {
        let mut g = self.deadline.lock();
        *g = Some(g.map_or(d, |old| old.min(d)));
        self.changed.notify_all();
    }

    fn expired(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps `d` or until the deadline; `false` if the deadline cut it short.
    pub fn sleep(&self, d: Duration) -> bool {
        let wake = Instant::now() + d;
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

pub(crate) struct Slot {
    pub name: String,
    pub counters: Arc<ExporterCounters>,
    pub exporter: Box<dyn Exporter>,
}

pub(crate) struct Shipper {
    pub rx: Receiver<Stage>,
    /// Exported batches go back to the export thread to be freed there: it made
    /// their allocations, and freeing them here would contend for its malloc arena.
    pub recycle: Sender<ExportBatch>,
    pub exporters: Vec<Slot>,
    pub retry: RetryPolicy,
    pub cancel: Arc<Cancel>,
    pub counters: Arc<Counters>,
}

impl Shipper {
    pub fn run(mut self) {
        // Nothing this thread does (HTTP, encoding) may produce telemetry of its own.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut report = FlushReport::default();
        loop {
            match self.rx.recv() {
                Ok(Stage::Batch(batch)) => {
                    self.export(&batch, &mut report);
                    let _ = self.recycle.try_send(batch);
                }
                Ok(Stage::SessionStart(start)) => self.session_started(&start),
                Ok(Stage::Flush(ack)) => {
                    let _ = ack.send(std::mem::take(&mut report));
                }
                Ok(Stage::Shutdown(ack)) => {
                    self.finish();
                    let _ = ack.send(std::mem::take(&mut report));
                    break;
                }
                // The export thread ended without a shutdown (every handle dropped).
                Err(_) => {
                    self.finish();
                    break;
                }
            }
        }
        // When the last lane is done, stats() reports anything that raced into the
        // queue after the export thread's last drain as dropped, not as queued.
        if self.counters.lanes_running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.counters.worker_finished.store(true, Ordering::Release);
        }
    }

    fn session_started(&mut self, start: &SessionStart) {
        for slot in &mut self.exporters {
            let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &slot.counters };
            let exporter = &mut slot.exporter;
            let result = catch_unwind(AssertUnwindSafe(|| exporter.session_started(start, &cx)))
                .unwrap_or_else(|_| Err(ExportError::new(ExportErrorKind::Failed, "panicked in session_started")));
            if let Err(e) = result {
                let msg = format!("{}: session {} start: {e}", slot.name, start.session_id);
                let warn =
                    if e.kind == ExportErrorKind::Unauthorized { Warn::Unauthorized } else { Warn::ExportFailed };
                self.counters.warn_once(warn, || msg.clone());
                self.counters.set_last_error(msg);
            }
        }
    }

    fn finish(&mut self) {
        for slot in &mut self.exporters {
            let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &slot.counters };
            let exporter = &mut slot.exporter;
            let result = catch_unwind(AssertUnwindSafe(|| exporter.shutdown(&cx)))
                .unwrap_or_else(|_| Err(ExportError::new(ExportErrorKind::Failed, "panicked in shutdown")));
            if let Err(e) = result {
                self.counters.set_last_error(format!("{}: {e}", slot.name));
            }
        }
    }

    fn export(&mut self, batch: &ExportBatch, report: &mut FlushReport) {
        let n = batch.len() as u64;
        let c = self.counters.clone();
        Counters::add(&c.batches, 1);
        if self.cancel.expired() {
            Counters::add(&c.dropped_export_failed, n);
            let msg = format!("{n} span(s) not exported: the shutdown deadline was reached");
            c.set_last_error(msg.clone());
            report.dropped += n;
            report.error = Some(msg);
            return;
        }
        // The batch's fate is its worst outcome over all exporters.
        let mut failure: Option<(ExportErrorKind, String)> = None;
        let mut rejected = 0u64;
        for slot in &mut self.exporters {
            let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &slot.counters };
            let exporter = &mut slot.exporter;
            match catch_unwind(AssertUnwindSafe(|| exporter.export(batch, &cx))) {
                Ok(Ok(outcome)) => {
                    if outcome.rejected_spans > 0 {
                        rejected = rejected.max(outcome.rejected_spans.min(n));
                        let msg =
                            format!("{}: {}", slot.name, outcome.message.unwrap_or_else(|| "spans rejected".into()));
                        c.warn_once(Warn::Rejected, || msg.clone());
                        c.set_last_error(msg);
                    }
                }
                Ok(Err(e)) => {
                    let msg = format!("{}: {e}", slot.name);
                    let warn = match e.kind {
                        ExportErrorKind::Rejected { .. } => Warn::Rejected,
                        ExportErrorKind::Unauthorized => Warn::Unauthorized,
                        _ => Warn::ExportFailed,
                    };
                    c.warn_once(warn, || format!("export failed: {msg}"));
                    c.set_last_error(msg.clone());
                    failure.get_or_insert((e.kind, msg));
                }
                Err(_) => {
                    Counters::add(&c.export_panics, 1);
                    let msg = format!("{}: exporter panicked", slot.name);
                    c.warn_once(Warn::Panic, || msg.clone());
                    c.set_last_error(msg.clone());
                    failure.get_or_insert((ExportErrorKind::Failed, msg));
                }
            }
        }
        match failure {
            Some((kind, msg)) => {
                let counter = match kind {
                    ExportErrorKind::Rejected { .. } | ExportErrorKind::Encode | ExportErrorKind::Unauthorized => {
                        &c.dropped_rejected
                    }
                    ExportErrorKind::Failed | ExportErrorKind::Cancelled => &c.dropped_export_failed,
                };
                Counters::add(counter, n);
                report.dropped += n;
                report.error = Some(msg);
            }
            None => {
                Counters::add(&c.exported, n - rejected);
                if rejected > 0 {
                    Counters::add(&c.dropped_rejected, rejected);
                    report.dropped += rejected;
                    report.error = c.last_error.lock().clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_sleep_ends_at_the_deadline() {
        let c = Arc::new(Cancel::default());
        assert!(c.sleep(Duration::from_millis(1)));
        c.set_deadline(Instant::now());
        assert!(!c.sleep(Duration::from_secs(3600)));
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
