//! The core pipeline against a real HTTP receiver: what arrives is decoded with
//! opentelemetry-proto and checked field by field.

mod common;

use std::collections::HashSet;
use std::io::BufRead;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentops::event::ChatMessage;
use agentops::{
    ActionEvent, BatchConfig, Client, Compression, EndState, ErrorEvent, LlmEvent, OtelConfig, OtlpExporterConfig,
    Protocol, ToolEvent,
};
use common::{attr_f64, attr_int, attr_str, by_trace, unique_span_ids, Reply, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};

const LONG: Duration = Duration::from_secs(30);

fn client(server: &TestServer, protocol: Protocol) -> Client {
    client_with(server, protocol, Compression::None)
}

fn client_with(server: &TestServer, protocol: Protocol, compression: Compression) -> Client {
    Client::new(
        OtelConfig::builder()
            .service_name("pipeline-test")
            .service_version("1.2.3")
            .environment("test")
            .resource_attribute("team", "agents")
            .otlp(
                OtlpExporterConfig::new(server.base_url())
                    .protocol(protocol)
                    .compression(compression)
                    .header("x-test", "yes"),
            )
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// A client whose scheduled export comes every `delay`.
fn client_exporting_every(server: &TestServer, delay: Duration) -> Client {
    let batch = BatchConfig::default().scheduled_delay(delay);
    Client::new(OtelConfig::builder().otlp(OtlpExporterConfig::new(server.base_url())).batch(batch).build().unwrap())
        .unwrap()
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn find<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

fn round_trip(protocol: Protocol, compression: Compression) {
    let server = TestServer::otlp();
    let client = client_with(&server, protocol, compression);
    let before = SystemTime::now();
    let session = client.start_session(&["demo", "v2"]);

    let plan = session.start_action("plan");
    plan.params(&serde_json::json!({"goal": "answer"}));
    let llm1 = plan.record(
        LlmEvent::new("gpt-4o")
            .provider("openai")
            .prompt(vec![ChatMessage::new("user", "2+2?")])
            .completion("4")
            .tokens(12, 40)
            .cost(0.25),
    );
    plan.record(LlmEvent::new("gpt-4o-mini").prompt("again").completion("four").tokens(3, 5));
    let out: Result<u32, std::io::Error> = plan.tool("calculator", &serde_json::json!({"expr": "2+2"}), || Ok(4));
    assert_eq!(out.unwrap(), 4);
    plan.returns(&"4");
    plan.end();
    session.record(ErrorEvent::new("RateLimited").details("slow down").trigger(llm1));
    session.record(ActionEvent::new("reply").returns(&"4"));
    let summary = session.end(EndState::Success, "answered");
    let after = SystemTime::now();
    client.shutdown(LONG).unwrap();

    // Every request (spans and metrics) was OTLP with the right headers.
    let reqs = server.requests();
    assert_eq!(server.requests_to("/v1/metrics").len(), 1, "the collection at shutdown");
    assert!(!reqs.is_empty());
    for r in &reqs {
        let ct = match protocol {
            Protocol::HttpProtobuf => "application/x-protobuf",
            Protocol::HttpJson => "application/json",
            other => panic!("untested protocol {other:?}"),
        };
        assert_eq!(r.header("content-type"), Some(ct));
        assert_eq!(r.header("x-test"), Some("yes"));
        assert_eq!(r.method, "POST");
        let encoding = (compression == Compression::Gzip).then_some("gzip");
        assert_eq!(r.header("content-encoding"), encoding);
        if encoding.is_some() {
            assert_eq!(&r.body[..2], &[0x1f, 0x8b], "a gzip member");
        }
    }
    // Bytes are counted as they went on the wire (compressed).
    assert_eq!(client.stats().bytes_sent, reqs.iter().map(|r| r.body.len() as u64).sum::<u64>());

    let spans = server.accepted_spans();
    assert_eq!(spans.len(), 7, "{:?}", spans.iter().map(|(s, _)| &s.name).collect::<Vec<_>>());
    unique_span_ids(&spans);
    let traces = by_trace(&spans);
    assert_eq!(traces.len(), 1, "one trace per session");
    let (trace_id, spans) = traces.into_iter().next().unwrap();
    assert_eq!(trace_id, summary.session_id.as_bytes().to_vec(), "trace id = session id");
    let sid = summary.session_id.to_string();

    // Resource.
    let (_, res) = &server.accepted_spans()[0];
    assert_eq!(attr_str(res, "service.name"), Some("pipeline-test"));
    assert_eq!(attr_str(res, "service.version"), Some("1.2.3"));
    assert_eq!(attr_str(res, "deployment.environment.name"), Some("test"));
    assert_eq!(attr_str(res, "team"), Some("agents"));
    assert_eq!(attr_str(res, "telemetry.sdk.name"), Some("agentops"));
    assert_eq!(attr_str(res, "telemetry.sdk.language"), Some("rust"));
    assert_eq!(attr_int(res, "process.pid"), Some(std::process::id() as i64));
    assert!(attr_str(res, "os.type").is_some());

    // Root.
    let root = find(&spans, "session");
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.kind, SpanKind::Internal as i32);
    assert_eq!(attr_str(&root.attributes, "agentops.span.kind"), Some("session"));
    assert_eq!(attr_str(&root.attributes, "session.id"), Some(sid.as_str()));
    assert_eq!(attr_str(&root.attributes, "agentops.session.end_state"), Some("Success"));
    assert_eq!(attr_str(&root.attributes, "agentops.session.end_state_reason"), Some("answered"));
    assert_eq!(attr_int(&root.attributes, "agentops.session.event_counts.llms"), Some(2));
    assert_eq!(attr_int(&root.attributes, "agentops.session.event_counts.tools"), Some(1));
    assert_eq!(attr_int(&root.attributes, "agentops.session.event_counts.actions"), Some(2));
    assert_eq!(attr_int(&root.attributes, "agentops.session.event_counts.errors"), Some(1));
    assert_eq!(attr_int(&root.attributes, "agentops.session.input_tokens"), Some(15));
    assert_eq!(attr_int(&root.attributes, "agentops.session.output_tokens"), Some(45));
    // The second call had no cost: priced from the table, gpt-4o-mini at $0.15 / $0.60
    // per million input / output tokens (LiteLLM's figures).
    let mini = 3.0 * 0.15e-6 + 5.0 * 0.60e-6;
    let session_cost = attr_f64(&root.attributes, "agentops.session.cost").unwrap();
    assert!((session_cost - (0.25 + mini)).abs() < 1e-15, "{session_cost}");
    let tags = root.attributes.iter().find(|kv| kv.key == "agentops.session.tags").unwrap();
    let tags = format!("{:?}", tags.value);
    assert!(tags.contains("demo") && tags.contains("v2"), "{tags}");
    assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Ok as i32);
    // Span times come from the CPU's counter anchored to the system clock (the
    // crate's util/clock.rs): within a fraction of a microsecond of it, not exactly it.
    let slack = 1_000_000;
    assert!(nanos(before) - slack <= root.start_time_unix_nano && root.end_time_unix_nano <= nanos(after) + slack);

    // Action scope and its children.
    let plan_span = find(&spans, "plan");
    assert_eq!(plan_span.parent_span_id, root.span_id);
    assert_eq!(attr_str(&plan_span.attributes, "agentops.span.kind"), Some("action"));
    assert_eq!(attr_str(&plan_span.attributes, "agentops.event.type"), Some("actions"));
    assert_eq!(attr_str(&plan_span.attributes, "agentops.entity.input"), Some(r#"{"goal":"answer"}"#));
    assert_eq!(attr_str(&plan_span.attributes, "agentops.entity.output"), Some(r#""4""#));
    let chat = find(&spans, "chat gpt-4o");
    assert_eq!(chat.parent_span_id, plan_span.span_id);
    assert_eq!(chat.kind, SpanKind::Client as i32);
    assert_eq!(attr_str(&chat.attributes, "gen_ai.request.model"), Some("gpt-4o"));
    assert_eq!(attr_str(&chat.attributes, "gen_ai.provider.name"), Some("openai"));
    assert_eq!(attr_int(&chat.attributes, "gen_ai.usage.input_tokens"), Some(12));
    assert_eq!(attr_int(&chat.attributes, "gen_ai.usage.output_tokens"), Some(40));
    assert_eq!(attr_f64(&chat.attributes, "agentops.llm.cost"), Some(0.25));
    let input: serde_json::Value =
        serde_json::from_str(attr_str(&chat.attributes, "gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(input[0]["parts"][0]["content"], "2+2?");
    let mini_span = find(&spans, "chat gpt-4o-mini");
    assert_eq!(mini_span.parent_span_id, plan_span.span_id);
    let mini_cost = attr_f64(&mini_span.attributes, "agentops.llm.cost").unwrap();
    assert!((mini_cost - mini).abs() < 1e-18, "{mini_cost}");
    let tool = find(&spans, "execute_tool calculator");
    assert_eq!(tool.parent_span_id, plan_span.span_id);
    assert_eq!(tool.kind, SpanKind::Internal as i32);
    assert_eq!(attr_str(&tool.attributes, "gen_ai.tool.name"), Some("calculator"));
    assert_eq!(attr_str(&tool.attributes, "gen_ai.tool.call.arguments"), Some(r#"{"expr":"2+2"}"#));
    assert_eq!(attr_str(&tool.attributes, "gen_ai.tool.call.result"), Some("4"));

    // Error: own status ERROR, exception event, link to its trigger.
    let err = find(&spans, "error RateLimited");
    assert_eq!(err.parent_span_id, root.span_id);
    let st = err.status.as_ref().unwrap();
    assert_eq!((st.code, st.message.as_str()), (StatusCode::Error as i32, "slow down"));
    assert_eq!(err.events[0].name, "exception");
    assert_eq!(attr_str(&err.events[0].attributes, "exception.type"), Some("RateLimited"));
    assert_eq!(err.links.len(), 1);
    assert_eq!(err.links[0].span_id, chat.span_id, "the link points at the triggering LLM span");
    assert_eq!(err.links[0].trace_id, trace_id);

    let reply = find(&spans, "reply");
    assert_eq!(reply.parent_span_id, root.span_id);

    for s in &spans {
        assert_eq!(attr_str(&s.attributes, "session.id"), Some(sid.as_str()), "{}", s.name);
        assert_eq!(attr_str(&s.attributes, "gen_ai.conversation.id"), Some(sid.as_str()), "{}", s.name);
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{}", s.name);
        assert!(s.start_time_unix_nano >= root.start_time_unix_nano, "{} starts inside the session", s.name);
        assert!(s.end_time_unix_nano <= root.end_time_unix_nano, "{} ends inside the session", s.name);
        if s.name != "session" {
            assert!(uuid::Uuid::parse_str(attr_str(&s.attributes, "agentops.event.id").unwrap()).is_ok());
        }
    }
    let stats = client.stats();
    assert_eq!(stats.spans_recorded, 7);
    assert_eq!(stats.spans_exported, 7);
    assert_eq!(stats.spans_dropped(), 0);
    assert_eq!(stats.spans_queued, 0);
}

#[test]
fn protobuf_round_trip_field_by_field() {
    round_trip(Protocol::HttpProtobuf, Compression::None);
}

#[test]
fn json_round_trip_field_by_field() {
    round_trip(Protocol::HttpJson, Compression::None);
}

#[test]
fn gzip_protobuf_round_trip_field_by_field() {
    round_trip(Protocol::HttpProtobuf, Compression::Gzip);
}

#[test]
fn gzip_json_round_trip_field_by_field() {
    round_trip(Protocol::HttpJson, Compression::Gzip);
}

#[test]
fn errors_propagate_to_open_ancestors_and_end_states_set_root_status() {
    let server = TestServer::otlp();
    let client = client(&server, Protocol::HttpProtobuf);

    // An error two scopes deep marks both scopes and the root (Indeterminate → ERROR).
    let s1 = client.start_session(&["a"]);
    let outer = s1.start_action("outer");
    let inner = outer.start_action("inner");
    inner.record(ErrorEvent::new("Boom"));
    inner.end();
    outer.end();
    let sibling = s1.start_action("sibling");
    sibling.end();
    s1.end(EndState::Indeterminate, "");

    // Fail → ERROR with the reason; Indeterminate without errors → UNSET.
    let s2 = client.start_session(&["b"]);
    s2.end(EndState::Fail, "gave up");
    let s3 = client.start_session(&["c"]);
    drop(s3); // dropped without end()

    client.shutdown(LONG).unwrap();
    let spans = server.accepted_spans();
    let traces = by_trace(&spans);
    assert_eq!(traces.len(), 3);
    let status = |s: &Span| s.status.as_ref().map(|s| s.code).unwrap_or(0);
    let t1 = &traces[&s1.id().as_bytes().to_vec()];
    assert_eq!(status(find(t1, "inner")), StatusCode::Error as i32);
    assert_eq!(status(find(t1, "outer")), StatusCode::Error as i32);
    assert_eq!(status(find(t1, "sibling")), StatusCode::Unset as i32);
    assert_eq!(status(find(t1, "session")), StatusCode::Error as i32);
    assert_eq!(find(t1, "inner").parent_span_id, find(t1, "outer").span_id);
    let t2 = &traces[&s2.id().as_bytes().to_vec()];
    let root2 = find(t2, "session");
    assert_eq!(status(root2), StatusCode::Error as i32);
    assert_eq!(root2.status.as_ref().unwrap().message, "gave up");
    let t3 = traces
        .iter()
        .find(|(k, _)| *k != &s1.id().as_bytes().to_vec() && *k != &s2.id().as_bytes().to_vec())
        .unwrap()
        .1;
    let root3 = find(t3, "session");
    assert_eq!(status(root3), StatusCode::Unset as i32);
    assert_eq!(attr_str(&root3.attributes, "agentops.session.end_state"), Some("Indeterminate"));
}

#[test]
fn eight_threads_into_one_session_arrive_exactly_once() {
    let server = TestServer::otlp();
    let client = Client::new(
        OtelConfig::builder()
            .otlp(OtlpExporterConfig::new(server.base_url()))
            .batch(BatchConfig::default().max_queue_size(16_384).max_export_batch_size(256))
            .build()
            .unwrap(),
    )
    .unwrap();
    let session = client.start_session(&["mt"]);
    std::thread::scope(|s| {
        for t in 0..8 {
            let session = session.clone();
            s.spawn(move || {
                for i in 0..1000 {
                    session.record(LlmEvent::new(format!("m{t}")).tokens(i, 1));
                }
            });
        }
    });
    let summary = session.end(EndState::Success, "");
    assert_eq!(summary.event_counts.llms, 8000);
    assert_eq!(summary.output_tokens, 8000);
    client.shutdown(LONG).unwrap();
    let spans = server.accepted_spans();
    let ids = unique_span_ids(&spans);
    assert_eq!(ids.len(), 8001);
    assert_eq!(by_trace(&spans).len(), 1);
    let stats = client.stats();
    assert_eq!((stats.spans_recorded, stats.spans_exported, stats.spans_dropped()), (8001, 8001, 0));
}

#[test]
fn eight_threads_eight_sessions_arrive_exactly_once() {
    let server = TestServer::otlp();
    let client = Client::new(
        OtelConfig::builder()
            .otlp(OtlpExporterConfig::new(server.base_url()).protocol(Protocol::HttpJson))
            .batch(BatchConfig::default().max_queue_size(16_384))
            .build()
            .unwrap(),
    )
    .unwrap();
    let ids: Vec<uuid::Uuid> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let client = client.clone();
                s.spawn(move || {
                    let session = client.start_session(&[format!("worker-{t}")]);
                    for i in 0..1000 {
                        session.record(ToolEvent::new("t").params(&i));
                    }
                    session.end(EndState::Success, "").session_id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    client.shutdown(LONG).unwrap();
    let spans = server.accepted_spans();
    assert_eq!(unique_span_ids(&spans).len(), 8008);
    let traces = by_trace(&spans);
    assert_eq!(traces.len(), 8);
    for id in ids {
        assert_eq!(traces[&id.as_bytes().to_vec()].len(), 1001);
    }
}

#[test]
fn flush_delivers_everything_recorded_before_it() {
    let server = TestServer::otlp();
    let client = client_exporting_every(&server, Duration::from_secs(3600));
    let session = client.start_session(&["flush"]);
    for _ in 0..37 {
        session.record(ToolEvent::new("t"));
    }
    client.flush(LONG).unwrap();
    // No waiting: flush returned, so the receiver already has all 37.
    assert_eq!(server.accepted_spans().len(), 37);
    for _ in 0..5 {
        session.record(ToolEvent::new("t"));
    }
    client.flush(LONG).unwrap();
    assert_eq!(server.accepted_spans().len(), 42);
    assert_eq!(server.requests_to("/v1/traces").len(), 2, "one request per flush, none empty");
    assert_eq!(server.requests_to("/v1/metrics").len(), 2, "a collection at each flush");
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    assert_eq!(server.accepted_spans().len(), 43);
}

#[test]
fn the_scheduled_export_delivers_a_few_events_without_a_flush() {
    // Fewer events than the export thread stays behind the newest while callers
    // record: the scheduled export still takes them.
    let server = TestServer::otlp();
    let client = client_exporting_every(&server, Duration::from_millis(100));
    let session = client.start_session(&["timer"]);
    for _ in 0..5 {
        session.record(ToolEvent::new("t"));
    }
    assert!(server.wait_until(LONG, |s| s.accepted_spans().len() >= 5), "the timer exported nothing");
    assert_eq!(server.accepted_spans().len(), 5);
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
}

#[test]
fn shutdown_is_idempotent_and_later_spans_are_counted_as_dropped() {
    let server = TestServer::otlp();
    let client = client(&server, Protocol::HttpProtobuf);
    client.shutdown(LONG).unwrap(); // nothing pending
    client.shutdown(LONG).unwrap(); // again: harmless
    assert!(server.requests().is_empty(), "never an empty request");

    let session = client.start_session(&["late"]);
    for _ in 0..10 {
        session.record(LlmEvent::new("m"));
    }
    session.end(EndState::Success, "");
    assert!(matches!(client.flush(LONG), Err(agentops::Error::ShutDown)));
    let stats = client.stats();
    assert_eq!(stats.spans_recorded, 11);
    assert_eq!(stats.spans_dropped_after_shutdown, 11);
    assert_eq!(stats.spans_exported, 0);
    assert!(server.requests().is_empty());
}

#[test]
fn dropping_the_client_delivers_what_was_recorded() {
    let server = TestServer::otlp();
    {
        let client = client(&server, Protocol::HttpJson);
        let s = client.start_session(&["drop"]);
        s.record(LlmEvent::new("m"));
        s.end(EndState::Success, "");
    }
    assert_eq!(server.accepted_spans().len(), 2);
}

#[test]
fn file_exporter_writes_otlp_json_lines() {
    let dir = std::env::temp_dir().join(format!("agentops-file-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("traces.jsonl");
    let client = Client::new(
        OtelConfig::builder().file(&path).batch(BatchConfig::default().max_export_batch_size(4)).build().unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["file"]);
    for i in 0..10 {
        s.record(ToolEvent::new("t").params(&i).returns(&"line\nbreak \"quoted\""));
    }
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let f = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let mut spans = 0;
    let mut lines = 0;
    for line in f.lines() {
        let line = line.unwrap();
        let req: ExportTraceServiceRequest = serde_json::from_str(&line).expect("each line is one request");
        lines += 1;
        spans += req.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum::<usize>();
    }
    assert_eq!(spans, 11);
    assert_eq!(lines, 3, "batches of 4, 4, 3");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_exporter_with_a_bad_path_fails_at_build_time() {
    let err = Client::new(OtelConfig::builder().file("/nonexistent-dir/x/traces.jsonl").build().unwrap()).unwrap_err();
    assert!(matches!(err, agentops::Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent-dir/x/traces.jsonl"));
}

#[test]
fn users_own_spans_join_the_session() {
    use opentelemetry::trace::{Span as _, Tracer as _};
    let server = TestServer::otlp();
    let client = client(&server, Protocol::HttpProtobuf);
    let session = client.start_session(&["own"]);
    let scope = session.start_action("work");
    let tracer = client.tracer().unwrap();
    let mut span = tracer.start_with_context("db query", &scope.context());
    span.end();
    scope.end();
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let spans: Vec<Span> = server.accepted_spans().into_iter().map(|(s, _)| s).collect();
    let db = find(&spans, "db query");
    assert_eq!(db.trace_id, session.id().as_bytes().to_vec());
    assert_eq!(db.parent_span_id, find(&spans, "work").span_id);
    assert_eq!(attr_str(&db.attributes, "session.id"), Some(session.id().to_string().as_str()));
}

#[test]
fn sampling_keeps_or_drops_whole_sessions() {
    let server = TestServer::otlp();
    let client = Client::new(
        OtelConfig::builder().otlp(OtlpExporterConfig::new(server.base_url())).sample_ratio(0.0).build().unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["x"]);
    s.record(LlmEvent::new("m"));
    assert!(!s.is_sampled());
    let sum = s.end(EndState::Success, "");
    assert_eq!(sum.event_counts.llms, 1, "the summary still counts");
    client.shutdown(LONG).unwrap();
    let st = client.stats();
    assert_eq!((st.spans_recorded, st.spans_sampled_out), (0, 2));
    assert!(server.requests_to("/v1/traces").is_empty());
}

#[test]
fn disabled_client_exports_nothing_and_still_summarizes() {
    let client = Client::new(OtelConfig::builder().disabled(true).build().unwrap()).unwrap();
    assert!(client.is_disabled());
    let s = client.start_session(&["off"]);
    s.record(LlmEvent::new("m").tokens(1, 2));
    assert_eq!(s.end(EndState::Success, "").output_tokens, 2);
    client.flush(LONG).unwrap();
    client.shutdown(LONG).unwrap();
    let mut expected = agentops::Stats::default();
    expected.models_without_price = 1; // "m" has no price
    assert_eq!(client.stats(), expected);
}

#[test]
fn formatters_redact_and_drop_on_the_export_thread() {
    let server = TestServer::otlp();
    let client = Client::new(
        OtelConfig::builder()
            .otlp(OtlpExporterConfig::new(server.base_url()))
            .span_filter(|span| {
                for kv in span.attributes.iter_mut() {
                    if kv.key.as_str() == "gen_ai.input.messages" {
                        kv.value = "[redacted]".into();
                    }
                }
                span.name != "execute_tool secret"
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["f"]);
    s.record(LlmEvent::new("m").prompt("my password is hunter2"));
    s.record(ToolEvent::new("secret"));
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let spans: Vec<Span> = server.accepted_spans().into_iter().map(|(s, _)| s).collect();
    assert_eq!(spans.len(), 2);
    assert_eq!(attr_str(&find(&spans, "chat m").attributes, "gen_ai.input.messages"), Some("[redacted]"));
    let st = client.stats();
    assert_eq!((st.spans_recorded, st.spans_exported, st.spans_filtered), (3, 2, 1));
}

#[test]
fn a_session_continued_from_a_remote_parent_keeps_its_trace() {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let server = TestServer::otlp();
    let client = client(&server, Protocol::HttpProtobuf);
    let remote = SpanContext::new(
        TraceId::from_bytes([0xab; 16]),
        SpanId::from_bytes([0xcd; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    let s = client.session().tags(&["cont"]).parent(remote).start();
    assert_eq!(s.id().as_bytes(), &[0xab; 16]);
    s.record(LlmEvent::new("m"));
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let spans: Vec<Span> = server.accepted_spans().into_iter().map(|(s, _)| s).collect();
    let root = find(&spans, "session");
    assert_eq!(root.parent_span_id, vec![0xcd; 8]);
    assert!(spans.iter().all(|s| s.trace_id == vec![0xab; 16]));
}

#[test]
fn no_async_runtime_in_the_dependency_tree() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: HashSet<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(crates.contains("opentelemetry_sdk"), "cargo tree printed the tree");
    for rt in ["tokio", "async-std", "smol", "async-io"] {
        assert!(!crates.contains(rt), "{rt} is in the dependency tree");
    }
}

#[test]
fn a_receiver_answering_with_delay_still_gets_everything_exactly_once() {
    let server = TestServer::start(|_| Reply::Delay(Duration::from_millis(50), Box::new(Reply::ok())));
    let client = client(&server, Protocol::HttpProtobuf);
    let s = client.start_session(&["slow"]);
    for _ in 0..100 {
        s.record(LlmEvent::new("m"));
    }
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 101);
}

/// Sends 20 batches and returns the most requests the receiver had in flight at
/// once. The receiver holds the first request until a second one arrives (or, with
/// a single lane, until a generous cap), so concurrent lanes always overlap.
fn max_in_flight(concurrency: usize, with_memory_exporter: bool) -> usize {
    use std::sync::{Arc, Condvar, Mutex};
    let state = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new())); // (in flight, max)
    let st = state.clone();
    let server = TestServer::start(move |r| {
        let (lock, cv) = &*st;
        let mut g = lock.lock().unwrap();
        g.0 += 1;
        g.1 = g.1.max(g.0);
        cv.notify_all();
        if r.n == 1 {
            g = cv.wait_timeout_while(g, Duration::from_secs(1), |g| g.0 < 2).unwrap().0;
        }
        g.0 -= 1;
        Reply::ok()
    });
    let mut b = OtelConfig::builder()
        .otlp(OtlpExporterConfig::new(server.base_url()))
        .batch(BatchConfig::default().max_export_batch_size(10).max_concurrent_exports(concurrency));
    if with_memory_exporter {
        b = b.in_memory(agentops::exporters::InMemoryExporter::new());
    }
    let client = Client::new(b.build().unwrap()).unwrap();
    let s = client.start_session(&["lanes"]);
    for _ in 0..199 {
        s.record(ToolEvent::new("t"));
    }
    s.end(EndState::Success, "");
    client.flush(LONG).unwrap();
    // Flush waited for every lane: everything is there now.
    assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 200);
    let st = client.stats();
    assert_eq!((st.spans_exported, st.spans_queued, st.batches), (200, 0, 20));
    client.shutdown(LONG).unwrap();
    let max = state.0.lock().unwrap().1;
    max
}

#[test]
fn network_exporters_send_on_concurrent_lanes_and_flush_waits_for_all() {
    assert_eq!(max_in_flight(2, false), 2);
    assert_eq!(max_in_flight(1, false), 1);
    // Destinations have their own lanes: an exporter that must see every batch in
    // order (one lane) next to it does not hold the network exporter to one.
    assert_eq!(max_in_flight(2, true), 2);
}
