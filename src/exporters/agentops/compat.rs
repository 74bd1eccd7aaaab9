//! What AgentOps' OTLP endpoint is sent beyond plain OTLP: the project id on the
//! resource, and on LLM spans the names its backend reads (`gen_ai.system`,
//! `gen_ai.usage.prompt_tokens`, `gen_ai.prompt.N.*`, …, see
//! `encode/agentops_names.rs` for how we know) in place of the GenAI messages JSON.
//!
//! When every span exporter of a client is AgentOps', the encoder writes those
//! names itself and batches arrive here as protobuf bytes: only the project id is
//! added, by [`add_project_id`], without decoding anything. Otherwise (AgentOps
//! next to other exporters, or batches read back from the spool) a copy of the
//! batch's request is converted span by span ([`to_agentops_names`]).

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value as Json;

use crate::encode::agentops_names::{self as names, Side};
use crate::encode::attr;
use crate::encode::lookup::attr_value;

/// The resource attribute naming the project a token belongs to.
pub(crate) const PROJECT_ID: &str = "agentops.project.id";

pub(crate) fn str_value(s: String) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s)) })
}

pub(crate) fn kv(key: impl Into<String>, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.into(), value, key_strindex: 0 }
}

/// `(role, text)` of each message in a GenAI message-list JSON attribute: the text
/// parts joined, as the encoder takes a message's text.
pub(crate) fn parse_messages(json: &str) -> Option<Vec<(String, String)>> {
    let Ok(Json::Array(msgs)) = serde_json::from_str::<Json>(json) else { return None };
    let text_parts = |m: &Json| -> String {
        let parts = m.get("parts").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        parts
            .iter()
            .filter(|p| p.get("type").and_then(Json::as_str) == Some("text"))
            .filter_map(|p| p.get("content").and_then(Json::as_str))
            .collect()
    };
    Some(
        msgs.iter()
            .map(|m| (m.get("role").and_then(Json::as_str).unwrap_or("user").to_owned(), text_parts(m)))
            .collect(),
    )
}

/// Gives an LLM span the names AgentOps reads, as the encoder would have written
/// them: the provider and token counts under AgentOps' names too, and the messages
/// JSON replaced by `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`. A span that has
/// them already (from the spool) is left as it is.
pub(crate) fn to_agentops_names(span: &mut Span) {
    let a = &span.attributes;
    let has = |k: &str| attr_value(a, k).is_some();
    let mut extra = Vec::new();
    for (from, to) in [
        (attr::GEN_AI_PROVIDER, names::SYSTEM),
        (attr::GEN_AI_INPUT_TOKENS, names::PROMPT_TOKENS),
        (attr::GEN_AI_OUTPUT_TOKENS, names::COMPLETION_TOKENS),
    ] {
        if let Some(v) = attr_value(a, from).filter(|_| !has(to)) {
            extra.push(kv(to, Some(AnyValue { value: Some(v.clone()) })));
        }
    }
    let mut converted = Vec::new();
    for (from, side) in [(attr::GEN_AI_INPUT_MESSAGES, Side::Prompt), (attr::GEN_AI_OUTPUT_MESSAGES, Side::Completion)]
    {
        let Some(any_value::Value::StringValue(json)) = attr_value(a, from) else { continue };
        // JSON that is not a message list stays as it came.
        let Some(messages) = parse_messages(json) else { continue };
        converted.push(from);
        for (i, (role, content)) in messages.into_iter().enumerate() {
            let (role_key, content_key) = side.keys(i);
            extra.push(kv(role_key, str_value(role)));
            extra.push(kv(content_key, str_value(content)));
        }
    }
    span.attributes.retain(|kv| !converted.contains(&kv.key.as_str()));
    span.attributes.extend(extra);
}

/// The resource fragment holding only the project id: a `Resource` field a decoder
/// merges into the one already there (protobuf merges a message field that occurs
/// twice), appending the attribute after the others.
fn project_fragment(project_id: &str) -> Vec<u8> {
    let resource =
        Resource { attributes: vec![kv(PROJECT_ID, str_value(project_id.to_owned()))], ..Resource::default() };
    let mut out = Vec::new();
    prost::encoding::message::encode(1, &resource, &mut out);
    out
}

/// How many bytes [`add_project_id`] adds to each `ResourceSpans` of a request.
pub(crate) fn project_id_overhead(project_id: &str) -> usize {
    // The fragment, and a length prefix that may grow by up to its varint's size.
    let f = project_fragment(project_id).len();
    f + prost::encoding::encoded_len_varint(f as u64)
}

