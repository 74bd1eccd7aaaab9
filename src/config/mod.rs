//! `OtelConfig`: every setting of the pipeline, a builder, environment variables,
//! and validation.
//!
//! Precedence: defaults < environment (only through [`OtelConfigBuilder::from_env`])
//! < what code sets on the builder. [`OtelConfigBuilder::build`] validates
//! everything; an invalid value is a [`ConfigError`] that names the setting and the
//! value (API keys are never echoed).

mod agentops;

pub use agentops::{
    AgentOpsConfig, AgentOpsProtocol, DEFAULT_API_ENDPOINT, DEFAULT_APP_URL, DEFAULT_EXPORTER_ENDPOINT,
};

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::trace::SpanData;

use crate::telemetry::exporters::{ConsoleMode, Exporter, InMemoryExporter};
use crate::telemetry::retry::RetryPolicy;

/// An invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting, as its environment variable or builder method name.
    pub setting: String,
    /// The offending value (redacted for secrets).
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: impl Into<String>, value: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError { setting: setting.into(), value: value.into(), reason: reason.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {} = {:?}: {}", self.setting, self.value, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// OTLP/HTTP body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `application/x-protobuf` (`http/protobuf`), the default.
    #[default]
    HttpProtobuf,
    /// `application/json` (`http/json`).
    HttpJson,
}

impl Protocol {
    fn parse(setting: &str, s: &str) -> Result<Self, ConfigError> {
        match s.trim() {
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            "grpc" => Err(ConfigError::new(
                setting,
                s,
                "gRPC needs an async runtime; this crate speaks OTLP/HTTP: use http/protobuf or http/json",
            )),
            _ => Err(ConfigError::new(setting, s, "expected http/protobuf or http/json")),
        }
    }
}

/// Request-body compression of OTLP/HTTP exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Bodies are sent as encoded, the default: cheapest for the sending thread,
    /// right for a collector on the same host.
    #[default]
    None,
    /// `Content-Encoding: gzip` (fast level): far fewer bytes on the wire for text
    /// such as prompts and completions, for more CPU on the sending thread. The
    /// request size limit ([`BatchConfig::max_request_bytes`]) applies before compression.
    Gzip,
}

impl Compression {
    fn parse(setting: &str, s: &str) -> Result<Self, ConfigError> {
        match s.trim() {
            "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            _ => Err(ConfigError::new(setting, s, "expected gzip or none")),
        }
    }
}

/// Settings of one OTLP/HTTP exporter.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    pub(crate) traces_url: String,
    pub(crate) protocol: Protocol,
    pub(crate) compression: Compression,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
}

impl OtlpConfig {
    /// An exporter to a collector's base endpoint, e.g. `http://localhost:4318`;
    /// spans go to `{endpoint}/v1/traces` (as `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn new(endpoint: impl AsRef<str>) -> Self {
        let base = endpoint.as_ref().trim_end_matches('/');
        Self::traces_url(format!("{base}/v1/traces"))
    }

    /// An exporter to this exact URL (as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn traces_url(url: impl Into<String>) -> Self {
        OtlpConfig {
            traces_url: url.into(),
            protocol: Protocol::default(),
            compression: Compression::default(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Sets the body encoding.
    pub fn protocol(mut self, p: Protocol) -> Self {
        self.protocol = p;
        self
    }

    /// Sets the request-body compression (default none).
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }

    /// Adds an HTTP header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the timeout of one request (connect + send + response), default 10 s.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The URL spans are posted to.
    pub fn url(&self) -> &str {
        &self.traces_url
    }
}

/// A user function run on the export thread over every finished span, before it is
/// encoded: redact or rename attributes, or return `false` to drop the span (counted
/// as `spans_filtered` in [`Stats`](crate::Stats)).
pub type Formatter = Arc<dyn Fn(&mut SpanData) -> bool + Send + Sync>;

