//! The application's own provider calls, made through its `ureq::Agent` with the
//! `ProviderCapture` middleware, against a fake provider in the test: each call is
//! one inference span at a real OTLP receiver, checked field by field and against
//! the semantic-conventions registry; the provider gets exactly what the
//! application sent, and the application reads exactly what the provider answered.

mod common;

use std::io::Read;
use std::time::Duration;

use agentops::providers::{ModelPrice, ProviderCapture};
use agentops::{attr, Session};
use common::session::Received;
use common::{attr_f64, attr_int, attr_str, span_value as value, Reply, TestServer};
use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::{json, Value};

const KEY: &str = "sk-test-0123456789abcdef";

/// Sends a JSON body, as an application does (ureq's `json` feature is not on).
trait SendValue {
    fn send_value(self, v: impl std::borrow::Borrow<Value>) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>;
}

impl SendValue for ureq::RequestBuilder<ureq::typestate::WithBody> {
    fn send_value(self, v: impl std::borrow::Borrow<Value>) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.header("Content-Type", "application/json").send(&serde_json::to_vec(v.borrow()).unwrap()[..])
    }
}

/// A fake provider answering every request with `reply`.
fn provider(reply: Reply) -> TestServer {
    TestServer::start(move |_| reply.clone())
}

/// The application's agent: the middleware, with the fake provider registered.
fn agent(provider: &str, configure: impl FnOnce(ProviderCapture) -> ProviderCapture) -> ureq::Agent {
    agent_with(provider, configure, |c| c)
}

fn agent_with(
    provider: &str,
    capture: impl FnOnce(ProviderCapture) -> ProviderCapture,
    config: impl FnOnce(
        ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    ) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
) -> ureq::Agent {
    let capture = capture(ProviderCapture::new().base_url(&format!("{provider}/v1")).unwrap());
    config(ureq::Agent::config_builder().http_status_as_error(false).middleware(capture)).build().into()
}

/// Runs `f` in a session (entered on this thread) of a client that prices
/// `test-model`; what its receiver got.
fn run(f: impl FnOnce(&Session)) -> Received {
    common::session::run(|b| b.model_price("test-model", ModelPrice::per_million(1.0, 2.0)), f)
}

fn strings(s: &Span, key: &str) -> Vec<String> {
    match value(s, key) {
        Some(V::ArrayValue(a)) => a
            .values
            .into_iter()
            .filter_map(|v| match v.value {
                Some(V::StringValue(s)) => Some(s),
                _ => None,
            })
            .collect(),
        other => panic!("{key} is not a string array: {other:?}"),
    }
}

fn messages(s: &Span, key: &str) -> Value {
    serde_json::from_str(attr_str(&s.attributes, key).unwrap_or_else(|| panic!("no {key}"))).unwrap()
}

fn status(s: &Span) -> (i32, &str) {
    s.status.as_ref().map_or((0, ""), |st| (st.code, st.message.as_str()))
}

fn read_all(response: ureq::http::Response<ureq::Body>) -> Vec<u8> {
    let mut out = Vec::new();
    response.into_body().into_reader().read_to_end(&mut out).unwrap();
    out
}

fn chat_request(stream: bool) -> Value {
    let mut r = json!({
        "model": "test-model", "temperature": 0.5, "max_tokens": 64, "seed": 7,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    });
    if stream {
        r["stream"] = json!(true);
        r["stream_options"] = json!({"include_usage": true});
    }
    r
}

fn chat_response() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model-2024",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    })
}

fn sse(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(format!("data: {e}\n\n").as_bytes());
    }
    out
}

