//! Provider adapters on real response shapes: every field mapped, checked field by
//! field; each streamed fixture gives the same event as its plain twin.

use agentops::event::{ChatMessage, Content, Part, ToolCall};
use agentops::providers::{anthropic, gemini, openai, ProviderError, Stream};
use agentops::LlmEvent;
use serde_json::{json, Value};

/// `data:` lines of server-sent events, optionally named, split into odd pieces.
fn sse(events: &[(Option<&str>, Value)], done: bool) -> Vec<Vec<u8>> {
    let mut text = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            text.push_str(&format!("event: {n}\r\n"));
        }
        text.push_str(&format!("data: {data}\r\n\r\n"));
    }
    if done {
        text.push_str("data: [DONE]\n\n");
    }
    text.into_bytes().chunks(37).map(<[u8]>::to_vec).collect()
}

fn streamed(mut stream: Stream, pieces: &[Vec<u8>]) -> LlmEvent {
    for p in pieces {
        stream.push(p).unwrap();
    }
    stream.finish().unwrap()
}

/// The streamed event equals the plain one but for its timing, and is marked
/// streamed.
fn assert_same(plain: &LlmEvent, mut streamed: LlmEvent) {
    assert!(streamed.details().time_to_first_chunk.is_some());
    assert!(streamed.details().streamed);
    assert!(!plain.details().streamed);
    streamed.details_mut().time_to_first_chunk = None;
    streamed.details_mut().streamed = false;
    streamed.common = plain.common.clone();
    assert_eq!(&streamed, plain);
}

fn messages(c: &Option<Content>) -> &[ChatMessage] {
    match c {
        Some(Content::Messages(m)) => m,
        other => panic!("expected messages, got {other:?}"),
    }
}

fn call(id: &str, name: &str, args: Value) -> Part {
    Part::ToolCall(ToolCall::new(Some(id.into()), name, args))
}

fn openai_request() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}, {"type": "image_url", "image_url": {"url": "https://x"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "{\"time\":\"noon\"}"}
        ],
        "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 300, "seed": 7, "stop": ["END"],
        "frequency_penalty": 0.1, "presence_penalty": 0.3, "tools": [{"type": "function", "function": {"name": "get_weather"}}]
    })
}

fn openai_response() -> Value {
    json!({
        "id": "chatcmpl-9x", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 100}, "completion_tokens_details": {"reasoning_tokens": 12}}
    })
}

#[test]
fn openai_chat_completion_with_tool_calls() {
    let e = openai::chat_completion(openai_request(), openai_response()).unwrap();
    assert_eq!((e.model.as_ref(), e.response_model.as_deref()), ("gpt-4o-mini", Some("gpt-4o-mini-2024-07-18")));
    assert_eq!((e.provider.as_deref(), e.details().id.as_deref()), (Some("openai"), Some("chatcmpl-9x")));
    assert_eq!(e.details().finish_reasons, ["tool_calls"]);
    assert_eq!((e.input_tokens, e.output_tokens), (Some(120), Some(30)));
    assert_eq!(
        (e.details().cache_read_tokens, e.details().reasoning_tokens, e.details().cache_creation_tokens),
        (Some(100), Some(12), None)
    );
    let p = e.params.as_ref().unwrap();
    assert_eq!(
        p,
        &json!({"temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "seed": 7, "stop_sequences": ["END"],
                "frequency_penalty": 0.1, "presence_penalty": 0.3})
    );
    let prompt = messages(&e.prompt);
    assert_eq!(prompt.len(), 4);
    assert_eq!((prompt[0].role.as_str(), prompt[0].text()), ("system", "Be brief.".into()));
    assert_eq!(prompt[1].parts, vec![Part::Text("Weather in Paris?".into())], "the image part is not captured");
    assert_eq!(prompt[2].parts, vec![call("call_0", "get_time", json!({}))]);
    assert_eq!(
        prompt[3].parts,
        vec![Part::ToolCallResponse { id: Some("call_0".into()), response: json!({"time": "noon"}) }]
    );
    let out = messages(&e.completion);
    assert_eq!(out[0].parts, vec![call("call_1", "get_weather", json!({"city": "Paris"}))]);
    assert_eq!(out[0].finish_reason.as_deref(), Some("tool_call"));
    assert_eq!(e.tool_calls()[0].id.as_deref(), Some("call_1"));
}

