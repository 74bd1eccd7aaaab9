//! The export thread and the handle callers use to reach it.
//!
//! Callers put finished spans and events into one bounded crossbeam channel with
//! `try_send` (never blocking; a full queue drops and counts). Flush and shutdown
//! requests travel in the same FIFO, so an acknowledgement means everything queued
//! before the request was handled. One thread drains the channel, batches by size,
//! by delay, on flush and on shutdown, and runs the exporters.
//!
//! The thread does not sleep on the data channel: if it did, every `try_send` would
//! have to wake it (a futex syscall on the caller's thread). It sleeps on a one-slot
//! wake channel instead, until the next scheduled export, or until a caller signals
//! that a full batch is waiting or that a flush or shutdown was queued.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError,
};
use opentelemetry::Context;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use parking_lot::{Condvar, Mutex};

use super::encoder::{EventToSpanEncoder, RecordedEvent};
use super::exporters::{ExportBatch, ExportContext, ExportErrorKind, Exporter, ExporterCounters};
use super::retry::RetryPolicy;
use super::stats::{Counters, Stats, Warn};
use crate::config::{BatchConfig, Formatter};
use crate::error::Error;

/// Spans waiting for the next export, in the form the exporters will need.
enum Pending {
    /// For formatters, or exporters that read `SpanData`.
    Spans(Vec<SpanData>),
    /// Straight to OTLP: no exporter reads `SpanData` and there are no formatters,
    /// so events are encoded into OTLP spans directly, moving their strings.
    Otlp(Vec<OtlpSpan>),
}

impl Pending {
    fn len(&self) -> usize {
        match self {
            Pending::Spans(v) => v.len(),
            Pending::Otlp(v) => v.len(),
        }
    }

    /// Takes the pending spans, leaving an empty batch of the same form.
    fn take(&mut self, capacity: usize) -> Pending {
        match self {
            Pending::Spans(v) => Pending::Spans(std::mem::replace(v, Vec::with_capacity(capacity))),
            Pending::Otlp(v) => Pending::Otlp(std::mem::replace(v, Vec::with_capacity(capacity))),
        }
    }
}

pub(crate) enum Message {
    Span(Box<SpanData>),
    Event(Box<RecordedEvent>),
    Flush(Sender<FlushReport>),
    Shutdown(Sender<FlushReport>),
}

/// What happened to the spans exported while answering a flush or shutdown.
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

    fn set_deadline(&self, d: Instant) {
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
            if g.is_some_and(|dl| dl <= wake) {
                let dl = g.unwrap();
                // The lock is released while waiting (Condvar), so exporters and the
                // shutdown caller never contend on it for long.
                self.changed.wait_until(&mut g, dl);
                return false;
            }
            if self.changed.wait_until(&mut g, wake).timed_out() {
                return true;
            }
        }
    }
}

/// The caller-side handle of the export thread.
pub(crate) struct Pipeline {
    tx: Sender<Message>,
    wake: Sender<()>,
    wake_at: usize,
    pub counters: Arc<Counters>,
    cancel: Arc<Cancel>,
    closed: AtomicBool,
    worker: Mutex<Option<JoinHandle<()>>>,
    exporter_counters: Vec<(String, Arc<ExporterCounters>)>,
}

pub(crate) struct WorkerSetup {
    pub exporters: Vec<Box<dyn Exporter>>,
    pub encoder: EventToSpanEncoder,
    pub formatters: Vec<Formatter>,
    pub batch: BatchConfig,
    pub retry: RetryPolicy,
    pub resource: Resource,
}