fn chat_chunks() -> Vec<Value> {
    let chunk = |delta: Value, finish: Value| json!({"id": "chatcmpl-2", "model": "test-model-2024", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    vec![
        chunk(json!({"role": "assistant", "content": "Sun"}), Value::Null),
        chunk(json!({"content": "ny, 21°C."}), Value::Null),
        chunk(json!({}), json!("stop")),
        json!({"id": "chatcmpl-2", "model": "test-model-2024", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}),
    ]
}

fn event_stream(body: Vec<u8>) -> Reply {
    Reply::Status(200, vec![("Content-Type".into(), "text/event-stream".into())], body)
}

#[test]
fn a_plain_call_is_one_span_with_everything_its_bodies_say() {
    let provider = provider(Reply::json(200, chat_response()));
    let http = agent(&provider.base_url(), |c| c);
    let mut answer = Vec::new();
    let (mut before, mut after) = (0, 0);
    let got = run(|_| {
        before = now_nanos();
        let response = http
            .post(format!("{}/v1/chat/completions", provider.base_url()))
            .header("Authorization", format!("Bearer {KEY}"))
            .send_value(chat_request(false))
            .unwrap();
        answer = read_all(response);
        after = now_nanos();
    });

    // What the provider got and the application read are untouched.
    let sent = &provider.requests()[0];
    assert_eq!(sent.json(), chat_request(false));
    assert_eq!(sent.header("content-length"), Some(sent.body.len().to_string().as_str()));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap(), chat_response());

    let span = got.call();
    assert_eq!(span.name, "chat test-model");
    assert_eq!(status(span).0, StatusCode::Unset as i32);
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_OPERATION), Some("chat"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_PROVIDER), Some("openai"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_REQUEST_MODEL), Some("test-model"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_MODEL), Some("test-model-2024"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("chatcmpl-1"));
    assert_eq!(attr_f64(&span.attributes, attr::GEN_AI_REQUEST_TEMPERATURE), Some(0.5));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_REQUEST_MAX_TOKENS), Some(64));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_REQUEST_SEED), Some(7));
    assert_eq!(value(span, attr::GEN_AI_REQUEST_STREAM), None);
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_INPUT_TOKENS), Some(10));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(5));
    assert_eq!(strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS), ["tool_calls"]);
    let cost = attr_f64(&span.attributes, attr::LLM_COST).unwrap();
    assert!((cost - (10.0 * 1e-6 + 5.0 * 2e-6)).abs() < 1e-12, "{cost}");
    assert_eq!(attr_str(&span.attributes, attr::SERVER_ADDRESS), Some("127.0.0.1"));
    assert_eq!(attr_int(&span.attributes, attr::SERVER_PORT), Some(i64::from(provider.port())));
    let input = messages(span, attr::GEN_AI_INPUT_MESSAGES);
    assert_eq!(input[1]["role"], "user");
    assert_eq!(input[1]["parts"][0]["content"], "Weather in Paris?");
    let output = messages(span, attr::GEN_AI_OUTPUT_MESSAGES);
    assert_eq!(output[0]["finish_reason"], "tool_call", "the conventions' name; the attribute keeps OpenAI's");
    let call = &output[0]["parts"][0];
    assert_eq!(
        (call["type"].as_str(), call["id"].as_str(), call["name"].as_str()),
        (Some("tool_call"), Some("call_1"), Some("get_weather"))
    );
    assert_eq!(call["arguments"], json!({"city": "Paris"}));
    // The real call's times: within the application's own.
    assert!(before <= span.start_time_unix_nano && span.start_time_unix_nano <= span.end_time_unix_nano);
    assert!(span.end_time_unix_nano <= after);
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// The path users run: https, the provider's certificate from a CA the
/// application's agent trusts.
#[test]
fn over_https_plain_and_streamed() {
    let provider = TestServer::start_as(common::Scheme::Https, 0, |r| {
        if r.json()["stream"] == json!(true) {
            event_stream([sse(&chat_chunks()), b"data: [DONE]\n\n".to_vec()].concat())
        } else {
            Reply::json(200, chat_response())
        }
    });
    let pem = std::fs::read(provider.ca().unwrap()).unwrap();
    let ca = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![ca])));
    let http = agent_with(&provider.base_url(), |c| c, |b| b.tls_config(tls.build()));
    assert!(provider.base_url().starts_with("https://"));
    let got = run(|_| {
        let url = format!("{}/v1/chat/completions", provider.base_url());
        read_all(http.post(&url).send_value(chat_request(false)).unwrap());
        read_all(http.post(&url).send_value(chat_request(true)).unwrap());
    });
    let calls = got.calls();
    assert_eq!(calls.len(), 2);
    for span in calls {
        assert_eq!(status(span).0, StatusCode::Unset as i32);
        assert_eq!(attr_int(&span.attributes, attr::SERVER_PORT), Some(i64::from(provider.port())));
        assert_eq!(attr_int(&span.attributes, attr::GEN_AI_INPUT_TOKENS), Some(10));
        let streamed = value(span, attr::GEN_AI_REQUEST_STREAM).is_some();
        let id = if streamed { "chatcmpl-2" } else { "chatcmpl-1" };
        assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some(id));
    }
}

