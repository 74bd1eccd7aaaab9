//! The sending lanes: threads that run one destination's exporter over finished
//! batches (serialization, HTTP, retries) and settle them (`fanout.rs`), while the
//! export thread is already batching and encoding the next batch. Each destination
//! has its own lanes; each lane a FIFO from the export thread. Flushes and the
//! shutdown go to every lane behind the batches it already has, and the caller
//! waits for all lanes' acknowledgements, so a flush still means that everything
//! recorded before it was exported or counted as dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use opentelemetry::Context;

use super::fanout::{Destination, FlushReport, Lane, Settled, Stage};
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::batch::ExportBatch;
use crate::export::context::{call_exporter, Cancel, ExportContext};
use crate::export::exporter::{Exporter, SessionStart};
use crate::export::retry::RetryPolicy;
use crate::spool::destination::SpoolDestination;
use crate::spool::Spool;
use crate::stats::{Counters, ExporterCounters, Warn};

pub(crate) struct Slot {
    pub name: String,
    pub counters: Arc<ExporterCounters>,
    pub exporter: Box<dyn Exporter>,
    /// Where its undelivered batches go, when there is a spool and it is a network
    /// exporter.
    pub spool: Option<SpoolDestination>,
}

pub(crate) struct LaneWorker {
    pub rx: Receiver<Stage>,
    /// Exported batches go back to the export thread to be freed there: it made
    /// their allocations, and freeing them here would contend for its malloc arena.
    pub recycle: Sender<ExportBatch>,
    pub slot: Slot,
    /// Spans handed to this lane and not settled yet (the export thread reads it).
    pub backlog: Arc<AtomicUsize>,
    /// Tells the export thread a batch was settled (it may be waiting for room).
    pub progress: Sender<()>,
    pub retry: RetryPolicy,
    pub cancel: Arc<Cancel>,
    pub counters: Arc<Counters>,
    pub spool: Option<Arc<Spool>>,
}

/// What every lane of a pipeline shares.
pub(crate) struct LaneCommon {
    pub recycle: Sender<ExportBatch>,
    pub retry: RetryPolicy,
    pub cancel: Arc<Cancel>,
    pub counters: Arc<Counters>,
    pub spool: Option<Arc<Spool>>,
}

/// One destination: its lanes (one per instance of its exporter) and how the export
/// thread sees them. `limits`: the batch size and the queue's size, in spans.
pub(crate) fn destination(
    name: String,
    counters: Arc<ExporterCounters>,
    instances: Vec<Box<dyn Exporter>>,
    spool: Option<SpoolDestination>,
    (batch_size, queue_size): (usize, usize),
    common: &LaneCommon,
) -> (Destination, Vec<LaneWorker>) {
    let (progress_tx, progress_rx) = crossbeam_channel::bounded(2 * instances.len());
    let (mut lanes, mut lane_workers) = (Vec::new(), Vec::new());
    for exporter in instances {
        // Unbounded: the destination's backlog is bounded in spans by the export
        // thread (`fanout.rs`), and control messages always fit.
        let (tx, rx) = crossbeam_channel::unbounded();
        let backlog = Arc::new(AtomicUsize::new(0));
        lanes.push(Lane { tx, backlog: backlog.clone() });
        lane_workers.push(LaneWorker {
            rx,
            recycle: common.recycle.clone(),
            slot: Slot { name: name.clone(), counters: counters.clone(), exporter, spool: spool.clone() },
            backlog,
            progress: progress_tx.clone(),
            retry: common.retry.clone(),
            cancel: common.cancel.clone(),
            counters: common.counters.clone(),
            spool: common.spool.clone(),
        });
    }
    let soft_backlog = 2 * lanes.len() * batch_size;
    let d = Destination {
        name,
        lanes,
        counters,
        soft_backlog,
        max_backlog: queue_size.max(soft_backlog),
        progress: progress_rx,
        stalled: std::cell::Cell::new(false),
    };
    (d, lane_workers)
}

impl LaneWorker {
    pub fn run(mut self) {
        // Nothing this thread does (HTTP, encoding) may produce telemetry of its own.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut report = FlushReport::default();
        loop {
            match self.rx.recv() {
                Ok(Stage::Batch(shared)) => {
                    let n = shared.batch.len();
                    let settled = self.export(&shared.batch);
                    let (exporter, counters) = (&self.slot.counters, &self.counters);
                    if let Some(batch) = shared.settle(settled, exporter, counters, &mut report) {
                        let _ = self.recycle.try_send(batch);
                    }
                    self.backlog.fetch_sub(n, Ordering::AcqRel);
                    let _ = self.progress.try_send(());
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

    /// Calls the exporter with its context; a panic becomes an error (and is counted).
    fn call<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut dyn Exporter, &ExportContext<'_>) -> Result<T, ExportError>,
    ) -> Result<T, ExportError> {
        let slot = &mut self.slot;
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
    fn note_failure(&self, e: &ExportError, context: &str) -> String {
        let msg = format!("{} exporter{context}: {e}", self.slot.name);
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
        if let Err(e) = self.call("session_started", |x, cx| x.session_started(start, cx)) {
            self.note_failure(&e, &format!(" (session {} start)", start.session_id));
        }
    }

    fn finish(&mut self) {
        if let Err(e) = self.call("shutdown", |x, cx| x.shutdown(cx)) {
            let msg = format!("{} exporter (shutdown): {e}", self.slot.name);
            self.counters.set_last_error(msg);
        }
    }

    /// Writes the batch to the destination's spool, if it has one; whether it did.
    fn spool(&self, batch: &ExportBatch, why: &ExportError) -> bool {
        let slot = &self.slot;
        match (&self.spool, &slot.spool) {
            (Some(spool), Some(dest)) if why.kind.is_spoolable() => spool.keep(dest, batch, &slot.name, why),
            _ => false,
        }
    }

    /// Exports the batch to this lane's destination: what became of it there.
    fn export(&mut self, batch: &ExportBatch) -> Settled {
        let n = batch.len() as u64;
        let c = self.counters.clone();
        if self.cancel.expired() {
            let msg = format!("{n} span(s) not exported: the shutdown deadline was reached");
            let why = ExportError::new(ExportErrorKind::Cancelled, msg.clone());
            if self.spool(batch, &why) {
                return Settled::Spooled;
            }
            c.set_last_error(format!("{} exporter: {msg}", self.slot.name));
            return Settled::Failed(why);
        }
        match self.call("export", |x, cx| x.export(batch, cx)) {
            Ok(outcome) if outcome.rejected_spans > 0 => {
                let why = outcome.message.unwrap_or_else(|| "spans rejected".into());
                let msg = format!("{} exporter: {why}", self.slot.name);
                c.warn_once(Warn::Rejected, || msg.clone());
                c.set_last_error(msg);
                Settled::Exported { rejected: outcome.rejected_spans }
            }
            Ok(_) => Settled::Exported { rejected: 0 },
            Err(e) if self.spool(batch, &e) => {
                c.set_last_error(format!("{} exporter: {e} (spooled)", self.slot.name));
                Settled::Spooled
            }
            Err(e) => {
                let msg = self.note_failure(&e, "");
                Settled::Failed(ExportError::new(e.kind, msg))
            }
        }
    }
}
