//! `OtlpExporter`: OTLP/HTTP to any OpenTelemetry collector, protobuf or JSON,
//! encoded with opentelemetry-proto's types. One type for both signals: the
//! pipeline's exporter posts spans to the traces endpoint, the metrics thread's own
//! instance posts metrics to the metrics endpoint, with the same client code, retry
//! loop and deadline.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use super::otlp_body::{export_encoded, export_metrics_request, export_request};
use crate::config::otlp::{Compression, Endpoint, OtlpExporterConfig};
use crate::error::config::ConfigError;
use crate::error::export::ExportError;
use crate::error::Error;
use crate::export::batch::ExportBatch;
use crate::export::context::ExportContext;
use crate::export::exporter::{ExportOutcome, Exporter};
use crate::export::metrics::{MetricsExporter, MetricsOutcome};
use crate::transport::gzip::Gzip;
use crate::transport::http::{write_buffer_for, ClientSettings, HttpClient, Transports, SMALL_WRITE_BUFFER};
use crate::transport::outcome::Response;
use crate::transport::retry::send_with_retry;

/// Sends batches to `{endpoint}/v1/traces` over OTLP/HTTP with retry and backoff.
#[derive(Debug)]
pub struct OtlpExporter {
    endpoint: Endpoint,
    http: HttpClient,
    max_request_bytes: usize,
    /// The last request's body, kept for its allocation.
    buf: Vec<u8>,
    gzip: Option<Gzip>,
}

impl OtlpExporter {
    /// An exporter of spans for the given settings, with a connection pool of its
    /// own; requests above `max_request_bytes` are split.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is invalid, TLS files included
    /// (they are read and checked here).
    pub fn new(config: OtlpExporterConfig, max_request_bytes: usize) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self::with_transports(config, max_request_bytes, &Transports::default())?)
    }

    /// Like [`new`](Self::new), with the pipeline's clients (one pool per destination).
    pub(crate) fn with_transports(
        config: OtlpExporterConfig,
        max_request_bytes: usize,
        transports: &Transports,
    ) -> Result<Self, ConfigError> {
        let endpoint = config.traces.or(config.metrics).unwrap_or_else(|| Endpoint::new(String::new()));
        Self::to(endpoint, max_request_bytes, write_buffer_for(max_request_bytes), transports)
    }

    /// The metrics thread's exporter, to a metrics endpoint (metrics requests are
    /// not split: see `export_metrics_request`).
    pub(crate) fn for_metrics(endpoint: Endpoint, transports: &Transports) -> Result<Self, ConfigError> {
        Self::to(endpoint, usize::MAX, SMALL_WRITE_BUFFER, transports)
    }

    fn to(
        endpoint: Endpoint,
        max_request_bytes: usize,
        write_buffer: usize,
        transports: &Transports,
    ) -> Result<Self, ConfigError> {
        let gzip = (endpoint.compression == Compression::Gzip).then(Gzip::new);
        let e = &endpoint;
        let http = transports.client(ClientSettings::new(e.timeout, &e.url, &e.proxy, &e.tls, write_buffer))?;
        Ok(OtlpExporter { http, endpoint, max_request_bytes, buf: Vec::new(), gzip })
    }

    /// One body to the endpoint, retried per the policy.
    fn post(
        http: &HttpClient,
        e: &Endpoint,
        body: &[u8],
        encoding: Option<&str>,
        cx: &ExportContext<'_>,
    ) -> Result<Response, ExportError> {
        send_with_retry(cx, |deadline| {
            cx.count_request(body.len());
            http.post(&e.url, &e.headers, e.protocol.content_type(), encoding, body, deadline)
        })
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
        let (http, e) = (&self.http, &self.endpoint);
        // Written directly in this encoding: sent as it is, unless it must be split.
        if let Some(body) = batch.wire(e.protocol).filter(|b| b.len() <= self.max_request_bytes) {
            return export_encoded(body, batch.len(), e.protocol, self.gzip.as_mut(), |body, enc| {
                Self::post(http, e, body, enc, cx)
            });
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = export_request(
            batch.to_otlp(),
            e.protocol,
            self.max_request_bytes,
            &mut buf,
            self.gzip.as_mut(),
            |body, enc| Self::post(http, e, body, enc, cx),
        );
        self.buf = buf;
        result
    }
}

impl MetricsExporter for OtlpExporter {
    fn name(&self) -> &str {
        "otlp"
    }

    fn export_metrics(
        &mut self,
        req: &ExportMetricsServiceRequest,
        cx: &ExportContext<'_>,
    ) -> Result<MetricsOutcome, ExportError> {
        let (http, e) = (&self.http, &self.endpoint);
        export_metrics_request(req, e.protocol, &mut self.buf, self.gzip.as_mut(), |body, enc| {
            Self::post(http, e, body, enc, cx)
        })
    }
}