#[test]
fn a_streamed_call_is_decoded_as_the_application_reads_it() {
    let provider = provider(event_stream([sse(&chat_chunks()), b"data: [DONE]\n\n".to_vec()].concat()));
    let http = agent(&provider.base_url(), |c| c);
    let mut lines = Vec::new();
    let got = run(|_| {
        let response =
            http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(true)).unwrap();
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        lines = std::io::BufRead::lines(reader).map(Result::unwrap).filter(|l| !l.is_empty()).collect();
    });
    assert_eq!(lines.len(), 5, "the application reads every event: {lines:?}");
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Unset as i32);
    assert_eq!(value(span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert!(matches!(value(span, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK), Some(V::DoubleValue(t)) if t >= 0.0));
    assert_eq!(value(span, attr::LLM_INCOMPLETE), None);
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("chatcmpl-2"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_MODEL), Some("test-model-2024"));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_INPUT_TOKENS), Some(10));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(5));
    assert_eq!(strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS), ["stop"]);
    assert!(attr_f64(&span.attributes, attr::LLM_COST).is_some());
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Sunny, 21°C.");
}

#[test]
fn a_stream_dropped_after_its_first_chunk_ends_its_span_then() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
    let chunks = chat_chunks();
    let first = sse(&chunks[..1]);
    let rest = [sse(&chunks[1..]), b"data: [DONE]\n\n".to_vec()].concat();
    // The rest comes long after the application has stopped reading.
    let provider = provider(Reply::Parts(vec![[head, first.clone()].concat(), rest], Duration::from_secs(5)));
    let http = agent(&provider.base_url(), |c| c);
    let mut read = Vec::new();
    let got = run(|_| {
        let response =
            http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(true)).unwrap();
        let mut body = response.into_body().into_reader();
        let mut buf = [0u8; 4096];
        while read.len() < first.len() {
            let n = body.read(&mut buf).unwrap();
            assert!(n > 0);
            read.extend_from_slice(&buf[..n]);
        }
        // The application stops reading: its body is dropped here, and the span
        // ends (were it left open, no span would reach the receiver at all).
    });
    assert_eq!(read, first);
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Unset as i32, "stopping is not a failure");
    assert_eq!(value(span, attr::LLM_INCOMPLETE), Some(V::BoolValue(true)));
    assert_eq!(value(span, attr::LLM_USAGE_MISSING), Some(V::BoolValue(true)));
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Sun");
}

#[test]
fn a_429_with_the_providers_error_body_fails_the_span_with_its_type() {
    let error = json!({"error": {"message": "Rate limit reached for test-model", "type": "rate_limit_error", "code": "rate_limit_exceeded"}});
    let provider = provider(Reply::json(429, error.clone()));
    let http = agent(&provider.base_url(), |c| c);
    let mut answer = Vec::new();
    let got = run(|_| {
        let response =
            http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(false)).unwrap();
        assert_eq!(response.status().as_u16(), 429);
        answer = read_all(response);
    });
    assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap(), error, "the application reads the error body");
    let span = got.call();
    assert_eq!(status(span), (StatusCode::Error as i32, "HTTP 429: Rate limit reached for test-model"));
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("rate_limit_error"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_REQUEST_MODEL), Some("test-model"));
    assert_eq!(value(span, attr::GEN_AI_OUTPUT_MESSAGES), None);
}