/// Queueing and batching settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    /// Spans that may wait for export; when full, new spans are dropped and counted.
    pub max_queue_size: usize,
    /// Spans per export request.
    pub max_export_batch_size: usize,
    /// Longest a span waits before its batch is sent.
    pub scheduled_delay: Duration,
    /// Largest request body in bytes; larger batches are split.
    pub max_request_bytes: usize,
    /// Requests in flight at once, when every exporter is a network exporter (OTLP,
    /// AgentOps): each has its own connection, so one batch is serialized while
    /// another is on the wire. Other exporters (file, console, custom…) see one
    /// batch at a time. Default 2 (env `OTEL_BSP_MAX_CONCURRENT_EXPORTS`).
    pub max_concurrent_exports: usize,
    /// Nice value (0..=19) of the export and sending threads, on Linux: with the
    /// CPU busy, the application's threads run first and telemetry takes what is
    /// left, so recording stays cheap. 0 gives them the application's priority
    /// (for a program whose threads keep every core busy all the time, where the
    /// queue would otherwise fill and drop). Ignored elsewhere. Default 10 (env
    /// `AGENTOPS_EXPORT_THREAD_NICE`).
    pub export_thread_nice: u8,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_secs(1),
            max_request_bytes: 4 * 1024 * 1024,
            max_concurrent_exports: 2,
            export_thread_nice: 10,
        }
    }
}

pub(crate) enum ExporterSpec {
    Otlp(OtlpConfig),
    AgentOps(AgentOpsConfig),
    File(PathBuf),
    Console(ConsoleMode),
    Memory(InMemoryExporter),
    Custom(Box<dyn Exporter>),
}

impl ExporterSpec {
    /// A second instance of a network exporter, for a concurrent sending lane;
    /// `None` for exporters that must see every batch themselves.
    pub(crate) fn replica(&self) -> Option<ExporterSpec> {
        match self {
            ExporterSpec::Otlp(o) => Some(ExporterSpec::Otlp(o.clone())),
            ExporterSpec::AgentOps(a) if a.protocol == AgentOpsProtocol::Otlp => {
                Some(ExporterSpec::AgentOps(a.clone()))
            }
            _ => None,
        }
    }
}

impl fmt::Debug for ExporterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExporterSpec::Otlp(c) => f.debug_tuple("Otlp").field(c).finish(),
            ExporterSpec::AgentOps(c) => f.debug_tuple("AgentOps").field(c).finish(),
            ExporterSpec::File(p) => f.debug_tuple("File").field(p).finish(),
            ExporterSpec::Console(m) => f.debug_tuple("Console").field(m).finish(),
            ExporterSpec::Memory(_) => f.write_str("Memory"),
            ExporterSpec::Custom(e) => f.debug_tuple("Custom").field(&e.name()).finish(),
        }
    }
}

/// The file the embedded default writes OTLP JSON lines to.
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
    pub(crate) formatters: Vec<Formatter>,
    pub(crate) capture_content: bool,
    pub(crate) max_value_len: usize,
    pub(crate) batch: BatchConfig,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) disabled: bool,
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
            .field("formatters", &self.formatters.len())
            .field("capture_content", &self.capture_content)
            .field("max_value_len", &self.max_value_len)
            .field("batch", &self.batch)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl OtelConfig {
    /// A builder with the defaults and no environment.
    pub fn builder() -> OtelConfigBuilder {
        OtelConfigBuilder::default()
    }

    /// Defaults overridden by the environment (see the README's table).
    pub fn from_env() -> Result<OtelConfig, ConfigError> {
        OtelConfigBuilder::from_env()?.build()
    }

    /// The configured service name.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Whether telemetry is off (`OTEL_SDK_DISABLED=true` or [`OtelConfigBuilder::disabled`]).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }
}

