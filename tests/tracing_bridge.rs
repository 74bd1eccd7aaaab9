//! The `tracing` bridge end to end, through a decoding receiver: hierarchy under
//! the session, typed fields, events as span events, ERROR level, a rig-style
//! GenAI span as an LLM span counted in the summary, spans outside sessions
//! ignored, many threads, and the `with_tracing` example.
#![cfg(feature = "tracing")]

mod common;

use std::time::Duration;

use agentops::bridge::AgentOpsLayer;
use agentops::{Client, EndState, OtelConfig, OtlpExporterConfig};
use common::{attr_f64, attr_int, attr_str, TestServer};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

const LONG: Duration = Duration::from_secs(60);

fn dispatch(layer: AgentOpsLayer) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

fn client(server: &TestServer) -> Client {
    let otlp = OtlpExporterConfig::traces_url(server.traces_url());
    Client::new(OtelConfig::builder().otlp(otlp).enable_metrics(false).build().unwrap()).unwrap()
}

fn spans(server: &TestServer) -> Vec<Span> {
    server.accepted_spans().into_iter().map(|(s, _)| s).collect()
}

fn find<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

#[tracing::instrument]
fn search_flights(city: &str) -> usize {
    city.len()
}

#[tracing::instrument]
fn plan_trip(city: &str) -> usize {
    tracing::info!(stops = 1, "searching flights");
    search_flights(city)
}

#[test]
fn spans_inside_a_session_join_its_trace_with_fields_events_and_errors() {
    let server = TestServer::otlp();
    let client = client(&server);
    let d = dispatch(AgentOpsLayer::new());
    let session = client.start_session(&["tracing"]);
    tracing::dispatcher::with_default(&d, || {
        tracing::info_span!("outside").in_scope(|| tracing::info!("not in a session")); // ignored
        let _current = session.enter();
        plan_trip("Paris");
        let typed = tracing::info_span!("typed", count = 3i64, ratio = 0.5f64, ok = true, label = "x", big = u64::MAX);
        typed.in_scope(|| tracing::error!(code = 7, "it broke"));
        // As rig emits it: fields declared empty, recorded when the answer is in.
        let chat = tracing::info_span!(
            "chat gpt-4o",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = "openai",
            gen_ai.request.model = "gpt-4o",
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
        );
        chat.in_scope(|| search_flights("Oslo"));
        chat.record("gen_ai.usage.input_tokens", 120);
        chat.record("gen_ai.usage.output_tokens", 30);
        drop(chat);
    });
    let summary = session.end(EndState::Success, "");
    assert_eq!((summary.event_counts.llms, summary.input_tokens, summary.output_tokens), (1, 120, 30));
    client.shutdown(LONG).unwrap();

    let spans = spans(&server);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(spans.len(), 6, "{names:?}"); // root, plan_trip, search_flights ×2, typed, chat
    assert!(!names.contains(&"outside"));
    let root = find(&spans, "session");
    let plan = find(&spans, "plan_trip");
    assert_eq!(plan.parent_span_id, root.span_id);
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id));
    let search: Vec<&Span> = spans.iter().filter(|s| s.name == "search_flights").collect();
    let under_plan = search.iter().find(|s| s.parent_span_id == plan.span_id).expect("search_flights under plan_trip");
    for s in [plan, *under_plan] {
        assert_eq!(attr_str(&s.attributes, "city"), Some("Paris"), "{}", s.name);
        assert_eq!(attr_str(&s.attributes, "session.id"), attr_str(&root.attributes, "session.id"));
        assert!(s.end_time_unix_nano >= s.start_time_unix_nano && s.start_time_unix_nano > 0);
    }
    assert_eq!(plan.events.len(), 1);
    assert_eq!(plan.events[0].name, "searching flights");
    assert_eq!(attr_int(&plan.events[0].attributes, "stops"), Some(1));
    assert_eq!(attr_str(&plan.events[0].attributes, "level"), Some("INFO"));
    assert_ne!(plan.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32));

    let typed = find(&spans, "typed");
    assert_eq!(attr_int(&typed.attributes, "count"), Some(3));
    assert_eq!(attr_f64(&typed.attributes, "ratio"), Some(0.5));
    let ok = typed.attributes.iter().find(|kv| kv.key == "ok").and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(ok, Some(any_value::Value::BoolValue(true)));
    assert_eq!(attr_str(&typed.attributes, "label"), Some("x"));
    assert_eq!(attr_str(&typed.attributes, "big"), Some(u64::MAX.to_string().as_str()), "beyond i64: text");
    let status = typed.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (StatusCode::Error as i32, "it broke"));
    assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Ok as i32, "Success wins over the error");

    // The GenAI span is an LLM span: the conventions' attributes, and the spans inside it nest under it.
    let chat = find(&spans, "chat gpt-4o");
    assert_eq!(attr_str(&chat.attributes, "agentops.span.kind"), Some("llm"));
    assert_eq!(attr_int(&chat.attributes, "gen_ai.usage.input_tokens"), Some(120));
    assert_eq!(attr_str(&chat.attributes, "gen_ai.provider.name"), Some("openai"));
    assert!(attr_f64(&chat.attributes, "agentops.llm.cost").is_some(), "priced from the table");
    let in_chat = search.iter().find(|s| s.parent_span_id == chat.span_id).expect("search_flights under chat");
    assert_eq!(attr_str(&in_chat.attributes, "city"), Some("Oslo"));
}

#[test]
fn many_threads_and_a_default_session() {
    let server = TestServer::otlp();
    let client = client(&server);
    let session = client.start_session(&["threads"]);
    let d = dispatch(AgentOpsLayer::new().default_session(&session));
    std::thread::scope(|t| {
        for i in 0..4 {
            let d = d.clone();
            t.spawn(move || {
                tracing::dispatcher::with_default(&d, || {
                    for _ in 0..25 {
                        tracing::info_span!("work", thread = i).in_scope(|| search_flights("Rome"));
                    }
                })
            });
        }
    });
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let spans = spans(&server);
    let root = find(&spans, "session");
    let work: Vec<&Span> = spans.iter().filter(|s| s.name == "work").collect();
    assert_eq!(work.len(), 100, "no session current: the default session took them");
    assert!(work.iter().all(|s| s.parent_span_id == root.span_id));
    let nested = spans.iter().filter(|s| s.name == "search_flights").count();
    assert_eq!(nested, 100);
    assert!(spans
        .iter()
        .filter(|s| s.name == "search_flights")
        .all(|s| work.iter().any(|w| w.span_id == s.parent_span_id)));
    assert_eq!(client.stats().spans_exported, 201);
}

#[test]
fn the_with_tracing_example_exports_its_spans() {
    let receiver = TestServer::otlp();
    let out = common::run_example("with_tracing", &["Paris"], &receiver);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = spans(&receiver);
    let root = find(&spans, "session");
    let plan = find(&spans, "plan_trip");
    let search = find(&spans, "search_flights");
    assert_eq!(
        (plan.parent_span_id.clone(), search.parent_span_id.clone()),
        (root.span_id.clone(), plan.span_id.clone())
    );
    assert_eq!(attr_str(&plan.attributes, "city"), Some("Paris"));
    assert_eq!(attr_str(&search.attributes, "city"), Some("Paris"));
    assert_eq!(plan.events.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["searching flights"]);
}
