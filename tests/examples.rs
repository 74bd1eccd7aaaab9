//! The provider examples, run as a user runs them, against fake OpenAI- and
//! Anthropic-shaped servers written here (plain and SSE), exporting to a local
//! receiver that decodes the spans: ids, models, tokens, finish reasons, tool-call
//! ids and costs checked exactly. `cargo test` builds the examples first.

mod common;

use std::process::{Command, Output};

use agentops::attr;
use common::{attr_f64, attr_int, attr_str, example, Reply, Request, TestServer};
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::{json, Value};

fn run(name: &str, stream: bool, env: &[(&str, String)], receiver: &TestServer) -> Output {
    let dir = std::env::temp_dir().join(format!("agentops-example-{name}-{stream}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(example(name));
    cmd.env_clear()
        .current_dir(&dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
        .env("AGENTOPS_TRACES_FILE", dir.join("traces.jsonl"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    if stream {
        cmd.arg("--stream");
    }
    cmd.arg("What is 17 * 23, and is it warm in Oslo?").output().unwrap()
}

fn sse(events: &[Value], done: bool) -> Reply {
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    Reply::Status(200, vec![("Content-Type".into(), "text/event-stream".into())], body.into_bytes())
}

/// What an example exported follows the semantic-conventions registry: its spans,
/// their resource and its metrics (`tests/common/semconv.rs`).
fn assert_follows_the_registry(receiver: &TestServer) {
    let reg = common::semconv::registry();
    let spans = receiver.accepted_spans();
    assert!(!spans.is_empty());
    let mut problems = reg.check_spans(&spans);
    problems.extend(reg.check_metrics(&receiver.accepted_metrics()));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn spans(receiver: &TestServer) -> Vec<Span> {
    receiver.accepted_spans().into_iter().map(|(s, _)| s).collect()
}

fn by_name<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// The OpenAI-shaped fake: tool calls first, the answer once tool results came back.
fn openai_reply(r: &Request) -> Reply {
    let req = r.json();
    assert_eq!(r.header("authorization"), Some("Bearer test-key"));
    let answered = req["messages"].as_array().unwrap().iter().any(|m| m["role"] == "tool");
    let stream = req["stream"] == json!(true);
    let (id, message, finish, usage) = if answered {
        let tool = req["messages"].as_array().unwrap().iter().find(|m| m["tool_call_id"] == "call_calc").unwrap();
        assert_eq!(tool["content"], "391.0", "the calculator's result went back");
        (
            "chatcmpl-2",
            json!({"role": "assistant", "content": "391, and 4°C in Oslo."}),
            "stop",
            json!({"prompt_tokens": 300, "completion_tokens": 20}),
        )
    } else {
        let calls = json!([
            {"id": "call_calc", "type": "function", "function": {"name": "calculator", "arguments": "{\"expression\":\"17 * 23\"}"}},
            {"id": "call_wx", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]);
        (
            "chatcmpl-1",
            json!({"role": "assistant", "content": null, "tool_calls": calls}),
            "tool_calls",
            json!({"prompt_tokens": 200, "completion_tokens": 40, "prompt_tokens_details": {"cached_tokens": 100}}),
        )
    };
    let model = "gpt-4o-mini-2024-07-18";
    if !stream {
        return Reply::json(
            200,
            json!({"id": id, "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}),
        );
    }
    let mut chunks = vec![
        json!({"id": id, "model": model, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}),
    ];
    if let Some(text) = message["content"].as_str() {
        for piece in text.split_inclusive(' ') {
            chunks.push(json!({"id": id, "model": model, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]}));
        }
    }
    for (i, c) in message["tool_calls"].as_array().into_iter().flatten().enumerate() {
        let args = c["function"]["arguments"].as_str().unwrap();
        let (a, b) = args.split_at(args.len() / 2);
        chunks.push(json!({"id": id, "model": model, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, "id": c["id"], "type": "function", "function": {"name": c["function"]["name"], "arguments": a}}]}}]}));
        chunks.push(json!({"id": id, "model": model, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, "function": {"arguments": b}}]}}]}));
    }
    chunks.push(json!({"id": id, "model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}));
    chunks.push(json!({"id": id, "model": model, "choices": [], "usage": usage}));
    sse(&chunks, true)
}

fn check_openai_run(receiver: &TestServer, out: &Output, stream: bool, provider_port: u16) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("391, and 4°C in Oslo."), "{stdout}");
    let spans = spans(receiver);
    assert_eq!(spans.len(), 6, "{:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    let agent = by_name(&spans, "invoke_agent assistant")[0];
    let llms = by_name(&spans, "chat gpt-4o-mini");
    assert_eq!(llms.len(), 2);
    let first = llms.iter().find(|s| attr_str(&s.attributes, attr::GEN_AI_RESPONSE_ID) == Some("chatcmpl-1")).unwrap();
    let second = llms.iter().find(|s| attr_str(&s.attributes, attr::GEN_AI_RESPONSE_ID) == Some("chatcmpl-2")).unwrap();
    for s in [first, second] {
        assert_eq!(s.parent_span_id, agent.span_id);
        assert_eq!(attr_str(&s.attributes, attr::GEN_AI_RESPONSE_MODEL), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(attr_str(&s.attributes, attr::GEN_AI_PROVIDER), Some("openai"));
        assert_eq!(stream, attr_f64(&s.attributes, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK).is_some());
        assert_eq!(stream, s.attributes.iter().any(|kv| kv.key == attr::GEN_AI_REQUEST_STREAM));
        assert_eq!(attr_str(&s.attributes, attr::SERVER_ADDRESS), Some("127.0.0.1"));
        assert_eq!(attr_int(&s.attributes, attr::SERVER_PORT), Some(i64::from(provider_port)));
    }
    assert_eq!(attr_int(&first.attributes, attr::GEN_AI_INPUT_TOKENS), Some(200));
    assert_eq!(attr_int(&first.attributes, attr::GEN_AI_CACHE_READ_TOKENS), Some(100));
    let reasons = |s: &Span| {
        format!("{:?}", s.attributes.iter().find(|kv| kv.key == attr::GEN_AI_RESPONSE_FINISH_REASONS).unwrap().value)
    };
    assert!(reasons(first).contains("tool_calls") && reasons(second).contains("\"stop\""));
    // Costs at gpt-4o-mini's prices: $0.15 input, $0.075 cached, $0.60 output per million.
    let c1 = attr_f64(&first.attributes, attr::LLM_COST).unwrap();
    let c2 = attr_f64(&second.attributes, attr::LLM_COST).unwrap();
    assert!((c1 - (100.0 * 0.15e-6 + 100.0 * 0.075e-6 + 40.0 * 0.6e-6)).abs() < 1e-15, "{c1}");
    assert!((c2 - (300.0 * 0.15e-6 + 20.0 * 0.6e-6)).abs() < 1e-15, "{c2}");
    for (tool, id) in [("execute_tool calculator", "call_calc"), ("execute_tool get_weather", "call_wx")] {
        let t = by_name(&spans, tool)[0];
        assert_eq!(attr_str(&t.attributes, attr::GEN_AI_TOOL_CALL_ID), Some(id));
        assert_eq!(t.parent_span_id, agent.span_id);
    }
    let root = by_name(&spans, "session")[0];
    let total = attr_f64(&root.attributes, attr::SESSION_COST).unwrap();
    assert!((total - (c1 + c2)).abs() < 1e-15);
}

#[test]
fn the_openai_agent_example_plain_and_streamed() {
    for stream in [false, true] {
        let provider = TestServer::start(openai_reply);
        let receiver = TestServer::otlp();
        let env = [
            ("OPENAI_BASE_URL", format!("{}/v1", provider.base_url())),
            ("OPENAI_API_KEY", "test-key".into()),
            ("OPENAI_MODEL", "gpt-4o-mini".into()),
        ];
        let out = run("openai_agent", stream, &env, &receiver);
        check_openai_run(&receiver, &out, stream, provider.port());
        assert_follows_the_registry(&receiver);
        assert!(!receiver.accepted_metrics().is_empty(), "metrics were checked too");
        assert_eq!(provider.requests_to("/v1/chat/completions").len(), 2);
    }
}

/// Against a traces-only backend (Phoenix answers `/v1/metrics` with 405) the
/// example delivers every span and exits 0, with one warning on stderr.
#[test]
fn the_openai_agent_example_against_a_traces_only_receiver_exits_0_with_one_warning() {
    let provider = TestServer::start(openai_reply);
    let receiver = TestServer::start(|r| if r.path == "/v1/metrics" { Reply::status(405) } else { Reply::ok() });
    let env = [("OPENAI_BASE_URL", format!("{}/v1", provider.base_url())), ("OPENAI_API_KEY", "test-key".into())];
    let out = run("openai_agent", false, &env, &receiver);
    check_openai_run(&receiver, &out, false, provider.port());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    let paths: Vec<(String, u16)> = receiver.requests().iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(warnings.len(), 1, "{stderr} {paths:?}");
    assert!(warnings[0].contains("does not take metrics") && warnings[0].contains("HTTP 405"), "{stderr}");
    assert!(warnings[0].contains("/v1/metrics") && warnings[0].contains("OTEL_METRICS_EXPORTER=none"), "{stderr}");
    assert_eq!(receiver.requests_to("/v1/metrics").len(), 1);
}

/// Runs the OpenAI example against the provider at `base` (its `/v1` URL) and
/// expects it to fail, its one inference span failed with `error_type`: the
/// example's output, its spans, and that span. What it exported follows the
/// registry.
fn failed_openai_run(
    base: String,
    stream: bool,
    extra: &[(&str, String)],
    error_type: &str,
) -> (Output, Vec<Span>, Span) {
    let receiver = TestServer::otlp();
    let mut env = vec![("OPENAI_BASE_URL", base), ("OPENAI_API_KEY", "test-key".to_owned())];
    env.extend(extra.iter().cloned());
    let out = run("openai_agent", stream, &env, &receiver);
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_follows_the_registry(&receiver);
    let spans = spans(&receiver);
    let llm = by_name(&spans, "chat gpt-4o-mini")[0].clone();
    let status = llm.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(attr_str(&llm.attributes, attr::ERROR_TYPE), Some(error_type), "{}", status.message);
    assert!(by_name(&spans, "error ProviderError").is_empty(), "the call's failure, not an error span beside it");
    let root = by_name(&spans, "session")[0];
    assert_eq!(attr_int(&root.attributes, "agentops.session.event_counts.errors"), Some(1), "counted once");
    (out, spans, llm)
}

/// A provider's error answer is the inference span's failure: status ERROR with
/// the provider's message, `error.type` the provider's error type, no error span
/// of its own, the session's one error; the agent and the session fail too.
#[test]
fn a_provider_error_is_the_inference_spans_error() {
    let provider = TestServer::start(|_| {
        Reply::json(
            429,
            json!({"error": {"message": "Rate limit reached for gpt-4o-mini", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}),
        )
    });
    let (out, spans, llm) = failed_openai_run(format!("{}/v1", provider.base_url()), false, &[], "rate_limit_error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 429: openai error rate_limit_error: Rate limit reached for gpt-4o-mini"), "{stderr}");
    assert_eq!(spans.len(), 3, "{:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    assert_eq!(llm.status.unwrap().message, "HTTP 429: Rate limit reached for gpt-4o-mini");
    assert_eq!(attr_str(&llm.attributes, attr::GEN_AI_PROVIDER), Some("openai"));
    assert_eq!(attr_str(&llm.attributes, attr::GEN_AI_REQUEST_MODEL), Some("gpt-4o-mini"));
    assert_eq!(attr_int(&llm.attributes, attr::SERVER_PORT), Some(i64::from(provider.port())));
    for failed_too in ["invoke_agent assistant", "session"] {
        assert_eq!(by_name(&spans, failed_too)[0].status.as_ref().unwrap().code, StatusCode::Error as i32);
    }
}

/// Nothing listens where the provider should be: the call is still an inference
/// span, failed with `error.type = connection_failed`.
#[test]
fn a_provider_that_cannot_be_reached_is_the_inference_spans_error() {
    let port = common::closed_port();
    let (_, _, llm) = failed_openai_run(format!("http://127.0.0.1:{port}/v1"), false, &[], "connection_failed");
    let message = llm.status.unwrap().message;
    assert!(message.starts_with("request to http://127.0.0.1:"), "{message}");
    assert_eq!(attr_int(&llm.attributes, attr::SERVER_PORT), Some(i64::from(port)));
}

/// The Anthropic-shaped fake: tool use first, the answer once results came back.
fn anthropic_reply(r: &Request) -> Reply {
    let req = r.json();
    assert_eq!((r.header("x-api-key"), r.header("anthropic-version")), (Some("test-key"), Some("2023-06-01")));
    let last = req["messages"].as_array().unwrap().last().unwrap().clone();
    let answered = last["content"].as_array().is_some_and(|b| b.iter().any(|b| b["type"] == "tool_result"));
    let (id, content, stop, usage) = if answered {
        (
            "msg_2",
            json!([{"type": "text", "text": "391, and 4°C in Oslo."}]),
            "end_turn",
            json!({"input_tokens": 50, "cache_read_input_tokens": 400, "cache_creation_input_tokens": 0, "output_tokens": 15}),
        )
    } else {
        (
            "msg_1",
            json!([{"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_calc", "name": "calculator", "input": {"expression": "17 * 23"}},
            {"type": "tool_use", "id": "toolu_wx", "name": "get_weather", "input": {"city": "Oslo"}}]),
            "tool_use",
            json!({"input_tokens": 30, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 400, "output_tokens": 60}),
        )
    };
    let model = "claude-sonnet-4-5-20250929";
    if req["stream"] != json!(true) {
        return Reply::json(
            200,
            json!({"id": id, "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop, "usage": usage}),
        );
    }
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "usage": start_usage}}),
    ];
    for (i, b) in content.as_array().unwrap().iter().enumerate() {
        if b["type"] == "text" {
            events.push(
                json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
            );
            events.push(
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": b["text"]}}),
            );
        } else {
            events.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}));
            events.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": b["input"].to_string()}}));
        }
        events.push(json!({"type": "content_block_stop", "index": i}));
    }
    events.push(json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": usage["output_tokens"]}}));
    events.push(json!({"type": "message_stop"}));
    sse(&events, false)
}