/// Builder for [`OtelConfig`].
pub struct OtelConfigBuilder {
    service_name: Option<String>,
    service_version: Option<String>,
    environment: Option<String>,
    resource_attributes: Vec<(String, String)>,
    exporters: Vec<ExporterSpec>,
    env_exporters: Vec<ExporterSpec>,
    sample_ratio: f64,
    retry: RetryPolicy,
    formatters: Vec<Formatter>,
    capture_content: bool,
    max_value_len: usize,
    batch: BatchConfig,
    shutdown_timeout: Duration,
    disabled: bool,
    traces_file: Option<PathBuf>,
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
            formatters: Vec::new(),
            capture_content: true,
            max_value_len: 64 * 1024,
            batch: BatchConfig::default(),
            shutdown_timeout: Duration::from_secs(5),
            disabled: false,
            traces_file: None,
        }
    }
}

/// `Ok` when `ok`, else a [`ConfigError`] naming the setting and the value.
pub(crate) fn ensure(
    ok: bool,
    setting: &str,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(setting, value.to_string(), reason))
    }
}

/// A duration setting must be at least 1 ms and at most `max`.
pub(crate) fn ensure_duration(setting: &str, d: Duration, max: Duration) -> Result<(), ConfigError> {
    let ok = d >= Duration::from_millis(1) && d <= max;
    ensure(ok, setting, format!("{d:?}"), format!("must be within 1ms..={max:?}"))
}

/// The timeout of one HTTP request.
pub(crate) fn validate_timeout(setting: &str, d: Duration) -> Result<(), ConfigError> {
    ensure_duration(setting, d, Duration::from_secs(600))
}

pub(crate) fn parse_bool(setting: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(setting, v, "expected true or false")),
    }
}

fn parse_num<T: std::str::FromStr>(setting: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::new(setting, v, "expected a non-negative whole number"))
}

fn percent_decode(setting: &str, s: &str) -> Result<String, ConfigError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConfigError::new(setting, s, "bad percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ConfigError::new(setting, s, "not UTF-8 after decoding"))
}

/// Parses the W3C-baggage-like `k1=v1,k2=v2` lists used by
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn parse_key_values(setting: &str, v: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, val) = item.split_once('=').ok_or_else(|| ConfigError::new(setting, item, "expected key=value"))?;
        let k = percent_decode(setting, k.trim())?;
        if k.is_empty() {
            return Err(ConfigError::new(setting, item, "empty key"));
        }
        out.push((k, percent_decode(setting, val.trim())?));
    }
    Ok(out)
}

/// Checks that `url` is an absolute http(s) URL with a host.
pub(crate) fn validate_url(setting: &str, url: &str) -> Result<(), ConfigError> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| ConfigError::new(setting, url, format!("not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(ConfigError::new(setting, url, "must start with http:// or https://")),
    }
    if uri.host().map_or(true, str::is_empty) {
        return Err(ConfigError::new(setting, url, "has no host"));
    }
    Ok(())
}

fn validate_header(setting: &str, name: &str, value: &str) -> Result<(), ConfigError> {
    ureq::http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::new(setting, name, "not a valid HTTP header name"))?;
    ureq::http::HeaderValue::from_str(value)
        .map_err(|_| ConfigError::new(setting, format!("{name}=…"), "header value has characters HTTP forbids"))?;
    Ok(())
}

