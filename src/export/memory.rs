//! `InMemoryExporter`: keeps every exported span (and, when metrics are on, every
//! metrics collection), for applications' own tests.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::trace::SpanData;
use parking_lot::Mutex;

use super::batch::ExportBatch;
use super::context::ExportContext;
use super::exporter::{ExportOutcome, Exporter};
use super::metrics::{MetricsExporter, MetricsOutcome};
use crate::error::export::ExportError;

/// Collects spans and metrics in memory. Clone it before handing it to the config;
/// every clone sees the same data.
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporter {
    spans: Arc<Mutex<Vec<SpanData>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

impl InMemoryExporter {
    /// An empty exporter.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every span exported so far, in export order.
    pub fn spans(&self) -> Vec<SpanData> {
        self.spans.lock().clone()
    }

    /// Every metrics collection exported so far, in order, as the OTLP requests a
    /// collector would have received.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.metrics.lock().clone()
    }

    /// Number of spans exported so far.
    pub fn len(&self) -> usize {
        self.spans.lock().len()
    }

    /// Whether no span was exported yet.
    pub fn is_empty(&self) -> bool {
        self.spans.lock().is_empty()
    }

    /// Forgets every span and metrics collection.
    pub fn clear(&self) {
        self.spans.lock().clear();
        self.metrics.lock().clear();
    }
}

impl Exporter for InMemoryExporter {
    fn name(&self) -> &str {
        "memory"
    }

    fn export(&mut self, batch: &ExportBatch, _cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        self.spans.lock().extend_from_slice(batch.spans());
        Ok(ExportOutcome::default())
    }
}

impl MetricsExporter for InMemoryExporter {
    fn name(&self) -> &str {
        "memory"
    }

    fn export_metrics(
        &mut self,
        req: &ExportMetricsServiceRequest,
        _cx: &ExportContext<'_>,
    ) -> Result<MetricsOutcome, ExportError> {
        self.metrics.lock().push(req.clone());
        Ok(MetricsOutcome::default())
    }
}
