//! What a destination of metrics implements: one collection, as one OTLP request.
//! Internal: the built-in exporters that speak OTLP (collector, AgentOps, file,
//! in-memory) and the console implement it; the metrics thread calls it.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use super::context::ExportContext;
use crate::error::export::ExportError;

/// A destination of metrics. Called on the metrics thread only, so it may block
/// (within the context's deadline).
pub(crate) trait MetricsExporter: Send {
    /// The name of the exporter it belongs to (`otlp`, `agentops`, …).
    fn name(&self) -> &str;

    /// Exports one collection.
    fn export_metrics(
        &mut self,
        req: &ExportMetricsServiceRequest,
        cx: &ExportContext<'_>,
    ) -> Result<MetricsOutcome, ExportError>;
}

/// The result of a delivered metrics request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MetricsOutcome {
    /// Data points the receiver reported as rejected (`partialSuccess`).
    pub rejected_points: u64,
    /// The receiver's message about them.
    pub message: Option<String>,
}
