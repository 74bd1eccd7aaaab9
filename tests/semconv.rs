//! The span and metric schema against the OpenTelemetry semantic-conventions
//! registry (`tests/common/semconv.rs` reads it): every kind of event a session
//! records, exported to a local OTLP receiver with metrics on, checked attribute by
//! attribute; the checker itself, on spans made wrong on purpose; and the registry
//! copy in `tests/semconv/` against the shared one.

mod common;

use std::path::Path;
use std::time::Duration;

use agentops::providers::{openai, Stream};
use agentops::{ActionEvent, AgentEvent, Client, EndState, ErrorEvent, LlmEvent, OtelConfig, ToolEvent};
use common::semconv::registry;
use common::TestServer;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span, Status};
use serde_json::json;

fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..KeyValue::default() }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

#[test]
fn the_checker_finds_undefined_mistyped_deprecated_and_missing_attributes() {
    let reg = registry();
    let span = Span {
        name: "chat m".into(),
        kind: SpanKind::Client as i32,
        attributes: vec![
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.request.model", s("m")),
            kv("gen_ai.usage.input_tokens", s("12")),
            kv("gen_ai.made.up", s("x")),
            kv("gen_ai.system", s("openai")),
            kv("host.arch", s("x86_64")),
            kv("my.own", s("x")),
            kv("agentops.span.kind", s("llm")),
            kv("gen_ai.response.time_to_first_chunk", Value::DoubleValue(0.1)),
            kv("server.address", s("api.openai.com")),
        ],
        status: Some(Status { code: StatusCode::Error as i32, message: "boom".into() }),
        ..Span::default()
    };
    let found = reg.check_spans(&[(span, vec![])]);
    let want = [
        "span `chat m`: `gen_ai.made.up` is not defined by the registry",
        "span `chat m`: `gen_ai.system` is deprecated in the registry",
        "span `chat m`: `gen_ai.usage.input_tokens` is string, the registry's is Int",
        "span `chat m`: `my.own` is neither in the registry's namespaces nor under agentops.*",
        "span `chat m`: ended in an error without `error.type` (conditionally required)",
        "span `chat m`: lacks `gen_ai.provider.name`, required by span.gen_ai.inference.client",
        "span `chat m`: `server.address` without `server.port` (conditionally required)",
        "span `chat m`: streamed (time to first chunk) without `gen_ai.request.stream = true`",
    ];
    for w in want {
        assert!(found.iter().any(|f| f == w), "missing {w:?} in {found:#?}");
    }
    assert!(found.iter().any(|f| f.starts_with("span `chat m`: `host.arch` is \"x86_64\", not one of")), "{found:#?}");
    assert_eq!(found.len(), want.len() + 1, "{found:#?}");
}

#[test]
fn the_registry_copy_is_the_shared_one() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/semconv-registry/model");
    if !shared.is_dir() {
        eprintln!("no {} here: the copy cannot be compared", shared.display());
        return;
    }
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/semconv/model");
    for dir in std::fs::read_dir(&ours).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_owned();
        let diff = std::process::Command::new("diff").arg("-r").arg(&dir).arg(shared.join(&name)).output().unwrap();
        assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stdout));
    }
    let doc = "docs/gen-ai/gen-ai-metrics.md";
    let ours = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/semconv").join(doc)).unwrap();
    assert_eq!(ours, std::fs::read(shared.join("..").join(doc)).unwrap(), "{doc}");
}

/// A receiver, and a client that sends it spans and metrics.
fn client_with_metrics() -> (TestServer, Client) {
    let receiver = TestServer::otlp();
    let config =
        OtelConfig::builder().default_exporters(false).otlp(receiver.otlp_config()).enable_metrics(true).build();
    let client = Client::new(config.unwrap()).unwrap();
    (receiver, client)
}