impl OtelConfigBuilder {
    /// Defaults, then every environment variable this crate reads.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (for tests and for programs that keep their settings elsewhere).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut b = OtelConfigBuilder::default();
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());

        if let Some(v) = get("OTEL_SDK_DISABLED") {
            b.disabled = parse_bool("OTEL_SDK_DISABLED", &v)?;
        }
        if let Some(v) = get("OTEL_RESOURCE_ATTRIBUTES") {
            for (k, val) in parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &v)? {
                match k.as_str() {
                    "service.name" => b.service_name = Some(val),
                    "service.version" => b.service_version = Some(val),
                    "deployment.environment.name" | "deployment.environment" => b.environment = Some(val),
                    _ => b.resource_attributes.push((k, val)),
                }
            }
        }
        if let Some(v) = get("OTEL_SERVICE_NAME") {
            b.service_name = Some(v);
        }

        // The signal-specific variable wins over the general one.
        let protocol = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]
            .into_iter()
            .find_map(|var| get(var).map(|v| Protocol::parse(var, &v)))
            .transpose()?;
        let compression = ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"]
            .into_iter()
            .find_map(|var| get(var).map(|v| Compression::parse(var, &v)))
            .transpose()?;
        let otlp = if let Some(url) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            validate_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)?;
            Some(OtlpConfig::traces_url(url))
        } else if let Some(base) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            validate_url("OTEL_EXPORTER_OTLP_ENDPOINT", &base)?;
            Some(OtlpConfig::new(base))
        } else {
            None
        };
        if let Some(mut otlp) = otlp {
            if let Some(p) = protocol {
                otlp.protocol = p;
            }
            if let Some(c) = compression {
                otlp.compression = c;
            }
            for var in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
                if let Some(v) = get(var) {
                    for (k, val) in parse_key_values(var, &v)? {
                        validate_header(var, &k, &val)?;
                        otlp.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
                        otlp.headers.push((k, val));
                    }
                }
            }
            for var in ["OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] {
                if let Some(v) = get(var) {
                    otlp.timeout = Duration::from_millis(parse_num(var, &v)?);
                }
            }
            b.env_exporters.push(ExporterSpec::Otlp(otlp));
        }

        if let Some(v) = get("OTEL_TRACES_SAMPLER") {
            let arg = get("OTEL_TRACES_SAMPLER_ARG");
            let ratio = |default: f64| -> Result<f64, ConfigError> {
                match &arg {
                    None => Ok(default),
                    Some(a) => a
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| ConfigError::new("OTEL_TRACES_SAMPLER_ARG", a, "expected a number in 0..=1")),
                }
            };
            b.sample_ratio = match v.trim() {
                "always_on" | "parentbased_always_on" => 1.0,
                "always_off" | "parentbased_always_off" => 0.0,
                "traceidratio" | "parentbased_traceidratio" => ratio(1.0)?,
                other => {
                    return Err(ConfigError::new(
                        "OTEL_TRACES_SAMPLER",
                        other,
                        "supported: always_on, always_off, traceidratio and their parentbased_ forms",
                    ))
                }
            };
        }

        let ms = |var: &str| -> Result<Option<Duration>, ConfigError> {
            get(var).map(|v| parse_num::<u64>(var, &v).map(Duration::from_millis)).transpose()
        };
        if let Some(v) = get("OTEL_BSP_MAX_QUEUE_SIZE") {
            b.batch.max_queue_size = parse_num("OTEL_BSP_MAX_QUEUE_SIZE", &v)?;
        }
        if let Some(v) = get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            b.batch.max_export_batch_size = parse_num("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &v)?;
        }
        if let Some(d) = ms("OTEL_BSP_SCHEDULE_DELAY")? {
            b.batch.scheduled_delay = d;
        }
        if let Some(v) = get("OTEL_BSP_MAX_CONCURRENT_EXPORTS") {
            b.batch.max_concurrent_exports = parse_num("OTEL_BSP_MAX_CONCURRENT_EXPORTS", &v)?;
        }
        if let Some(v) = get("AGENTOPS_EXPORT_THREAD_NICE") {
            b.batch.export_thread_nice = parse_num("AGENTOPS_EXPORT_THREAD_NICE", &v)?;
        }
        if let Some(d) = ms("OTEL_BSP_EXPORT_TIMEOUT")? {
            b.retry.max_elapsed = d;
        }
        if let Some(v) = get("AGENTOPS_CAPTURE_CONTENT") {
            b.capture_content = parse_bool("AGENTOPS_CAPTURE_CONTENT", &v)?;
        }
        if let Some(v) = get("AGENTOPS_MAX_VALUE_LENGTH") {
            b.max_value_len = parse_num("AGENTOPS_MAX_VALUE_LENGTH", &v)?;
        }
        if let Some(v) = get("AGENTOPS_TRACES_FILE") {
            b.traces_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("AGENTOPS_ENVIRONMENT") {
            b.environment = Some(v);
        }
        if let Some(a) = AgentOpsConfig::from_lookup(&get)? {
            b.env_exporters.push(ExporterSpec::AgentOps(a));
        }
        Ok(b)
    }

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
    pub fn otlp(mut self, otlp: OtlpConfig) -> Self {
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
    /// Adds a formatter (see [`Formatter`]); formatters run in the order added.
    pub fn formatter(mut self, f: impl Fn(&mut SpanData) -> bool + Send + Sync + 'static) -> Self {
        self.formatters.push(Arc::new(f));
        self
    }
    /// Records prompts, completions, params, returns and logs (default true; env
    /// `AGENTOPS_CAPTURE_CONTENT`).
    pub fn capture_content(mut self, on: bool) -> Self {
        self.capture_content = on;
        self
    }
    /// Longest string value in bytes before it is cut with a marker (default 65536;
    /// env `AGENTOPS_MAX_VALUE_LENGTH`).
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
    /// Turns telemetry off: sessions still work and summarize, nothing is exported.
    pub fn disabled(mut self, off: bool) -> Self {
        self.disabled = off;
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<OtelConfig, ConfigError> {
        let (b, ratio) = (&self.batch, self.sample_ratio);
        ensure((0.0..=1.0).contains(&ratio), "sample_ratio", ratio, "must be within 0..=1")?;
        const MAX_QUEUE: usize = 1 << 24;
        let queue = b.max_queue_size;
        ensure(
            (1..=MAX_QUEUE).contains(&queue),
            "OTEL_BSP_MAX_QUEUE_SIZE",
            queue,
            format!("must be within 1..={MAX_QUEUE}"),
        )?;
        let batch = b.max_export_batch_size;
        ensure(
            (1..=queue).contains(&batch),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            batch,
            "must be at least 1 and at most the queue size",
        )?;
        ensure_duration("OTEL_BSP_SCHEDULE_DELAY", b.scheduled_delay, Duration::from_secs(3600))?;
        let lanes = b.max_concurrent_exports;
        ensure((1..=8).contains(&lanes), "OTEL_BSP_MAX_CONCURRENT_EXPORTS", lanes, "must be within 1..=8")?;
        let nice = b.export_thread_nice;
        ensure(nice <= 19, "AGENTOPS_EXPORT_THREAD_NICE", nice, "must be within 0..=19")?;
        ensure(b.max_request_bytes >= 1024, "max_request_bytes", b.max_request_bytes, "must be at least 1024")?;
        ensure(self.max_value_len >= 16, "AGENTOPS_MAX_VALUE_LENGTH", self.max_value_len, "must be at least 16")?;
        ensure_duration("shutdown_timeout", self.shutdown_timeout, Duration::from_secs(3600))?;
        self.retry.validate()?;

        // An OTLP exporter set in code replaces the one the environment configured;
        // other exporters set in code (file, console, memory, custom) come in
        // addition. With nothing configured anywhere, the embedded default: a
        // console summary and a local OTLP JSON-lines file.
        let code_has_otlp = self.exporters.iter().any(|e| matches!(e, ExporterSpec::Otlp(_)));
        let code_has_agentops = self.exporters.iter().any(|e| matches!(e, ExporterSpec::AgentOps(_)));
        let mut exporters: Vec<ExporterSpec> = self
            .env_exporters
            .into_iter()
            .filter(|e| match e {
                ExporterSpec::Otlp(_) => !code_has_otlp,
                ExporterSpec::AgentOps(_) => !code_has_agentops,
                _ => true,
            })
            .collect();
        exporters.extend(self.exporters);
        if exporters.is_empty() {
            exporters.push(ExporterSpec::Console(ConsoleMode::Summary));
            exporters.push(ExporterSpec::File(self.traces_file.unwrap_or_else(|| PathBuf::from(DEFAULT_TRACES_FILE))));
        }
        for e in &exporters {
            if let ExporterSpec::AgentOps(a) = e {
                a.validate()?;
            }
            if let ExporterSpec::Otlp(o) = e {
                validate_url("otlp endpoint", &o.traces_url)?;
                for (k, v) in &o.headers {
                    validate_header("otlp header", k, v)?;
                }
                validate_timeout("OTEL_EXPORTER_OTLP_TIMEOUT", o.timeout)?;
            }
        }
        Ok(OtelConfig {
            service_name: self.service_name.unwrap_or_else(|| "agentops-app".to_owned()),
            service_version: self.service_version,
            environment: self.environment,
            resource_attributes: self.resource_attributes,
            exporters,
            sample_ratio: self.sample_ratio,
            retry: self.retry,
            formatters: self.formatters,
            capture_content: self.capture_content,
            max_value_len: self.max_value_len,
            batch: self.batch,
            shutdown_timeout: self.shutdown_timeout,
            disabled: self.disabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<OtelConfig, ConfigError> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        OtelConfigBuilder::from_lookup(|k| m.get(k).cloned())?.build()
    }

    fn otlp(c: &OtelConfig) -> &OtlpConfig {
        c.exporters
            .iter()
            .find_map(|e| match e {
                ExporterSpec::Otlp(o) => Some(o),
                _ => None,
            })
            .expect("an OTLP exporter")
    }

    #[test]
    fn defaults_are_console_and_file() {
        let c = env(&[]).unwrap();
        assert_eq!(c.service_name, "agentops-app");
        assert_eq!(c.exporters.len(), 2);
        assert!(matches!(c.exporters[0], ExporterSpec::Console(ConsoleMode::Summary)));
        assert!(matches!(&c.exporters[1], ExporterSpec::File(p) if p == &PathBuf::from(DEFAULT_TRACES_FILE)));
        assert_eq!(c.batch, BatchConfig::default());
    }

    #[test]
    fn otlp_env_vars() {
        let c = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc%20def, x-team = ml"),
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored,team=ml,deployment.environment.name=prod"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4096"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ])
        .unwrap();
        let o = otlp(&c);
        assert_eq!(o.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(o.protocol, Protocol::HttpJson);
        assert_eq!(o.compression, Compression::None);
        assert_eq!(o.headers, vec![("api-key".into(), "abc def".into()), ("x-team".into(), "ml".into())]);
        assert_eq!(c.service_name, "svc", "OTEL_SERVICE_NAME wins over the resource list");
        assert_eq!(c.environment.as_deref(), Some("prod"));
        assert_eq!(c.resource_attributes, vec![("team".into(), "ml".into())]);
        assert_eq!(c.sample_ratio, 0.25);
        assert_eq!(c.batch.max_queue_size, 4096);
        assert_eq!(c.batch.max_export_batch_size, 128);
        assert_eq!(c.batch.scheduled_delay, Duration::from_millis(250));
    }

    #[test]
    fn compression_from_env_signal_specific_first() {
        let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h");
        let c = env(&[base, ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")]).unwrap();
        assert_eq!(otlp(&c).compression, Compression::Gzip);
        let c =
            env(&[base, ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"), ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none")])
                .unwrap();
        assert_eq!(otlp(&c).compression, Compression::None);
        let err = env(&[base, ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")]).unwrap_err();
        assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION");
        assert!(err.to_string().contains("gzip or none"), "{err}");
    }

    #[test]
    fn traces_endpoint_is_used_as_is_and_code_wins() {
        let c = env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://x.example/custom")]).unwrap();
        assert_eq!(otlp(&c).traces_url, "https://x.example/custom");
        assert_eq!(otlp(&c).protocol, Protocol::HttpProtobuf);

        let m: HashMap<&str, &str> = [("OTEL_SERVICE_NAME", "from-env")].into();
        let c = OtelConfigBuilder::from_lookup(|k| m.get(k).map(|v| v.to_string()))
            .unwrap()
            .service_name("from-code")
            .build()
            .unwrap();
        assert_eq!(c.service_name, "from-code");
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")], "OTEL_EXPORTER_OTLP_ENDPOINT"),
            (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://h")], "OTEL_EXPORTER_OTLP_ENDPOINT"),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_EXPORTER_OTLP_HEADERS", "bad key=v")],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_EXPORTER_OTLP_HEADERS", "k=%zz")],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            (&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.5")], "sample_ratio"),
            (&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "x")], "OTEL_TRACES_SAMPLER_ARG"),
            (&[("OTEL_TRACES_SAMPLER", "jaeger_remote")], "OTEL_TRACES_SAMPLER"),
            (&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")], "OTEL_BSP_MAX_QUEUE_SIZE"),
            (&[("OTEL_BSP_MAX_QUEUE_SIZE", "-5")], "OTEL_BSP_MAX_QUEUE_SIZE"),
            (&[("OTEL_BSP_MAX_QUEUE_SIZE", "999999999999")], "OTEL_BSP_MAX_QUEUE_SIZE"),
            (
                &[("OTEL_BSP_MAX_QUEUE_SIZE", "10"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20")],
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            ),
            (&[("OTEL_BSP_SCHEDULE_DELAY", "0")], "OTEL_BSP_SCHEDULE_DELAY"),
            (&[("OTEL_SDK_DISABLED", "maybe")], "OTEL_SDK_DISABLED"),
            (&[("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "0")], "OTEL_BSP_MAX_CONCURRENT_EXPORTS"),
            (&[("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "64")], "OTEL_BSP_MAX_CONCURRENT_EXPORTS"),
            (&[("AGENTOPS_MAX_VALUE_LENGTH", "3")], "AGENTOPS_MAX_VALUE_LENGTH"),
            (&[("AGENTOPS_EXPORT_THREAD_NICE", "20")], "AGENTOPS_EXPORT_THREAD_NICE"),
            (&[("AGENTOPS_EXPORT_THREAD_NICE", "-5")], "AGENTOPS_EXPORT_THREAD_NICE"),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "0")],
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ),
        ];
        for (vars, setting) in cases {
            let err = env(vars).expect_err(&format!("{vars:?} should be rejected"));
            assert_eq!(&err.setting, setting, "{vars:?} -> {err}");
            assert!(err.to_string().contains(setting));
        }
    }

    #[test]
    fn code_otlp_replaces_env_otlp_and_other_exporters_add_up() {
        let m: HashMap<&str, &str> = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")].into();
        let lookup = |k: &str| m.get(k).map(|v| v.to_string());
        let c = OtelConfigBuilder::from_lookup(lookup).unwrap().console(ConsoleMode::Tree).build().unwrap();
        assert_eq!(c.exporters.len(), 2);
        assert_eq!(otlp(&c).traces_url, "http://env:4318/v1/traces");
        let c =
            OtelConfigBuilder::from_lookup(lookup).unwrap().otlp(OtlpConfig::new("http://code:4318")).build().unwrap();
        assert_eq!(c.exporters.len(), 1);
        assert_eq!(otlp(&c).traces_url, "http://code:4318/v1/traces");
    }

    #[test]
    fn disabled_flag() {
        assert!(env(&[("OTEL_SDK_DISABLED", "true")]).unwrap().disabled);
        assert!(!env(&[("OTEL_SDK_DISABLED", "false")]).unwrap().disabled);
    }
}
