//! Settings of an OTLP/HTTP exporter: endpoint, body encoding, compression,
//! headers, timeout.

use std::path::PathBuf;
use std::time::Duration;

use super::tls::TlsFiles;
use super::validate::{validate_header, validate_timeout, validate_url};
use crate::config::proxy::ProxySetting;
use crate::encode::protocol::Protocol;
use crate::error::config::ConfigError;

/// Reads `OTEL_EXPORTER_OTLP_PROTOCOL` (and its per-signal forms).
pub(crate) fn parse_protocol(setting: &str, s: &str) -> Result<Protocol, ConfigError> {
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

/// Request-body compression of OTLP/HTTP exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Bodies are sent as encoded, the default: cheapest for the sending thread,
    /// right for a collector on the same host.
    #[default]
    None,
    /// `Content-Encoding: gzip` (fast level): far fewer bytes on the wire for text
    /// such as prompts and completions, for more CPU on the sending thread. The
    /// request size limit ([`BatchConfig::max_request_bytes`](crate::BatchConfig::max_request_bytes))
    /// applies before compression.
    Gzip,
}

impl Compression {
    pub(crate) fn parse(setting: &str, s: &str) -> Result<Self, ConfigError> {
        match s.trim() {
            "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            _ => Err(ConfigError::new(setting, s, "expected gzip or none")),
        }
    }
}

/// Where one signal (traces or metrics) goes, and how its requests are made.
#[derive(Clone, PartialEq)]
pub(crate) struct Endpoint {
    pub url: String,
    pub protocol: Protocol,
    pub compression: Compression,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub proxy: ProxySetting,
    pub tls: TlsFiles,
}

/// Without secrets: the URL without its userinfo, the headers' names only.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Endpoint")
            .field("url", &crate::util::redact::url(&self.url))
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("proxy", &self.proxy)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Endpoint {
    pub(crate) fn new(url: String) -> Self {
        Endpoint {
            url,
            protocol: Protocol::default(),
            compression: Compression::default(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            proxy: ProxySetting::default(),
            tls: TlsFiles::default(),
        }
    }

    fn validate(&self, url_setting: &str) -> Result<(), ConfigError> {
        validate_url(url_setting, &self.url)?;
        for (k, v) in &self.headers {
            validate_header("OtlpExporterConfig::header", k, v)?;
        }
        validate_timeout("OtlpExporterConfig::timeout", self.timeout)?;
        validate_proxy("OtlpExporterConfig::proxy", &self.proxy)?;
        self.tls.validate()
    }
}

/// A proxy set in code must be one ureq can use.
pub(crate) fn validate_proxy(setting: &str, proxy: &ProxySetting) -> Result<(), ConfigError> {
    match proxy {
        ProxySetting::Url(u) => {
            let redacted = crate::util::redact::url(u);
            ureq::Proxy::new(u)
                .map(drop)
                .map_err(|e| ConfigError::new(setting, &redacted, e.to_string().replace(u, &redacted)))
        }
        _ => Ok(()),
    }
}

/// Settings of one OTLP/HTTP exporter: where spans go (`{endpoint}/v1/traces`) and,
/// when metrics are on, where metrics go (`{endpoint}/v1/metrics`). Protocol,
/// compression, headers and timeout set here apply to both.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct OtlpExporterConfig {
    /// `None` only when the environment names a metrics endpoint and no traces one.
    pub(crate) traces: Option<Endpoint>,
    pub(crate) metrics: Option<Endpoint>,
}

