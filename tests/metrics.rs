//! Metrics end to end: what a local receiver gets on `/v1/metrics`, decoded with
//! opentelemetry-proto (protobuf and JSON) and checked against the spans sent in the
//! same run and against `stats()`; delta temporality across two exports; a receiver
//! that fails first; failures counted; the settings that turn metrics off.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentops::exporters::InMemoryExporter;
use agentops::otel::Temporality;
use agentops::{
    BatchConfig, Client, EndState, ErrorEvent, LlmEvent, OtelConfig, OtelConfigBuilder, OtlpExporterConfig, Protocol,
    RetryPolicy, ToolEvent,
};
use common::metrics::{gauge, has_attrs, histogram, keys, metric, metrics_named, sum, value};
use common::{attr_f64, attr_int, attr_str, Reply, TestServer};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

const LONG: Duration = Duration::from_secs(60);
const CUMULATIVE: i32 = 2;
const DELTA: i32 = 1;

const TOKEN_BOUNDS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];
const DURATION_BOUNDS: [f64; 14] =
    [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/// A client whose spans and metrics go to `server`; metrics are collected only when
/// flushed or shut down unless `interval` says otherwise.
fn builder(server: &TestServer, protocol: Protocol) -> OtelConfigBuilder {
    OtelConfig::builder()
        .otlp(OtlpExporterConfig::new(server.base_url()).protocol(protocol))
        .batch(BatchConfig::default().scheduled_delay(Duration::from_secs(3600)))
        .metric_export_interval(Duration::from_secs(3600))
}

/// The work of an agent: two sessions, LLM calls (one failed), tools (one failed),
/// an agent scope.
fn agent_work(client: &Client) {
    let s = client.start_session(&["metrics"]);
    s.agent("planner", |a| {
        a.record(LlmEvent::new("gpt-4o").provider("openai").response_model("gpt-4o-2024-08-06").tokens(120, 30));
        let ok: Result<u32, String> = a.tool("search", &"rust", || Ok(3));
        assert!(ok.is_ok());
        let failed: Result<u32, String> = a.tool("fetch", &"url", || Err("404".to_owned()));
        assert!(failed.is_err());
    });
    s.record(LlmEvent::new("claude-sonnet-4-5").provider("anthropic").tokens(1000, 200).cost(0.006));
    let call = s.record(LlmEvent::new("gpt-4o").provider("openai"));
    s.record(ErrorEvent::new("ProviderError").details("503").trigger(call));
    s.end(EndState::Success, "done");

    let s = client.start_session(&["metrics"]);
    s.record(LlmEvent::new("gpt-4o-mini").provider("openai").tokens(7, 3));
    s.end(EndState::Fail, "gave up");
}

fn llm_spans(server: &TestServer) -> Vec<Span> {
    server.accepted_spans().into_iter().map(|(s, _)| s).filter(|s| s.name.starts_with("chat ")).collect()
}

fn only_request(server: &TestServer) -> ExportMetricsServiceRequest {
    let mut all = server.accepted_metrics();
    assert_eq!(all.len(), 1, "one collection, at shutdown: {all:#?}");
    all.remove(0)
}

fn round_trip(protocol: Protocol) {
    let server = TestServer::otlp();
    let client = Client::new(builder(&server, protocol).build().unwrap()).unwrap();
    agent_work(&client);
    client.shutdown(LONG).unwrap();
    let stats = client.stats();
    let req = only_request(&server);
    let ct = match protocol {
        Protocol::HttpJson => "application/json",
        _ => "application/x-protobuf",
    };
    assert_eq!(server.requests_to("/v1/metrics")[0].header("content-type"), Some(ct));

    let rm = &req.resource_metrics[0];
    let resource = &rm.resource.as_ref().unwrap().attributes;
    assert_eq!(attr_str(resource, "service.name"), Some("agentops-app"), "the spans' resource");
    assert_eq!(rm.scope_metrics.len(), 1);
    assert_eq!(rm.scope_metrics[0].scope.as_ref().unwrap().name, "agentops");

    // Token usage: one point per attribute set, sums equal to the spans' tokens.
    let spans = llm_spans(&server);
    assert_eq!(spans.len(), 4);
    let m = metric(&req, "gen_ai.client.token.usage");
    assert_eq!(m.unit, "{token}");
    let (points, temporality) = histogram(m);
    assert_eq!(temporality, CUMULATIVE);
    for p in points {
        assert_eq!(p.explicit_bounds, TOKEN_BOUNDS);
        assert_eq!(p.bucket_counts.len(), TOKEN_BOUNDS.len() + 1);
        assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
        let k = keys(&p.attributes);
        assert!(k.contains(&"gen_ai.token.type") && k.contains(&"gen_ai.request.model"), "{k:?}");
        assert!(k.contains(&"gen_ai.operation.name") && k.contains(&"gen_ai.provider.name"), "{k:?}");
    }
    for (kind, attr) in [("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")] {
        let of_kind: Vec<_> =
            points.iter().filter(|p| has_attrs(&p.attributes, &[("gen_ai.token.type", kind)])).collect();
        let from_spans: i64 = spans.iter().filter_map(|s| attr_int(&s.attributes, attr)).sum();
        assert_eq!(of_kind.iter().map(|p| p.sum.unwrap()).sum::<f64>(), from_spans as f64, "{kind}");
        let with_tokens = spans.iter().filter(|s| attr_int(&s.attributes, attr).is_some()).count() as u64;
        assert_eq!(of_kind.iter().map(|p| p.count).sum::<u64>(), with_tokens, "{kind}");
    }
    let answered = points
        .iter()
        .find(|p| has_attrs(&p.attributes, &[("gen_ai.request.model", "gpt-4o"), ("gen_ai.token.type", "input")]))
        .unwrap();
    assert!(has_attrs(
        &answered.attributes,
        &[
            ("gen_ai.response.model", "gpt-4o-2024-08-06"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.operation.name", "chat")
        ]
    ));
    assert_eq!((answered.count, answered.sum), (1, Some(120.0)));

    // Operation duration: one measurement per LLM span; the failed call carries its error.
    let m = metric(&req, "gen_ai.client.operation.duration");
    assert_eq!(m.unit, "s");
    let (points, _) = histogram(m);
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), spans.len() as u64);
    assert!(points.iter().all(|p| p.explicit_bounds == DURATION_BOUNDS));
    let failed: Vec<_> = points.iter().filter(|p| attr_str(&p.attributes, "error.type").is_some()).collect();
    assert_eq!(failed.len(), 1);
    assert!(has_attrs(&failed[0].attributes, &[("error.type", "ProviderError"), ("gen_ai.request.model", "gpt-4o")]));
    assert_eq!(failed[0].count, 1);
    assert!(points.iter().all(|p| attr_str(&p.attributes, "gen_ai.token.type").is_none()));

    // Nothing is exported for what never happened (bound but unrecorded series).
    for name in ["gen_ai.client.token.usage", "gen_ai.client.operation.duration", "agentops.tool.duration"] {
        assert!(histogram(metric(&req, name)).0.iter().all(|p| p.count > 0), "{name}");
    }

    // Tools and agents.
    let (points, _) = histogram(metric(&req, "agentops.tool.duration"));
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 2);
    let fetch = points.iter().find(|p| has_attrs(&p.attributes, &[("gen_ai.tool.name", "fetch")])).unwrap();
    assert!(attr_str(&fetch.attributes, "error.type").unwrap().contains("String"), "the error's type name");
    let search = points.iter().find(|p| has_attrs(&p.attributes, &[("gen_ai.tool.name", "search")])).unwrap();
    assert_eq!(attr_str(&search.attributes, "error.type"), None);
    let (points, _) = histogram(metric(&req, "agentops.agent.duration"));
    assert_eq!(points.len(), 1);
    assert!(has_attrs(&points[0].attributes, &[("gen_ai.agent.name", "planner")]));
    assert_eq!(points[0].count, 1);

    // Cost: the spans' costs (explicit and from the price table), by provider and model.
    let m = metric(&req, "agentops.llm.cost");
    assert_eq!(m.unit, "USD");
    let (points, temporality, monotonic) = sum(m);
    assert!(monotonic && temporality == CUMULATIVE);
    let span_cost: f64 = spans.iter().filter_map(|s| attr_f64(&s.attributes, "agentops.llm.cost")).sum();
    let metric_cost: f64 = points.iter().map(value).sum();
    assert!(span_cost > 0.006 && (metric_cost - span_cost).abs() < 1e-12, "{metric_cost} vs {span_cost}");
    let claude = points.iter().find(|p| has_attrs(&p.attributes, &[("gen_ai.request.model", "claude-sonnet-4-5")]));
    assert_eq!(claude.map(value), Some(0.006));

    // Sessions, their durations, errors.
    let (points, _, _) = sum(metric(&req, "agentops.sessions.ended"));
    let by_state: HashMap<&str, f64> =
        points.iter().map(|p| (attr_str(&p.attributes, "agentops.session.end_state").unwrap(), value(p))).collect();
    assert_eq!(by_state, HashMap::from([("Success", 1.0), ("Fail", 1.0)]));
    let (points, _) = histogram(metric(&req, "agentops.session.duration"));
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 2);
    let (points, _, _) = sum(metric(&req, "agentops.errors"));
    let errors: f64 = points.iter().map(value).sum();
    assert_eq!(errors, 2.0, "the failed tool's error and the provider error");

    // The pipeline's health reads the same counters as stats().
    let read = |name: &str| sum(metric(&req, name)).0.iter().map(value).sum::<f64>() as u64;
    assert_eq!(read("agentops.pipeline.spans.exported"), stats.spans_exported);
    assert_eq!(stats.spans_exported, server.accepted_spans().len() as u64);
    assert_eq!(read("agentops.pipeline.spans.recorded"), stats.spans_recorded);
    let (dropped, _, _) = sum(metric(&req, "agentops.pipeline.spans.dropped"));
    assert_eq!(dropped.len(), 5, "one point per reason");
    assert!(dropped.iter().all(|p| value(p) == 0.0));
    assert_eq!(gauge(metric(&req, "agentops.pipeline.spans.queued")).iter().map(value).sum::<f64>(), 0.0);
    assert_eq!(value(&gauge(metric(&req, "agentops.pipeline.queue.capacity"))[0]), 2048.0);
    let (requests, _, _) = sum(metric(&req, "agentops.pipeline.export.requests"));
    let otlp = requests.iter().find(|p| has_attrs(&p.attributes, &[("agentops.exporter", "otlp")])).unwrap();
    assert_eq!(value(otlp), 1.0, "the one span request; this metrics request is counted after its collection");
    assert_eq!((stats.metrics_exports, stats.metrics_exports_failed), (1, 0));
}

