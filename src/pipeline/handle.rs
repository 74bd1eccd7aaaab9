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
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;

use super::export_thread::Worker;
use super::fanout::{Fanout, FlushReport};
use super::lanes::{destination, LaneCommon};
use super::message::Message;
use super::pending::{JsonSpans, Pending, WireSpans};
use super::reclaim::{FreeBacklog, ReturnQueue};
use crate::config::batch::BatchConfig;
use crate::config::metrics::MetricsSettings;
use crate::config::otel::SpanFilter;
use crate::config::spool::SpoolSettings;
use crate::encode::encoder::EventToSpanEncoder;
use crate::encode::protocol::Protocol;
use crate::encode::request::{json_frame, request_frame};
use crate::error::export::ExportErrorKind;
use crate::error::Error;
use crate::export::context::Cancel;
use crate::export::exporter::{Exporter, SessionStart};
use crate::export::metrics::MetricsExporter;
use crate::export::retry::RetryPolicy;
use crate::exporters::agentops::legacy::SessionCosts;
use crate::metrics::handle::{start as start_metrics, MetricsHandle, MetricsStart};
use crate::metrics::thread::MetricsSlot;
use crate::spool::destination::SpoolDestination;
use crate::spool::redelivery::{DeliveryThread, Redelivery, Target};
use crate::spool::Spool;
use crate::stats::{Counters, ExporterCounters, Stats, Warn};
use crate::util::threads::spawn;
use crate::util::time::deadline_after;

/// The most of a shutdown's time kept for writing undelivered batches to the spool.
const SPOOL_RESERVE: Duration = Duration::from_secs(1);

/// The caller-side handle of the export pipeline.
pub(crate) struct Pipeline {
    tx: Sender<Message>,
    /// The queue's other end, used only when a shutdown gives up: what is still
    /// queued then is taken out and counted as dropped (see `count_queued_as_dropped`).
    rx: Receiver<Message>,
    wake: Sender<()>,
    wake_at: usize,
    /// Written events coming back to be freed by callers (`reclaim.rs`).
    returns: ReturnQueue,
    /// Set by the export thread while it sleeps; callers only look at the queue's
    /// length (two contended cache lines) when it is set.
    asleep: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    cancel: Arc<Cancel>,
    closed: AtomicBool,
    /// The first shutdown's outcome, which every later call returns; held during
    /// a shutdown, so a concurrent call waits for it.
    shutdown_outcome: Mutex<Option<Outcome>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Sending lanes: a flush or shutdown is done when each has acknowledged it.
    lanes: usize,
    /// `token_cost` answers of the legacy AgentOps protocol, by session.
    pub costs: Arc<SessionCosts>,
    exporter_counters: Arc<Vec<(String, Arc<ExporterCounters>)>>,
    /// The metrics thread, when metrics are on.
    metrics: Option<MetricsHandle>,
    /// The spool's delivery thread, when there is a spool.
    spool: Option<DeliveryThread>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("closed", &self.is_closed()).finish()
    }
}

/// What the pipeline is built from.
pub(crate) struct PipelineSetup {
    /// Per destination, one instance of its exporter per sending lane (several
    /// only for network exporters).
    pub destinations: Vec<Vec<Box<dyn Exporter>>>,
    pub encoder: EventToSpanEncoder,
    pub span_filters: Vec<SpanFilter>,
    pub batch: BatchConfig,
    pub retry: RetryPolicy,
    pub resource: Resource,
    pub costs: Arc<SessionCosts>,
    /// Metrics settings and destinations (by the name of the exporter each belongs
    /// to), when metrics are on.
    pub metrics: Option<MetricsSetup>,
    pub spool: Option<SpoolSetup>,
    /// Every exporter sends OTLP/HTTP in this encoding: events may be written
    /// straight into request bytes (`encode/wire.rs`, `encode/wire_json.rs`).
    pub direct: Option<Protocol>,
}

