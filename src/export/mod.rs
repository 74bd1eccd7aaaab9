//! The exporter contract: the [`Exporter`](exporter::Exporter) trait every
//! destination implements (the built-in ones in `exporters/`, and applications'
//! own), the batch it is given, the context it exports in (deadline, retry policy)
//! and what it returns. Below the configuration, which holds exporters, and above
//! the encoders, whose requests a batch carries.

pub(crate) mod batch;
pub(crate) mod context;
pub(crate) mod exporter;
pub(crate) mod memory;
pub(crate) mod metrics;
pub(crate) mod retry;
