//! `ExportBatch`: one batch of finished spans, with its resource, and its OTLP form
//! built once for every exporter that asks.

use std::sync::Arc;
use std::sync::OnceLock;

use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use prost::Message;

use crate::encode::protocol::Protocol;
use crate::encode::request::{otlp_resource, span_count, to_otlp_request};

/// One batch of finished spans and the resource they belong to.
pub struct ExportBatch {
    spans: Vec<SpanData>,
    len: usize,
    resource: Arc<Resource>,
    resource_attrs: Arc<ResourceAttributesWithSchema>,
    otlp: OnceLock<ExportTraceServiceRequest>,
    /// The batch as request bytes (`buf[start..]`) in one encoding, when written
    /// directly.
    wire: Option<(Vec<u8>, usize, Protocol)>,
}

impl std::fmt::Debug for ExportBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportBatch").field("len", &self.len).finish()
    }
}

impl ExportBatch {
    /// A batch of `spans` from `resource`, e.g. to call an [`Exporter`](crate::exporters::Exporter)
    /// in a unit test of your own.
    pub fn new(spans: Vec<SpanData>, resource: Resource) -> Self {
        let attrs = Arc::new(ResourceAttributesWithSchema::from(&resource));
        Self::of_spans(spans, Arc::new(resource), attrs)
    }

    pub(crate) fn of_spans(
        spans: Vec<SpanData>,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        ExportBatch { len: spans.len(), spans, resource, resource_attrs, otlp: OnceLock::new(), wire: None }
    }

    /// A batch converted to OTLP up front by moving the spans; `spans()` is empty.
    pub(crate) fn moved_to_otlp(
        spans: Vec<SpanData>,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        let len = spans.len();
        let otlp = OnceLock::from(to_otlp_request(spans, &resource_attrs));
        ExportBatch { spans: Vec::new(), len, resource, resource_attrs, otlp, wire: None }
    }

    /// A batch of spans already in OTLP form, all of one instrumentation scope.
    pub(crate) fn from_otlp_spans(
        spans: Vec<OtlpSpan>,
        scope: &InstrumentationScope,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        let len = spans.len();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(otlp_resource(&resource_attrs)),
                scope_spans: vec![ScopeSpans {
                    scope: Some((scope, None).into()),
                    schema_url: scope.schema_url().unwrap_or_default().to_owned(),
                    spans,
                }],
                schema_url: resource_attrs.schema_url.clone().unwrap_or_default(),
            }],
        };
        ExportBatch { spans: Vec::new(), len, resource, resource_attrs, otlp: OnceLock::from(request), wire: None }
    }

    /// A batch of one OTLP request as it was exported before (read back from the
    /// spool). Only exporters that do not read `spans()` can take it.
    pub(crate) fn from_request(request: ExportTraceServiceRequest) -> Self {
        ExportBatch {
            spans: Vec::new(),
            len: span_count(&request),
            resource: Arc::new(Resource::builder_empty().build()),
            resource_attrs: Arc::new(ResourceAttributesWithSchema::default()),
            otlp: OnceLock::from(request),
            wire: None,
        }
    }

    /// A batch of `len` spans written directly as a request in `protocol`'s
    /// encoding, `buf[start..]` (see `encode/wire.rs`, `encode/wire_json.rs`).
    pub(crate) fn from_wire(
        buf: Vec<u8>,
        start: usize,
        protocol: Protocol,
        len: usize,
        resource: Arc<Resource>,
        resource_attrs: Arc<ResourceAttributesWithSchema>,
    ) -> Self {
        ExportBatch {
            spans: Vec::new(),
            len,
            resource,
            resource_attrs,
            otlp: OnceLock::new(),
            wire: Some((buf, start, protocol)),
        }
    }

    /// The batch's request bytes in `protocol`'s encoding, when it was written
    /// directly in that one.
    pub(crate) fn wire(&self, protocol: Protocol) -> Option<&[u8]> {
        self.wire.as_ref().filter(|w| w.2 == protocol).map(|(buf, start, _)| &buf[*start..])
    }

    /// The direct path's buffer, to be written into again.
    pub(crate) fn into_wire_buffer(self) -> Option<Vec<u8>> {
        self.wire.map(|(buf, _, _)| buf)
    }

    /// The batch's OTLP request, built if it was not yet.
    pub(crate) fn into_request(self) -> ExportTraceServiceRequest {
        let _ = self.to_otlp(); // from the spans or the direct bytes, once
        self.otlp.into_inner().unwrap_or_default()
    }

    /// The OTLP spans of the batch, taken apart for reuse.
    pub(crate) fn into_otlp_spans(self) -> Vec<OtlpSpan> {
        self.otlp
            .into_inner()
            .map(|req| req.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans).collect())
            .unwrap_or_default()
    }

    /// The spans, in the order they finished. Empty when every exporter declared
    /// it does not read them ([`Exporter::reads_spans`](crate::exporters::Exporter::reads_spans)).
    pub fn spans(&self) -> &[SpanData] {
        &self.spans
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch is empty (never true for batches given to exporters).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The resource (service, host, process, SDK, user attributes).
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The batch as one OTLP request, built once and shared by every exporter that
    /// asks for it.
    pub fn to_otlp(&self) -> &ExportTraceServiceRequest {
        self.otlp.get_or_init(|| match &self.wire {
            // Written directly: the bytes are proven to decode (see `encode/wire*.rs`).
            Some((buf, start, Protocol::HttpProtobuf)) => {
                ExportTraceServiceRequest::decode(&buf[*start..]).unwrap_or_default()
            }
            Some((buf, start, _)) => serde_json::from_slice(&buf[*start..]).unwrap_or_default(),
            None => to_otlp_request(self.spans.iter().cloned(), &self.resource_attrs),
        })
    }
}