impl Pipeline {
    /// Starts the export thread.
    pub fn start(setup: WorkerSetup) -> Result<Arc<Pipeline>, Error> {
        let (tx, rx) = bounded(setup.batch.max_queue_size);
        let (wake, wake_rx) = bounded(1);
        let counters = Arc::new(Counters::default());
        let cancel = Arc::new(Cancel::default());
        let exporters: Vec<Slot> = setup
            .exporters
            .into_iter()
            .map(|exporter| Slot {
                name: exporter.name().to_owned(),
                counters: Arc::new(ExporterCounters::default()),
                exporter,
            })
            .collect();
        let exporter_counters = exporters
            .iter()
            .map(|s| (s.name.clone(), s.counters.clone()))
            .collect();
        let resource_attrs = Arc::new(ResourceAttributesWithSchema::from(&setup.resource));
        let otlp_only = exporters.iter().all(|s| !s.exporter.reads_spans());
        let cap = setup.batch.max_export_batch_size;
        let pending = if otlp_only && setup.formatters.is_empty() {
            Pending::Otlp(Vec::with_capacity(cap))
        } else {
            Pending::Spans(Vec::with_capacity(cap))
        };
        let worker = Worker {
            otlp_only,
            rx,
            wake_rx,
            exporters,
            encoder: setup.encoder,
            formatters: setup.formatters,
            max_batch: setup.batch.max_export_batch_size,
            delay: setup.batch.scheduled_delay,
            retry: setup.retry,
            cancel: cancel.clone(),
            counters: counters.clone(),
            resource: Arc::new(setup.resource),
            resource_attrs,
            pending,
        };
        let handle = std::thread::Builder::new()
            .name("agentops-export".into())
            .spawn(move || worker.run())
            .map_err(Error::Thread)?;
        Ok(Arc::new(Pipeline {
            tx,
            wake,
            wake_at: setup.batch.max_export_batch_size,
            counters,
            cancel,
            closed: AtomicBool::new(false),
            worker: Mutex::new(Some(handle)),
            exporter_counters,
        }))
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues a finished span or event; never blocks.
    pub fn submit(&self, msg: Message) {
        let c = &*self.counters;
        Counters::add(&c.recorded, 1);
        if self.is_closed() {
            Counters::add(&c.dropped_after_shutdown, 1);
            c.warn_once(Warn::AfterShutdown, || {
                "a span ended after shutdown and was dropped".into()
            });
            return;
        }
        match self.tx.try_send(msg) {
            Ok(()) => {
                if self.tx.len() >= self.wake_at {
                    // A full batch is waiting. The slot holds one signal: if one is
                    // already pending this fails at once, without a syscall.
                    let _ = self.wake.try_send(());
                }
            }
            Err(TrySendError::Full(_)) => {
                Counters::add(&c.dropped_queue_full, 1);
                c.warn_once(Warn::QueueFull, || {
                    "the export queue is full; spans are being dropped (raise OTEL_BSP_MAX_QUEUE_SIZE or lower the event rate)".into()
                });
            }
            Err(TrySendError::Disconnected(_)) => {
                Counters::add(&c.dropped_after_shutdown, 1);
            }
        }
    }

    fn request(
        &self,
        make: impl FnOnce(Sender<FlushReport>) -> Message,
        deadline: Instant,
        what: &'static str,
        timeout: Duration,
    ) -> Result<FlushReport, Error> {
        let (ack_tx, ack_rx) = bounded(1);
        match self.tx.send_deadline(make(ack_tx), deadline) {
            Ok(()) => {
                let _ = self.wake.try_send(());
            }
            Err(SendTimeoutError::Timeout(_)) => {
                return Err(Error::Timeout {
                    operation: what,
                    timeout,
                })
            }
            Err(SendTimeoutError::Disconnected(_)) => return Err(Error::ShutDown),
        }
        match ack_rx.recv_deadline(deadline) {
            Ok(r) => Ok(r),
            Err(RecvTimeoutError::Timeout) => Err(Error::Timeout {
                operation: what,
                timeout,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(Error::ShutDown),
        }
    }

    /// Exports everything queued before this call; waits at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::ShutDown);
        }
        let report = self.request(Message::Flush, Instant::now() + timeout, "flush", timeout)?;
        report_to_result(report)
    }

    /// Drains, exports, stops the thread; returns by `timeout` whatever the endpoint
    /// does. A second call returns `Ok` at once.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        self.cancel.set_deadline(deadline);
        let result = self.request(Message::Shutdown, deadline, "shutdown", timeout);
        if result.is_ok() {
            // Acknowledged: the thread is returning, so the join is immediate.
            if let Some(h) = self.worker.lock().take() {
                let _ = h.join();
            }
        }
        // On timeout the thread is left to finish on its own: it will not start
        // another request after the deadline and ends when the current one does.
        report_to_result(result?)
    }

    pub fn stats(&self) -> Stats {
        Stats::snapshot(&self.counters, &self.exporter_counters)
    }
}

