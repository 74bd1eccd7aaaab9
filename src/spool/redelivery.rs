//! The spool's delivery thread (`agentops-spool`): at start, then every
//! `retry_interval`, it delivers the spooled files of each destination this client
//! sends to, oldest first, through its own instance of that destination's exporter
//! (same HTTP client, retry policy, accounting). A destination that still fails is
//! left for the next round. At shutdown it finishes the round it is in, within the
//! pipeline's deadline, and stops; what is left waits for the next client.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use opentelemetry::Context;

use super::destination::SpoolDestination;
use super::files;
use super::reader::{Line, LockedFile};
use super::Spool;
use crate::encode::request::span_count;
use crate::error::export::ExportError;
use crate::export::batch::ExportBatch;
use crate::export::context::{call_exporter, Cancel, ExportContext};
use crate::export::exporter::Exporter;
use crate::export::retry::RetryPolicy;
use crate::stats::{Counters, ExporterCounters, Warn};

/// One destination: its spool directory and the exporter that delivers it.
pub(crate) struct Target {
    pub dest: SpoolDestination,
    pub name: String,
    pub exporter: Box<dyn Exporter>,
    pub counters: Arc<ExporterCounters>,
}

pub(crate) struct Redelivery {
    pub spool: Arc<Spool>,
    pub targets: Vec<Target>,
    pub retry: RetryPolicy,
    pub cancel: Arc<Cancel>,
    pub interval: Duration,
}

/// How a file's delivery ended.
enum Delivered {
    All,
    /// The destination failed in a way worth retrying: stop for this round.
    Stopped,
}