/// `request` (an encoded `ExportTraceServiceRequest`) with the project id added to
/// the resource of each of its `ResourceSpans`, into `out`; `false` (and `out`
/// undefined) when the bytes are not such a request. The spans are copied as they
/// are, not decoded.
pub(crate) fn add_project_id(request: &[u8], project_id: &str, out: &mut Vec<u8>) -> bool {
    use prost::encoding::{decode_varint, encode_varint};
    let fragment = project_fragment(project_id);
    out.clear();
    out.reserve(request.len() + 4 * fragment.len());
    let mut rest = request;
    while !rest.is_empty() {
        // Field 1 (resource_spans), length-delimited: the request's only field.
        if rest[0] != 0x0a {
            return false;
        }
        rest = &rest[1..];
        let Ok(len) = decode_varint(&mut rest) else { return false };
        let Some(resource_spans) = usize::try_from(len).ok().and_then(|n| rest.get(..n)) else { return false };
        out.push(0x0a);
        encode_varint((resource_spans.len() + fragment.len()) as u64, out);
        out.extend_from_slice(resource_spans);
        out.extend_from_slice(&fragment);
        rest = &rest[resource_spans.len()..];
    }
    true
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    use proptest::prelude::*;
    use prost::Message;

    use super::*;

    fn int(i: i64) -> Option<AnyValue> {
        Some(AnyValue { value: Some(any_value::Value::IntValue(i)) })
    }

    #[test]
    fn an_llm_span_gets_agentops_names_in_place_of_the_messages_json_once() {
        let input = r#"[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"h"},{"type":"text","content":"i"},{"type":"tool_call_response","response":"x"}]}]"#;
        let mut span = Span {
            attributes: vec![
                kv(attr::GEN_AI_PROVIDER, str_value("openai".into())),
                kv(attr::GEN_AI_INPUT_TOKENS, int(7)),
                kv(attr::GEN_AI_INPUT_MESSAGES, str_value(input.into())),
            ],
            ..Default::default()
        };
        to_agentops_names(&mut span);
        let once = span.clone();
        to_agentops_names(&mut span);
        assert_eq!(span, once, "converting again changes nothing");
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                attr::GEN_AI_PROVIDER,
                attr::GEN_AI_INPUT_TOKENS,
                "gen_ai.system",
                "gen_ai.usage.prompt_tokens",
                "gen_ai.prompt.0.role",
                "gen_ai.prompt.0.content",
                "gen_ai.prompt.1.role",
                "gen_ai.prompt.1.content"
            ]
        );
        let get = |k: &str| attr_value(&span.attributes, k).cloned();
        assert_eq!(get("gen_ai.prompt.0.role"), Some(any_value::Value::StringValue("system".into())));
        assert_eq!(get("gen_ai.prompt.1.content"), Some(any_value::Value::StringValue("hi".into())));
    }

    #[test]
    fn messages_json_that_is_no_message_list_stays() {
        let mut span =
            Span { attributes: vec![kv(attr::GEN_AI_INPUT_MESSAGES, str_value("{oops".into()))], ..Default::default() };
        to_agentops_names(&mut span);
        assert_eq!(span.attributes.len(), 1);
    }

    fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
        let attrs = prop::collection::vec(("[a-z.]{1,12}", ".{0,20}"), 0..4)
            .prop_map(|v| v.into_iter().map(|(k, s)| kv(k, str_value(s))).collect::<Vec<_>>());
        let span =
            (any::<[u8; 16]>(), any::<[u8; 8]>(), ".{0,30}", attrs.clone()).prop_map(|(t, s, name, attributes)| Span {
                trace_id: t.to_vec(),
                span_id: s.to_vec(),
                name,
                attributes,
                ..Default::default()
            });
        let resource = prop::option::of(attrs.prop_map(|attributes| Resource { attributes, ..Resource::default() }));
        let rs = (resource, prop::collection::vec(span, 0..5), ".{0,10}").prop_map(|(resource, spans, schema_url)| {
            ResourceSpans { resource, scope_spans: vec![ScopeSpans { spans, ..Default::default() }], schema_url }
        });
        prop::collection::vec(rs, 0..3).prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
    }

    proptest! {
        /// The spliced bytes decode, with opentelemetry-proto, to exactly the request
        /// with the project id pushed onto each resource's attributes (a resource
        /// made when there was none), and never grow by more than the overhead said.
        #[test]
        fn the_project_id_spliced_in_decodes_as_if_pushed_onto_each_resource(
            req in request(),
            project in "[a-z0-9-]{0,40}",
        ) {
            let body = req.encode_to_vec();
            let mut out = Vec::new();
            prop_assert!(add_project_id(&body, &project, &mut out));
            let mut expected = req.clone();
            for rs in &mut expected.resource_spans {
                rs.resource.get_or_insert_with(Resource::default).attributes.push(kv(PROJECT_ID, str_value(project.clone())));
            }
            prop_assert_eq!(ExportTraceServiceRequest::decode(&out[..]).unwrap(), expected);
            prop_assert!(out.len() <= body.len() + req.resource_spans.len() * project_id_overhead(&project));
        }
    }

    #[test]
    fn bytes_that_are_not_a_request_are_refused() {
        let mut out = Vec::new();
        assert!(!add_project_id(&[0x12, 0x00], "p", &mut out));
        assert!(!add_project_id(&[0x0a, 0x05, 0x00], "p", &mut out), "a length past the end");
        assert!(add_project_id(&[], "p", &mut out) && out.is_empty());
    }
}