/// What the spool side of a pipeline is built from.
pub(crate) struct SpoolSetup {
    pub settings: SpoolSettings,
    /// Each exporter's destination (by position, as in every lane), if it spools.
    pub destinations: Vec<Option<SpoolDestination>>,
    /// The delivery thread's exporters: the destination, the exporter's name, and
    /// an instance of it of its own.
    pub delivery: Vec<(SpoolDestination, String, Box<dyn Exporter>)>,
}

/// What the metrics side of a pipeline is built from.
pub(crate) struct MetricsSetup {
    pub settings: MetricsSettings,
    pub exporters: Vec<(String, Box<dyn MetricsExporter>)>,
}

/// A flush's or shutdown's outcome, kept so that a second shutdown reports the same.
#[derive(Debug, Clone)]
enum Outcome {
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
    /// Starts the export and sending threads.
    pub fn start(setup: PipelineSetup) -> Result<Arc<Pipeline>, Error> {
        let (tx, rx) = bounded(setup.batch.max_queue_size);
        let (wake, wake_rx) = bounded(1);
        let (recycle_tx, recycle_rx) = bounded(4);
        let returns = ReturnQueue::new(setup.batch.max_queue_size);
        let counters = Arc::new(Counters::default());
        let cancel = Arc::new(Cancel::default());
        let asleep = Arc::new(AtomicBool::new(false));
        // Lanes share each exporter's counters, so stats show one entry per exporter;
        // the metrics thread's instance of an exporter counts there too.
        let mut exporter_counters: Vec<(String, Arc<ExporterCounters>)> = setup
            .destinations
            .iter()
            .map(|d| (d[0].name().to_owned(), Arc::new(ExporterCounters::default())))
            .collect();
        let metrics_slots: Option<(MetricsSettings, Vec<MetricsSlot>)> = setup.metrics.map(|m| {
            let slots = m.exporters.into_iter().map(|(name, exporter)| {
                let counters = match exporter_counters.iter().find(|(n, _)| *n == name) {
                    Some((_, c)) => c.clone(),
                    None => {
                        let c = Arc::new(ExporterCounters::default());
                        exporter_counters.push((name.clone(), c.clone()));
                        c
                    }
                };
                MetricsSlot { name, counters, exporter, refused: false }
            });
            (m.settings, slots.collect())
        });
        let exporter_counters = Arc::new(exporter_counters);
        let otlp_only = setup.destinations.iter().all(|d| !d[0].reads_spans());
        let cap = setup.batch.max_export_batch_size;
        let resource_attrs = Arc::new(ResourceAttributesWithSchema::from(&setup.resource));
        let direct = setup.direct.filter(|_| otlp_only && setup.span_filters.is_empty());
        let pending = if direct == Some(Protocol::HttpProtobuf) {
            let frame = request_frame(&resource_attrs, setup.encoder.scope());
            Pending::Wire(WireSpans::new(Vec::new(), Arc::new(frame)))
        } else if direct == Some(Protocol::HttpJson) {
            let frame = json_frame(&resource_attrs, setup.encoder.scope());
            Pending::WireJson(JsonSpans::new(Vec::new(), Arc::new(frame)))
        } else if otlp_only && setup.span_filters.is_empty() {
            Pending::Otlp(Vec::with_capacity(cap))
        } else {
            Pending::Spans(Vec::with_capacity(cap))
        };
        let spool = setup
            .spool
            .as_ref()
            .map(|s| Arc::new(Spool::new(s.settings.dir.clone(), s.settings.max_bytes, counters.clone())));
        let no_spool = Vec::new();
        let destinations = setup.spool.as_ref().map_or(&no_spool, |s| &s.destinations);
        let lane_count = setup.destinations.iter().map(Vec::len).sum();
        counters.lanes_running.store(lane_count, Ordering::Release);
        let mut fanout =
            Fanout { destinations: Vec::new(), counters: counters.clone(), report: FlushReport::default() };
        let mut lane_workers = Vec::with_capacity(lane_count);
        let common = LaneCommon {
            recycle: recycle_tx,
            retry: setup.retry.clone(),
            cancel: cancel.clone(),
            counters: counters.clone(),
            spool: spool.clone(),
        };
        for (j, instances) in setup.destinations.into_iter().enumerate() {
            let (name, exporter_counters) = exporter_counters[j].clone();
            let spool_dir = destinations.get(j).cloned().flatten();
            let limits = (cap, setup.batch.max_queue_size);
            let (destination, lanes) = destination(name, exporter_counters, instances, spool_dir, limits, &common);
            fanout.destinations.push(destination);
            lane_workers.extend(lanes);
        }
        let nice = setup.batch.export_thread_nice;
        let (recorder, metrics) = match metrics_slots {
            Some((settings, exporters)) if !exporters.is_empty() => {
                let (c, e, queue) = (counters.clone(), exporter_counters.clone(), rx.clone());
                let (recorder, handle) = start_metrics(MetricsStart {
                    settings,
                    exporters,
                    resource: setup.resource.clone(),
                    stats: Arc::new(move || Stats::snapshot(&c, &e, || queue.len() as u64)),
                    queue_capacity: setup.batch.max_queue_size as u64,
                    retry: setup.retry.clone(),
                    cancel: cancel.clone(),
                    counters: counters.clone(),
                    nice,
                })?;
                (Some(recorder), Some(handle))
            }
            _ => (None, None),
        };
        let worker = Worker {
            rx: rx.clone(),
            wake_rx,
            asleep: asleep.clone(),
            fanout,
            recycle: recycle_rx,
            otlp_only,
            encoder: setup.encoder,
            span_filters: setup.span_filters,
            max_batch: cap,
            delay: setup.batch.scheduled_delay,
            counters: counters.clone(),
            resource_attrs,
            resource: Arc::new(setup.resource),
            pending,
            span_pool: Vec::new(),
            wire_pool: Vec::new(),
            scratch: Vec::new(),
            free_backlog: FreeBacklog::new(returns.clone(), setup.batch.max_queue_size),
            metrics: recorder,
        };
        let mut threads = Vec::with_capacity(lane_count + 1);
        threads.push(spawn("agentops-export".into(), nice, move || worker.run()).map_err(Error::Thread)?);
        for (i, lane_worker) in lane_workers.into_iter().enumerate() {
            let name = if lane_count == 1 { "agentops-send".to_owned() } else { format!("agentops-send-{i}") };
            threads.push(spawn(name, nice, move || lane_worker.run()).map_err(Error::Thread)?);
        }
        let spool_thread = match (spool, setup.spool) {
            (Some(spool), Some(s)) if !s.delivery.is_empty() => {
                let targets = s.delivery.into_iter().map(|(dest, name, exporter)| {
                    let counters = exporter_counters.iter().find(|(n, _)| *n == name).map(|(_, c)| c.clone());
                    Target { dest, counters: counters.unwrap_or_default(), name, exporter }
                });
                let delivery = Redelivery {
                    spool,
                    targets: targets.collect(),
                    retry: setup.retry.clone(),
                    cancel: cancel.clone(),
                    interval: s.settings.retry_interval,
                };
                let (handle, run) = DeliveryThread::new(delivery);
                // Not joined: `stop` waits for it within the deadline through its channel.
                drop(spawn("agentops-spool".into(), nice, run).map_err(Error::Thread)?);
                Some(handle)
            }
            _ => None,
        };
        Ok(Arc::new(Pipeline {
            tx,
            rx,
            wake,
            wake_at: cap,
            returns,
            asleep,
            counters,
            cancel,
            closed: AtomicBool::new(false),
            shutdown_outcome: Mutex::new(None),
            threads: Mutex::new(threads),
            lanes: lane_count,
            costs: setup.costs,
            exporter_counters,
            metrics,
            spool: spool_thread,
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
