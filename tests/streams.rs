//! Streamed provider calls recorded into a scope (`Scope::start_call`): the
//! inference span ends however the stream does, checked field by field at a real
//! receiver: finished, cut short, failed by the provider mid-stream, and dropped
//! by a caller that stopped reading after the first chunk.

mod common;

use agentops::attr;
use agentops::providers::{Api, ProviderError};
use common::{attr_int, attr_str, span_value as value};
use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::{json, Value};

const FIRST: &[u8] =
    b"data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
const REST: &[u8] =
    b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";

fn request() -> Value {
    json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "hi"}]})
}

/// Runs `f` in a session and gives back its one inference span.
fn the_call(f: impl FnOnce(&agentops::Session)) -> Span {
    common::session::run(|b| b, f).call().clone()
}

fn output_text(s: &Span) -> Value {
    serde_json::from_str(attr_str(&s.attributes, attr::GEN_AI_OUTPUT_MESSAGES).unwrap()).unwrap()
}

#[test]
fn a_finished_stream_is_the_whole_call() {
    let span = the_call(|session| {
        let mut rec = session.start_call(Api::OpenAiChat, request()).url("https://api.openai.com/v1/x");
        rec.push(FIRST);
        rec.push(REST);
        rec.finish().unwrap();
    });
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert_eq!(span.status.as_ref().map_or(0, |s| s.code), StatusCode::Unset as i32);
    assert_eq!(value(&span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert_eq!(value(&span, attr::LLM_INCOMPLETE), None);
    assert_eq!(value(&span, attr::LLM_USAGE_MISSING), None);
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_INPUT_TOKENS), Some(5));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(2));
    assert_eq!(attr_str(&span.attributes, attr::SERVER_ADDRESS), Some("api.openai.com"));
    assert_eq!(attr_int(&span.attributes, attr::SERVER_PORT), Some(443));
    assert_eq!(output_text(&span)[0]["parts"][0]["content"], "Hello");
    assert_eq!(output_text(&span)[0]["finish_reason"], "stop");
}

#[test]
fn a_stream_dropped_after_its_first_chunk_ends_its_span_with_what_arrived() {
    let span = the_call(|session| {
        let mut rec = session.start_call(Api::OpenAiChat, request());
        rec.push(FIRST);
        // The caller stops reading (returns early, panics, gives up): the recording drops.
    });
    assert_eq!(span.status.as_ref().map_or(0, |s| s.code), StatusCode::Unset as i32, "stopping is not a failure");
    assert_eq!(value(&span, attr::LLM_INCOMPLETE), Some(V::BoolValue(true)));
    assert_eq!(value(&span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert_eq!(value(&span, attr::LLM_USAGE_MISSING), Some(V::BoolValue(true)), "no usage arrived: said, not guessed");
    assert!(value(&span, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK).is_some());
    assert_eq!(value(&span, attr::GEN_AI_RESPONSE_FINISH_REASONS), None);
    assert_eq!(output_text(&span)[0]["parts"][0]["content"], "Hel");
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("c1"));
}

#[test]
fn a_stream_cut_short_fails_its_span_with_what_arrived() {
    let mut returned = None;
    let span = the_call(|session| {
        let mut rec = session.start_call(Api::OpenAiChat, request());
        rec.push(FIRST);
        returned = Some(rec.finish().unwrap_err());
    });
    assert!(matches!(returned, Some(ProviderError::IncompleteStream { .. })));
    let status = span.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "the stream ended before its end marker")
    );
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("incomplete_stream"));
    assert_eq!(value(&span, attr::LLM_INCOMPLETE), Some(V::BoolValue(true)));
    assert_eq!(output_text(&span)[0]["parts"][0]["content"], "Hel");
}

#[test]
fn a_provider_error_mid_stream_fails_the_call_with_its_type() {
    let span = the_call(|session| {
        let request = json!({"model": "claude-3-5-haiku", "max_tokens": 10, "stream": true,
                             "messages": [{"role": "user", "content": "hi"}]});
        let mut rec = session.start_call(Api::AnthropicMessages, request);
        let error = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        rec.push(error);
        assert!(rec.finish().is_err());
    });
    assert_eq!(span.name, "chat claude-3-5-haiku");
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert!(status.message.contains("Overloaded"), "{}", status.message);
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("overloaded_error"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_PROVIDER), Some("anthropic"));
    assert_eq!(value(&span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
}
