//! Exporters: where batches of finished spans go. All run on a sending thread,
//! behind one synchronous [`Exporter`](interface::Exporter) trait that applications
//! can implement too.

pub(crate) mod agentops;
pub(crate) mod batch;
pub(crate) mod console;
pub(crate) mod file;
pub(crate) mod interface;
pub(crate) mod memory;
pub(crate) mod metrics_interface;
pub(crate) mod otlp;
pub(crate) mod otlp_body;
