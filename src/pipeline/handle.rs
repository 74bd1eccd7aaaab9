//! `Pipeline`: the caller-side handle of the export pipeline. Callers put finished
//! spans and events into one bounded crossbeam channel with `try_send` (never
//! blocking; a full queue drops and counts). Flush and shutdown requests travel in
//! the same FIFO, so an acknowledgement means everything queued before the request
//! was handled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use parking_lot::Mutex;

use super::fanout::{Fanout, FlushReport};
use super::message::Message;
use super::reclaim::ReturnQueue;
use crate::error::export::ExportErrorKind;
use crate::error::Error;
use crate::export::context::Cancel;
use crate::export::exporter::SessionStart;
use crate::exporters::agentops::legacy::SessionCosts;
use crate::metrics::handle::MetricsHandle;
use crate::spool::redelivery::DeliveryThread;
use crate::stats::{Counters, ExporterCounters, Stats, Warn};
use crate::util::time::deadline_after;

/// The most of a shutdown's time kept for writing undelivered batches to the spool.
const SPOOL_RESERVE: Duration = Duration::from_secs(1);

/// The caller-side handle of the export pipeline.
pub(crate) struct Pipeline {
    pub(super) tx: Sender<Message>,
    /// The queue's other end, used only when a shutdown gives up: what is still
    /// queued then is taken out and counted as dropped (see `count_queued_as_dropped`).
    pub(super) rx: Receiver<Message>,
    pub(super) wake: Sender<()>,
    pub(super) wake_at: usize,
    /// Written events coming back to be freed by callers (`reclaim.rs`).
    pub(super) returns: ReturnQueue,
    /// Set by the export thread while it sleeps; callers only look at the queue's
    /// length (two contended cache lines) when it is set.
    pub(super) asleep: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    pub(super) cancel: Arc<Cancel>,
    pub(super) closed: AtomicBool,
    /// The first shutdown's outcome, which every later call returns; held during
    /// a shutdown, so a concurrent call waits for it.
    pub(super) shutdown_outcome: Mutex<Option<Outcome>>,
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
    /// Sending lanes: a flush or shutdown is done when each has acknowledged it.
    pub(super) lanes: usize,
    /// `token_cost` answers of the legacy AgentOps protocol, by session.
    pub costs: Arc<SessionCosts>,
    pub(super) exporter_counters: Arc<Vec<(String, Arc<ExporterCounters>)>>,
    /// The metrics thread, when metrics are on.
    pub(super) metrics: Option<MetricsHandle>,
    /// The spool's delivery thread, when there is a spool.
    pub(super) spool: Option<DeliveryThread>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("closed", &self.is_closed()).finish()
    }
}

/// A flush's or shutdown's outcome, kept so that a second shutdown reports the same.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Ok,
    Timeout(&'static str, Duration),
    Export { dropped: u64, kind: ExportErrorKind, message: String },
    ShutDown,
}

impl Outcome {
    fn of(r: &Result<(), Error>) -> Outcome {
        match r {
            Ok(()) => Outcome::Ok,
            Err(Error::Timeout { operation, timeout }) => Outcome::Timeout(operation, *timeout),
            Err(Error::Export { dropped, kind, message }) => {
                Outcome::Export { dropped: *dropped, kind: *kind, message: message.clone() }
            }
            Err(_) => Outcome::ShutDown,
        }
    }

    fn to_result(&self) -> Result<(), Error> {
        match self.clone() {
            Outcome::Ok => Ok(()),
            Outcome::Timeout(operation, timeout) => Err(Error::Timeout { operation, timeout }),
            Outcome::Export { dropped, kind, message } => Err(Error::Export { dropped, kind, message }),
            Outcome::ShutDown => Err(Error::ShutDown),
        }
    }
}

impl Pipeline {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues a finished span or event; never blocks.
    pub fn submit(&self, msg: Message) {
        let c = &*self.counters;
        if self.is_closed() {
            Counters::add(&c.dropped_after_shutdown, 1);
            c.warn_once(Warn::AfterShutdown, || "a span ended after shutdown and was dropped".into());
            return;
        }
        self.returns.free_some();
        match self.tx.try_send(msg) {
            Ok(()) => {
                // SeqCst pairs with the export thread's store-then-check before it
                // sleeps: either it sees this span, or this sees it asleep.
                if self.asleep.load(Ordering::SeqCst) && self.tx.len() >= self.wake_at {
                    // The slot holds one signal; a second fails at once, no syscall.
                    let _ = self.wake.try_send(());
                }
            }
            Err(TrySendError::Full(_)) => {
                Counters::add(&c.dropped_queue_full, 1);
                c.warn_once(Warn::QueueFull, || {
                    "the export queue is full; spans are being dropped (raise OTEL_BSP_MAX_QUEUE_SIZE or lower the event rate)".into()
                });
            }
            Err(TrySendError::Disconnected(_)) => Counters::add(&c.dropped_after_shutdown, 1),
        }
    }

