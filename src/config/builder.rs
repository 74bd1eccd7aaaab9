//! `OtelConfigBuilder`: defaults, what code sets, and the validation in `build`.
//!
//! Precedence: defaults < environment (only through
//! [`OtelConfigBuilder::from_env`]) < what code sets on the builder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::SpanData;

use super::agentops::AgentOpsConfig;
use super::batch::{BatchConfig, BatchNames};
use super::exporter_spec::ExporterSpec;
use super::metrics::MetricsSettings;
use super::otel::{OtelConfig, SpanFilter};
use super::otlp::OtlpExporterConfig;
use super::spool::SpoolSettings;
use super::validate::{validate_max_value_len, validate_ratio};
use crate::adapters::prices::price::ModelPrice;
use crate::adapters::prices::table::PriceTable;
use crate::config::console::ConsoleMode;
use crate::error::config::{ensure_duration, ConfigError, MAX_DURATION};
use crate::export::exporter::Exporter;
use crate::export::memory::InMemoryExporter;
use crate::export::retry::RetryPolicy;

/// Builder for [`OtelConfig`].
#[must_use]
pub struct OtelConfigBuilder {
    pub(super) service_name: Option<String>,
    pub(super) service_version: Option<String>,
    pub(super) environment: Option<String>,
    pub(super) resource_attributes: Vec<(String, String)>,
    exporters: Vec<ExporterSpec>,
    pub(super) env_exporters: Vec<ExporterSpec>,
    pub(super) sample_ratio: f64,
    pub(super) retry: RetryPolicy,
    span_filters: Vec<SpanFilter>,
    pub(super) capture_content: bool,
    pub(super) max_value_len: usize,
    pub(super) batch: BatchConfig,
    shutdown_timeout: Duration,
    pub(super) disabled: bool,
    default_exporters: bool,
    /// The embedded default's console mode (`None`: no console).
    pub(super) default_console: Option<ConsoleMode>,
    /// The embedded default's file (`None`: no file).
    pub(super) default_file: Option<PathBuf>,
    pub(super) prices: PriceTable,
    pub(super) metrics: MetricsSettings,
    pub(super) spool: Option<SpoolSettings>,
    /// The trace `TRACEPARENT` / `TRACESTATE` hand this process, if any.
    pub(super) parent: Option<SpanContext>,
}

impl Default for OtelConfigBuilder {
    fn default() -> Self {
        OtelConfigBuilder {
            service_name: None,
            service_version: None,
            environment: None,
            resource_attributes: Vec::new(),
            exporters: Vec::new(),
            env_exporters: Vec::new(),
            sample_ratio: 1.0,
            retry: RetryPolicy::default(),
            span_filters: Vec::new(),
            capture_content: true,
            max_value_len: 64 * 1024,
            batch: BatchConfig::default(),
            shutdown_timeout: Duration::from_secs(5),
            disabled: false,
            default_exporters: true,
            default_console: Some(ConsoleMode::Summary),
            // A library writes no file into the application's working directory
            // unless asked to (AGENTOPS_TRACES_FILE, `file`): the quickstart asks.
            default_file: None,
            prices: PriceTable::builtin(),
            metrics: MetricsSettings::default(),
            spool: None,
            parent: None,
        }
    }
}

impl OtelConfig {
    /// A builder with the defaults and no environment.
    pub fn builder() -> OtelConfigBuilder {
        OtelConfigBuilder::default()
    }

    /// Defaults overridden by the environment (see the configuration table).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable whose value is invalid.
    pub fn from_env() -> Result<OtelConfig, ConfigError> {
        OtelConfigBuilder::from_env()?.build()
    }
}

