//! Configuration from the environment and the builder, end to end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::batch::BatchConfig;
use super::builder::OtelConfigBuilder;
use super::exporter_spec::ExporterSpec;
use super::otel::{OtelConfig, DEFAULT_TRACES_FILE};
use super::otlp::{Compression, Endpoint, OtlpExporterConfig};
use crate::config::console::ConsoleMode;
use crate::encode::protocol::Protocol;
use crate::error::config::ConfigError;

fn env(pairs: &[(&str, &str)]) -> Result<OtelConfig, ConfigError> {
    let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    OtelConfigBuilder::from_lookup(|k| m.get(k).cloned())?.build()
}

fn otlp_config(c: &OtelConfig) -> &OtlpExporterConfig {
    c.exporters
        .iter()
        .find_map(|e| match e {
            ExporterSpec::Otlp(o) => Some(o),
            _ => None,
        })
        .expect("an OTLP exporter")
}

/// Where the OTLP exporter sends spans.
fn otlp(c: &OtelConfig) -> &Endpoint {
    otlp_config(c).traces.as_ref().expect("a traces endpoint")
}

/// Where the OTLP exporter sends metrics.
fn otlp_metrics(c: &OtelConfig) -> Option<&Endpoint> {
    otlp_config(c).metrics.as_ref()
}

/// Issue #30, a library's manners: nothing set, a client writes no file into the
/// working directory (the console summary goes to stderr).
#[test]
fn the_default_is_the_console_summary_and_no_file() {
    let c = env(&[]).unwrap();
    assert_eq!(c.service_name, "agentops-app");
    assert_eq!(c.exporter_names(), ["console"]);
    assert!(matches!(c.exporters[0], ExporterSpec::Console(ConsoleMode::Summary)));
    assert_eq!(c.batch, BatchConfig::default());
    let c = env(&[("AGENTOPS_TRACES_FILE", DEFAULT_TRACES_FILE)]).unwrap();
    assert!(matches!(&c.exporters[1], ExporterSpec::File(p) if p == &PathBuf::from(DEFAULT_TRACES_FILE)));
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
    assert_eq!(o.url, "http://collector:4318/v1/traces");
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
    let c = env(&[base, ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"), ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none")])
        .unwrap();
    assert_eq!(otlp(&c).compression, Compression::None);
    let err = env(&[base, ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")]).unwrap_err();
    assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION");
    assert!(err.to_string().contains("gzip or none"), "{err}");
}

#[test]
fn traces_endpoint_is_used_as_is_and_code_wins() {
    let c = env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://x.example/custom")]).unwrap();
    assert_eq!(otlp(&c).url, "https://x.example/custom");
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
        (&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.5")], "OTEL_TRACES_SAMPLER_ARG"),
        (&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "2")], "OTEL_TRACES_SAMPLER_ARG"),
        (&[("OTEL_BSP_EXPORT_TIMEOUT", "0")], "OTEL_BSP_EXPORT_TIMEOUT"),
        (&[("OTEL_BSP_EXPORT_TIMEOUT", "99999999999")], "OTEL_BSP_EXPORT_TIMEOUT"),
        (&[("AGENTOPS_CONSOLE", "loud")], "AGENTOPS_CONSOLE"),
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
    // Exporters set in code replace the embedded default; the environment's add up.
    let c = OtelConfigBuilder::from_lookup(lookup).unwrap().console(ConsoleMode::Tree).build().unwrap();
    assert_eq!(c.exporter_names(), ["otlp", "console"]);
    assert_eq!(otlp(&c).url, "http://env:4318/v1/traces");
    let c = OtelConfigBuilder::from_lookup(lookup)
        .unwrap()
        .otlp(OtlpExporterConfig::new("http://code:4318"))
        .build()
        .unwrap();
    assert_eq!(c.exporter_names(), ["otlp"]);
    assert_eq!(otlp(&c).url, "http://code:4318/v1/traces");
}

#[test]
fn disabled_flag() {
    assert!(env(&[("OTEL_SDK_DISABLED", "true")]).unwrap().disabled);
    assert!(!env(&[("OTEL_SDK_DISABLED", "false")]).unwrap().disabled);
}

