//! The sending lanes: threads that run the exporters over finished batches
//! (serialization, HTTP, retries) and do the accounting, while the export thread
//! is already batching and encoding the next batch. Each lane has a FIFO from the
//! export thread; flushes and the shutdown go to every lane behind the batches it
//! already has, and the caller waits for all lanes' acknowledgements, so a flush
//! still means that everything recorded before it was exported or counted as
//! dropped.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use opentelemetry::Context;

use crate::config::retry::RetryPolicy;
use crate::exporters::batch::ExportBatch;
use crate::exporters::interface::{
    call_exporter, Cancel, ExportContext, ExportError, ExportErrorKind, Exporter, SessionStart,
};
use crate::spool::destination::SpoolDestination;
use crate::spool::Spool;
use crate::stats::{Counters, ExporterCounters, Warn};

/// What the export thread hands to a sending lane.
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
    pub error: Option<ExportError>,
}

pub(crate) struct Slot {
    pub name: String,
    pub counters: Arc<ExporterCounters>,
    pub exporter: Box<dyn Exporter>,
    /// Where its undelivered batches go, when there is a spool and it is a network
    /// exporter.
    pub spool: Option<SpoolDestination>,
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
    pub spool: Option<Arc<Spool>>,
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

    /// Calls one exporter with its context; a panic becomes an error (and is counted).
    fn call<T>(
        &mut self,
        i: usize,
        what: &str,
        f: impl FnOnce(&mut dyn Exporter, &ExportContext<'_>) -> Result<T, ExportError>,
    ) -> Result<T, ExportError> {
        let slot = &mut self.exporters[i];
        let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &slot.counters };
        let (exporter, counters) = (&mut *slot.exporter, &self.counters);
        call_exporter(
            &slot.name,
            &format!("in {what}"),
            || f(exporter, &cx),
            |msg| {
                Counters::add(&counters.export_panics, 1);
                counters.warn_once(Warn::Panic, || msg.to_owned());
            },
        )
    }

    /// Records a failure: last error, and a warning once per kind of condition.
    fn note_failure(&self, i: usize, e: &ExportError, context: &str) -> String {
        let msg = format!("{} exporter{context}: {e}", self.exporters[i].name);
        let warn = match e.kind {
            ExportErrorKind::Rejected { .. } => Warn::Rejected,
            ExportErrorKind::Unauthorized => Warn::Unauthorized,
            _ => Warn::ExportFailed,
        };
        self.counters.warn_once(warn, || format!("export failed: {msg}"));
        self.counters.set_last_error(msg.clone());
        msg
    }

    fn session_started(&mut self, start: &SessionStart) {
        for i in 0..self.exporters.len() {
            if let Err(e) = self.call(i, "session_started", |x, cx| x.session_started(start, cx)) {
                self.note_failure(i, &e, &format!(" (session {} start)", start.session_id));
            }
        }
    }

    fn finish(&mut self) {
        for i in 0..self.exporters.len() {
            if let Err(e) = self.call(i, "shutdown", |x, cx| x.shutdown(cx)) {
                let msg = format!("{} exporter (shutdown): {e}", self.exporters[i].name);
                self.counters.set_last_error(msg);
            }
        }
    }

    /// Writes the batch to exporter `i`'s spool, if it has one; whether it did.
    fn spool(&self, i: usize, batch: &ExportBatch, why: &ExportError) -> bool {
        let slot = &self.exporters[i];
        match (&self.spool, &slot.spool) {
            (Some(spool), Some(dest)) if why.kind.is_spoolable() => spool.keep(dest, batch, &slot.name, why),
            _ => false,
        }
    }

    fn export(&mut self, batch: &ExportBatch, report: &mut FlushReport) {
        let n = batch.len() as u64;
        let c = self.counters.clone();
        Counters::add(&c.batches, 1);
        if self.cancel.expired() {
            let msg = format!("{n} span(s) not exported: the shutdown deadline was reached");
            let why = ExportError::new(ExportErrorKind::Cancelled, msg.clone());
            // Each exporter that can keeps it; it counts as spooled if all did.
            let kept = (0..self.exporters.len()).filter(|&i| self.spool(i, batch, &why)).count();
            if kept == self.exporters.len() {
                Counters::add(&c.spooled, n);
                return;
            }
            Counters::add(&c.dropped_export_failed, n);
            c.set_last_error(msg);
            report.dropped += n;
            report.error = Some(why);
            return;
        }
        // The batch's fate is its worst outcome over all exporters: dropped if one
        // failed, spooled if one could only spool it, exported otherwise.
        let mut failure: Option<ExportError> = None;
        let mut spooled = false;
        let mut rejected = 0u64;
        for i in 0..self.exporters.len() {
            match self.call(i, "export", |x, cx| x.export(batch, cx)) {
                Ok(outcome) if outcome.rejected_spans > 0 => {
                    rejected = rejected.max(outcome.rejected_spans.min(n));
                    let why = outcome.message.unwrap_or_else(|| "spans rejected".into());
                    let msg = format!("{} exporter: {why}", self.exporters[i].name);
                    c.warn_once(Warn::Rejected, || msg.clone());
                    c.set_last_error(msg);
                }
                Ok(_) => {}
                Err(e) if self.spool(i, batch, &e) => {
                    spooled = true;
                    c.set_last_error(format!("{} exporter: {e} (spooled)", self.exporters[i].name));
                }
                Err(e) => {
                    let msg = self.note_failure(i, &e, "");
                    failure.get_or_insert(ExportError::new(e.kind, msg));
                }
            }
        }
        match failure {
            Some(e) => {
                let counter = if e.kind.is_rejection() { &c.dropped_rejected } else { &c.dropped_export_failed };
                Counters::add(counter, n);
                report.dropped += n;
                report.error = Some(e);
            }
            None => {
                Counters::add(if spooled { &c.spooled } else { &c.exported }, n - rejected);
                if rejected > 0 {
                    Counters::add(&c.dropped_rejected, rejected);
                    report.dropped += rejected;
                    let msg = c.last_error.lock().clone().unwrap_or_default();
                    report.error = Some(ExportError::new(ExportErrorKind::Rejected { status: 200 }, msg));
                }
            }
        }
    }
}