#[test]
fn the_anthropic_agent_example_plain_and_streamed() {
    for stream in [false, true] {
        let provider = TestServer::start(anthropic_reply);
        let receiver = TestServer::otlp();
        let env = [("ANTHROPIC_BASE_URL", provider.base_url()), ("ANTHROPIC_API_KEY", "test-key".into())];
        let out = run("anthropic_agent", stream, &env, &receiver);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let spans = spans(&receiver);
        assert_eq!(spans.len(), 6);
        let llms = by_name(&spans, "chat claude-sonnet-4-5");
        let first = llms.iter().find(|s| attr_str(&s.attributes, attr::GEN_AI_RESPONSE_ID) == Some("msg_1")).unwrap();
        let second = llms.iter().find(|s| attr_str(&s.attributes, attr::GEN_AI_RESPONSE_ID) == Some("msg_2")).unwrap();
        // Input includes the cache parts; costs at claude-sonnet-4-5's prices: $3 input,
        // $0.30 cache read, $3.75 cache write, $15 output per million.
        assert_eq!(attr_int(&first.attributes, attr::GEN_AI_INPUT_TOKENS), Some(430));
        assert_eq!(attr_int(&first.attributes, attr::GEN_AI_CACHE_CREATION_TOKENS), Some(400));
        assert_eq!(attr_int(&second.attributes, attr::GEN_AI_CACHE_READ_TOKENS), Some(400));
        let c1 = attr_f64(&first.attributes, attr::LLM_COST).unwrap();
        let c2 = attr_f64(&second.attributes, attr::LLM_COST).unwrap();
        assert!((c1 - (30.0 * 3e-6 + 400.0 * 3.75e-6 + 60.0 * 15e-6)).abs() < 1e-15, "{c1}");
        assert!((c2 - (50.0 * 3e-6 + 400.0 * 0.3e-6 + 15.0 * 15e-6)).abs() < 1e-15, "{c2}");
        for (tool, id) in [("execute_tool calculator", "toolu_calc"), ("execute_tool get_weather", "toolu_wx")] {
            assert_eq!(attr_str(&by_name(&spans, tool)[0].attributes, attr::GEN_AI_TOOL_CALL_ID), Some(id));
        }
        for s in [first, second] {
            assert_eq!(attr_str(&s.attributes, attr::SERVER_ADDRESS), Some("127.0.0.1"));
            assert_eq!(attr_int(&s.attributes, attr::SERVER_PORT), Some(i64::from(provider.port())));
        }
        let sent = provider.requests_to("/v1/messages");
        assert_eq!(sent.len(), 2);
        let second_request = sent[1].json();
        let results = &second_request["messages"].as_array().unwrap().last().unwrap()["content"];
        assert_eq!(results[0]["tool_use_id"], "toolu_calc");
        assert_eq!(results[0]["content"], "391.0");
        assert_follows_the_registry(&receiver);
    }
}

