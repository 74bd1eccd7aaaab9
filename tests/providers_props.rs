//! Property tests: no JSON, however odd, panics an adapter, a stream or a provider
//! call; each gives an event or a typed error, and a call records exactly one span
//! however it ends. The generator is biased toward the providers' own
//! field names and types, so the adapters' deep paths are reached.

use agentops::providers::{anthropic, gemini, openai, Api, Stream};
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "model",
    "messages",
    "choices",
    "message",
    "delta",
    "content",
    "role",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "id",
    "index",
    "finish_reason",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details",
    "cached_tokens",
    "type",
    "text",
    "input",
    "output",
    "tool_use_id",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "content_block",
    "partial_json",
    "candidates",
    "parts",
    "functionCall",
    "args",
    "usageMetadata",
    "promptTokenCount",
    "finishReason",
    "error",
    "response",
    "status",
    "summary",
    "thought",
    "system",
    "contents",
    "generationConfig",
    "refusal",
    "call_id",
];

const TYPES: &[&str] = &[
    "text",
    "tool_use",
    "tool_result",
    "thinking",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "input_json_delta",
    "text_delta",
    "function_call",
    "function_call_output",
    "message",
    "reasoning",
    "response.completed",
    "error",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop::sample::select(TYPES).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(req in json(), resp in json(), events in prop::collection::vec(json(), 0..8)) {
        let _ = openai::chat_completion(&req, &resp);
        let _ = openai::responses(&req, &resp);
        let _ = anthropic::messages(&req, &resp);
        let _ = gemini::generate_content("m", &req, &resp);
        let streams = [
            Stream::openai_chat(&req),
            Stream::openai_responses(&req),
            Stream::anthropic(&req),
            Stream::gemini("m", &req),
        ];
        for s in streams {
            let mut s = s.unwrap();
            for e in &events {
                let _ = s.push(format!("data: {e}\n\n").as_bytes());
            }
            let _ = s.finish();
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = openai::chat_completion(bytes.as_slice(), bytes.as_slice());
        let mut s = Stream::anthropic(&Value::Null).unwrap();
        let _ = s.push(&bytes);
        let _ = s.finish();
    }

    #[test]
    fn a_provider_call_records_one_span_whatever_it_is_given(
        req in json(),
        events in prop::collection::vec(json(), 0..6),
        whole in json(),
        raw in prop::collection::vec(any::<u8>(), 0..256),
        body_kind in 0u8..3,
        status in prop::sample::select(vec![200u16, 201, 400, 401, 429, 500, 503]),
        split in 1usize..64,
        ending in 0u8..3,
        limit in prop::sample::select(vec![16usize, 4096, 1 << 20]),
    ) {
        let memory = agentops::exporters::InMemoryExporter::new();
        let config = agentops::OtelConfig::builder().in_memory(memory.clone()).enable_metrics(false).build().unwrap();
        let client = agentops::Client::new(config).unwrap();
        let session = client.start_session(&["props"]);
        let body: Vec<u8> = match body_kind {
            0 => events.iter().flat_map(|e| format!("data: {e}\n\n").into_bytes()).collect(),
            1 => whole.to_string().into_bytes(),
            _ => raw,
        };
        let apis = [Api::OpenAiChat, Api::OpenAiResponses, Api::AnthropicMessages, Api::Gemini { model: "m".into() }];
        for api in apis {
            let mut call = session.start_call(api, &req).url("https://api.example.com/v1/x?key=k").max_body_bytes(limit);
            call.status(status);
            for piece in body.chunks(split) {
                call.push(piece);
            }
            match ending {
                0 => { let _ = call.finish(); }
                1 => call.fail("timeout", "no answer"),
                _ => drop(call),
            }
        }
        session.end(agentops::EndState::Success, "done");
        client.shutdown(std::time::Duration::from_secs(10)).unwrap();
        let calls = memory.spans().iter().filter(|s| s.name.starts_with("chat")).count();
        prop_assert_eq!(calls, 4, "one span per call");
    }
}