#[test]
fn openai_chat_stream_equals_the_plain_call() {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-9x", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let pieces = sse(
        &[
            (None, chunk(json!({"role": "assistant", "content": null}), Value::Null)),
            (
                None,
                chunk(
                    json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                    Value::Null,
                ),
            ),
            (None, chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]}), Value::Null)),
            (
                None,
                chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Paris\"}"}}]}), Value::Null),
            ),
            (None, chunk(json!({}), json!("tool_calls"))),
            (
                None,
                json!({"id": "chatcmpl-9x", "model": "gpt-4o-mini-2024-07-18", "choices": [], "usage": openai_response()["usage"].clone()}),
            ),
        ],
        true,
    );
    let plain = openai::chat_completion(openai_request(), openai_response()).unwrap();
    assert_same(&plain, streamed(Stream::openai_chat(openai_request()).unwrap(), &pieces));
}

#[test]
fn openai_refusals_errors_and_missing_usage() {
    let resp = json!({"id": "c", "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]});
    let e = openai::chat_completion(json!({"model": "gpt-4o", "messages": []}), &resp).unwrap();
    assert_eq!(messages(&e.completion)[0].text(), "I can't help with that.");
    assert_eq!((e.input_tokens, e.output_tokens), (None, None), "no usage, no tokens");
    let err = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}});
    match openai::chat_completion(json!({}), &err) {
        Err(ProviderError::Api { error_type, message, .. }) => {
            assert_eq!((error_type.as_str(), message.as_str()), ("invalid_request_error", "Incorrect API key provided"))
        }
        other => panic!("{other:?}"),
    }
    let negative = json!({"choices": [], "usage": {"prompt_tokens": -5, "completion_tokens": 2.5}});
    let e = openai::chat_completion(json!({"model": "m"}), &negative).unwrap();
    assert_eq!((e.input_tokens, e.output_tokens), (None, None), "negative or fractional counts are missing");
    assert!(matches!(openai::chat_completion(json!({}), json!({"id": 1})), Err(ProviderError::Shape { .. })));
    assert!(matches!(openai::chat_completion("{}", "<html>"), Err(ProviderError::NotJson { .. })));
}

fn responses_request() -> Value {
    json!({"model": "o4-mini", "instructions": "Be exact.", "max_output_tokens": 500, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "2+2?"}]},
        {"type": "function_call", "call_id": "fc_0", "name": "calc", "arguments": "{\"e\":\"2+2\"}"},
        {"type": "function_call_output", "call_id": "fc_0", "output": "4"}]})
}

fn responses_response() -> Value {
    json!({"id": "resp_1", "object": "response", "model": "o4-mini-2025-04-16", "status": "completed", "error": null,
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Add them."}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "4", "annotations": []}]}],
        "usage": {"input_tokens": 50, "output_tokens": 20, "input_tokens_details": {"cached_tokens": 10},
                  "output_tokens_details": {"reasoning_tokens": 15}}})
}

#[test]
fn openai_responses_api_plain_and_streamed() {
    let e = openai::responses(responses_request(), responses_response()).unwrap();
    assert_eq!(
        (e.model.as_ref(), e.response_model.as_deref(), e.details().id.as_deref()),
        ("o4-mini", Some("o4-mini-2025-04-16"), Some("resp_1"))
    );
    assert_eq!(e.details().finish_reasons, ["completed"]);
    assert_eq!(
        (e.input_tokens, e.output_tokens, e.details().cache_read_tokens, e.details().reasoning_tokens),
        (Some(50), Some(20), Some(10), Some(15))
    );
    assert_eq!(e.params, Some(json!({"max_tokens": 500})));
    let prompt = messages(&e.prompt);
    assert_eq!(prompt.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), ["system", "user", "assistant", "tool"]);
    assert_eq!(prompt[2].parts, vec![call("fc_0", "calc", json!({"e": "2+2"}))]);
    assert_eq!(prompt[3].parts, vec![Part::ToolCallResponse { id: Some("fc_0".into()), response: json!(4) }]);
    let out = &messages(&e.completion)[0];
    assert_eq!(out.parts, vec![Part::Reasoning("Add them.".into()), Part::Text("4".into())]);
    assert_eq!(out.finish_reason.as_deref(), Some("stop"));

    let pieces = sse(
        &[
            (
                Some("response.created"),
                json!({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress", "output": []}}),
            ),
            (Some("response.output_text.delta"), json!({"type": "response.output_text.delta", "delta": "4"})),
            (Some("response.completed"), json!({"type": "response.completed", "response": responses_response()})),
        ],
        false,
    );
    assert_same(&e, streamed(Stream::openai_responses(responses_request()).unwrap(), &pieces));
}

fn anthropic_request() -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "temperature": 0.5, "top_k": 40, "stop_sequences": ["###"],
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_0", "name": "get_time", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": [{"type": "text", "text": "noon"}]}]}]})
}

