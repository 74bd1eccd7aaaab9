//! The export thread: the one thread that drains the queue. It batches by size, by
//! delay, on flush and on shutdown, encodes events into spans (`batching.rs`), and
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
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;

use super::fanout::{Fanout, Stage};
use super::message::Message;
use super::pending::Pending;
use super::reclaim::FreeBacklog;
use crate::config::otel::SpanFilter;
use crate::encode::encoder::EventToSpanEncoder;
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
    pub recycle: Receiver<ExportBatch>,
    /// No exporter reads `SpanData`: batches are converted to OTLP by moving.
    pub otlp_only: bool,
    pub encoder: EventToSpanEncoder,
    pub span_filters: Vec<SpanFilter>,
    pub max_batch: usize,
    pub delay: Duration,
    pub counters: Arc<Counters>,
    pub resource: Arc<Resource>,
    pub resource_attrs: Arc<ResourceAttributesWithSchema>,
    pub pending: Pending,
    /// Sent spans, reused for new ones (see `forward`).
    pub span_pool: Vec<OtlpSpan>,
    /// Sent request buffers of the direct path, to write into again.
    pub wire_pool: Vec<Vec<u8>>,
    /// The attribute list's allocation, lent to the encoder for each event.
    pub scratch: Vec<opentelemetry::KeyValue>,
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
            if self.rx.len() < self.max_batch {
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
    pub(super) fn settle_metrics(&mut self) {
        if let Some(m) = &mut self.metrics {
            m.settle();
        }
    }

    /// The next message of the queue; a span or event taken counts as received.
    pub(super) fn take(&mut self) -> Result<Message, TryRecvError> {
        let msg = self.rx.try_recv();
        if matches!(msg, Ok(Message::Span(_) | Message::Event(_))) {
            Counters::add(&self.counters.received, 1);
        }
        msg
    }

    /// A finished batch to every destination.
    pub(super) fn forward_batch(&mut self, batch: ExportBatch) {
        self.reuse_returned();
        self.fanout.batch(batch);
    }

    /// A control message (session start, flush, shutdown) to every lane.
    pub(super) fn forward(&mut self, stage: Stage) {
        self.reuse_returned();
        self.fanout.control(stage);
    }

    fn reuse_returned(&mut self) {
        // What the sending threads are done with comes back here, where it was
        // allocated: its spans are reused for the next events (their buffers), the
        // rest is freed.
        let cap = 2 * self.max_batch;
        for batch in self.recycle.try_iter() {
            if matches!(self.pending, Pending::Wire(_) | Pending::WireJson(_)) {
                if let Some(buf) = batch.into_wire_buffer().filter(|_| self.wire_pool.len() < 4) {
                    self.wire_pool.push(buf);
                }
                continue;
            }
            if self.span_pool.len() < cap && matches!(self.pending, Pending::Otlp(_)) {
                let room = cap - self.span_pool.len();
                self.span_pool.extend(batch.into_otlp_spans().into_iter().take(room));
            }
        }
    }
}