impl OtelConfigBuilder {
    /// `service.name` (default `agentops-app`; env `OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }
    /// `service.version`.
    pub fn service_version(mut self, v: impl Into<String>) -> Self {
        self.service_version = Some(v.into());
        self
    }
    /// `deployment.environment.name` (env `AGENTOPS_ENVIRONMENT`).
    pub fn environment(mut self, env: impl Into<String>) -> Self {
        self.environment = Some(env.into());
        self
    }
    /// Adds a resource attribute (env `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }
    /// Adds an OTLP/HTTP exporter. An OTLP exporter added in code replaces the one
    /// configured by `OTEL_EXPORTER_OTLP_*` variables.
    pub fn otlp(mut self, otlp: OtlpExporterConfig) -> Self {
        self.exporters.push(ExporterSpec::Otlp(otlp));
        self
    }
    /// Exports to AgentOps. Replaces the AgentOps exporter `AGENTOPS_API_KEY`
    /// configured, if any.
    pub fn agentops(mut self, agentops: AgentOpsConfig) -> Self {
        self.exporters.push(ExporterSpec::AgentOps(agentops));
        self
    }
    /// Adds a file exporter writing OTLP JSON lines to `path` (appending).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.exporters.push(ExporterSpec::File(path.into()));
        self
    }
    /// Adds a console exporter (to standard output).
    pub fn console(mut self, mode: ConsoleMode) -> Self {
        self.exporters.push(ExporterSpec::Console(mode));
        self
    }
    /// Adds an in-memory exporter; keep a clone of it to read the spans.
    pub fn in_memory(mut self, exporter: InMemoryExporter) -> Self {
        self.exporters.push(ExporterSpec::Memory(exporter));
        self
    }
    /// Adds a custom exporter.
    pub fn exporter(mut self, exporter: impl Exporter + 'static) -> Self {
        self.exporters.push(ExporterSpec::Custom(Box::new(exporter)));
        self
    }
    /// Whether the embedded default — a summary line per session on stderr, and OTLP
    /// JSON lines in the file `AGENTOPS_TRACES_FILE` names, when it names one — is
    /// used when no exporter is added in code. Default true; exporters configured by
    /// the environment (OTLP, AgentOps) come in addition to it.
    /// `AGENTOPS_CONSOLE=off` turns the summary off.
    pub fn default_exporters(mut self, on: bool) -> Self {
        self.default_exporters = on;
        self
    }
    /// Keeps each session (whole) with this probability, 0..=1 (default 1).
    pub fn sample_ratio(mut self, ratio: f64) -> Self {
        self.sample_ratio = ratio;
        self
    }
    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Adds a span filter (see [`SpanFilter`]); span filters run in the order added.
    pub fn span_filter(mut self, f: impl Fn(&mut SpanData) -> bool + Send + Sync + 'static) -> Self {
        self.span_filters.push(Arc::new(f));
        self
    }
    /// Records prompts, completions, params, returns and logs (default true; env
    /// `AGENTOPS_CAPTURE_CONTENT`).
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = on;
        self
    }
    /// Longest string value in bytes before it is cut with a marker (default 65536;
    /// env `AGENTOPS_MAX_VALUE_LENGTH`). Message lists stay valid JSON: their
    /// contents are cut, not the JSON text.
    pub fn max_value_len(mut self, bytes: usize) -> Self {
        self.max_value_len = bytes;
        self
    }
    /// Sets the queue and batching settings.
    pub fn batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch;
        self
    }
    /// Deadline used when the client is dropped without an explicit shutdown
    /// (default 5 s).
    pub fn shutdown_timeout(mut self, t: Duration) -> Self {
        self.shutdown_timeout = t;
        self
    }
    /// Sets the price table LLM calls without an explicit cost are priced with
    /// (default: the built-in prices; env `AGENTOPS_PRICE_TABLE` = a LiteLLM price
    /// file over them).
    pub fn price_table(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }
    /// Sets one model's price, over the table's.
    pub fn model_price(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.prices.set(model, price);
        self
    }
    /// Exports metrics (default: on wherever an exporter takes them; env
    /// `AGENTOPS_ENABLE_METRICS`, or `OTEL_METRICS_EXPORTER=none` to turn them off).
    /// They are token usage and operation durations per the GenAI semantic
    /// conventions, tool and agent durations, costs, sessions, errors, and the
    /// pipeline's own health; see the crate docs' "Metrics" section.
    pub fn enable_metrics(mut self, on: bool) -> Self {
        self.metrics.enabled = Some(on);
        self
    }
    /// Time between two metric collections (default 60 s; env
    /// `OTEL_METRIC_EXPORT_INTERVAL` in ms). `flush` and `shutdown` collect once more.
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metrics.interval = interval;
        self
    }
    /// The temporality metrics are exported with (default cumulative; env
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    pub fn metrics_temporality(mut self, temporality: Temporality) -> Self {
        self.metrics.temporality = temporality;
        self
    }
    /// Keeps what cannot be delivered in `dir` (env `AGENTOPS_SPOOL_DIR`; off by
    /// default): batches a network exporter could not deliver within the retry
    /// budget, or by the shutdown deadline, are written there as OTLP JSON lines
    /// instead of being dropped ([`Stats::spans_spooled`](crate::Stats::spans_spooled)),
    /// and delivered later, in the background, by this client or the next one using
    /// the same directory. See the crate docs' "Spool".
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        match &mut self.spool {
            Some(s) => s.dir = dir,
            None => self.spool = Some(SpoolSettings::new(dir)),
        }
        self
    }
    /// The spool's bound in bytes, over all destinations (default 64 MiB, at least
    /// 1 MiB; env `AGENTOPS_SPOOL_MAX_BYTES`). Beyond it the oldest files are
    /// evicted, and counted ([`SpoolStats::spans_evicted`](crate::SpoolStats::spans_evicted)).
    /// Needs [`spool_dir`](Self::spool_dir).
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_setting(|s| s.max_bytes = bytes);
        self
    }
    /// Time between two attempts of a running client to deliver what is in the
    /// spool (default 30 s; one attempt is made at start). Needs
    /// [`spool_dir`](Self::spool_dir).
    pub fn spool_retry_interval(mut self, interval: Duration) -> Self {
        self.spool_setting(|s| s.retry_interval = interval);
        self
    }
    fn spool_setting(&mut self, set: impl FnOnce(&mut SpoolSettings)) {
        // Remembered without a directory, so `build` can say the directory is missing.
        let s = self.spool.get_or_insert_with(|| SpoolSettings::new(PathBuf::new()));
        set(s);
    }
    /// Turns telemetry off: sessions still work and summarize, nothing is exported.
    pub fn disabled(mut self, off: bool) -> Self {
        self.disabled = off;
        self
    }

    /// Validates and builds the configuration.
    ///
    /// Exporters: an OTLP (or AgentOps) exporter set in code replaces the one the
    /// environment configured; other exporters set in code come in addition. The
    /// embedded default (console summary + local file) is used unless exporters are
    /// added in code; exporters from the environment are added to it. With no
    /// exporter at all, telemetry is off (sessions still summarize).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first invalid setting (by its builder method).
    pub fn build(self) -> Result<OtelConfig, ConfigError> {
        validate_ratio("sample_ratio", self.sample_ratio)?;
        self.batch.validate(&BatchNames::CODE)?;
        validate_max_value_len("max_value_len", self.max_value_len)?;
        ensure_duration("shutdown_timeout", self.shutdown_timeout, MAX_DURATION)?;
        self.retry.validate()?;
        self.metrics.validate("metric_export_interval")?;
        if let Some(s) = &self.spool {
            s.validate(["spool_dir", "spool_max_bytes", "spool_retry_interval"])?;
        }

        let code_has_otlp = self.exporters.iter().any(|e| matches!(e, ExporterSpec::Otlp(_)));
        let code_has_agentops = self.exporters.iter().any(|e| matches!(e, ExporterSpec::AgentOps(_)));
        let mut exporters = Vec::new();
        if self.exporters.is_empty() && self.default_exporters {
            exporters.extend(self.default_console.map(ExporterSpec::Console));
            exporters.extend(self.default_file.map(ExporterSpec::File));
        }
        exporters.extend(self.env_exporters.into_iter().filter(|e| match e {
            ExporterSpec::Otlp(_) => !code_has_otlp,
            ExporterSpec::AgentOps(_) => !code_has_agentops,
            _ => true,
        }));
        exporters.extend(self.exporters);
        for e in &exporters {
            match e {
                ExporterSpec::AgentOps(a) => a.validate()?,
                ExporterSpec::Otlp(o) => o.validate()?,
                _ => {}
            }
        }
        Ok(OtelConfig {
            service_name: self.service_name.unwrap_or_else(|| "agentops-app".to_owned()),
            service_version: self.service_version,
            environment: self.environment,
            resource_attributes: self.resource_attributes,
            disabled: self.disabled || exporters.is_empty(),
            exporters,
            sample_ratio: self.sample_ratio,
            retry: self.retry,
            span_filters: self.span_filters,
            capture_content: self.capture_content,
            max_value_len: self.max_value_len,
            batch: self.batch,
            shutdown_timeout: self.shutdown_timeout,
            prices: Arc::new(self.prices),
            metrics: self.metrics,
            spool: self.spool,
            parent: self.parent,
        })
    }
}
