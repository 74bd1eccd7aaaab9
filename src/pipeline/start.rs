//! Starting a pipeline: what it is built from (`PipelineSetup`), and the wiring of
//! its threads: the export thread, each destination's sending lanes, the metrics
//! thread and the spool's delivery thread, with the channels between them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::bounded;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;

use super::batcher::Batcher;
use super::export_thread::Worker;
use super::fanout::{Fanout, FlushReport};
use super::handle::Pipeline;
use super::lanes::{destination, LaneCommon};
use super::pending::{JsonSpans, Pending, WireSpans};
use super::reclaim::{FreeBacklog, ReturnQueue};
use crate::config::batch::BatchConfig;
use crate::config::metrics::MetricsSettings;
use crate::config::otel::SpanFilter;
use crate::config::spool::SpoolSettings;
use crate::encode::encoder::EventToSpanEncoder;
use crate::encode::protocol::Protocol;
use crate::encode::request::{json_frame, request_frame};
use crate::error::Error;
use crate::export::context::Cancel;
use crate::export::exporter::Exporter;
use crate::export::metrics::MetricsExporter;
use crate::export::retry::RetryPolicy;
use crate::exporters::agentops::legacy::SessionCosts;
use crate::metrics::handle::{start as start_metrics, MetricsStart};
use crate::metrics::thread::MetricsSlot;
use crate::spool::destination::SpoolDestination;
use crate::spool::redelivery::{DeliveryThread, Redelivery, Target};
use crate::spool::Spool;
use crate::stats::{Counters, ExporterCounters, Stats};
use crate::util::threads::spawn;

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
            batcher: Batcher {
                encoder: setup.encoder,
                span_filters: setup.span_filters,
                max_batch: cap,
                otlp_only,
                counters: counters.clone(),
                resource_attrs,
                resource: Arc::new(setup.resource),
                pending,
                span_pool: Vec::new(),
                wire_pool: Vec::new(),
                scratch: Vec::new(),
            },
            delay: setup.batch.scheduled_delay,
            counters: counters.clone(),
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
}
