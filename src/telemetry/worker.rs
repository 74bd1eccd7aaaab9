//! The export thread and the handle callers use to reach it.
//!
//! Callers put finished spans and events into one bounded crossbeam channel with
//! `try_send` (never blocking; a full queue drops and counts). Flush and shutdown
//! requests travel in the same FIFO, so an acknowledgement means everything queued
//! before the request was handled. The export thread is the one thread that drains
//! the channel: it batches by size, by delay, on flush and on shutdown, encodes
//! events into spans, and hands each finished batch to the sending thread
//! (`sender.rs`), so that encoding the next batch overlaps with sending this one.
//!
//! The thread does not sleep on the data channel: if it did, every `try_send` would
//! have to wake it (a futex syscall on the caller's thread). It sleeps on a one-slot
//! wake channel, until the next scheduled export, or until a caller sees it asleep
//! with a full batch waiting, or a flush or shutdown is queued.
//!
//! Freeing callers' memory. A recorded event's box and the parts its span does not
//! keep (prompts, completions, JSON values: `Leftovers`) were allocated on the
//! caller's thread. With glibc, freeing them here takes the caller's malloc arena
//! lock, which a caller recording in a loop holds most of the time: measured on a 100k-event burst, 96% of this thread's context switches were
//! waits on that lock, and it drained 2% of the burst while the burst lasted. So
//! they are set aside (`Spent`) and freed in bulk when this thread is about to
//! sleep (it has caught up), or when as many as `max_queue_size` events' worth
//! are waiting (sustained overload), and at shutdown.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    bounded, Receiver, RecvTimeoutError, Select, SendTimeoutError, Sender, TryRecvError, TrySendError,
};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;

use super::encoder::{EventToSpanEncoder, Leftovers, RecordedEvent};
use super::exporters::{ExportBatch, Exporter, ExporterCounters, SessionCosts, SessionStart};
use super::retry::RetryPolicy;
use super::sender::{Cancel, FlushReport, Shipper, Slot, Stage};
use super::stats::{Counters, Stats, Warn};
use crate::config::{BatchConfig, Formatter};
use crate::error::Error;

pub(crate) enum Message {
    Span(Box<SpanData>),
    /// Always `Some` when queued; the export thread takes the event out and keeps
    /// the emptied box for a bulk free (see "Freeing callers' memory" above).
    Event(Box<Option<RecordedEvent>>),
    SessionStart(Arc<SessionStart>),
    Flush(Sender<FlushReport>),
    Shutdown(Sender<FlushReport>),
}

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

/// The caller-side handle of the export pipeline.
pub(crate) struct Pipeline {
    tx: Sender<Message>,
    wake: Sender<()>,
    wake_at: usize,
    /// Set by the export thread while it sleeps; callers only look at the queue's
    /// length (two contended cache lines) when it is set.
    asleep: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    cancel: Arc<Cancel>,
    closed: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Sending lanes: a flush or shutdown is done when each has acknowledged it.
    lanes: usize,
    /// `token_cost` answers of the legacy AgentOps protocol, by session.
    pub costs: Arc<SessionCosts>,
    exporter_counters: Vec<(String, Arc<ExporterCounters>)>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("closed", &self.is_closed()).finish()
    }
}

pub(crate) struct WorkerSetup {
    /// One set of exporters per sending lane (several only for network exporters).
    pub lanes: Vec<Vec<Box<dyn Exporter>>>,
    pub encoder: EventToSpanEncoder,
    pub formatters: Vec<Formatter>,
    pub batch: BatchConfig,
    pub retry: RetryPolicy,
    pub resource: Resource,
    pub costs: Arc<SessionCosts>,
}

