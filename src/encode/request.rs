//! Whole OTLP requests around spans: built with opentelemetry-proto's own span
//! conversion, or the frames the direct writers put around spans they write.

use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;

use super::wire::RequestFrame;
use super::wire_json::JsonFrame;

/// Builds an OTLP request with opentelemetry-proto's own span conversion. Every span
/// of this crate shares one instrumentation scope, so a single `ScopeSpans` is made
/// per scope, in first-seen order.
pub(crate) fn to_otlp_request(
    spans: impl IntoIterator<Item = SpanData>,
    resource: &ResourceAttributesWithSchema,
) -> ExportTraceServiceRequest {
    let mut scopes: Vec<ScopeSpans> = Vec::new();
    let mut scope_keys: Vec<InstrumentationScope> = Vec::new();
    for span in spans {
        let idx = match scope_keys.iter().position(|s| *s == span.instrumentation_scope) {
            Some(i) => i,
            None => {
                let scope = span.instrumentation_scope.clone();
                scopes.push(ScopeSpans {
                    scope: Some((&scope, None).into()),
                    schema_url: scope.schema_url().unwrap_or_default().to_owned(),
                    spans: Vec::new(),
                });
                scope_keys.push(scope);
                scopes.len() - 1
            }
        };
        scopes[idx].spans.push(span.into());
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(otlp_resource(resource)),
            scope_spans: scopes,
            schema_url: resource.schema_url.clone().unwrap_or_default(),
        }],
    }
}

pub(crate) fn otlp_resource(resource: &ResourceAttributesWithSchema) -> OtlpResource {
    OtlpResource { attributes: resource.attributes.0.clone(), dropped_attributes_count: 0, entity_refs: vec![] }
}

/// The number of spans in an OTLP request.
pub(crate) fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
}

/// What frames every request a pipeline writes directly (see `encode/wire.rs`,
/// `encode/wire_json.rs`): the same resource and scope as
/// `ExportBatch::from_otlp_spans` puts around spans, with their schema URLs.
fn frame_parts(
    resource: &ResourceAttributesWithSchema,
    scope: &InstrumentationScope,
) -> (OtlpResource, String, opentelemetry_proto::tonic::common::v1::InstrumentationScope, String) {
    let schema = scope.schema_url().unwrap_or_default().to_owned();
    (otlp_resource(resource), resource.schema_url.clone().unwrap_or_default(), (scope, None).into(), schema)
}

/// The protobuf frame (`encode/wire.rs`).
pub(crate) fn request_frame(resource: &ResourceAttributesWithSchema, scope: &InstrumentationScope) -> RequestFrame {
    let (r, r_schema, s, s_schema) = frame_parts(resource, scope);
    RequestFrame::new(&r, r_schema, &s, s_schema)
}

/// The OTLP/JSON frame (`encode/wire_json.rs`).
pub(crate) fn json_frame(resource: &ResourceAttributesWithSchema, scope: &InstrumentationScope) -> JsonFrame {
    let (r, r_schema, s, s_schema) = frame_parts(resource, scope);
    JsonFrame::new(&r, &r_schema, &s, &s_schema)
}
