//! The built-in exporters: where batches of finished spans go (an OTLP collector,
//! AgentOps, a file, the console). All run on a sending thread, behind the
//! synchronous [`Exporter`](crate::export::exporter::Exporter) trait of `export/`.

pub(crate) mod agentops;
pub(crate) mod console;
pub(crate) mod file;
pub(crate) mod otlp;
pub(crate) mod otlp_body;
pub(crate) mod text;
