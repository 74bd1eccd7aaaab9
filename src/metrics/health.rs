//! The pipeline's own health as observable instruments, read at each collection
//! from the same snapshot [`Client::stats`](crate::Client::stats) returns: spans
//! recorded, queued, exported, filtered and dropped (by reason), the queue's
//! capacity, and requests, retries and bytes per exporter.

use std::sync::Arc;

use opentelemetry::metrics::{Meter, ObservableCounter, ObservableGauge};
use opentelemetry::KeyValue;

use super::instruments::{key, name};
use crate::stats::{ExporterStats, Stats};

/// Reads the pipeline's counters (the same snapshot as `Client::stats`).
pub(crate) type StatsSource = Arc<dyn Fn() -> Stats + Send + Sync>;

/// The registered instruments; kept so that they live as long as the provider.
#[allow(dead_code)] // held, never read: the SDK calls their callbacks
pub(crate) struct HealthInstruments {
    counters: Vec<ObservableCounter<u64>>,
    gauges: Vec<ObservableGauge<u64>>,
}

/// Reads one counter of a snapshot.
type Read = fn(&Stats) -> u64;

/// Every drop reason, with the counter it reads.
const DROP_REASONS: [(&str, Read); 5] = [
    ("queue_full", |s| s.spans_dropped_queue_full),
    ("export_failed", |s| s.spans_dropped_export_failed),
    ("rejected", |s| s.spans_dropped_rejected),
    ("after_shutdown", |s| s.spans_dropped_after_shutdown),
    ("panicked", |s| s.spans_dropped_panicked),
];

/// Registers the health instruments on `meter`; `queue_capacity` is the queue's
/// size in spans.
pub(crate) fn register(meter: &Meter, stats: StatsSource, queue_capacity: u64) -> HealthInstruments {
    let counter = |name: &'static str, unit: &'static str, what: &'static str, read: Read| {
        let stats = stats.clone();
        meter
            .u64_observable_counter(name)
            .with_unit(unit)
            .with_description(what)
            .with_callback(move |o| o.observe(read(&stats()), &[]))
            .build()
    };
    let per_exporter = |name: &'static str, unit: &'static str, what: &'static str, read: fn(&ExporterStats) -> u64| {
        let stats = stats.clone();
        meter
            .u64_observable_counter(name)
            .with_unit(unit)
            .with_description(what)
            .with_callback(move |o| {
                let s = stats();
                for e in &s.exporters {
                    o.observe(read(e), &[KeyValue::new(key::EXPORTER, e.name.clone())]);
                }
            })
            .build()
    };
    let dropped = {
        let stats = stats.clone();
        meter
            .u64_observable_counter(name::SPANS_DROPPED)
            .with_unit("{span}")
            .with_description("Spans dropped, by reason")
            .with_callback(move |o| {
                let s = stats();
                for (reason, read) in DROP_REASONS {
                    o.observe(read(&s), &[KeyValue::new(key::DROP_REASON, reason)]);
                }
            })
            .build()
    };
    let queued = {
        let stats = stats.clone();
        meter
            .u64_observable_gauge(name::SPANS_QUEUED)
            .with_unit("{span}")
            .with_description("Spans waiting in the queue or being exported")
            .with_callback(move |o| o.observe(stats().spans_queued, &[]))
            .build()
    };
    let capacity = meter
        .u64_observable_gauge(name::QUEUE_CAPACITY)
        .with_unit("{span}")
        .with_description("Spans the export queue holds at most")
        .with_callback(move |o| o.observe(queue_capacity, &[]))
        .build();
    HealthInstruments {
        counters: vec![
            counter(name::SPANS_RECORDED, "{span}", "Spans handed to the pipeline", |s| s.spans_recorded),
            counter(name::SPANS_EXPORTED, "{span}", "Spans every exporter accepted", |s| s.spans_exported),
            counter(name::SPANS_FILTERED, "{span}", "Spans a span filter removed", |s| s.spans_filtered),
            dropped,
            per_exporter(name::EXPORT_REQUESTS, "{request}", "Export requests (attempts)", |e| e.requests),
            per_exporter(name::EXPORT_RETRIES, "{retry}", "Export retries", |e| e.retries),
            per_exporter(name::EXPORT_BYTES, "By", "Request body bytes sent", |e| e.bytes_sent),
        ],
        gauges: vec![queued, capacity],
    }
}