#[test]
fn under_ureqs_default_an_error_status_fails_the_span_with_the_status() {
    let provider = provider(Reply::json(503, json!({"error": {"message": "down"}})));
    let capture = ProviderCapture::new().base_url(&provider.base_url()).unwrap();
    let http: ureq::Agent = ureq::Agent::config_builder().middleware(capture).build().into();
    let got = run(|_| {
        let e = http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(false));
        assert!(matches!(e, Err(ureq::Error::StatusCode(503))), "{e:?}");
    });
    let span = got.call();
    assert_eq!(status(span), (StatusCode::Error as i32, "HTTP 503"));
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("503"));
}

#[test]
fn a_provider_that_refuses_the_connection_fails_the_span() {
    let base = format!("http://127.0.0.1:{}", common::closed_port());
    let http = agent(&base, |c| c);
    let got = run(|_| {
        let e = http.post(format!("{base}/v1/chat/completions")).send_value(chat_request(false));
        assert!(matches!(e, Err(ureq::Error::Io(_) | ureq::Error::ConnectionFailed)), "{e:?}");
    });
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Error as i32);
    assert!(
        status(span).1.starts_with(&format!("request to {base}/v1/chat/completions failed: ")),
        "{}",
        status(span).1
    );
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("connection_failed"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_REQUEST_MODEL), Some("test-model"));
}

#[test]
fn a_provider_that_does_not_answer_in_time_fails_the_span_with_timeout() {
    let provider = provider(Reply::Delay(Duration::from_secs(10), Box::new(Reply::json(200, chat_response()))));
    let http = agent_with(&provider.base_url(), |c| c, |b| b.timeout_global(Some(Duration::from_millis(300))));
    let got = run(|_| {
        let e = http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(false));
        assert!(matches!(e, Err(ureq::Error::Timeout(_))), "{e:?}");
    });
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Error as i32);
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("timeout"));
}

/// A stream that stops arriving mid-way: the application's read times out, and
/// the span fails with `timeout`, keeping what arrived.
#[test]
fn a_stream_that_stalls_past_the_timeout_fails_the_span_with_what_arrived() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
    let chunks = chat_chunks();
    let first = sse(&chunks[..1]);
    let provider = provider(Reply::Parts(vec![[head, first].concat(), sse(&chunks[1..])], Duration::from_secs(10)));
    let http = agent_with(&provider.base_url(), |c| c, |b| b.timeout_global(Some(Duration::from_millis(500))));
    let got = run(|_| {
        let response =
            http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(true)).unwrap();
        let mut body = Vec::new();
        let read = response.into_body().into_reader().read_to_end(&mut body);
        assert!(read.is_err(), "the read times out");
    });
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Error as i32);
    assert_eq!(attr_str(&span.attributes, attr::ERROR_TYPE), Some("timeout"), "{}", status(span).1);
    assert!(status(span).1.starts_with("reading the answer failed: "), "{}", status(span).1);
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Sun");
    assert_eq!(value(span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
}

#[test]
fn requests_it_does_not_recognize_pass_through_unrecorded() {
    let provider = provider(Reply::json(200, chat_response()));
    let http = agent(&provider.base_url(), |c| c);
    let got = run(|session| {
        // Another path, another method, and another host: none is a provider call.
        let other = http.post(format!("{}/v1/embeddings", provider.base_url())).send_value(json!({"input": "x"}));
        assert_eq!(read_all(other.unwrap()), serde_json::to_vec(&chat_response()).unwrap());
        http.get(format!("{}/v1/chat/completions", provider.base_url())).call().unwrap();
        let other_host = format!("http://localhost:{}/v1/chat/completions", provider.port());
        http.post(other_host).send_value(chat_request(false)).unwrap();
        session.record(agentops::ActionEvent::new("after"));
    });
    assert!(got.calls().is_empty(), "{:?}", got.spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    let sent = provider.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].json(), json!({"input": "x"}));
    assert_eq!(sent[2].json(), chat_request(false));
}