#[test]
fn metrics_arrive_at_shutdown_as_protobuf_checked_field_by_field() {
    round_trip(Protocol::HttpProtobuf);
}

#[test]
fn metrics_arrive_at_shutdown_as_json_checked_field_by_field() {
    round_trip(Protocol::HttpJson);
}

/// Total count and sum of the token usage of one kind in one request.
fn tokens(req: &ExportMetricsServiceRequest, kind: &str) -> (u64, f64) {
    let (points, _) = histogram(metric(req, "gen_ai.client.token.usage"));
    let of_kind = points.iter().filter(|p| has_attrs(&p.attributes, &[("gen_ai.token.type", kind)]));
    of_kind.fold((0, 0.0), |(c, s), p| (c + p.count, s + p.sum.unwrap()))
}

#[test]
fn delta_temporality_reports_each_window_once() {
    let server = TestServer::otlp();
    let config = builder(&server, Protocol::HttpProtobuf).metrics_temporality(Temporality::Delta).build().unwrap();
    let client = Client::new(config).unwrap();
    let s = client.start_session(&["delta"]);
    s.record(LlmEvent::new("m").provider("p").tokens(10, 1));
    s.record(LlmEvent::new("m").provider("p").tokens(20, 2));
    client.flush(LONG).unwrap();
    for _ in 0..3 {
        s.record(LlmEvent::new("m").provider("p").tokens(100, 3));
    }
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();

    let reqs = server.accepted_metrics();
    assert_eq!(reqs.len(), 2, "the flush's collection and the shutdown's");
    assert_eq!(histogram(metric(&reqs[0], "gen_ai.client.token.usage")).1, DELTA);
    assert_eq!(tokens(&reqs[0], "input"), (2, 30.0));
    assert_eq!(tokens(&reqs[1], "input"), (3, 300.0), "only what came after the first export");
    // Observable counters become deltas too: exported spans add up to the total.
    let exported: f64 =
        reqs.iter().map(|r| sum(metric(r, "agentops.pipeline.spans.exported")).0.iter().map(value).sum::<f64>()).sum();
    assert_eq!(exported as u64, client.stats().spans_exported);
    let (_, temporality, _) = sum(metric(&reqs[1], "agentops.pipeline.spans.exported"));
    assert_eq!(temporality, DELTA);
}