impl OtlpExporterConfig {
    /// An exporter to a collector's base endpoint, e.g. `http://localhost:4318`;
    /// spans go to `{endpoint}/v1/traces` and metrics to `{endpoint}/v1/metrics` (as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn new(endpoint: impl AsRef<str>) -> Self {
        let base = endpoint.as_ref().trim_end_matches('/');
        OtlpExporterConfig {
            traces: Some(Endpoint::new(format!("{base}/v1/traces"))),
            metrics: Some(Endpoint::new(format!("{base}/v1/metrics"))),
        }
    }

    /// An exporter of spans to this exact URL (as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`);
    /// it sends no metrics unless [`with_metrics_url`](Self::with_metrics_url) says where.
    pub fn traces_url(url: impl Into<String>) -> Self {
        OtlpExporterConfig { traces: Some(Endpoint::new(url.into())), metrics: None }
    }

    /// Sends metrics to this exact URL (as `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`),
    /// with the same protocol, compression, headers and timeout as the spans.
    pub fn with_metrics_url(mut self, url: impl Into<String>) -> Self {
        let mut metrics = self.traces.clone().unwrap_or_else(|| Endpoint::new(String::new()));
        metrics.url = url.into();
        self.metrics = Some(metrics);
        self
    }

    fn each(mut self, f: impl Fn(&mut Endpoint)) -> Self {
        self.traces.iter_mut().chain(self.metrics.iter_mut()).for_each(f);
        self
    }

    /// Sets the body encoding.
    pub fn protocol(self, p: Protocol) -> Self {
        self.each(|e| e.protocol = p)
    }

    /// Sets the request-body compression (default none).
    pub fn compression(self, c: Compression) -> Self {
        self.each(|e| e.compression = c)
    }

    /// Adds an HTTP header sent with every request.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.each(|e| e.headers.push((name.clone(), value.clone())))
    }

    /// Sets the timeout of one request (connect + send + response), default 10 s.
    pub fn timeout(self, t: Duration) -> Self {
        self.each(|e| e.timeout = t)
    }

    /// Sends requests through this proxy (`http://[user:password@]host:port`,
    /// `https://…` or `socks5://…`) instead of the one `HTTPS_PROXY` / `HTTP_PROXY` /
    /// `ALL_PROXY` name; `NO_PROXY` still applies (see the crate docs' "Proxies").
    pub fn proxy(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.each(|e| e.proxy = ProxySetting::Url(url.clone()))
    }

    /// Connects directly, whatever the proxy variables say.
    pub fn no_proxy(self) -> Self {
        self.each(|e| e.proxy = ProxySetting::Direct)
    }

    /// Trusts the CAs of this PEM bundle to verify the endpoint's certificate,
    /// instead of the public web roots (as `OTEL_EXPORTER_OTLP_CERTIFICATE`). Read
    /// when the configuration is built.
    pub fn ca_certificate(self, pem_path: impl Into<PathBuf>) -> Self {
        let path = pem_path.into();
        self.each(|e| e.tls.ca = Some(("OtlpExporterConfig::ca_certificate".into(), path.clone())))
    }

    /// Authenticates with this client certificate (PEM, its chain) and private key
    /// (PEM): mutual TLS (as `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`). Read when the configuration is built.
    pub fn client_certificate(self, cert_pem: impl Into<PathBuf>, key_pem: impl Into<PathBuf>) -> Self {
        let (cert, key) = (cert_pem.into(), key_pem.into());
        self.each(|e| {
            let setting = "OtlpExporterConfig::client_certificate".to_owned();
            e.tls.client = Some(((setting.clone(), cert.clone()), (setting, key.clone())));
        })
    }

    /// The URL spans are posted to (`None` for an exporter of metrics only, which only
    /// the environment can ask for).
    pub fn url(&self) -> Option<&str> {
        self.traces.as_ref().map(|e| e.url.as_str())
    }

    /// The URL metrics are posted to, if this exporter sends metrics.
    pub fn metrics_url(&self) -> Option<&str> {
        self.metrics.as_ref().map(|e| e.url.as_str())
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(t) = &self.traces {
            t.validate("OtlpExporterConfig::traces_url")?;
        }
        if let Some(m) = &self.metrics {
            m.validate("OtlpExporterConfig::with_metrics_url")?;
        }
        Ok(())
    }
}