impl Pipeline {
    /// Starts the export and sending threads.
    pub fn start(setup: WorkerSetup) -> Result<Arc<Pipeline>, Error> {
        let (tx, rx) = bounded(setup.batch.max_queue_size);
        let (wake, wake_rx) = bounded(1);
        let (recycle_tx, recycle_rx) = bounded(4);
        let counters = Arc::new(Counters::default());
        let cancel = Arc::new(Cancel::default());
        let asleep = Arc::new(AtomicBool::new(false));
        // Lanes share each exporter's counters, so stats show one entry per exporter.
        let exporter_counters: Vec<(String, Arc<ExporterCounters>)> =
            setup.lanes[0].iter().map(|e| (e.name().to_owned(), Arc::new(ExporterCounters::default()))).collect();
        let otlp_only = setup.lanes[0].iter().all(|e| !e.reads_spans());
        let cap = setup.batch.max_export_batch_size;
        let pending = if otlp_only && setup.formatters.is_empty() {
            Pending::Otlp(Vec::with_capacity(cap))
        } else {
            Pending::Spans(Vec::with_capacity(cap))
        };
        let lane_count = setup.lanes.len();
        counters.lanes_running.store(lane_count, Ordering::Release);
        let mut lanes = Vec::with_capacity(lane_count);
        let mut shippers = Vec::with_capacity(lane_count);
        for exporters in setup.lanes {
            // One batch being sent and one waiting per lane: encoding runs ahead.
            let (stage_tx, stage_rx) = bounded(1);
            lanes.push(stage_tx);
            let slots = exporters
                .into_iter()
                .zip(&exporter_counters)
                .map(|(exporter, (name, counters))| Slot { name: name.clone(), counters: counters.clone(), exporter })
                .collect();
            shippers.push(Shipper {
                rx: stage_rx,
                recycle: recycle_tx.clone(),
                exporters: slots,
                retry: setup.retry.clone(),
                cancel: cancel.clone(),
                counters: counters.clone(),
            });
        }
        let worker = Worker {
            rx,
            wake_rx,
            asleep: asleep.clone(),
            lanes,
            recycle: recycle_rx,
            otlp_only,
            encoder: setup.encoder,
            formatters: setup.formatters,
            max_batch: cap,
            delay: setup.batch.scheduled_delay,
            counters: counters.clone(),
            resource_attrs: Arc::new(ResourceAttributesWithSchema::from(&setup.resource)),
            resource: Arc::new(setup.resource),
            pending,
            span_pool: Vec::new(),
            scratch: Vec::new(),
            spent: Spent::default(),
            spent_limit: setup.batch.max_queue_size,
        };
        let nice = setup.batch.export_thread_nice;
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            let run = move || {
                set_thread_nice(nice);
                f()
            };
            std::thread::Builder::new().name(name.into()).spawn(run).map_err(Error::Thread)
        };
        let mut threads = Vec::with_capacity(lane_count + 1);
        for (i, shipper) in shippers.into_iter().enumerate() {
            let name = if lane_count == 1 { "agentops-send".to_owned() } else { format!("agentops-send-{i}") };
            threads.push(spawn(&name, Box::new(move || shipper.run()))?);
        }
        threads.insert(0, spawn("agentops-export", Box::new(move || worker.run()))?);
        Ok(Arc::new(Pipeline {
            tx,
            wake,
            wake_at: cap,
            asleep,
            counters,
            cancel,
            closed: AtomicBool::new(false),
            threads: Mutex::new(threads),
            lanes: lane_count,
            costs: setup.costs,
            exporter_counters,
        }))
    }

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
    /// Never blocks: with the queue full it is skipped (exporters that need it,
    /// like the legacy AgentOps one, then catch up when the spans arrive).
    pub fn session_started(&self, start: SessionStart) {
        if !self.is_closed() {
            let _ = self.tx.try_send(Message::SessionStart(Arc::new(start)));
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
        let (ack_tx, ack_rx) = bounded(self.lanes);
        match self.tx.send_deadline(make(ack_tx), deadline) {
            Ok(()) => {
                let _ = self.wake.try_send(());
            }
            Err(SendTimeoutError::Timeout(_)) => return Err(timed_out()),
            Err(SendTimeoutError::Disconnected(_)) => return Err(Error::ShutDown),
        }
        let mut report = FlushReport::default();
        for _ in 0..self.lanes {
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
        let report = self.request(Message::Flush, Instant::now() + timeout, "flush", timeout)?;
        report_to_result(report)
    }

    /// Drains, exports, stops the threads; returns by `timeout` whatever the
    /// endpoint does. A second call returns `Ok` at once.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        self.cancel.set_deadline(deadline);
        let result = self.request(Message::Shutdown, deadline, "shutdown", timeout);
        if result.is_ok() {
            // Acknowledged: both threads are returning, so the joins are immediate.
            for h in self.threads.lock().drain(..) {
                let _ = h.join();
            }
        }
        // On timeout the threads are left to finish on their own: no request starts
        // after the deadline, and they end when the current one does.
        report_to_result(result?)
    }

    pub fn stats(&self) -> Stats {
        Stats::snapshot(&self.counters, &self.exporter_counters, self.tx.len() as u64)
    }
}

