//! Metrics settings: whether metrics are on, which kinds of destination take them,
//! how often they are collected, and their temporality.

use std::time::Duration;

use opentelemetry_sdk::metrics::Temporality;

use super::parse::parse_num;
use crate::error::config::{ensure_duration, ConfigError, MAX_DURATION};

/// The metrics part of an [`OtelConfig`](crate::OtelConfig).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricsSettings {
    /// Set by code or `AGENTOPS_ENABLE_METRICS`; unset means on wherever an exporter
    /// takes metrics.
    pub enabled: Option<bool>,
    /// `OTEL_METRICS_EXPORTER` names `otlp`: the OTLP-speaking destinations (collector,
    /// AgentOps, the JSON-lines file, in-memory) get metrics.
    pub otlp: bool,
    /// `OTEL_METRICS_EXPORTER` names `console`: the console prints a metrics line.
    pub console: bool,
    /// Time between two collections (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub interval: Duration,
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
    pub temporality: Temporality,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            enabled: None,
            otlp: true,
            console: true,
            interval: Duration::from_secs(60),
            temporality: Temporality::Cumulative,
        }
    }
}

impl MetricsSettings {
    /// Whether metrics are collected at all.
    pub fn is_on(&self) -> bool {
        self.enabled != Some(false) && (self.otlp || self.console)
    }

    pub(crate) fn validate(&self, interval_setting: &str) -> Result<(), ConfigError> {
        ensure_duration(interval_setting, self.interval, MAX_DURATION)
    }

    /// Reads the standard metrics variables (the AgentOps switch is read with the
    /// other `AGENTOPS_*` ones).
    pub(crate) fn read_env(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("OTEL_METRICS_EXPORTER") {
            self.set_exporters(&v)?;
        }
        if let Some(v) = get("OTEL_METRIC_EXPORT_INTERVAL") {
            self.interval = Duration::from_millis(parse_num("OTEL_METRIC_EXPORT_INTERVAL", &v)?);
            self.validate("OTEL_METRIC_EXPORT_INTERVAL")?;
        }
        const TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
        if let Some(v) = get(TEMPORALITY) {
            self.temporality = match v.trim().to_ascii_lowercase().as_str() {
                "cumulative" => Temporality::Cumulative,
                "delta" => Temporality::Delta,
                "lowmemory" => Temporality::LowMemory,
                _ => return Err(ConfigError::new(TEMPORALITY, v, "expected cumulative, delta or lowmemory")),
            };
        }
        Ok(())
    }

    /// `OTEL_METRICS_EXPORTER`: a comma-separated list of `otlp` and `console`, or
    /// `none`.
    fn set_exporters(&mut self, v: &str) -> Result<(), ConfigError> {
        const VAR: &str = "OTEL_METRICS_EXPORTER";
        let (mut otlp, mut console) = (false, false);
        for name in v.split(',').map(|s| s.trim().to_ascii_lowercase()) {
            match name.as_str() {
                "otlp" => otlp = true,
                "console" => console = true,
                "none" => {}
                "prometheus" => {
                    return Err(ConfigError::new(VAR, v, "prometheus needs a pull endpoint; this crate pushes OTLP"))
                }
                _ => return Err(ConfigError::new(VAR, v, "expected otlp, console or none (comma-separated)")),
            }
        }
        (self.otlp, self.console) = (otlp, console);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<MetricsSettings, ConfigError> {
        let mut m = MetricsSettings::default();
        m.read_env(&|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))?;
        Ok(m)
    }

    #[test]
    fn standard_variables_are_read_and_checked() {
        let m = read(&[
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        ])
        .unwrap();
        assert!(m.otlp && !m.console && m.is_on());
        assert_eq!(m.interval, Duration::from_millis(1500));
        assert_eq!(m.temporality, Temporality::Delta);
        assert!(!read(&[("OTEL_METRICS_EXPORTER", "none")]).unwrap().is_on());
        let both = read(&[("OTEL_METRICS_EXPORTER", "console, otlp")]).unwrap();
        assert!(both.otlp && both.console);
        for (var, value) in [
            ("OTEL_METRICS_EXPORTER", "otlp,statsd"),
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes"),
        ] {
            let err = read(&[(var, value)]).unwrap_err();
            assert_eq!(err.setting, var, "{err}");
        }
    }
}
