//! Settings of an OTLP/HTTP exporter: endpoint, body encoding, compression,
//! headers, timeout.

use std::time::Duration;

use super::validate::{validate_header, validate_timeout, validate_url, ConfigError};

/// OTLP/HTTP body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// `application/x-protobuf` (`http/protobuf`), the default.
    #[default]
    HttpProtobuf,
    /// `application/json` (`http/json`).
    HttpJson,
}

impl Protocol {
    pub(crate) fn parse(setting: &str, s: &str) -> Result<Self, ConfigError> {
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

    /// The `Content-Type` of request bodies.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "application/x-protobuf",
            Protocol::HttpJson => "application/json",
        }
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

/// Settings of one OTLP/HTTP exporter.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
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

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        validate_url("OtlpConfig::traces_url", &self.traces_url)?;
        for (k, v) in &self.headers {
            validate_header("OtlpConfig::header", k, v)?;
        }
        validate_timeout("OtlpConfig::timeout", self.timeout)
    }
}
