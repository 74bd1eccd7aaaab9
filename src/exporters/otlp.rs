//! `OtlpExporter`: OTLP/HTTP to any OpenTelemetry collector, protobuf or JSON,
//! encoded with opentelemetry-proto's types.

use super::batch::ExportBatch;
use super::interface::{ExportContext, ExportError, ExportOutcome, Exporter};
use super::otlp_body::export_request;
use crate::config::otlp::{Compression, OtlpConfig};
use crate::transport::gzip::Gzip;
use crate::transport::http::HttpClient;
use crate::transport::retry::send_with_retry;

/// Sends batches to `{endpoint}/v1/traces` over OTLP/HTTP with retry and backoff.
#[derive(Debug)]
pub struct OtlpExporter {
    config: OtlpConfig,
    http: HttpClient,
    max_request_bytes: usize,
    /// The last request's body, kept for its allocation.
    buf: Vec<u8>,
    gzip: Option<Gzip>,
}

impl OtlpExporter {
    /// An exporter for the given settings; requests above `max_request_bytes` are split.
    pub fn new(config: OtlpConfig, max_request_bytes: usize) -> Self {
        let gzip = (config.compression == Compression::Gzip).then(Gzip::new);
        OtlpExporter { http: HttpClient::new(config.timeout), config, max_request_bytes, buf: Vec::new(), gzip }
    }
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &str {
        "otlp"
    }

    fn reads_spans(&self) -> bool {
        false
    }

    fn export(&mut self, batch: &ExportBatch, cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        let protocol = self.config.protocol;
        let mut buf = std::mem::take(&mut self.buf);
        let (http, config) = (&self.http, &self.config);
        let result = export_request(
            batch.to_otlp(),
            protocol,
            self.max_request_bytes,
            &mut buf,
            self.gzip.as_mut(),
            |body, enc| {
                send_with_retry(cx, |deadline| {
                    cx.count_request(body.len());
                    http.post(&config.traces_url, &config.headers, protocol.content_type(), enc, body, deadline)
                })
            },
        );
        self.buf = buf;
        result
    }
}
