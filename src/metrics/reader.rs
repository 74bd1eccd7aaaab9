//! The SDK's `ManualReader`, shared: the meter provider owns one reference, the
//! metrics thread keeps another to collect when it decides (on its interval, at a
//! flush, at shutdown), within the pipeline's deadline.

use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

/// A `ManualReader` both the provider and the metrics thread hold.
#[derive(Debug, Clone)]
pub(crate) struct SharedReader(Arc<ManualReader>);

impl SharedReader {
    pub fn new(temporality: Temporality) -> Self {
        SharedReader(Arc::new(ManualReader::builder().with_temporality(temporality).build()))
    }
}

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline)
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
