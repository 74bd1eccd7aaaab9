//! The export thread: the one thread that drains the queue. It batches by size, by
//! delay, on flush and on shutdown, encodes events into spans (`batcher.rs`), and
//! hands each finished batch to every destination (`fanout.rs`), whose sending
//! lanes (`lanes.rs`) send it while the next batch is encoded.
//!
//! It does not sleep on the data channel: if it did, every `try_send` would have to
//! wake it (a futex syscall on the caller's thread). It sleeps on a one-slot wake
//! channel, until the next scheduled export, or until a caller sees it asleep with a
//! full batch waiting, or a flush or shutdown is queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use opentelemetry_sdk::trace::SpanData;

use super::batcher::Batcher;
use super::fanout::{Fanout, Stage};
use super::message::Message;
use super::reclaim::FreeBacklog;
use crate::event::recorded::RecordedEvent;
use crate::export::batch::ExportBatch;
use crate::metrics::recorder::MetricsRecorder;
use crate::stats::Counters;

pub(crate) struct Worker {
    /// The queue.
    pub rx: Receiver<Message>,
    pub wake_rx: Receiver<()>,
    pub asleep: Arc<AtomicBool>,
    /// The destinations, and their sending lanes' inboxes.
    pub fanout: Fanout,
    /// Batches the sending threads are done with, to be reused (`Batcher::reuse`).
    pub recycle: Receiver<ExportBatch>,
    pub batcher: Batcher,
    pub delay: Duration,
    pub counters: Arc<Counters>,
    /// Written events, on their way to be freed on a caller's thread (`reclaim.rs`).
    pub free_backlog: FreeBacklog,
    /// Records metrics from what passes through, when metrics are on.
    pub metrics: Option<MetricsRecorder>,
}

impl Worker {
    pub fn run(mut self) {
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        let mut next_export = Instant::now() + self.delay;
        // Every sender is gone: nothing more will come, everything is taken.
        let mut orphaned = false;
        'run: loop {
            let everything =
                orphaned || Instant::now() >= next_export || self.counters.controls_queued.load(Ordering::Relaxed) > 0;
            // What is queued now (so the loop comes back to the timer), or all of it.
            let mut budget = if everything { usize::MAX } else { self.rx.len() };
            while budget > 0 {
                budget -= 1;
                let msg = self.take();
                if matches!(msg, Ok(Message::SessionStart(_) | Message::Flush(_) | Message::Shutdown(_))) {
                    self.counters.controls_queued.fetch_sub(1, Ordering::Relaxed);
                }
                match msg {
                    Ok(Message::Span(s)) => self.push_span(*s),
                    Ok(Message::Event(e)) => self.push_event(e),
                    Ok(Message::SessionStart(s)) => self.forward(Stage::SessionStart(s)),
                    Ok(Message::Flush(ack)) => {
                        self.export_pending();
                        self.settle_metrics();
                        self.forward(Stage::Flush(ack));
                    }
                    Ok(Message::Shutdown(ack)) => {
                        self.drain();
                        self.settle_metrics();
                        self.forward(Stage::Shutdown(ack));
                        break 'run;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.export_pending();
                        self.settle_metrics();
                        break 'run;
                    }
                }
            }
            if Instant::now() >= next_export {
                self.export_pending();
                self.free_backlog.check_idle(self.counters.received.load(Ordering::Relaxed));
                next_export = Instant::now() + self.delay;
            }
            self.asleep.store(true, Ordering::SeqCst);
            if self.rx.len() < self.batcher.max_batch {
                // Caught up: callers are not outpacing us, a good moment to give their memory back.
                self.free_backlog.free();
                // Until the next scheduled export or a caller's signal. If every
                // sender is gone this returns at once and the drain above sees it.
                if let Err(RecvTimeoutError::Disconnected) = self.wake_rx.recv_deadline(next_export) {
                    orphaned = true;
                }
            }
            self.asleep.store(false, Ordering::Relaxed);
        }
        // Dropping the lanes' senders lets the sending threads finish once done.
    }

    /// Records every measurement still waiting, before a flush or the shutdown
    /// collects (see `metrics/recorder.rs`).
    fn settle_metrics(&mut self) {
        if let Some(m) = &mut self.metrics {
            m.settle();
        }
    }

    /// The next message of the queue; a span or event taken counts as received.
    fn take(&mut self) -> Result<Message, TryRecvError> {
        let msg = self.rx.try_recv();
        if matches!(msg, Ok(Message::Span(_) | Message::Event(_))) {
            Counters::add(&self.counters.received, 1);
        }
        msg
    }

    /// A finished batch to every destination.
    fn forward_batch(&mut self, batch: ExportBatch) {
        self.reuse_returned();
        self.fanout.batch(batch);
    }

    /// A control message (session start, flush, shutdown) to every lane.
    fn forward(&mut self, stage: Stage) {
        self.reuse_returned();
        self.fanout.control(stage);
    }

    fn reuse_returned(&mut self) {
        for batch in self.recycle.try_iter() {
            self.batcher.reuse(batch);
        }
    }

    /// Queues a span made by the SDK (a session root, the application's own span).
    fn push_span(&mut self, span: SpanData) {
        if let Some(m) = &mut self.metrics {
            m.span(&span);
        }
        if let Some(batch) = self.batcher.push_span(span) {
            self.export(batch);
        }
    }

    /// Encodes a recorded event into the pending batch; the event itself goes home
    /// (see `reclaim.rs`).
    fn push_event(&mut self, rec: Box<RecordedEvent>) {
        if let Some(m) = &mut self.metrics {
            m.event(&rec.event, rec.errored);
        }
        let full = self.batcher.push_event(&rec);
        self.free_backlog.push(rec);
        if let Some(batch) = full {
            self.export(batch);
        }
    }

    /// Exports what is pending, if anything.
    fn export_pending(&mut self) {
        if let Some(batch) = self.batcher.take() {
            self.export(batch);
        }
    }

    fn export(&mut self, batch: ExportBatch) {
        self.forward_batch(batch);
        if let Some(m) = &mut self.metrics {
            m.batch_done();
        }
    }

    /// Takes everything still in the channel (shutdown); a flush waiting behind the
    /// shutdown is answered in order.
    fn drain(&mut self) {
        while let Ok(msg) = self.take() {
            if !matches!(msg, Message::Span(_) | Message::Event(_)) {
                self.counters.controls_queued.fetch_sub(1, Ordering::Relaxed);
            }
            match msg {
                Message::Span(s) => self.push_span(*s),
                Message::Event(e) => self.push_event(e),
                Message::SessionStart(s) => self.forward(Stage::SessionStart(s)),
                Message::Flush(ack) | Message::Shutdown(ack) => {
                    self.export_pending();
                    self.settle_metrics();
                    self.forward(Stage::Flush(ack));
                }
            }
        }
        self.export_pending();
        self.free_backlog.free_everything();
    }
}
