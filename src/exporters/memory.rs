//! `InMemoryExporter`: keeps every exported span, for applications' own tests.

use std::sync::Arc;

use opentelemetry_sdk::trace::SpanData;
use parking_lot::Mutex;

use super::batch::ExportBatch;
use super::interface::{ExportContext, ExportError, ExportOutcome, Exporter};

/// Collects spans in memory. Clone it before handing it to the config; every clone
/// sees the same spans.
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporter {
    spans: Arc<Mutex<Vec<SpanData>>>,
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

    /// Number of spans exported so far.
    pub fn len(&self) -> usize {
        self.spans.lock().len()
    }

    /// Whether nothing was exported yet.
    pub fn is_empty(&self) -> bool {
        self.spans.lock().is_empty()
    }

    /// Forgets every span.
    pub fn clear(&self) {
        self.spans.lock().clear();
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
