//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, not part of the
//! API): the parsers of what receivers answer, which are internal.

use std::time::{Duration, SystemTime};

use crate::encode::protocol::Protocol;
use crate::exporters::otlp_body::{decode_partial_success, Signal};

/// `Retry-After`, as seconds or an HTTP date, relative to `now`.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    crate::transport::retry_after::parse_retry_after(value, now)
}

/// `partialSuccess` of an OTLP answer (spans, then data points), both encodings.
pub fn partial_success(body: &[u8]) -> [Option<(u64, String)>; 4] {
    let (pb, js) = (Protocol::HttpProtobuf, Protocol::HttpJson);
    [
        decode_partial_success(body, pb, Signal::Traces),
        decode_partial_success(body, js, Signal::Traces),
        decode_partial_success(body, pb, Signal::Metrics),
        decode_partial_success(body, js, Signal::Metrics),
    ]
}

/// An error body as the log shows it (`google.rpc.Status`, JSON or text).
pub fn describe_body(body: &[u8], content_type: Option<&str>) -> String {
    crate::transport::rpc_status::describe_body(body, content_type)
}

/// AgentOps' answers: `/v3/auth/token`, a v2 JWT, `update_session`'s `token_cost`.
#[allow(clippy::type_complexity)]
pub fn agentops_answers(body: &[u8]) -> (Result<(String, String), String>, Result<String, String>, Option<f64>) {
    use crate::exporters::agentops::answers;
    (answers::auth_token(body), answers::jwt(body, "/v2/create_session"), answers::token_cost(body))
}

/// The fuzz targets' bodies, one function a target (`fuzz/fuzz_targets/*.rs` call
/// them; `tests/fuzz_corpus.rs` replays the stored corpora through them).
pub mod targets {
    use std::sync::OnceLock;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use crate::adapters::{anthropic, gemini, openai, Stream};
    use crate::client::Client;
    use crate::config::builder::OtelConfigBuilder;
    use crate::config::otel::OtelConfig;
    use crate::event::action::ActionEvent;
    use crate::event::llm::LlmEvent;
    use crate::event::tool::ToolEvent;
    use crate::export::memory::InMemoryExporter;
    use crate::export::retry::RetryPolicy;
    use crate::session::summary::EndState;

    /// Configuration from the environment: any set of variables (one `NAME=value` a
    /// line) gives a configuration or a `ConfigError`, never a panic.
    pub fn config_env(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let vars: Vec<(String, String)> =
            text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_owned(), v.to_owned())).collect();
        let lookup = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if let Ok(b) = OtelConfigBuilder::from_lookup(lookup) {
            let _ = b.build();
        }
    }

    /// The provider adapters and streams: any response body (and any stream bytes,
    /// split anywhere) gives an event or a typed error, never a panic.
    pub fn providers(data: &[u8]) {
        let request = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        let _ = openai::chat_completion(&request[..], data);
        let _ = openai::responses(&request[..], data);
        let _ = anthropic::messages(&request[..], data);
        let _ = gemini::generate_content("m", &request[..], data);
        let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
        let streams = [
            Stream::openai_chat(&request[..]),
            Stream::openai_responses(&request[..]),
            Stream::anthropic(&request[..]),
            Stream::gemini("m", &request[..]),
        ];
        for mut s in streams.into_iter().flatten() {
            if s.push(&data[..split]).is_ok() && s.push(&data[split..]).is_ok() {
                let _ = s.finish();
            }
        }
    }

    fn disabled_client() -> &'static Client {
        static C: OnceLock<Client> = OnceLock::new();
        C.get_or_init(|| Client::new(OtelConfig::builder().disabled(true).build().unwrap()).unwrap())
    }

    /// W3C trace context handed in: any `traceparent` / `tracestate` (the first
    /// line, then the rest) continues a session or is an `InvalidTraceContext`
    /// error, never a panic; what a session gives out parses back to the same trace.
    pub fn trace_context(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let (tp, state) = text.split_once('\n').unwrap_or((&text, ""));
        if let Ok(b) = disabled_client().session().traceparent(tp, Some(state)) {
            let s = b.start();
            let again = disabled_client().session().traceparent(&s.traceparent(), Some(&s.tracestate()));
            assert_eq!(again.expect("our own traceparent parses").start().trace_id(), s.trace_id());
        }
    }

    /// What receivers answer: `Retry-After` values, OTLP `partialSuccess` bodies
    /// (protobuf and JSON, spans and data points) and error bodies, read without a
    /// panic and within bounds. A `Retry-After` may parse to any length
    /// (`016001601600160` seconds did, in the first run); what is bounded is the
    /// wait the retry policy takes from it.
    pub fn responses(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        for at in [now, SystemTime::UNIX_EPOCH] {
            let parsed = crate::fuzzing::retry_after(&text, at);
            let wait = RetryPolicy::default().backoff(1, parsed, 0.5);
            assert!(wait <= Duration::from_secs(30), "{text:?} -> {parsed:?} -> {wait:?}");
        }
        let _ = crate::fuzzing::partial_success(data);
        for ct in [Some("application/x-protobuf"), Some("application/json"), Some("text/plain"), None] {
            assert!(crate::fuzzing::describe_body(data, ct).len() <= 64 * 1024, "an error body is shown bounded");
        }
    }

    /// AgentOps' answers (`/v3/auth/token`, the v2 JWTs, `token_cost`): any bytes
    /// give a token, a JWT and a cost that can be used, or a message, never a panic.
    pub fn agentops_answers(data: &[u8]) {
        let (auth, jwt, cost) = crate::fuzzing::agentops_answers(data);
        for token in [auth.map(|(t, _)| t), jwt].into_iter().flatten() {
            assert!(!token.is_empty() && !token.bytes().any(|b| b == b'\r' || b == b'\n'), "{token:?}");
        }
        if let Some(c) = cost {
            assert!(c.is_finite() && c >= 0.0, "{c}");
        }
    }

    fn memory_client() -> &'static (Client, InMemoryExporter) {
        static C: OnceLock<(Client, InMemoryExporter)> = OnceLock::new();
        C.get_or_init(|| {
            let memory = InMemoryExporter::new();
            let config = OtelConfig::builder()
                .in_memory(memory.clone())
                .max_value_len(256)
                .enable_metrics(false)
                .build()
                .unwrap();
            (Client::new(config).unwrap(), memory)
        })
    }

    /// The encoder over arbitrary JSON and strings: events whose params, returns,
    /// prompts and names come from the input are exported (to memory) without a
    /// panic, and every one of them is accounted for.
    pub fn encoder(data: &[u8]) {
        let text = String::from_utf8_lossy(data).into_owned();
        let value: serde_json::Value = serde_json::from_slice(data).unwrap_or(serde_json::Value::String(text.clone()));
        let (c, memory) = memory_client();
        let before = c.stats().spans_recorded;
        let s = c.start_session(&[text.as_str()]);
        s.record(ToolEvent::new(text.clone()).params(&value).returns(&value).logs(text.clone()));
        s.record(ActionEvent::new(text.clone()).params(&value));
        s.record(LlmEvent::new(text.clone()).prompt(text.clone()).completion(text.clone()).params(&value));
        s.end(EndState::Success, text);
        c.flush(Duration::from_secs(10)).unwrap();
        memory.clear(); // what a long run exports must not accumulate
        let st = c.stats();
        assert_eq!(st.spans_recorded - before, 4);
        assert_eq!(st.spans_recorded, st.spans_exported + st.spans_dropped() + st.spans_filtered + st.spans_queued);
    }
}
