//! Destinations are independent: the export thread hands each batch to every
//! destination (exporter) at once, each with its own lanes and its own backlog, so a
//! slow or hung one never delays or starves another (the file and the console get
//! every batch while a collector hangs).
//!
//! A destination that is behind by what its lanes hold (one batch sent and one
//! waiting each) makes the export thread wait for it, as one destination always
//! did: encoding does not run ahead of sending, and the queue pushes back on
//! callers. A destination that makes no progress for [`STALL`] is stalled: it is not
//! waited for any more (until it catches up), its backlog grows up to a queue's
//! worth of spans, and batches beyond that are dropped for it alone, counted,
//! rather than holding the others up. What became of a batch is settled per destination and
//! committed once, by the last destination to settle it: its worst outcome, so that
//! `spans_exported` still means "every exporter took it".

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::batch::ExportBatch;
use crate::export::exporter::SessionStart;
use crate::stats::{Counters, ExporterCounters};

/// What the export thread hands to a sending lane.
pub(crate) enum Stage {
    Batch(Arc<SharedBatch>),
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

/// What one destination did with a batch.
#[derive(Debug)]
pub(crate) enum Settled {
    /// Delivered; the receiver refused this many of its spans (partial success).
    Exported { rejected: u64 },
    /// Written to the spool instead.
    Spooled,
    /// Not delivered.
    Failed(ExportError),
}

/// The batch's fate over the destinations that settled it so far.
#[derive(Debug, Default)]
struct Fate {
    failure: Option<ExportError>,
    spooled: bool,
    rejected: u64,
}

/// A batch on its way to every destination.
pub(crate) struct SharedBatch {
    pub batch: ExportBatch,
    fate: Mutex<Fate>,
    /// Destinations that have not settled it yet.
    unsettled: AtomicUsize,
}

impl SharedBatch {
    pub fn new(batch: ExportBatch, destinations: usize) -> Arc<Self> {
        Arc::new(SharedBatch { batch, fate: Mutex::default(), unsettled: AtomicUsize::new(destinations) })
    }

    /// Records what one destination did (in its exporter's counters too); the last
    /// destination commits the batch's worst outcome to `counters` and `report`.
    /// Returns the batch to whoever holds the last reference, to be recycled.
    pub fn settle(
        self: Arc<Self>,
        settled: Settled,
        exporter: &ExporterCounters,
        counters: &Counters,
        report: &mut FlushReport,
    ) -> Option<ExportBatch> {
        let n = self.batch.len() as u64;
        {
            let mut fate = self.fate.lock();
            match settled {
                Settled::Exported { rejected } => {
                    let rejected = rejected.min(n);
                    Counters::add(&exporter.spans_exported, n - rejected);
                    Counters::add(&exporter.spans_dropped, rejected);
                    fate.rejected = fate.rejected.max(rejected);
                }
                Settled::Spooled => {
                    Counters::add(&exporter.spans_spooled, n);
                    fate.spooled = true;
                }
                Settled::Failed(e) => {
                    Counters::add(&exporter.spans_dropped, n);
                    fate.failure.get_or_insert(e);
                }
            }
            if self.unsettled.fetch_sub(1, Ordering::AcqRel) == 1 {
                commit(&mut fate, n, counters, report);
            }
        }
        Arc::into_inner(self).map(|s| s.batch)
    }
}

/// The batch's worst outcome, into the pipeline's counters: dropped if a
/// destination failed, spooled if one could only spool it, exported otherwise.
fn commit(fate: &mut Fate, n: u64, c: &Counters, report: &mut FlushReport) {
    match fate.failure.take() {
        Some(e) => {
            let counter = if e.kind.is_rejection() { &c.dropped_rejected } else { &c.dropped_export_failed };
            Counters::add(counter, n);
            report.dropped += n;
            report.error = Some(e);
        }
        None => {
            Counters::add(if fate.spooled { &c.spooled } else { &c.exported }, n - fate.rejected);
            if fate.rejected > 0 {
                Counters::add(&c.dropped_rejected, fate.rejected);
                report.dropped += fate.rejected;
                let msg = c.last_error.lock().clone().unwrap_or_default();
                report.error = Some(ExportError::new(ExportErrorKind::Rejected { status: 200 }, msg));
            }
        }
    }
}

/// How long a destination behind by its lanes' worth may go without settling a
/// batch before the export thread stops waiting for it.
const STALL: Duration = Duration::from_secs(1);

/// One lane's inbox, and the spans handed to it and not yet settled.
pub(crate) struct Lane {
    pub tx: Sender<Stage>,
    pub backlog: Arc<AtomicUsize>,
}

/// One destination as the export thread sees it: its lanes and its counters.
pub(crate) struct Destination {
    pub name: String,
    pub lanes: Vec<Lane>,
    pub counters: Arc<ExporterCounters>,
    /// Beyond this backlog (its lanes' worth: one batch sent and one waiting each)
    /// the export thread waits for the destination, unless it is stalled.
    pub soft_backlog: usize,
    /// The most spans its lanes may hold (a queue's worth, at least `soft_backlog`).
    pub max_backlog: usize,
    /// A token each time a lane settles a batch.
    pub progress: Receiver<()>,
    /// No progress for [`STALL`] while behind: not waited for.
    pub stalled: Cell<bool>,
}

impl Destination {
    /// Hands the batch to the lane with the least backlog, or — when the destination
    /// is a queue's worth behind — settles it for this destination as dropped. Waits
    /// only while the destination is behind and progressing (`wait_for_room`).
    fn take(&self, shared: &Arc<SharedBatch>, counters: &Counters, report: &mut FlushReport) {
        let n = shared.batch.len();
        Counters::add(&self.counters.spans_received, n as u64);
        self.wait_for_room(n);
        let lane = self.lanes.iter().min_by_key(|l| l.backlog.load(Ordering::Acquire));
        let behind = self.behind();
        let msg = match lane.filter(|_| behind == 0 || behind + n <= self.max_backlog) {
            Some(lane) => {
                lane.backlog.fetch_add(n, Ordering::AcqRel);
                if lane.tx.send(Stage::Batch(shared.clone())).is_ok() {
                    return;
                }
                lane.backlog.fetch_sub(n, Ordering::AcqRel);
                format!("{} exporter's sending thread is gone: {n} span(s) dropped for it", self.name)
            }
            None => format!(
                "{} exporter is {behind} span(s) behind (a queue's worth): {n} span(s) dropped for it alone",
                self.name
            ),
        };
        counters.warn_once(crate::stats::Warn::ExportFailed, || format!("export failed: {msg}"));
        counters.set_last_error(msg.clone());
        let why = ExportError::new(ExportErrorKind::Failed, msg);
        // Dropping the returned batch here is rare (a destination far behind).
        drop(shared.clone().settle(Settled::Failed(why), &self.counters, counters, report));
    }