/// Lowers the calling thread's scheduling priority to `nice` (see
/// [`BatchConfig::export_thread_nice`]); a thread that is already nicer (it
/// inherits the creating thread's value) stays as it is. On Linux, nice is per
/// thread, and raising it needs no privilege. A failure only leaves the inherited
/// priority, so it is ignored.
#[cfg(target_os = "linux")]
fn set_thread_nice(nice: u8) {
    let nice = libc::c_int::from(nice);
    // SAFETY: plain syscalls; `who = 0` is the calling thread on Linux. -1 is also
    // a valid priority, so errno is not consulted: at worst nothing changes.
    unsafe {
        if libc::getpriority(libc::PRIO_PROCESS, 0) < nice {
            libc::setpriority(libc::PRIO_PROCESS, 0, nice);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn set_thread_nice(_nice: u8) {
    // Elsewhere `setpriority(PRIO_PROCESS, 0, …)` would renice the whole process.
}

fn report_to_result(r: FlushReport) -> Result<(), Error> {
    match r.error {
        Some(message) if r.dropped > 0 => Err(Error::Export { dropped: r.dropped, message }),
        _ => Ok(()),
    }
}

struct Worker {
    rx: Receiver<Message>,
    wake_rx: Receiver<()>,
    asleep: Arc<AtomicBool>,
    /// The sending lanes' inboxes.
    lanes: Vec<Sender<Stage>>,
    recycle: Receiver<ExportBatch>,
    /// No exporter reads `SpanData`: batches are converted to OTLP by moving.
    otlp_only: bool,
    encoder: EventToSpanEncoder,
    formatters: Vec<Formatter>,
    max_batch: usize,
    delay: Duration,
    counters: Arc<Counters>,
    resource: Arc<Resource>,
    resource_attrs: Arc<ResourceAttributesWithSchema>,
    pending: Pending,
    /// Sent spans, reused for new ones (see `forward`).
    span_pool: Vec<OtlpSpan>,
    /// The attribute list's allocation, lent to the encoder for each event.
    scratch: Vec<opentelemetry::KeyValue>,
    /// Callers' allocations waiting for a bulk free, and how many events' worth
    /// may wait (the queue's capacity).
    spent: Spent,
    spent_limit: usize,
}

/// What encoded events leave behind that a caller's thread allocated.
#[derive(Default)]
struct Spent {
    // The boxes themselves are what is kept: each is a caller's allocation.
    #[allow(clippy::vec_box)]
    boxes: Vec<Box<Option<RecordedEvent>>>,
    leftovers: Leftovers,
}

impl Spent {
    fn free(&mut self) {
        self.boxes.clear();
        self.boxes.shrink_to(4096);
        self.leftovers.clear();
    }
}

impl Worker {
    fn run(mut self) {
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        let mut next_export = Instant::now() + self.delay;
        'run: loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Message::Span(s)) => self.push_span(*s),
                    Ok(Message::Event(e)) => self.push_event(e),
                    Ok(Message::SessionStart(s)) => self.forward(Stage::SessionStart(s)),
                    Ok(Message::Flush(ack)) => {
                        self.export_pending();
                        self.forward(Stage::Flush(ack));
                    }
                    Ok(Message::Shutdown(ack)) => {
                        self.drain();
                        self.forward(Stage::Shutdown(ack));
                        break 'run;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.export_pending();
                        break 'run;
                    }
                }
            }
            if Instant::now() >= next_export {
                self.export_pending();
                next_export = Instant::now() + self.delay;
            }
            self.asleep.store(true, Ordering::SeqCst);
            if self.rx.len() < self.max_batch {
                // Caught up: callers are not outpacing us, a good moment to give their memory back.
                self.spent.free();
                // Until the next scheduled export or a caller's signal. If every
                // sender is gone this returns at once and the drain above sees it.
                let _ = self.wake_rx.recv_deadline(next_export);
            }
            self.asleep.store(false, Ordering::Relaxed);
        }
        // Dropping `stage` lets the sending thread finish once it is done.
    }

    fn forward(&mut self, stage: Stage) {
        // What the sending thread is done with comes back here, where it was
        // allocated: its spans are reused for the next events (their buffers), the
        // rest is freed.
        let cap = 2 * self.max_batch;
        for batch in self.recycle.try_iter() {
            if self.span_pool.len() < cap && matches!(self.pending, Pending::Otlp(_)) {
                let room = cap - self.span_pool.len();
                self.span_pool.extend(batch.into_otlp_spans().into_iter().take(room));
            }
        }
        // Sending threads consume until shutdown and drop batches quickly once the
        // deadline passed, so these waits are bounded.
        match stage {
            Stage::Batch(batch) => self.send_batch(batch),
            // Control messages go to every lane, behind the batches each already has.
            Stage::SessionStart(s) => self.lanes.iter().for_each(|l| drop(l.send(Stage::SessionStart(s.clone())))),
            Stage::Flush(ack) => self.lanes.iter().for_each(|l| drop(l.send(Stage::Flush(ack.clone())))),
            Stage::Shutdown(ack) => self.lanes.iter().for_each(|l| drop(l.send(Stage::Shutdown(ack.clone())))),
        }
    }

    /// Hands a batch to whichever lane can take it first.
    fn send_batch(&self, batch: ExportBatch) {
        if let [only] = self.lanes.as_slice() {
            let _ = only.send(Stage::Batch(batch));
            return;
        }
        let mut select = Select::new();
        for lane in &self.lanes {
            select.send(lane);
        }
        let op = select.select();
        let i = op.index();
        let _ = op.send(&self.lanes[i], Stage::Batch(batch));
    }

    /// Queues a span made by the SDK (a session root, the application's own span).
    fn push_span(&mut self, span: SpanData) {
        Counters::add(&self.counters.received, 1);
        match &mut self.pending {
            Pending::Spans(v) => v.push(span),
            Pending::Otlp(v) => v.push(span.into()),
        }
        self.export_if_full();
    }

    /// Encodes a recorded event into the pending batch's form and queues it.
    fn push_event(&mut self, mut boxed: Box<Option<RecordedEvent>>) {
        let Some(rec) = boxed.take() else { return };
        Counters::add(&self.counters.received, 1);
        let (encoder, pool, scratch) = (&self.encoder, &mut self.span_pool, &mut self.scratch);
        let (pending, spent) = (&mut self.pending, &mut self.spent);
        let encoded = catch_unwind(AssertUnwindSafe(|| match pending {
            Pending::Spans(v) => v.push(encoder.encode(rec, &mut spent.leftovers)),
            Pending::Otlp(v) => {
                let mut span = pool.pop().unwrap_or_default();
                encoder.encode_otlp_into(rec, &mut span, scratch, &mut spent.leftovers);
                v.push(span);
            }
        }));
        spent.boxes.push(boxed);
        if spent.boxes.len() >= self.spent_limit {
            spent.free();
        }
        if encoded.is_err() {
            Counters::add(&self.counters.export_panics, 1);
            Counters::add(&self.counters.dropped_export_failed, 1);
            self.counters.set_last_error("encoding an event panicked; the event was dropped".into());
        }
        self.export_if_full();
    }

    fn export_if_full(&mut self) {
        if self.pending.len() >= self.max_batch {
            self.export_pending();
        }
    }

    /// Takes everything still in the channel (shutdown); a flush waiting behind the
    /// shutdown is answered in order.
    fn drain(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Message::Span(s) => self.push_span(*s),
                Message::Event(e) => self.push_event(e),
                Message::SessionStart(s) => self.forward(Stage::SessionStart(s)),
                Message::Flush(ack) | Message::Shutdown(ack) => {
                    self.export_pending();
                    self.forward(Stage::Flush(ack));
                }
            }
        }
        self.export_pending();
    }

    fn export_pending(&mut self) {
        if self.pending.len() == 0 {
            return;
        }
        let pending = self.pending.take(self.max_batch);
        let (res, attrs) = (self.resource.clone(), self.resource_attrs.clone());
        let batch = match pending {
            Pending::Otlp(spans) => ExportBatch::from_otlp_spans(spans, self.encoder.scope(), res, attrs),
            Pending::Spans(spans) => {
                let spans = self.apply_formatters(spans);
                if spans.is_empty() {
                    return;
                }
                if self.otlp_only {
                    ExportBatch::moved_to_otlp(spans, res, attrs)
                } else {
                    ExportBatch::new(spans, res, attrs)
                }
            }
        };
        self.forward(Stage::Batch(batch));
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
            self.counters.set_last_error(format!("a formatter panicked; {panicked} span(s) dropped"));
            self.counters.warn_once(Warn::Panic, || "a formatter panicked; its spans are dropped".into());
        }
        kept
    }
}
