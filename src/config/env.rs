//! Settings from the environment: the OpenTelemetry variables (`OTEL_*`) and
//! AgentOps' own (`AGENTOPS_*`). Each value is checked here, so an error names the
//! variable the user set.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use opentelemetry::trace::{SpanContext, TraceState};

use super::agentops::AgentOpsConfig;
use super::batch::BatchNames;
use super::builder::OtelConfigBuilder;
use super::exporter_spec::ExporterSpec;
use super::otlp::{parse_protocol, Compression, Endpoint, OtlpExporterConfig};
use super::parse::{parse_bool, parse_key_values, parse_num};
use super::spool::SpoolSettings;
use super::tls::TlsFiles;
use super::validate::{validate_header, validate_max_value_len, validate_ratio, validate_timeout, validate_url};
use crate::adapters::prices::table::PriceTable;
use crate::config::console::ConsoleMode;
use crate::error::config::{ensure_duration, ConfigError, MAX_DURATION};
use crate::util::propagation::parse as parse_traceparent;

impl OtelConfigBuilder {
    /// Defaults, then every environment variable this crate reads.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable whose value is invalid.
    pub fn from_env() -> Result<Self, ConfigError> {
        super::env_names::warn_unknown_in_env();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (for tests and for programs that keep their settings elsewhere).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable whose value is invalid.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut b = OtelConfigBuilder::default();
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());

        if let Some(v) = get("OTEL_SDK_DISABLED") {
            b.disabled = parse_bool("OTEL_SDK_DISABLED", &v)?;
        }
        if let Some(v) = get("OTEL_RESOURCE_ATTRIBUTES") {
            for (k, val) in parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &v, false)? {
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
        let traces = get("OTEL_TRACES_EXPORTER").map(|v| traces_exporters(&v)).transpose()?;
        if let Some(mut otlp) = otlp_from_env(&get)? {
            if traces.is_some_and(|t| !t.otlp) {
                otlp.traces = None; // metrics only, when the environment names a metrics endpoint
            }
            if otlp.traces.is_some() || otlp.metrics.is_some() {
                b.env_exporters.push(ExporterSpec::Otlp(otlp));
            }
        }
        if traces.is_some_and(|t| t.console) {
            b.env_exporters.push(ExporterSpec::Console(ConsoleMode::Tree));
        }
        if let Some(v) = get("OTEL_TRACES_SAMPLER") {
            b.sample_ratio = sampler_ratio(&v, get("OTEL_TRACES_SAMPLER_ARG"))?;
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
        b.batch.validate(&BatchNames::ENV)?;
        if let Some(d) = ms("OTEL_BSP_EXPORT_TIMEOUT")? {
            ensure_duration("OTEL_BSP_EXPORT_TIMEOUT", d, MAX_DURATION)?;
            b.retry.max_elapsed = d;
        }
        if let Some(v) = get("AGENTOPS_CAPTURE_CONTENT") {
            b.capture_content = parse_bool("AGENTOPS_CAPTURE_CONTENT", &v)?;
        }
        if let Some(v) = get("AGENTOPS_MAX_VALUE_LENGTH") {
            b.max_value_len = parse_num("AGENTOPS_MAX_VALUE_LENGTH", &v)?;
            validate_max_value_len("AGENTOPS_MAX_VALUE_LENGTH", b.max_value_len)?;
        }
        if let Some(v) = get("AGENTOPS_TRACES_FILE") {
            b.default_file = (!is_off(&v)).then(|| PathBuf::from(v));
        }
        if let Some(v) = get("AGENTOPS_CONSOLE") {
            b.default_console = match v.trim().to_ascii_lowercase().as_str() {
                "summary" => Some(ConsoleMode::Summary),
                "tree" => Some(ConsoleMode::Tree),
                s if is_off(s) => None,
                _ => return Err(ConfigError::new("AGENTOPS_CONSOLE", v, "expected summary, tree or off")),
            };
        }
        if let Some(path) = get("AGENTOPS_PRICE_TABLE") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::new("AGENTOPS_PRICE_TABLE", &path, format!("cannot be read: {e}")))?;
            b.prices = PriceTable::with_litellm_json(&text)
                .map_err(|why| ConfigError::new("AGENTOPS_PRICE_TABLE", &path, why))?;
        }
        b.spool = SpoolSettings::from_env(&get)?;
        if let Some(v) = get("AGENTOPS_ENABLE_METRICS") {
            b.metrics.enabled = Some(parse_bool("AGENTOPS_ENABLE_METRICS", &v)?);
        }
        b.metrics.read_env(&get)?;
        // The proxy variables are read when each exporter's client is made; a value
        // that is no proxy URL is refused here, naming the variable.
        for var in ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
            if let Some(v) = get(var) {
                ureq::Proxy::new(&v).map_err(|e| ConfigError::new(var, &v, format!("not a proxy URL: {e}")))?;
            }
        }
        if let Some(tp) = get("TRACEPARENT") {
            // Parsed apart from the state so the error names the variable at fault.
            let sc = parse_traceparent(&tp, None).map_err(|why| ConfigError::new("TRACEPARENT", &tp, why))?;
            let state = get("TRACESTATE").unwrap_or_default();
            let sc = match state.trim() {
                "" => sc,
                s => {
                    let ts = TraceState::from_str(s).map_err(|e| ConfigError::new("TRACESTATE", s, e.to_string()))?;
                    SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), true, ts)
                }
            };
            b.parent = Some(sc);
        }
        if let Some(v) = get("AGENTOPS_ENVIRONMENT") {
            b.environment = Some(v);
        }
        if let Some(a) = AgentOpsConfig::from_lookup(&get)? {
            b.env_exporters.push(ExporterSpec::AgentOps(a));
        }
        Ok(b)
    }
}