#[test]
fn a_receiver_answering_503_then_200_gets_every_point_once() {
    let metrics_seen = Arc::new(AtomicU64::new(0));
    let seen = metrics_seen.clone();
    let server = TestServer::start(move |r| match r.path.as_str() {
        "/v1/metrics" if seen.fetch_add(1, Ordering::SeqCst) == 0 => Reply::status(503),
        _ => Reply::ok(),
    });
    let retry =
        RetryPolicy::default().initial_backoff(Duration::from_millis(10)).max_backoff(Duration::from_millis(50));
    let config = builder(&server, Protocol::HttpProtobuf).metrics_temporality(Temporality::Delta).retry(retry);
    let client = Client::new(config.build().unwrap()).unwrap();
    let s = client.start_session(&["retry"]);
    for i in 1..=4 {
        s.record(LlmEvent::new("m").tokens(i, 0));
    }
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();

    let statuses: Vec<u16> = server.requests_to("/v1/metrics").iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200]);
    let req = only_request(&server);
    assert_eq!(tokens(&req, "input"), (4, 10.0));
    let st = client.stats();
    assert_eq!((st.metrics_exports, st.metrics_exports_failed), (1, 0));
    assert_eq!(st.retries, 1, "the metrics request's one retry");
}

#[test]
fn a_failed_metrics_export_is_counted_and_reported_by_flush() {
    let server = TestServer::start(|r| if r.path == "/v1/metrics" { Reply::status(400) } else { Reply::ok() });
    let client = Client::new(builder(&server, Protocol::HttpProtobuf).build().unwrap()).unwrap();
    let s = client.start_session(&["fail"]);
    s.record(LlmEvent::new("m").tokens(1, 1));
    let err = client.flush(LONG).unwrap_err();
    match &err {
        agentops::Error::Export { dropped, message, .. } => {
            assert_eq!(*dropped, 0, "no span was lost");
            assert!(message.contains("metrics") && message.contains("HTTP 400"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    s.end(EndState::Success, "");
    assert!(client.shutdown(LONG).is_err(), "the shutdown's collection fails too");
    let st = client.stats();
    assert_eq!((st.metrics_exports, st.metrics_exports_failed), (0, 2));
    assert_eq!((st.spans_exported, st.spans_dropped()), (2, 0));
    assert_eq!(server.requests_to("/v1/metrics").len(), 2, "a 400 is not retried");
}

#[test]
fn metrics_are_exported_on_the_interval_without_a_flush() {
    let server = TestServer::otlp();
    let config = builder(&server, Protocol::HttpProtobuf).metric_export_interval(Duration::from_millis(20));
    let client = Client::new(config.build().unwrap()).unwrap();
    let s = client.start_session(&["tick"]);
    s.record(LlmEvent::new("m").tokens(5, 5));
    s.end(EndState::Success, "");
    assert!(server.wait_until(LONG, |srv| !srv.accepted_metrics().is_empty()), "a periodic collection arrived");
    client.shutdown(LONG).unwrap();
}

#[test]
fn settings_that_turn_metrics_off_send_none() {
    for (var, value) in [("OTEL_METRICS_EXPORTER", "none"), ("AGENTOPS_ENABLE_METRICS", "false")] {
        let server = TestServer::otlp();
        let base = server.base_url();
        let lookup = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(base.clone()),
            "AGENTOPS_TRACES_FILE" | "AGENTOPS_CONSOLE" => Some("off".into()),
            k if k == var => Some(value.into()),
            _ => None,
        };
        let client = Client::new(OtelConfigBuilder::from_lookup(lookup).unwrap().build().unwrap()).unwrap();
        let s = client.start_session(&["off"]);
        s.record(LlmEvent::new("m").tokens(1, 1));
        s.end(EndState::Success, "");
        client.shutdown(LONG).unwrap();
        assert_eq!(server.accepted_spans().len(), 2, "{var}");
        assert!(server.requests_to("/v1/metrics").is_empty(), "{var}");
    }
}

#[test]
fn in_memory_and_file_destinations_get_the_same_collection() {
    let dir = std::env::temp_dir().join(format!("agentops-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let traces = dir.join("run-traces.jsonl");
    let memory = InMemoryExporter::new();
    let config = OtelConfig::builder().in_memory(memory.clone()).file(&traces).build().unwrap();
    let client = Client::new(config).unwrap();
    let s = client.start_session(&["local"]);
    s.record(LlmEvent::new("m").tokens(3, 4));
    s.record(ToolEvent::new("t"));
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();

    let kept = memory.metrics();
    assert_eq!(kept.len(), 1);
    let text = std::fs::read_to_string(dir.join("run-metrics.jsonl")).unwrap();
    let lines: Vec<ExportMetricsServiceRequest> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, kept, "the file holds the collection as OTLP JSON lines");
    assert_eq!(tokens(&kept[0], "output"), (1, 4.0));
    assert_eq!(metrics_named(&kept[0], "agentops.tool.duration").len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hanging_metrics_endpoint_does_not_hold_shutdown_past_its_deadline() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/v1/metrics" => Reply::Delay(Duration::from_secs(30), Box::new(Reply::ok())),
        _ => Reply::ok(),
    });
    let client = Client::new(builder(&server, Protocol::HttpProtobuf).build().unwrap()).unwrap();
    let s = client.start_session(&["hang"]);
    s.record(LlmEvent::new("m").tokens(1, 1));
    s.end(EndState::Success, "");
    // Returns by the deadline (a hang would hold this test for the receiver's 30 s).
    let err = client.shutdown(Duration::from_secs(2)).unwrap_err();
    assert!(matches!(err, agentops::Error::Timeout { operation: "shutdown", .. }), "{err:?}");
    let st = client.stats();
    assert_eq!((st.spans_exported, st.spans_queued), (2, 0), "the spans went out first");
    assert_eq!(st.metrics_exports, 0);
    assert!(matches!(client.shutdown(LONG), Err(agentops::Error::Timeout { .. })), "the same outcome again");
}

/// Traces-only backends answer `/v1/metrics` with 404 (Langfuse, Tempo, Jaeger),
/// 405 (Phoenix), 415 or 501: metrics to them are switched off after the first
/// answer, each later collection is counted as refused, and neither flush nor
/// shutdown fails, while every span is delivered.
#[test]
fn a_traces_only_receiver_gets_every_span_and_metrics_switched_off() {
    for status in [404, 405, 415, 501] {
        let server =
            TestServer::start(move |r| if r.path == "/v1/metrics" { Reply::status(status) } else { Reply::ok() });
        let client = Client::new(builder(&server, Protocol::HttpProtobuf).build().unwrap()).unwrap();
        let s = client.start_session(&["traces-only"]);
        s.record(LlmEvent::new("m").tokens(1, 1));
        client.flush(LONG).unwrap();
        s.record(LlmEvent::new("m").tokens(2, 2));
        client.flush(LONG).unwrap();
        s.end(EndState::Success, "");
        client.shutdown(LONG).unwrap();
        let st = client.stats();
        assert_eq!((st.spans_exported, st.spans_dropped()), (3, 0), "{status}");
        assert_eq!((st.metrics_exports, st.metrics_exports_failed, st.metrics_exports_refused), (0, 0, 3), "{status}");
        assert_eq!(server.requests_to("/v1/metrics").len(), 1, "{status}: asked once, then off");
        assert_eq!(server.accepted_spans().len(), 3);
    }
    // The same status on the traces path is the spans' failure, as OTLP says.
    let server = TestServer::start(|r| if r.path == "/v1/traces" { Reply::status(405) } else { Reply::ok() });
    let client = Client::new(builder(&server, Protocol::HttpProtobuf).build().unwrap()).unwrap();
    let s = client.start_session(&["no traces"]);
    s.end(EndState::Success, "");
    let err = client.shutdown(LONG).unwrap_err();
    assert!(matches!(err, agentops::Error::Export { dropped: 1, .. }), "{err}");
}