#[test]
fn a_call_outside_any_scope_is_not_recorded_and_still_made() {
    let provider = provider(Reply::json(200, chat_response()));
    let http = agent(&provider.base_url(), |c| c);
    let url = format!("{}/v1/chat/completions", provider.base_url());
    let got = run(|session| {
        // Another thread: the session is current on the test's thread only.
        let answer = std::thread::scope(|t| {
            t.spawn(|| read_all(http.post(&url).send_value(chat_request(false)).unwrap())).join()
        });
        assert_eq!(serde_json::from_slice::<Value>(&answer.unwrap()).unwrap(), chat_response());
        session.record(agentops::ActionEvent::new("after"));
    });
    assert!(got.calls().is_empty(), "{:?}", got.spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    assert_eq!(got.spans.len(), 2, "the session and the action: the export worked");
    assert_eq!(provider.requests().len(), 1);
}

#[test]
fn a_request_over_the_limit_is_sent_whole_and_recorded_without_content() {
    let provider = provider(Reply::json(200, chat_response()));
    let http = agent(&provider.base_url(), |c| c.max_body_bytes(700));
    let mut request = chat_request(false);
    request["messages"][1]["content"] = json!("x".repeat(1000));
    let got = run(|_| {
        let response =
            http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(request.clone()).unwrap();
        read_all(response);
    });
    let sent = &provider.requests()[0];
    assert_eq!(sent.json(), request, "sent on whole");
    assert_eq!(sent.header("transfer-encoding"), Some("chunked"));
    let span = got.call();
    assert_eq!(value(span, attr::LLM_CONTENT_OMITTED), Some(V::BoolValue(true)));
    assert_eq!(value(span, attr::GEN_AI_INPUT_MESSAGES), None);
    // Nothing of the request is read, not its parameters nor its model: the
    // model is the one that answered (as for an Azure request, which names none).
    assert_eq!(span.name, "chat test-model-2024");
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_REQUEST_MODEL), Some("test-model-2024"));
    assert_eq!(value(span, attr::GEN_AI_REQUEST_TEMPERATURE), None);
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_MODEL), Some("test-model-2024"));
    assert!(!got.bodies.iter().any(|b| b.windows(100).any(|w| w == "x".repeat(100).as_bytes())));
    // The answer was within the limit: what it says is kept.
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("chatcmpl-1"));
}

#[test]
fn a_response_over_the_limit_reaches_the_application_whole_and_is_recorded_without_content() {
    let mut response = chat_response();
    response["choices"][0]["message"] = json!({"role": "assistant", "content": "y".repeat(5000)});
    let provider = provider(Reply::json(200, response.clone()));
    let http = agent(&provider.base_url(), |c| c.max_body_bytes(1024));
    let mut answer = Vec::new();
    let got = run(|_| {
        let r =
            http.post(format!("{}/v1/chat/completions", provider.base_url())).send_value(chat_request(false)).unwrap();
        answer = read_all(r);
    });
    assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap(), response);
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Unset as i32);
    assert_eq!(value(span, attr::LLM_CONTENT_OMITTED), Some(V::BoolValue(true)));
    assert_eq!(value(span, attr::GEN_AI_OUTPUT_MESSAGES), None);
    assert!(!got.bodies.iter().any(|b| b.windows(100).any(|w| w == "y".repeat(100).as_bytes())));
}