/// Issue #30: `AGENTOPS_TRACES_FILE=off` means off for the quickstart too (it used
/// to write a file named `off`), and it claims no file it did not write.
#[test]
fn the_quickstart_honours_agentops_traces_file_off() {
    let dir = std::env::temp_dir().join(format!("agentops-quickstart-off-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(example("quickstart"))
        .env_clear()
        .env("AGENTOPS_TRACES_FILE", "off")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(files.is_empty(), "{files:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("appended to"));
    let out = Command::new(example("quickstart")).env_clear().current_dir(&dir).output().unwrap();
    assert!(out.status.success());
    assert!(dir.join("agentops-traces.jsonl").exists(), "offline by default: the local file");
    assert!(String::from_utf8_lossy(&out.stdout).contains("appended to"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The quickstart's spans, resource and metrics, exported to a collector, follow the
/// semantic-conventions registry.
#[test]
fn the_quickstart_follows_the_registry() {
    let receiver = TestServer::otlp();
    let dir = std::env::temp_dir().join(format!("agentops-quickstart-semconv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(example("quickstart"))
        .env_clear()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
        .env("AGENTOPS_TRACES_FILE", "off")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_follows_the_registry(&receiver);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stream the provider cuts short (no finish reason, no `[DONE]`, no usage) is
/// recorded as far as it came: the text so far, marked incomplete and failed,
/// streamed, with no finish reason (the messages say `error`) and its missing
/// usage said, not guessed.
#[test]
fn a_stream_cut_short_is_recorded_as_far_as_it_came() {
    let provider = TestServer::start(|_| {
        sse(
            &[
                json!({"id": "chatcmpl-9", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
                json!({"id": "chatcmpl-9", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "391, and"}}]}),
            ],
            false,
        )
    });
    let (_, _, llm) = failed_openai_run(format!("{}/v1", provider.base_url()), true, &[], "incomplete_stream");
    assert_eq!(llm.status.as_ref().unwrap().message, "the stream ended before its end marker");
    let bool_attr =
        |k: &str| llm.attributes.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.clone()).and_then(|v| v.value);
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    assert_eq!(bool_attr(attr::LLM_INCOMPLETE), Some(V::BoolValue(true)));
    assert_eq!(bool_attr(attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert_eq!(bool_attr(attr::LLM_USAGE_MISSING), Some(V::BoolValue(true)));
    assert!(attr_f64(&llm.attributes, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK).is_some());
    assert_eq!(attr_str(&llm.attributes, attr::GEN_AI_RESPONSE_ID), Some("chatcmpl-9"));
    assert!(llm.attributes.iter().all(|kv| kv.key != attr::GEN_AI_RESPONSE_FINISH_REASONS));
    assert!(llm
        .attributes
        .iter()
        .all(|kv| kv.key != attr::GEN_AI_INPUT_TOKENS && kv.key != attr::GEN_AI_OUTPUT_TOKENS));
    let output = attr_str(&llm.attributes, attr::GEN_AI_OUTPUT_MESSAGES).unwrap();
    let output: Value = serde_json::from_str(output).unwrap();
    assert_eq!(output[0]["parts"][0]["content"], "391, and", "{output}");
    assert_eq!(output[0]["finish_reason"], "error", "the schema requires one: the generation did not finish");
}

/// A provider that does not answer within the call's timeout: the call is an
/// inference span failed with `error.type = timeout`.
#[test]
fn a_provider_that_times_out_is_the_inference_spans_error() {
    let provider = TestServer::start(|_| Reply::Delay(std::time::Duration::from_secs(3), Box::new(Reply::ok())));
    let timeout = [("PROVIDER_TIMEOUT_MS", "300".to_owned())];
    let (_, _, llm) = failed_openai_run(format!("{}/v1", provider.base_url()), false, &timeout, "timeout");
    let message = llm.status.unwrap().message;
    assert!(message.contains("request to http://127.0.0.1:"), "{message}");
}