    /// Tells exporters a session started; travels ahead of the session's spans.
    /// Never blocks: with the queue full it is skipped and counted (exporters that
    /// need it, like the legacy AgentOps one, catch up when the spans arrive).
    pub fn session_started(&self, start: SessionStart) {
        if self.is_closed() {
            return;
        }
        let c = &self.counters;
        Counters::add(&c.controls_queued, 1);
        if self.tx.try_send(Message::SessionStart(Arc::new(start))).is_err() {
            c.controls_queued.fetch_sub(1, Ordering::Relaxed);
            Counters::add(&c.session_starts_dropped, 1);
        }
    }

    fn request(
        &self,
        make: impl FnOnce(Sender<FlushReport>) -> Message,
        deadline: Instant,
        what: &'static str,
        timeout: Duration,
    ) -> Result<FlushReport, Error> {
        let timed_out = || Error::Timeout { operation: what, timeout };
        let acks = Fanout::acknowledgements(self.lanes);
        let (ack_tx, ack_rx) = bounded(acks);
        Counters::add(&self.counters.controls_queued, 1);
        let sent = self.tx.send_deadline(make(ack_tx), deadline);
        if sent.is_err() {
            self.counters.controls_queued.fetch_sub(1, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => {
                let _ = self.wake.try_send(());
            }
            Err(SendTimeoutError::Timeout(_)) => return Err(timed_out()),
            Err(SendTimeoutError::Disconnected(_)) => return Err(Error::ShutDown),
        }
        let mut report = FlushReport::default();
        for _ in 0..acks {
            match ack_rx.recv_deadline(deadline) {
                Ok(r) => {
                    report.dropped += r.dropped;
                    report.error = r.error.or(report.error);
                }
                Err(RecvTimeoutError::Timeout) => return Err(timed_out()),
                Err(RecvTimeoutError::Disconnected) => return Err(Error::ShutDown),
            }
        }
        Ok(report)
    }

    /// Exports everything queued before this call; waits at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::ShutDown);
        }
        let deadline = deadline_after(timeout);
        let report = self.request(Message::Flush, deadline, "flush", timeout)?;
        // The spans before this flush are settled, so the collection agrees with stats().
        let metrics = self.metrics.as_ref().map_or(Ok(()), |m| m.collect(deadline, timeout));
        report_to_result(report).and(metrics)
    }

    /// Drains, exports, stops the threads; returns by `timeout` whatever the
    /// endpoint does. When it returns, every span recorded so far is counted as
    /// exported or dropped. Later calls return the same outcome.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let mut outcome = self.shutdown_outcome.lock();
        if let Some(o) = &*outcome {
            return o.to_result();
        }
        self.closed.store(true, Ordering::Release);
        let deadline = deadline_after(timeout);
        // With a spool, requests stop a little early: what is still undelivered then
        // is written to disk before the deadline instead of being dropped at it.
        let reserve = if self.spool.is_some() { (timeout / 5).min(SPOOL_RESERVE) } else { Duration::ZERO };
        self.cancel.set_deadline(deadline.checked_sub(reserve).unwrap_or(deadline));
        let result = match self.request(Message::Shutdown, deadline, "shutdown", timeout) {
            Ok(report) => {
                // The spool's delivery ends its round by the (network) deadline.
                if let Some(s) = &self.spool {
                    s.stop(deadline);
                }
                // Acknowledged: the threads are returning, so the joins are immediate.
                for h in self.threads.lock().drain(..) {
                    let _ = h.join();
                }
                // The last collection, after every span was settled.
                let metrics = self.metrics.as_ref().map_or(Ok(()), |m| m.shutdown(deadline, timeout));
                report_to_result(report).and(metrics)
            }
            Err(e) => {
                // The threads are left to finish on their own (no request starts
                // after the deadline), but their spans are settled now.
                self.count_queued_as_dropped();
                if let Some(s) = &self.spool {
                    s.stop(deadline); // past the deadline: tells it to stop
                }
                if let Some(m) = &self.metrics {
                    let _ = m.shutdown(deadline, timeout); // past the deadline: tells it to stop
                }
                Err(e)
            }
        };
        *outcome = Some(Outcome::of(&result));
        result
    }

    /// Settles every span at a shutdown that gave up: what is still queued is taken
    /// out here and counted as dropped, and what the threads still hold is reported
    /// as dropped from now on. Taking the queue's contents (rather than reading its
    /// length) keeps `spans_recorded` exact: nothing is left to move between the
    /// queue and the export thread's count while totals are read.
    fn count_queued_as_dropped(&self) {
        let c = &self.counters;
        let mut spans = 0;
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Message::Span(_) | Message::Event(_) => spans += 1,
                // Dropping a flush's acknowledgement tells its caller the pipeline is shut down.
                _ => drop(c.controls_queued.fetch_sub(1, Ordering::Relaxed)),
            }
        }
        Counters::add(&c.received, spans);
        Counters::add(&c.dropped_export_failed, spans);
        c.shutdown_gave_up.store(true, Ordering::Release);
    }

    pub fn stats(&self) -> Stats {
        Stats::snapshot(&self.counters, &self.exporter_counters, || self.tx.len() as u64)
    }
}

fn report_to_result(r: FlushReport) -> Result<(), Error> {
    match r.error {
        Some(e) if r.dropped > 0 => Err(Error::Export { dropped: r.dropped, kind: e.kind, message: e.message }),
        _ => Ok(()),
    }
}