    fn behind(&self) -> usize {
        self.lanes.iter().map(|l| l.backlog.load(Ordering::Acquire)).sum()
    }

    /// Waits while the destination is behind by its lanes' worth and progressing.
    fn wait_for_room(&self, n: usize) {
        while self.progress.try_recv().is_ok() {} // tokens of batches already counted
        if self.stalled.get() {
            if self.behind() <= self.soft_backlog / 2 {
                self.stalled.set(false); // caught up
            }
            return;
        }
        let mut last_progress = Instant::now();
        while self.behind() > 0 && self.behind() + n > self.soft_backlog {
            let left = STALL.saturating_sub(last_progress.elapsed());
            match self.progress.recv_timeout(left) {
                Ok(()) => last_progress = Instant::now(),
                Err(_) => {
                    self.stalled.set(true);
                    return;
                }
            }
        }
    }

    /// A control message to each of its lanes, behind the batches each has.
    fn control(&self, stage: impl Fn() -> Stage) {
        for lane in &self.lanes {
            let _ = lane.tx.send(stage());
        }
    }
}

/// Every destination of a pipeline.
pub(crate) struct Fanout {
    pub destinations: Vec<Destination>,
    pub counters: Arc<Counters>,
    /// What destinations the export thread settled itself (dropped, behind) add up
    /// to; handed to the next flush through the first lane.
    pub report: FlushReport,
}

impl Fanout {
    /// Hands `batch` to every destination.
    pub fn batch(&mut self, batch: ExportBatch) {
        Counters::add(&self.counters.batches, 1);
        self.batch_shared(SharedBatch::new(batch, self.destinations.len()));
    }

    fn batch_shared(&mut self, shared: Arc<SharedBatch>) {
        for d in &self.destinations {
            d.take(&shared, &self.counters, &mut self.report);
        }
    }

    /// A control message to every lane of every destination. A flush or shutdown
    /// carries what the export thread settled itself since the last one.
    pub fn control(&mut self, stage: Stage) {
        match stage {
            Stage::Batch(shared) => self.batch_shared(shared),
            Stage::SessionStart(s) => self.each(|| Stage::SessionStart(s.clone())),
            Stage::Flush(ack) => {
                let _ = ack.send(std::mem::take(&mut self.report));
                self.each(|| Stage::Flush(ack.clone()));
            }
            Stage::Shutdown(ack) => {
                let _ = ack.send(std::mem::take(&mut self.report));
                self.each(|| Stage::Shutdown(ack.clone()));
            }
        }
    }

    fn each(&self, stage: impl Fn() -> Stage) {
        self.destinations.iter().for_each(|d| d.control(&stage));
    }

    /// Lanes over all destinations: a flush is done when each has acknowledged it,
    /// plus the export thread's own report.
    pub fn acknowledgements(lanes: usize) -> usize {
        lanes + 1
    }
}