#[test]
fn an_env_endpoint_adds_to_the_embedded_default() {
    let c = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")]).unwrap();
    assert_eq!(c.exporter_names(), ["console", "otlp"]);
    let c = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"), ("AGENTOPS_CONSOLE", "off")]).unwrap();
    assert_eq!(c.exporter_names(), ["otlp"]);
    let c = env(&[("AGENTOPS_TRACES_FILE", "off"), ("AGENTOPS_CONSOLE", "tree")]).unwrap();
    assert_eq!(c.exporter_names(), ["console"]);
    assert!(matches!(c.exporters[0], ExporterSpec::Console(ConsoleMode::Tree)));
    let c = env(&[("AGENTOPS_TRACES_FILE", "/tmp/x.jsonl")]).unwrap();
    assert!(matches!(&c.exporters[1], ExporterSpec::File(p) if p == &PathBuf::from("/tmp/x.jsonl")));
    let m: HashMap<&str, &str> = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")].into();
    let c = OtelConfigBuilder::from_lookup(|k| m.get(k).map(|v| v.to_string()))
        .unwrap()
        .default_exporters(false)
        .build()
        .unwrap();
    assert_eq!(c.exporter_names(), ["otlp"]);
}

#[test]
fn no_exporter_at_all_means_disabled() {
    let c = env(&[("AGENTOPS_TRACES_FILE", "off"), ("AGENTOPS_CONSOLE", "off")]).unwrap();
    assert!(c.exporter_names().is_empty());
    assert!(c.is_disabled());
}

#[test]
fn code_mistakes_name_the_builder_setting() {
    let err = OtelConfig::builder().sample_ratio(2.0).build().unwrap_err();
    assert_eq!(err.setting, "sample_ratio");
    let err = OtelConfig::builder().batch(BatchConfig::default().max_queue_size(0)).build().unwrap_err();
    assert_eq!(err.setting, "BatchConfig::max_queue_size");
    let err = OtelConfig::builder().otlp(OtlpExporterConfig::new("nope")).build().unwrap_err();
    assert_eq!(err.setting, "OtlpExporterConfig::traces_url");
    let err = OtelConfig::builder().shutdown_timeout(Duration::MAX).build().unwrap_err();
    assert_eq!(err.setting, "shutdown_timeout");
}

