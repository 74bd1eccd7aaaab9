//! `OtelConfig`: every setting of a [`Client`](crate::Client), validated.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::trace::SpanData;

use super::batch::BatchConfig;
use super::exporter_spec::ExporterSpec;
use super::metrics::MetricsSettings;
use super::spool::SpoolSettings;
use crate::adapters::prices::table::PriceTable;
use crate::export::retry::RetryPolicy;

/// A user function run on the export thread over every finished span, before it is
/// encoded: redact or rename attributes, or return `false` to drop the span (counted
/// as `spans_filtered` in [`Stats`](crate::Stats)).
pub type SpanFilter = Arc<dyn Fn(&mut SpanData) -> bool + Send + Sync>;

/// The traces file the quickstart and the CLI use when none is named (a client
/// writes no file unless configured to: `AGENTOPS_TRACES_FILE` or
/// [`OtelConfigBuilder::file`](crate::OtelConfigBuilder::file)).
pub const DEFAULT_TRACES_FILE: &str = "agentops-traces.jsonl";

/// Every setting of an [`agentops::Client`](crate::Client). Build with
/// [`OtelConfig::builder`] or [`OtelConfig::from_env`].
pub struct OtelConfig {
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) exporters: Vec<ExporterSpec>,
    pub(crate) sample_ratio: f64,
    pub(crate) retry: RetryPolicy,
    pub(crate) span_filters: Vec<SpanFilter>,
    pub(crate) capture_content: bool,
    pub(crate) max_value_len: usize,
    pub(crate) batch: BatchConfig,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) disabled: bool,
    pub(crate) prices: Arc<PriceTable>,
    pub(crate) metrics: MetricsSettings,
    pub(crate) spool: Option<SpoolSettings>,
    /// Sessions continue this trace unless told otherwise (`TRACEPARENT`).
    pub(crate) parent: Option<SpanContext>,
}

impl fmt::Debug for OtelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelConfig")
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("environment", &self.environment)
            .field("resource_attributes", &self.resource_attributes)
            .field("exporters", &self.exporters)
            .field("sample_ratio", &self.sample_ratio)
            .field("retry", &self.retry)
            .field("span_filters", &self.span_filters.len())
            .field("capture_content", &self.capture_content)
            .field("max_value_len", &self.max_value_len)
            .field("batch", &self.batch)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("disabled", &self.disabled)
            .field("priced_models", &self.prices.len())
            .field("metrics", &self.metrics)
            .field("parent", &self.parent)
            .finish()
    }
}

impl OtelConfig {
    /// The configured service name.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Whether telemetry is off (`OTEL_SDK_DISABLED=true`,
    /// [`OtelConfigBuilder::disabled`](crate::OtelConfigBuilder::disabled), or no
    /// exporter at all).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Whether metrics are collected (they go to every exporter that takes them: see
    /// [`OtelConfigBuilder::enable_metrics`](crate::OtelConfigBuilder::enable_metrics)).
    pub fn metrics_enabled(&self) -> bool {
        !self.disabled && self.metrics.is_on()
    }

    /// The names of the exporters this configuration builds, in order (`console`,
    /// `file`, `otlp`, `agentops`, `agentops-v2`, `memory`, or a custom exporter's
    /// name).
    pub fn exporter_names(&self) -> Vec<String> {
        self.exporters
            .iter()
            .map(|e| match e {
                ExporterSpec::Otlp(_) => "otlp".to_owned(),
                ExporterSpec::AgentOps(a) if a.protocol == super::agentops::AgentOpsProtocol::LegacyV2 => {
                    "agentops-v2".to_owned()
                }
                ExporterSpec::AgentOps(_) => "agentops".to_owned(),
                ExporterSpec::File(_) => "file".to_owned(),
                ExporterSpec::Console(_) => "console".to_owned(),
                ExporterSpec::Memory(_) => "memory".to_owned(),
                ExporterSpec::Custom(c) => c.name().to_owned(),
            })
            .collect()
    }
}