fn is_off(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "off" | "none" | "false")
}

/// The sampling ratio `OTEL_TRACES_SAMPLER` (and its argument) ask for.
fn sampler_ratio(sampler: &str, arg: Option<String>) -> Result<f64, ConfigError> {
    const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    let ratio = |default: f64| -> Result<f64, ConfigError> {
        let Some(a) = &arg else { return Ok(default) };
        let r = a.trim().parse::<f64>().map_err(|_| ConfigError::new(ARG, a, "expected a number in 0..=1"))?;
        validate_ratio(ARG, r)?;
        Ok(r)
    };
    match sampler.trim() {
        "always_on" | "parentbased_always_on" => Ok(1.0),
        "always_off" | "parentbased_always_off" => Ok(0.0),
        "traceidratio" | "parentbased_traceidratio" => ratio(1.0),
        other => Err(ConfigError::new(
            "OTEL_TRACES_SAMPLER",
            other,
            "supported: always_on, always_off, traceidratio and their parentbased_ forms",
        )),
    }
}

/// What `OTEL_TRACES_EXPORTER` names (a comma-separated list of `otlp`, `console`,
/// or `none`).
#[derive(Debug, Clone, Copy)]
struct TracesExporters {
    otlp: bool,
    console: bool,
}

fn traces_exporters(v: &str) -> Result<TracesExporters, ConfigError> {
    let mut t = TracesExporters { otlp: false, console: false };
    for name in v.split(',').map(|s| s.trim().to_ascii_lowercase()) {
        match name.as_str() {
            "otlp" => t.otlp = true,
            "console" => t.console = true,
            "none" => {}
            _ => return Err(ConfigError::new("OTEL_TRACES_EXPORTER", v, "expected otlp, console or none")),
        }
    }
    Ok(t)
}

/// The OTLP exporter the `OTEL_EXPORTER_OTLP_*` variables describe, if any: where
/// its spans go and where its metrics go.
fn otlp_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<OtlpExporterConfig>, ConfigError> {
    let traces = signal_from_env(get, "TRACES", "/v1/traces")?;
    let metrics = signal_from_env(get, "METRICS", "/v1/metrics")?;
    Ok((traces.is_some() || metrics.is_some()).then_some(OtlpExporterConfig { traces, metrics }))
}

/// One signal's endpoint from the general variables and the signal's own
/// (`OTEL_EXPORTER_OTLP_{SIGNAL}_*`), which win. The signal's endpoint variable is
/// taken as is; the general one gets `path` appended. Every value is checked, even
/// when no endpoint is set, so a typo is reported rather than ignored.
fn signal_from_env(
    get: &dyn Fn(&str) -> Option<String>,
    signal: &str,
    path: &str,
) -> Result<Option<Endpoint>, ConfigError> {
    let var = |name: &str| format!("OTEL_EXPORTER_OTLP_{signal}_{name}");
    let specific_first = |name: &str| {
        [var(name), format!("OTEL_EXPORTER_OTLP_{name}")].into_iter().find_map(|v| get(&v).map(|value| (v, value)))
    };
    let protocol = specific_first("PROTOCOL").map(|(v, value)| parse_protocol(&v, &value)).transpose()?;
    let compression = specific_first("COMPRESSION").map(|(v, value)| Compression::parse(&v, &value)).transpose()?;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut timeout = None;
    for v in ["OTEL_EXPORTER_OTLP_HEADERS".to_owned(), var("HEADERS")] {
        if let Some(value) = get(&v) {
            for (k, val) in parse_key_values(&v, &value, true)? {
                validate_header(&v, &k, &val)?;
                headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
                headers.push((k, val));
            }
        }
    }
    for v in ["OTEL_EXPORTER_OTLP_TIMEOUT".to_owned(), var("TIMEOUT")] {
        if let Some(value) = get(&v) {
            let t = Duration::from_millis(parse_num(&v, &value)?);
            validate_timeout(&v, t)?;
            timeout = Some(t);
        }
    }
    let file = |name: &str| specific_first(name).map(|(v, value)| (v, PathBuf::from(value)));
    let tls = TlsFiles::from_vars(file("CERTIFICATE"), file("CLIENT_CERTIFICATE"), file("CLIENT_KEY"))?;
    let url = if let Some(url) = get(&var("ENDPOINT")) {
        validate_url(&var("ENDPOINT"), &url)?;
        url
    } else if let Some(base) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        validate_url("OTEL_EXPORTER_OTLP_ENDPOINT", &base)?;
        format!("{}{path}", base.trim_end_matches('/'))
    } else {
        return Ok(None);
    };
    let mut endpoint = Endpoint::new(url);
    endpoint.protocol = protocol.unwrap_or_default();
    endpoint.compression = compression.unwrap_or_default();
    endpoint.headers = headers;
    if let Some(t) = timeout {
        endpoint.timeout = t;
    }
    endpoint.tls = tls;
    Ok(Some(endpoint))
}