#[test]
fn a_price_file_from_the_environment_extends_the_table_and_a_bad_one_names_the_variable() {
    let dir = std::env::temp_dir().join(format!("agentops-prices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("prices.json");
    std::fs::write(&good, r#"{"house-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}"#).unwrap();
    let c = env(&[("AGENTOPS_PRICE_TABLE", good.to_str().unwrap())]).unwrap();
    assert!(c.prices.get("house-model").is_some());
    assert!(c.prices.get("gpt-4o").is_some(), "the built-in prices stay");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "[not a table]").unwrap();
    for path in [bad.to_str().unwrap(), "/nonexistent/prices.json"] {
        let err = env(&[("AGENTOPS_PRICE_TABLE", path)]).unwrap_err();
        assert_eq!((err.setting.as_str(), err.value.as_str()), ("AGENTOPS_PRICE_TABLE", path), "{err}");
    }
    let c = OtelConfig::builder()
        .model_price("house-model", crate::adapters::ModelPrice::per_million(3.0, 4.0))
        .build()
        .unwrap();
    assert_eq!(c.prices.get("house-model").unwrap().input, 3e-6);
}

#[test]
fn metrics_endpoints_follow_the_otlp_variables_signal_specific_first() {
    let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/");
    let c = env(&[
        base,
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "team=ml"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "team=metrics,x=1"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"),
    ])
    .unwrap();
    assert!(c.metrics_enabled());
    let m = otlp_metrics(&c).expect("a metrics endpoint");
    assert_eq!(m.url, "http://collector:4318/v1/metrics");
    assert_eq!(m.protocol, Protocol::HttpProtobuf);
    assert_eq!(m.compression, Compression::Gzip);
    assert_eq!(m.headers, vec![("team".into(), "metrics".into()), ("x".into(), "1".into())]);
    assert_eq!(m.timeout, Duration::from_millis(2500));
    let t = otlp(&c);
    assert_eq!((t.protocol, t.compression, t.headers.len()), (Protocol::HttpJson, Compression::None, 1));

    // The signal's own endpoint is taken as is; a traces endpoint alone sends no metrics.
    let c = env(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/custom")]).unwrap();
    assert_eq!(otlp_metrics(&c).unwrap().url, "http://m:9/custom");
    assert!(otlp_config(&c).traces.is_none() && !c.exporters[1].sends_spans());
    let c = env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9/v1/traces")]).unwrap();
    assert!(otlp_metrics(&c).is_none());

    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://x"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "-1"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "novalue"),
        ("AGENTOPS_ENABLE_METRICS", "maybe"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
    ] {
        let err = env(&[base, (var, value)]).unwrap_err();
        assert_eq!(err.setting, var, "{err}");
    }
}

#[test]
fn metrics_are_on_by_default_and_can_be_turned_off() {
    assert!(env(&[]).unwrap().metrics_enabled(), "the embedded default takes metrics (file and console)");
    assert!(!env(&[("AGENTOPS_ENABLE_METRICS", "false")]).unwrap().metrics_enabled());
    assert!(!env(&[("OTEL_METRICS_EXPORTER", "none")]).unwrap().metrics_enabled());
    assert!(!env(&[("OTEL_SDK_DISABLED", "true")]).unwrap().metrics_enabled());
    let code_wins = OtelConfigBuilder::from_lookup(|k| (k == "AGENTOPS_ENABLE_METRICS").then(|| "false".into()))
        .unwrap()
        .enable_metrics(true)
        .build()
        .unwrap();
    assert!(code_wins.metrics_enabled());
    let err = OtelConfig::builder().metric_export_interval(Duration::ZERO).build().unwrap_err();
    assert_eq!(err.setting, "metric_export_interval");
    let o = OtlpExporterConfig::new("http://c:4318/").protocol(Protocol::HttpJson);
    assert_eq!(o.metrics_url(), Some("http://c:4318/v1/metrics"));
    assert_eq!(o.metrics.as_ref().unwrap().protocol, Protocol::HttpJson, "settings apply to both signals");
    assert_eq!(OtlpExporterConfig::traces_url("http://c/t").metrics_url(), None);
    let err = OtelConfig::builder().otlp(OtlpExporterConfig::traces_url("http://c/t").with_metrics_url("x")).build();
    assert_eq!(err.unwrap_err().setting, "OtlpExporterConfig::with_metrics_url");
}

#[test]
fn otel_traces_exporter_picks_the_traces_destinations() {
    let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
    let c = env(&[base, ("OTEL_TRACES_EXPORTER", "none")]).unwrap();
    assert!(otlp_config(&c).traces.is_none(), "no spans to the collector");
    assert_eq!(otlp_metrics(&c).map(|e| e.url.as_str()), Some("http://c:4318/v1/metrics"), "its metrics still go");
    let c = env(&[base, ("OTEL_TRACES_EXPORTER", "otlp,console")]).unwrap();
    assert_eq!(otlp(&c).url, "http://c:4318/v1/traces");
    assert!(c.exporters.iter().any(|e| matches!(e, ExporterSpec::Console(ConsoleMode::Tree))));
    let c = env(&[base, ("OTEL_TRACES_EXPORTER", "none"), ("OTEL_METRICS_EXPORTER", "none")]).unwrap();
    assert!(!c.exporters.iter().any(|e| matches!(e, ExporterSpec::Otlp(o) if o.traces.is_some())), "no spans");
    assert!(!c.metrics.is_on() || !c.exporters.iter().any(|e| matches!(e, ExporterSpec::Otlp(_))), "nor metrics");
    let err = env(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
    assert_eq!((err.setting.as_str(), err.value.as_str()), ("OTEL_TRACES_EXPORTER", "zipkin"));
}