fn anthropic_response() -> Value {
    json!({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "thinking", "thinking": "Need the weather tool.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 20, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 1000, "output_tokens": 60}})
}

#[test]
fn anthropic_messages_with_thinking_tools_and_cache() {
    let e = anthropic::messages(anthropic_request(), anthropic_response()).unwrap();
    assert_eq!((e.provider.as_deref(), e.details().id.as_deref()), (Some("anthropic"), Some("msg_01")));
    assert_eq!(e.response_model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(e.details().finish_reasons, ["tool_use"]);
    // Input includes cached and cache-creation tokens, per the conventions.
    assert_eq!((e.input_tokens, e.output_tokens), (Some(1320), Some(60)));
    assert_eq!((e.details().cache_read_tokens, e.details().cache_creation_tokens), (Some(1000), Some(300)));
    assert_eq!(e.params, Some(json!({"max_tokens": 1024, "temperature": 0.5, "top_k": 40, "stop_sequences": ["###"]})));
    let prompt = messages(&e.prompt);
    assert_eq!((prompt[0].role.as_str(), prompt[0].text()), ("system", "You are terse.".into()));
    assert_eq!(prompt[2].parts, vec![call("toolu_0", "get_time", json!({}))]);
    assert_eq!(prompt[3].parts, vec![Part::ToolCallResponse { id: Some("toolu_0".into()), response: json!("noon") }]);
    let out = &messages(&e.completion)[0];
    assert_eq!(
        out.parts,
        vec![
            Part::Reasoning("Need the weather tool.".into()),
            Part::Text("Checking.".into()),
            call("toolu_1", "get_weather", json!({"city": "Paris"}))
        ]
    );
    assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
    let mut start = anthropic_response();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    let ev = |t: &str, v: Value| (Some(t.to_owned()), v);
    let events: Vec<(Option<String>, Value)> = vec![
        ev("message_start", json!({"type": "message_start", "message": start})),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": "sig"}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Need the "}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "weather tool."}}),
        ),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Checking."}}),
        ),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        ),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 2})),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 60}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ];
    let named: Vec<(Option<&str>, Value)> = events.iter().map(|(n, v)| (n.as_deref(), v.clone())).collect();
    assert_same(&e, streamed(Stream::anthropic(anthropic_request()).unwrap(), &sse(&named, false)));
}