fn report_to_result(r: FlushReport) -> Result<(), Error> {
    match r.error {
        Some(message) if r.dropped > 0 => Err(Error::Export {
            dropped: r.dropped,
            message,
        }),
        _ => Ok(()),
    }
}

struct Slot {
    name: String,
    counters: Arc<ExporterCounters>,
    exporter: Box<dyn Exporter>,
}

struct Worker {
    /// No exporter reads `SpanData`: batches are converted to OTLP by moving.
    otlp_only: bool,
    rx: Receiver<Message>,
    wake_rx: Receiver<()>,
    exporters: Vec<Slot>,
    encoder: EventToSpanEncoder,
    formatters: Vec<Formatter>,
    max_batch: usize,
    delay: Duration,
    retry: RetryPolicy,
    cancel: Arc<Cancel>,
    counters: Arc<Counters>,
    resource: Arc<Resource>,
    resource_attrs: Arc<ResourceAttributesWithSchema>,
    pending: Pending,
}

impl Worker {
    fn run(mut self) {
        // Nothing this thread does (HTTP, encoding) may produce telemetry of its own.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut report = FlushReport::default();
        let mut next_export = Instant::now() + self.delay;
        'run: loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Message::Span(s)) => self.push_span(*s, &mut report),
                    Ok(Message::Event(e)) => self.push_event(*e, &mut report),
                    Ok(Message::Flush(ack)) => {
                        self.export_pending(&mut report);
                        let _ = ack.send(std::mem::take(&mut report));
                    }
                    Ok(Message::Shutdown(ack)) => {
                        self.drain(&mut report);
                        self.finish();
                        let _ = ack.send(std::mem::take(&mut report));
                        break 'run;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.export_pending(&mut report);
                        self.finish();
                        break 'run;
                    }
                }
            }
            if Instant::now() >= next_export {
                // The report keeps accumulating: the next flush answers for
                // everything dropped since the previous one.
                self.export_pending(&mut report);
                next_export = Instant::now() + self.delay;
            }
            // Sleep until the next scheduled export or a caller's signal. If every
            // sender is gone this returns at once and the drain above sees it.
            let _ = self.wake_rx.recv_deadline(next_export);
        }
        // From here on stats() reports anything that raced into the channel after
        // the last drain as dropped after shutdown, not as queued.
        self.counters.worker_finished.store(true, Ordering::Release);
    }

    /// Queues a span made by the SDK (a session root, the application's own span).
    fn push_span(&mut self, span: SpanData, report: &mut FlushReport) {
        match &mut self.pending {
            Pending::Spans(v) => v.push(span),
            Pending::Otlp(v) => v.push(span.into()),
        }
        self.export_if_full(report);
    }

    /// Encodes a recorded event into the pending batch's form and queues it.
    fn push_event(&mut self, rec: RecordedEvent, report: &mut FlushReport) {
        let encoder = &self.encoder;
        let pending = &mut self.pending;
        let encoded = catch_unwind(AssertUnwindSafe(|| match pending {
            Pending::Spans(v) => v.push(encoder.encode(rec)),
            Pending::Otlp(v) => v.push(encoder.encode_otlp(rec)),
        }));
        if encoded.is_err() {
            Counters::add(&self.counters.export_panics, 1);
            Counters::add(&self.counters.dropped_export_failed, 1);
            self.counters
                .set_last_error("encoding an event panicked; the event was dropped".into());
        }
        self.export_if_full(report);
    }

    fn export_if_full(&mut self, report: &mut FlushReport) {
        if self.pending.len() >= self.max_batch {
            self.export_pending(report);
        }
    }

    /// Takes everything still in the channel (shutdown), answering any flush that is
    /// waiting behind the shutdown.
    fn drain(&mut self, report: &mut FlushReport) {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Message::Span(s) => self.push_span(*s, report),
                Message::Event(e) => self.push_event(*e, report),
                Message::Flush(ack) | Message::Shutdown(ack) => {
                    self.export_pending(report);
                    let _ = ack.send(report.clone());
                }
            }
        }
        self.export_pending(report);
    }

    fn finish(&mut self) {
        for slot in &mut self.exporters {
            let cx = ExportContext {
                retry: &self.retry,
                cancel: &self.cancel,
                counters: &slot.counters,
            };
            let exporter = &mut slot.exporter;
            if let Ok(Err(e)) | Err(e) = catch_unwind(AssertUnwindSafe(|| exporter.shutdown(&cx)))
                .map_err(|_| {
                    super::exporters::ExportError::new(
                        ExportErrorKind::Failed,
                        "exporter panicked in shutdown",
                    )
                })
            {
                self.counters.set_last_error(format!("{}: {e}", slot.name));
            }
        }
    }

    fn export_pending(&mut self, report: &mut FlushReport) {
        if self.pending.len() == 0 {
            return;
        }
        let pending = self.pending.take(self.max_batch);
        self.export(pending, report);
    }

    fn apply_formatters(&self, spans: Vec<SpanData>) -> Vec<SpanData> {
        if self.formatters.is_empty() {
            return spans;
        }
        let before = spans.len();
        let mut panicked = 0u64;
        let kept: Vec<SpanData> = spans
            .into_iter()
            .filter_map(|mut span| {
                for f in &self.formatters {
                    match catch_unwind(AssertUnwindSafe(|| f(&mut span))) {
                        Ok(true) => {}
                        Ok(false) => return None,
                        // A formatter that panics may have been redacting: dropping the
                        // span is the only safe choice.
                        Err(_) => {
                            panicked += 1;
                            return None;
                        }
                    }
                }
                Some(span)
            })
            .collect();
        Counters::add(&self.counters.filtered, (before - kept.len()) as u64);
        if panicked > 0 {
            Counters::add(&self.counters.export_panics, panicked);
            self.counters
                .set_last_error(format!("a formatter panicked; {panicked} span(s) dropped"));
            self.counters.warn_once(Warn::Panic, || {
                "a formatter panicked; its spans are dropped".into()
            });
        }
        kept
    }

    fn export(&mut self, pending: Pending, report: &mut FlushReport) {
        let pending = match pending {
            Pending::Spans(spans) => Pending::Spans(self.apply_formatters(spans)),
            otlp => otlp,
        };
        let n = pending.len() as u64;
        if n == 0 {
            return;
        }
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
        let (res, attrs) = (self.resource.clone(), self.resource_attrs.clone());
        let batch = match pending {
            Pending::Otlp(spans) => {
                ExportBatch::from_otlp_spans(spans, self.encoder.scope(), res, attrs)
            }
            Pending::Spans(spans) if self.otlp_only => {
                ExportBatch::moved_to_otlp(spans, res, attrs)
            }
            Pending::Spans(spans) => ExportBatch::new(spans, res, attrs),
        };
        // The batch's fate is its worst outcome over all exporters.
        let mut failure: Option<(ExportErrorKind, String)> = None;
        let mut rejected = 0u64;
        for slot in &mut self.exporters {
            let cx = ExportContext {
                retry: &self.retry,
                cancel: &self.cancel,
                counters: &slot.counters,
            };
            let exporter = &mut slot.exporter;
            match catch_unwind(AssertUnwindSafe(|| exporter.export(&batch, &cx))) {
                Ok(Ok(outcome)) => {
                    if outcome.rejected_spans > 0 {
                        rejected = rejected.max(outcome.rejected_spans.min(n));
                        let msg = format!(
                            "{}: {}",
                            slot.name,
                            outcome.message.unwrap_or_else(|| "spans rejected".into())
                        );
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
                    if failure.is_none() {
                        failure = Some((e.kind, msg));
                    }
                }
                Err(_) => {
                    Counters::add(&c.export_panics, 1);
                    let msg = format!("{}: exporter panicked", slot.name);
                    c.warn_once(Warn::Panic, || msg.clone());
                    c.set_last_error(msg.clone());
                    if failure.is_none() {
                        failure = Some((ExportErrorKind::Failed, msg));
                    }
                }
            }
        }
        match failure {
            Some((kind, msg)) => {
                match kind {
                    ExportErrorKind::Rejected { .. }
                    | ExportErrorKind::Encode
                    | ExportErrorKind::Unauthorized => Counters::add(&c.dropped_rejected, n),
                    ExportErrorKind::Failed | ExportErrorKind::Cancelled => {
                        Counters::add(&c.dropped_export_failed, n)
                    }
                }
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