impl Redelivery {
    /// Rounds until `stop` gets a message (or its sender is dropped), after the
    /// round in progress.
    fn run(mut self, stop: &Receiver<()>) {
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        loop {
            for i in 0..self.targets.len() {
                self.round(i);
            }
            match stop.recv_timeout(self.interval) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
    }

    fn counters(&self) -> &Counters {
        &self.spool.counters
    }

    /// Delivers the files of target `i` until one fails or none is left.
    fn round(&mut self, i: usize) {
        let dir = self.targets[i].dest.dir.clone();
        let listing = match files::list(&dir) {
            Ok(l) => l,
            Err(e) => return self.warn(format!("cannot read the spool directory {}: {e}", dir.display())),
        };
        for partial in listing.partial.iter().filter(|p| p.is_abandoned()) {
            if std::fs::remove_file(&partial.path).is_ok() {
                Counters::add(&self.counters().spool_batches_skipped, 1);
                self.warn(format!("removed {}, a spooled batch a crash left half-written", partial.path.display()));
            }
        }
        for file in listing.complete {
            if self.cancel.expired() {
                return;
            }
            // Taken by another process, or delivered by it since the listing.
            let Some(locked) = LockedFile::take(&file.path) else { continue };
            match self.deliver(i, locked) {
                Delivered::All => {}
                Delivered::Stopped => return,
            }
        }
    }

    fn deliver(&mut self, i: usize, locked: LockedFile) -> Delivered {
        let lines = match locked.lines(self.spool.max_bytes) {
            Ok(lines) => lines,
            Err(e) => {
                self.warn(format!("cannot read {}: {e}", locked.path.display()));
                return Delivered::Stopped;
            }
        };
        let mut lines = lines.into_iter();
        // Lines delivered or skipped so far: with none, a failure leaves the file as is.
        let mut processed = 0;
        while let Some(line) = lines.next() {
            processed += 1;
            let (req, bytes) = match line {
                Line::Request(req, bytes) => (req, bytes),
                Line::Unreadable(why) => {
                    Counters::add(&self.counters().spool_batches_skipped, 1);
                    self.warn(format!("skipped a spooled batch in {}: {why}", locked.path.display()));
                    continue;
                }
            };
            let spans = span_count(&req) as u64;
            let batch = ExportBatch::from_request(*req);
            match self.export(i, &batch) {
                Ok(rejected) => {
                    let c = self.counters();
                    Counters::add(&c.spool_spans_delivered, spans - rejected.min(spans));
                    Counters::add(&c.spool_spans_rejected, rejected.min(spans));
                }
                Err(e) if e.kind.is_spoolable() => {
                    let c = self.counters();
                    c.set_last_error(format!("{} exporter (spool): {e}", self.targets[i].name));
                    // The rest of the file, this line first, stays spooled.
                    let rest: Vec<Line> =
                        std::iter::once(Line::Request(Box::new(batch.into_request()), bytes)).chain(lines).collect();
                    return self.keep_rest(i, locked, rest, processed > 1);
                }
                Err(e) => {
                    // Refused for good (a 4xx): sending it again would not help.
                    Counters::add(&self.counters().spool_spans_rejected, spans);
                    self.warn(format!("{} exporter refused {spans} spooled span(s): {e}", self.targets[i].name));
                }
            }
        }
        match locked.remove() {
            Ok(()) => Counters::add(&self.counters().spool_files_delivered, 1),
            Err(e) => self.warn(format!("cannot remove a delivered spool file: {e}")),
        }
        Delivered::All
    }

    /// After a failure inside a file: a file whose first line failed stays as it
    /// is; otherwise what is left is written as a new file and the old one removed,
    /// so the lines already delivered are not sent again.
    fn keep_rest(&mut self, i: usize, locked: LockedFile, rest: Vec<Line>, some_done: bool) -> Delivered {
        if !some_done {
            return Delivered::Stopped; // unlocked when `locked` drops
        }
        let mut bytes = Vec::new();
        let mut spans = 0;
        for line in rest {
            if let Line::Request(req, raw) = line {
                spans += span_count(&req) as u64;
                bytes.extend_from_slice(&raw);
                if bytes.last() != Some(&b'\n') {
                    bytes.push(b'\n');
                }
            }
        }
        match self.spool.write_line(&self.targets[i].dest, &bytes, spans) {
            Ok(()) => drop(locked.remove()),
            Err(e) => self.warn(format!("cannot keep the rest of {}: {e}", locked.path.display())),
        }
        Delivered::Stopped
    }

    /// Exports one spooled request; the rejected span count, or the error.
    fn export(&mut self, i: usize, batch: &ExportBatch) -> Result<u64, ExportError> {
        let t = &mut self.targets[i];
        let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &t.counters };
        let (exporter, counters) = (&mut *t.exporter, &self.spool.counters);
        call_exporter(
            &t.name,
            "delivering spooled spans",
            || exporter.export(batch, &cx),
            |_| Counters::add(&counters.export_panics, 1),
        )
        .map(|o| o.rejected_spans)
    }

    fn warn(&self, msg: String) {
        self.counters().warn_once(Warn::Spool, || msg.clone());
        self.counters().set_last_error(msg);
    }
}

/// The running delivery thread, as the pipeline holds it.
pub(crate) struct DeliveryThread {
    stop: crossbeam_channel::Sender<()>,
    /// Disconnected when the thread has returned.
    done: Receiver<()>,
}

impl DeliveryThread {
    /// The thread's handle and the function it runs (the pipeline starts it, as
    /// its other threads).
    pub fn new(delivery: Redelivery) -> (DeliveryThread, impl FnOnce() + Send + 'static) {
        let (stop, stop_rx) = crossbeam_channel::bounded(1);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let run = move || {
            let _done = done_tx;
            delivery.run(&stop_rx);
        };
        (DeliveryThread { stop, done }, run)
    }

    /// Asks the thread to stop after the round it is in and waits for it until
    /// `deadline` at most (past it, the thread finishes on its own).
    pub fn stop(&self, deadline: std::time::Instant) {
        let _ = self.stop.try_send(());
        let _ = self.done.recv_deadline(deadline);
    }
}