#[test]
fn credentials_never_reach_a_span() {
    // The provider echoes the key in its error, as some do for a bad one.
    let echo =
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "invalid_request_error"}});
    let provider = provider(Reply::json(401, echo));
    let http = agent(&provider.base_url(), |c| c);
    let base = provider.base_url();
    let got = run(|_| {
        let r = http.post(format!("{base}/v1/chat/completions")).header("Authorization", format!("Bearer {KEY}"));
        read_all(r.send_value(chat_request(false)).unwrap());
        let r =
            http.post(format!("{base}/v1/messages")).header("x-api-key", KEY).header("anthropic-version", "2023-06-01");
        read_all(
            r.send_value(
                json!({"model": "claude-test", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
            )
            .unwrap(),
        );
        let r = http.post(format!("{base}/v1/models/gemini-test:generateContent?key={KEY}"));
        read_all(r.send_value(json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})).unwrap());
        // A failure's message says where the request went, without the query.
        let nowhere = format!("http://127.0.0.1:{}", common::closed_port());
        let r = agent(&nowhere, |c| c).post(format!("{nowhere}/v1/models/gemini-test:generateContent?key={KEY}"));
        assert!(r.send_value(json!({"contents": []})).is_err());
    });
    assert_eq!(got.calls().len(), 4);
    assert_eq!(provider.requests().len(), 3, "every credential reached the provider");
    let (refused, answered): (Vec<&Span>, Vec<&Span>) =
        got.calls().into_iter().partition(|s| attr_str(&s.attributes, attr::ERROR_TYPE) == Some("connection_failed"));
    let refused = refused[0];
    assert_eq!(attr_str(&refused.attributes, attr::ERROR_TYPE), Some("connection_failed"));
    assert!(status(refused).1.contains(":generateContent failed: "), "{}", status(refused).1);
    assert_eq!(answered.len(), 3);
    for span in answered {
        assert_eq!(status(span).0, StatusCode::Error as i32);
        assert!(status(span).1.starts_with("HTTP 401"), "{}", status(span).1);
    }
    assert!(got.calls().iter().any(|s| status(s).1.contains("Incorrect API key provided: [REDACTED]")));
    assert!(!got.bodies.is_empty());
    for body in &got.bodies {
        assert!(!body.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key reached the receiver");
        assert!(!body.windows(12).any(|w| w == b"sk-test-0123"), "part of the key reached the receiver");
    }
}