fn gemini_request() -> Value {
    json!({"systemInstruction": {"parts": [{"text": "Be terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_time", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_time", "response": {"time": "noon"}}}]}],
        "generationConfig": {"temperature": 0.3, "topP": 0.8, "topK": 20, "maxOutputTokens": 256, "stopSequences": ["x"]}})
}

fn gemini_response() -> Value {
    json!({"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"text": "Thinking about tools.", "thought": true},
            {"text": "Let me check."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}}],
        "usageMetadata": {"promptTokenCount": 400, "candidatesTokenCount": 25, "thoughtsTokenCount": 40,
                          "cachedContentTokenCount": 300, "totalTokenCount": 465},
        "modelVersion": "gemini-2.5-flash", "responseId": "resp-g1"})
}

#[test]
fn gemini_generate_content_plain_and_streamed() {
    let e = gemini::generate_content("models/gemini-2.5-flash", gemini_request(), gemini_response()).unwrap();
    assert_eq!((e.model.as_ref(), e.provider.as_deref()), ("gemini-2.5-flash", Some("gcp.gemini")));
    assert_eq!((e.response_model.as_deref(), e.details().id.as_deref()), (Some("gemini-2.5-flash"), Some("resp-g1")));
    assert_eq!(e.details().finish_reasons, ["STOP"]);
    assert_eq!(
        (e.input_tokens, e.output_tokens, e.details().cache_read_tokens, e.details().reasoning_tokens),
        (Some(400), Some(65), Some(300), Some(40))
    );
    assert_eq!(
        e.params,
        Some(json!({"temperature": 0.3, "top_p": 0.8, "top_k": 20, "max_tokens": 256, "stop_sequences": ["x"]}))
    );
    let prompt = messages(&e.prompt);
    assert_eq!(prompt.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), ["system", "user", "assistant", "user"]);
    assert_eq!(
        prompt[3].parts,
        vec![Part::ToolCallResponse { id: Some("get_time".into()), response: json!({"time": "noon"}) }]
    );
    let out = &messages(&e.completion)[0];
    assert_eq!(out.role, "assistant");
    assert_eq!(
        out.parts,
        vec![
            Part::Reasoning("Thinking about tools.".into()),
            Part::Text("Let me check.".into()),
            Part::ToolCall(ToolCall::new(None, "get_weather", json!({"city": "Paris"})))
        ]
    );
    assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
    let chunk = |parts: Value, extra: Value| {
        let mut c = json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": parts}}]});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                if k == "finishReason" {
                    c["candidates"][0][k] = v;
                } else {
                    c[k] = v;
                }
            }
        }
        (None, c)
    };
    let chunks = vec![
        chunk(json!([{"text": "Thinking ", "thought": true}]), json!({"modelVersion": "gemini-2.5-flash"})),
        chunk(json!([{"text": "about tools.", "thought": true}]), json!({})),
        chunk(json!([{"text": "Let me "}]), json!({})),
        chunk(
            json!([{"text": "check."}, {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]),
            json!({}),
        ),
        chunk(
            json!([]),
            json!({"finishReason": "STOP", "usageMetadata": gemini_response()["usageMetadata"].clone(), "modelVersion": "gemini-2.5-flash", "responseId": "resp-g1"}),
        ),
    ];
    let stream = Stream::gemini("models/gemini-2.5-flash", gemini_request()).unwrap();
    assert_same(&e, streamed(stream, &sse(&chunks, false)));
}

#[test]
fn truncated_and_broken_streams_are_typed_errors() {
    // Ends before [DONE] and without a finish reason: the partial event comes back.
    let pieces =
        sse(&[(None, json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}))], false);
    let mut s = Stream::openai_chat(json!({"model": "m", "messages": []})).unwrap();
    for p in &pieces {
        s.push(p).unwrap();
    }
    match s.finish() {
        Err(ProviderError::IncompleteStream { partial }) => assert_eq!(messages(&partial.completion)[0].text(), "Hel"),
        other => panic!("{other:?}"),
    }
    // An error event mid-stream (Anthropic's overload).
    let mut s = Stream::anthropic(anthropic_request()).unwrap();
    let err = s.push(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
    assert!(matches!(err, Err(ProviderError::Api { .. })), "{err:?}");
    assert!(matches!(s.finish(), Err(ProviderError::Api { .. })));
    // Not JSON, and a delta for a block that never started.
    let mut s = Stream::anthropic(anthropic_request()).unwrap();
    assert!(matches!(s.push(b"data: {not json\n\n"), Err(ProviderError::NotJson { .. })));
    let mut s = Stream::anthropic(anthropic_request()).unwrap();
    let orphan = br#"data: {"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}"#;
    assert!(matches!(s.push(&[&orphan[..], b"\n\n"].concat()), Err(ProviderError::Shape { .. })));
    // A stream without usage: an event without tokens (and so without cost).
    let pieces =
        sse(&[(None, json!({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}))], true);
    let e = streamed(Stream::openai_chat(json!({"model": "gpt-4o"})).unwrap(), &pieces);
    assert_eq!((e.input_tokens, e.output_tokens), (None, None));
}

#[test]
fn a_20_mb_response_is_read_and_an_oversized_one_refused() {
    let text = "word ".repeat(4 * 1024 * 1024);
    let resp =
        json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]});
    let body = serde_json::to_vec(&resp).unwrap();
    assert!(body.len() > 20 * 1024 * 1024);
    let e = openai::chat_completion(br#"{"model":"m"}"#.as_slice(), body.as_slice()).unwrap();
    assert_eq!(messages(&e.completion)[0].text().len(), text.len());
    let huge = vec![b' '; agentops::providers::MAX_BODY_BYTES + 1];
    assert!(matches!(openai::chat_completion(json!({}), huge.as_slice()), Err(ProviderError::TooLarge { .. })));
}
