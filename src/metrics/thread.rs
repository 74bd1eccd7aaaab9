//! The metrics thread: collects the SDK's instruments every interval, and when a
//! flush or the shutdown asks (after the spans before it were settled, so the
//! pipeline-health instruments agree with `stats()`), and exports each collection
//! to every metrics destination through the same exporters, HTTP client, retry
//! policy and shutdown deadline as the spans.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::health::{HealthInstruments, StatsSource};
use super::reader::SharedReader;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::context::{call_exporter, Cancel, ExportContext};
use crate::export::metrics::MetricsExporter;
use crate::export::retry::RetryPolicy;
use crate::stats::{Counters, ExporterCounters, Warn};
use crate::util::time::deadline_after;

/// What the pipeline asks of the metrics thread; the answer is the collection's
/// failure, if any.
pub(crate) enum Control {
    Collect(Sender<Option<ExportError>>),
    Shutdown(Sender<Option<ExportError>>),
}

/// One metrics destination and the counters of the exporter it belongs to.
pub(crate) struct MetricsSlot {
    pub name: String,
    pub counters: Arc<ExporterCounters>,
    pub exporter: Box<dyn MetricsExporter>,
    /// The destination answered that it does not take metrics: nothing more is sent
    /// to it (each collection is counted as refused instead).
    pub refused: bool,
}

/// The statuses with which a destination says it has no such signal (a traces-only
/// backend on `/v1/metrics`): not found, method not allowed, unsupported media
/// type, not implemented.
fn signal_refused(e: &ExportError) -> bool {
    matches!(e.kind, ExportErrorKind::Rejected { status: 404 | 405 | 415 | 501 })
}

pub(crate) struct MetricsWorker {
    pub provider: SdkMeterProvider,
    pub reader: SharedReader,
    /// Held so the observable instruments live as long as the thread collects.
    pub _health: HealthInstruments,
    pub exporters: Vec<MetricsSlot>,
    pub rx: Receiver<Control>,
    pub interval: Duration,
    pub retry: RetryPolicy,
    pub cancel: Arc<Cancel>,
    pub counters: Arc<Counters>,
    /// The pipeline's counters, as `stats()` reads them.
    pub stats: StatsSource,
}

impl MetricsWorker {
    pub fn run(mut self) {
        // Exporting metrics must not produce telemetry of its own.
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        let mut collected = ResourceMetrics::default();
        let mut next = deadline_after(self.interval);
        loop {
            match self.rx.recv_deadline(next) {
                Ok(Control::Collect(ack)) => {
                    let _ = ack.send(self.export(&mut collected));
                }
                Ok(Control::Shutdown(ack)) => {
                    let outcome = self.export(&mut collected);
                    let _ = self.provider.shutdown_with_timeout(Duration::from_millis(10));
                    let _ = ack.send(outcome);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.export(&mut collected);
                    next = Instant::now().checked_add(self.interval).unwrap_or(next);
                }
                // The pipeline went away without a shutdown: one last collection.
                Err(RecvTimeoutError::Disconnected) => {
                    self.export(&mut collected);
                    return;
                }
            }
        }
    }

    /// Collects once and exports to every destination; the first failure, if any.
    /// A client that never recorded anything sends nothing (no request of zeros).
    fn export(&mut self, collected: &mut ResourceMetrics) -> Option<ExportError> {
        let c = self.counters.clone();
        let seen = (self.stats)();
        if seen.spans_recorded + seen.spans_sampled_out == 0 {
            return None;
        }
        if let Err(e) = self.reader.collect(collected) {
            let e = ExportError::new(ExportErrorKind::Failed, format!("collecting metrics failed: {e}"));
            self.failed(&e, self.exporters.len() as u64);
            return Some(e);
        }
        let request = ExportMetricsServiceRequest::from(&*collected);
        let points: usize =
            request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).map(|s| s.metrics.len()).sum();
        if points == 0 {
            return None; // never an empty request
        }
        let mut failure = None;
        for slot in &mut self.exporters {
            if slot.refused {
                Counters::add(&c.metrics_exports_refused, 1);
                continue;
            }
            if self.cancel.expired() {
                let e = ExportError::new(
                    ExportErrorKind::Cancelled,
                    "metrics not exported: the shutdown deadline was reached",
                );
                Counters::add(&c.metrics_exports_failed, 1);
                c.set_last_error(format!("{} exporter: {e}", slot.name));
                failure.get_or_insert(e);
                continue;
            }
            let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &slot.counters };
            let exporter = &mut *slot.exporter;
            let result = call_exporter(
                &slot.name,
                "exporting metrics",
                || exporter.export_metrics(&request, &cx),
                |_| Counters::add(&c.export_panics, 1),
            );
            match result {
                Ok(outcome) => {
                    Counters::add(&c.metrics_exports, 1);
                    if outcome.rejected_points > 0 {
                        Counters::add(&c.metric_points_rejected, outcome.rejected_points);
                        let msg = format!("{} exporter: {}", slot.name, outcome.message.unwrap_or_default());
                        c.warn_once(Warn::MetricsFailed, || format!("metrics export: {msg}"));
                        c.set_last_error(msg);
                    }
                }
                Err(e) if signal_refused(&e) => {
                    slot.refused = true;
                    Counters::add(&c.metrics_exports_refused, 1);
                    c.warn_once(Warn::MetricsRefused, || {
                        format!(
                            "{} exporter: the destination does not take metrics ({}); metrics to it are off, its \
                             traces are not affected. OTEL_METRICS_EXPORTER=none (or \
                             OtelConfig::builder().enable_metrics(false)) stops trying",
                            slot.name, e.message
                        )
                    });
                }
                Err(e) => {
                    Counters::add(&c.metrics_exports_failed, 1);
                    let msg = format!("{} exporter (metrics): {e}", slot.name);
                    c.warn_once(Warn::MetricsFailed, || format!("metrics export failed: {msg}"));
                    c.set_last_error(msg.clone());
                    failure.get_or_insert(ExportError::new(e.kind, msg));
                }
            }
        }
        failure
    }

    fn failed(&self, e: &ExportError, destinations: u64) {
        Counters::add(&self.counters.metrics_exports_failed, destinations);
        self.counters.warn_once(Warn::MetricsFailed, || e.message.clone());
        self.counters.set_last_error(e.message.clone());
    }
}