#[test]
fn anthropic_plain_and_streamed() {
    let request = json!({"model": "claude-test", "max_tokens": 100, "temperature": 0.2,
                         "messages": [{"role": "user", "content": "Weather?"}]});
    let plain = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test-2025",
        "content": [{"type": "text", "text": "Let me check."}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 12, "output_tokens": 7}});
    let events: &[(&str, Value)] = &[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-test-2025", "content": [], "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Sunny."}}),
        ),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let streamed: Vec<u8> =
        events.iter().flat_map(|(name, data)| format!("event: {name}\ndata: {data}\n\n").into_bytes()).collect();
    let provider = TestServer::start(move |r| {
        if r.json()["stream"] == json!(true) {
            event_stream(streamed.clone())
        } else {
            Reply::json(200, plain.clone())
        }
    });
    let http = agent(&provider.base_url(), |c| c);
    let got = run(|_| {
        let url = format!("{}/v1/messages", provider.base_url());
        read_all(http.post(&url).send_value(&request).unwrap());
        let mut stream_request = request.clone();
        stream_request["stream"] = json!(true);
        read_all(http.post(&url).send_value(stream_request).unwrap());
    });
    let calls = got.calls();
    assert_eq!(calls.len(), 2);
    for span in &calls {
        assert_eq!(span.name, "chat claude-test");
        assert_eq!(status(span).0, StatusCode::Unset as i32);
        assert_eq!(attr_str(&span.attributes, attr::GEN_AI_PROVIDER), Some("anthropic"));
        assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_MODEL), Some("claude-test-2025"));
        assert_eq!(attr_f64(&span.attributes, attr::GEN_AI_REQUEST_TEMPERATURE), Some(0.2));
        assert_eq!(attr_int(&span.attributes, attr::GEN_AI_REQUEST_MAX_TOKENS), Some(100));
        assert_eq!(attr_int(&span.attributes, attr::GEN_AI_INPUT_TOKENS), Some(12));
    }
    let (plain, streamed) = if value(calls[0], attr::GEN_AI_REQUEST_STREAM).is_some() {
        (calls[1], calls[0])
    } else {
        (calls[0], calls[1])
    };
    assert_eq!(attr_str(&plain.attributes, attr::GEN_AI_RESPONSE_ID), Some("msg_1"));
    assert_eq!(attr_int(&plain.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(7));
    assert_eq!(strings(plain, attr::GEN_AI_RESPONSE_FINISH_REASONS), ["tool_use"]);
    let parts = &messages(plain, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"];
    assert_eq!(parts[0]["content"], "Let me check.");
    assert_eq!((parts[1]["type"].as_str(), parts[1]["id"].as_str()), (Some("tool_call"), Some("toolu_1")));
    assert_eq!(attr_str(&streamed.attributes, attr::GEN_AI_RESPONSE_ID), Some("msg_2"));
    assert_eq!(attr_int(&streamed.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(3));
    assert_eq!(strings(streamed, attr::GEN_AI_RESPONSE_FINISH_REASONS), ["end_turn"]);
    assert_eq!(value(streamed, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert_eq!(messages(streamed, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Sunny.");
}

#[test]
fn gemini_server_sent_events() {
    let chunk = |text: &str, finish: Option<&str>, usage: Option<Value>| {
        let mut c = json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": text}]}}],
                           "modelVersion": "gemini-test-001", "responseId": "resp-1"});
        if let Some(f) = finish {
            c["candidates"][0]["finishReason"] = json!(f);
        }
        if let Some(u) = usage {
            c["usageMetadata"] = u;
        }
        c
    };
    let body = sse(&[
        chunk("Sun", None, None),
        chunk(
            "ny.",
            Some("STOP"),
            Some(json!({"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6})),
        ),
    ]);
    let provider = provider(event_stream(body));
    let http = agent(&provider.base_url(), |c| c);
    let got = run(|_| {
        let url = format!("{}/v1/models/gemini-test:streamGenerateContent?alt=sse&key={KEY}", provider.base_url());
        let request = json!({"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}], "generationConfig": {"temperature": 0.3}});
        read_all(http.post(url).send_value(request).unwrap());
    });
    let span = got.call();
    assert_eq!(span.name, "chat gemini-test");
    assert_eq!(status(span).0, StatusCode::Unset as i32);
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_PROVIDER), Some("gcp.gemini"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_MODEL), Some("gemini-test-001"));
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("resp-1"));
    assert_eq!(attr_f64(&span.attributes, attr::GEN_AI_REQUEST_TEMPERATURE), Some(0.3));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_INPUT_TOKENS), Some(4));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(2));
    assert_eq!(strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS), ["STOP"]);
    assert_eq!(value(span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Sunny.");
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["finish_reason"], "stop");
    assert!(!got.bodies.iter().any(|b| b.windows(KEY.len()).any(|w| w == KEY.as_bytes())));
}

/// `streamGenerateContent` without `alt=sse` answers with a JSON array of the
/// chunks, all at once: read as the stream it is, with no time to a first chunk.
#[test]
fn gemini_streamed_as_one_json_array() {
    let chunk = |text: &str, extra: Value| {
        let mut c = json!({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": text}]}}],
                           "modelVersion": "gemini-test-001", "responseId": "resp-2"});
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                c[k] = v;
            }
        }
        c
    };
    let array = json!([
        chunk("Clou", json!({})),
        chunk("dy.", json!({"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 3}})),
    ]);
    let mut last = array[1].clone();
    last["candidates"][0]["finishReason"] = json!("STOP");
    let array = json!([array[0], last]);
    let provider = provider(Reply::json(200, array));
    let http = agent(&provider.base_url(), |c| c);
    let got = run(|_| {
        let url = format!("{}/v1/models/gemini-test:streamGenerateContent", provider.base_url());
        let request = json!({"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}]});
        read_all(http.post(url).send_value(request).unwrap());
    });
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Unset as i32);
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("resp-2"));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(3));
    assert_eq!(strings(span, attr::GEN_AI_RESPONSE_FINISH_REASONS), ["STOP"]);
    assert_eq!(value(span, attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK), None);
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Cloudy.");
    assert_eq!(messages(span, attr::GEN_AI_INPUT_MESSAGES)[0]["parts"][0]["content"], "Weather?");
}

#[test]
fn a_given_scope_is_recorded_into_from_any_thread() {
    let provider = provider(Reply::json(200, chat_response()));
    let base = provider.base_url();
    let got = run(|session| {
        let action = session.start_action("plan");
        let http = agent(&base, |c| c.scope(&action));
        // Another thread, with no current scope of its own.
        let url = format!("{base}/v1/chat/completions");
        std::thread::spawn(move || read_all(http.post(url).send_value(chat_request(false)).unwrap())).join().unwrap();
        action.end();
    });
    let span = got.call();
    let action = got.spans.iter().find(|s| s.name.contains("plan")).expect("the action's span");
    assert_eq!(span.parent_span_id, action.span_id);
}

/// The guard, around a client that is not ureq: here HTTP/1.1 written by hand on
/// a `TcpStream`, its streamed answer pushed to the call as it is read.
#[test]
fn the_guard_records_a_call_made_with_another_client() {
    use agentops::providers::{Api, ProviderCall};
    use std::io::{BufRead, Write};
    let provider = provider(event_stream([sse(&chat_chunks()), b"data: [DONE]\n\n".to_vec()].concat()));
    let got = run(|_| {
        let request = chat_request(true);
        let url = format!("{}/v1/chat/completions", provider.base_url());
        let mut call = ProviderCall::start(Api::OpenAiChat, &request).url(&url);
        let body = request.to_string();
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", provider.port())).unwrap();
        write!(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut answer = std::io::BufReader::new(conn);
        let mut line = String::new();
        answer.read_line(&mut line).unwrap();
        call.status(line.split(' ').nth(1).unwrap().parse().unwrap());
        let mut length = 0;
        while {
            line.clear();
            answer.read_line(&mut line).unwrap();
            line != "\r\n"
        } {
            if let Some((_, v)) = line.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
                length = v.trim().parse().unwrap();
            }
        }
        // The body as such a client hands it on: in pieces, as they are read.
        let mut body = answer.take(length);
        let mut piece = [0u8; 7];
        loop {
            let n = body.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            call.push(&piece[..n]);
        }
        call.finish().unwrap();
    });
    let span = got.call();
    assert_eq!(status(span).0, StatusCode::Unset as i32);
    assert_eq!(attr_str(&span.attributes, attr::GEN_AI_RESPONSE_ID), Some("chatcmpl-2"));
    assert_eq!(attr_int(&span.attributes, attr::GEN_AI_OUTPUT_TOKENS), Some(5));
    assert_eq!(value(span, attr::GEN_AI_REQUEST_STREAM), Some(V::BoolValue(true)));
    assert_eq!(attr_int(&span.attributes, attr::SERVER_PORT), Some(i64::from(provider.port())));
    assert_eq!(messages(span, attr::GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"], "Sunny, 21°C.");
}

/// The guard is told the key it cannot see in a header: a provider that echoes it
/// in an error does not get it into the span.
#[test]
fn the_guard_cuts_a_key_it_is_given_out_of_what_the_provider_says() {
    use agentops::providers::{Api, ProviderCall};
    let echo =
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}."), "type": "invalid_request_error"}});
    let got = run(|_| {
        let call = ProviderCall::start(Api::OpenAiChat, chat_request(false)).redact(KEY);
        let e = call.finish_with(401, echo.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.error_type(), "invalid_request_error");
    });
    let span = got.call();
    assert_eq!(status(span), (StatusCode::Error as i32, "HTTP 401: Incorrect API key provided: [REDACTED]."));
    assert!(!got.bodies.iter().any(|b| b.windows(KEY.len()).any(|w| w == KEY.as_bytes())));
}