/// Every kind of event, plain and streamed, ok and failed, into a receiver.
#[test]
fn every_span_and_metric_a_session_exports_follows_the_registry() {
    let (receiver, client) = client_with_metrics();
    let session = client.start_session(&["semconv"]);
    session.agent(AgentEvent::new("planner").description("plans"), |agent| {
        let request = json!({"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 100, "top_k": 4, "n": 2,
            "messages": [{"role": "user", "content": "hi"}]});
        let body = json!({"id": "c1", "model": "gpt-4o-mini-2024-07-18", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hello"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2}});
        agent.record(openai::chat_completion(&request, body.to_string().as_bytes()).unwrap());
        let mut stream = Stream::openai_chat(json!({"model": "gpt-4o-mini", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}))
        .unwrap();
        stream
            .push(b"data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
            .unwrap();
        agent.record(stream.finish().unwrap());
        let _ok: Result<u32, String> = agent.tool("add", &json!({"a": 1, "b": 2}), || Ok(3));
        let _err: Result<u32, String> = agent.tool("divide", &json!({"a": 1, "b": 0}), || Err("division by zero".into()));
        agent.action("plan", |a| {
            a.params(&json!({"goal": "x"}));
            a.record(ActionEvent::new("step"));
        });
        agent.record(ErrorEvent::new("RateLimited").details("429").code("429"));
        agent.record(ToolEvent::new("lookup").params(&"q"));
        agent.record(LlmEvent::new("claude-3-5-haiku").provider("anthropic").tokens(3, 4));
    });
    session.end(EndState::Success, "done");
    client.shutdown(Duration::from_secs(10)).unwrap();

    let reg = registry();
    let spans = receiver.accepted_spans();
    assert!(spans.len() >= 10, "{}", spans.len());
    let problems = reg.check_spans(&spans);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let chat =
        spans.iter().map(|(s, _)| s).find(|s| common::attr_str(&s.attributes, "gen_ai.response.id") == Some("c1"));
    assert_eq!(common::attr_int(&chat.unwrap().attributes, "gen_ai.request.choice.count"), Some(2));
    assert_eq!(common::attr_f64(&chat.unwrap().attributes, "gen_ai.request.top_k"), Some(4.0));
    let metrics = receiver.accepted_metrics();
    let ttfc = common::metrics::metrics_named(metrics.last().unwrap(), "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(common::metrics::histogram(ttfc[0]).0.iter().map(|p| p.count).sum::<u64>(), 1, "the one stream");
    let problems = reg.check_metrics(&metrics);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A provider's error answer, a connection that failed and a timeout each end the
/// inference span with status ERROR, `error.type` and the message; the session
/// counts each once; `gen_ai.client.operation.duration` records each with its
/// `error.type`.
#[test]
fn failed_calls_are_inference_spans_that_failed() {
    use agentops::providers::ProviderError;
    use common::attr_str;
    use common::metrics::{histogram, metric};

    let (receiver, client) = client_with_metrics();
    let session = client.start_session(&["failures"]);
    let body = br#"{"error": {"type": "rate_limit_error", "message": "Number of requests exceeded"}}"#;
    let answered = ProviderError::from_status("anthropic", 429, body);
    assert_eq!(answered.error_type(), "rate_limit_error");
    let unparsed = ProviderError::from_status("openai", 502, b"<html>Bad Gateway</html>");
    assert_eq!(unparsed.error_type(), "502");
    let failures = [
        ("claude-3-5-haiku", "anthropic", answered.error_type(), answered.to_string()),
        ("gpt-4o-mini", "openai", unparsed.error_type(), unparsed.to_string()),
        ("gpt-4o", "openai", "connection_failed".into(), "connection refused (127.0.0.1:9)".to_owned()),
        ("gpt-4o", "openai", "timeout".into(), "no answer within 30s".to_owned()),
    ];
    for (model, provider, kind, message) in &failures {
        session.record(LlmEvent::new(*model).provider(*provider).failed(kind.clone(), message.clone()));
    }
    let summary = session.end(EndState::Fail, "the provider failed");
    assert_eq!(summary.event_counts.errors, 4, "each failed call counted once");
    assert_eq!(summary.event_counts.llms, 4);
    client.shutdown(Duration::from_secs(10)).unwrap();

    let spans = receiver.accepted_spans();
    let llms: Vec<&Span> = spans.iter().map(|(s, _)| s).filter(|s| s.name.starts_with("chat ")).collect();
    assert_eq!(llms.len(), 4);
    assert_eq!(spans.len(), 5, "no error spans beside them");
    for (span, (model, provider, kind, message)) in llms.iter().zip(&failures) {
        assert_eq!(span.name, format!("chat {model}"));
        assert_eq!(span.kind, SpanKind::Client as i32);
        let status = span.status.as_ref().unwrap();
        assert_eq!((status.code, status.message.as_str()), (StatusCode::Error as i32, message.as_str()));
        assert_eq!(attr_str(&span.attributes, "error.type"), Some(kind.as_ref()));
        assert_eq!(attr_str(&span.attributes, "gen_ai.provider.name"), Some(*provider));
        assert_eq!(attr_str(&span.attributes, "gen_ai.operation.name"), Some("chat"));
    }
    assert_eq!(failures[0].3, "anthropic error rate_limit_error: Number of requests exceeded");
    let problems = registry().check_spans(&spans);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let last = receiver.accepted_metrics().pop().unwrap();
    let (points, _) = histogram(metric(&last, "gen_ai.client.operation.duration"));
    let mut kinds: Vec<&str> = points.iter().filter_map(|p| attr_str(&p.attributes, "error.type")).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["502", "connection_failed", "rate_limit_error", "timeout"]);
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 4);
}

#[test]
fn the_checker_finds_undefined_and_mistyped_metrics() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{
        metric::Data, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics, Sum,
    };
    let histogram = |bounds: Vec<f64>| {
        Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint { explicit_bounds: bounds, ..Default::default() }],
            ..Default::default()
        }))
    };
    let metric =
        |name: &str, unit: &str, data| Metric { name: name.into(), unit: unit.into(), data, ..Default::default() };
    let advice = vec![0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    let metrics = vec![
        metric("gen_ai.client.operation.duration", "s", histogram(advice.clone())),
        metric("gen_ai.client.token.usage", "tokens", histogram(vec![1.0, 10.0])),
        metric(
            "gen_ai.server.request.duration",
            "s",
            Some(Data::Sum(Sum { is_monotonic: true, ..Default::default() })),
        ),
        metric("gen_ai.made.up", "s", histogram(advice)),
        metric("my.metric", "1", None),
        metric("agentops.llm.cost", "USD", None),
    ];
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    };
    let found = registry().check_metrics(&[req]);
    let want = [
        "metric `gen_ai.client.token.usage`: buckets [1.0, 10.0], the advice is [1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 67108864.0]",
        "metric `gen_ai.client.token.usage`: unit `tokens`, the registry's is `{token}`",
        "metric `gen_ai.made.up`: not defined by the registry",
        "metric `gen_ai.server.request.duration`: a counter, the registry's is a histogram",
        "metric `my.metric`: neither in the registry's namespaces nor under agentops.*",
    ];
    assert_eq!(found, want, "{found:#?}");
}
