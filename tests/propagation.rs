//! Sessions across processes: W3C trace context out of any scope and into a new
//! session (typed errors for malformed values), `TRACEPARENT` / `TRACESTATE` in the
//! environment, HTTP header helpers, and the two-process example at a receiver.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use agentops::exporters::InMemoryExporter;
use agentops::{Client, EndState, Error, LlmEvent, OtelConfig, OtelConfigBuilder};
use common::{attr_str, TestServer};

fn memory_client(builder: OtelConfigBuilder) -> (Client, InMemoryExporter) {
    let memory = InMemoryExporter::new();
    let config = builder.in_memory(memory.clone()).enable_metrics(false).build().unwrap();
    (Client::new(config).unwrap(), memory)
}

#[test]
fn a_traceparent_continues_the_scope_it_names() {
    let (client, memory) = memory_client(OtelConfig::builder());
    let parent = client.start_session(&["parent"]);
    let plan = parent.start_action("plan");
    let tp = plan.traceparent();
    assert_eq!(tp.len(), 55);
    assert!(tp.starts_with("00-") && tp.ends_with("-01"), "{tp}");

    // Over HTTP: inject into a header map, extract on the other side.
    let mut headers: HashMap<String, String> = HashMap::new();
    plan.inject(|k, v| drop(headers.insert(k.to_owned(), v.to_owned())));
    assert_eq!(headers.get("traceparent"), Some(&tp));
    let child = client.session().extract(|k| headers.get(k).cloned()).unwrap().tags(&["child"]).start();
    assert_eq!(child.id(), parent.id(), "the same trace, so the same session id");
    child.record(LlmEvent::new("in-child"));
    child.end(EndState::Success, "");
    plan.end();
    parent.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(30)).unwrap();

    let spans = memory.spans();
    let plan_span = spans.iter().find(|s| s.name == "plan").unwrap();
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "session").collect();
    assert_eq!(roots.len(), 2);
    let child_root = roots.iter().find(|s| s.parent_span_id == plan_span.span_context.span_id()).expect("child root");
    assert!(child_root.parent_span_is_remote);
    assert!(spans.iter().all(|s| s.span_context.trace_id() == plan_span.span_context.trace_id()));
    // No traceparent header: the builder is unchanged, a new trace starts.
    let fresh = client.session().extract(|_| None).unwrap().start();
    assert_ne!(fresh.id(), parent.id());
}

#[test]
fn malformed_trace_context_is_a_typed_error() {
    let (client, _) = memory_client(OtelConfig::builder());
    for bad in ["", "00-xyz", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"] {
        match client.session().traceparent(bad, None) {
            Err(Error::InvalidTraceContext { value, reason }) => {
                assert_eq!(value, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert!(matches!(client.session().traceparent(tp, Some("=bad=")), Err(Error::InvalidTraceContext { .. })));
    let s = client.session().traceparent(tp, Some("vendor=1")).unwrap().start();
    assert_eq!(s.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(s.tracestate(), "vendor=1", "the state is passed on");
    assert_eq!(s.child_env()[1], ("TRACESTATE", "vendor=1".to_owned()));
}

#[test]
fn traceparent_in_the_environment_joins_every_session() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let env = |k: &str| match k {
        "TRACEPARENT" => Some(tp.to_owned()),
        "TRACESTATE" => Some("a=b".to_owned()),
        "AGENTOPS_CONSOLE" | "AGENTOPS_TRACES_FILE" => Some("off".to_owned()),
        _ => None,
    };
    let (client, memory) = memory_client(OtelConfigBuilder::from_lookup(env).unwrap());
    let s = client.start_session(&["joined"]);
    assert_eq!(s.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(s.tracestate(), "a=b");
    s.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(30)).unwrap();
    let root = memory.spans().into_iter().find(|s| s.name == "session").unwrap();
    assert_eq!(root.parent_span_id.to_string(), "00f067aa0ba902b7");

    for (var, value) in [("TRACEPARENT", "01-zz"), ("TRACESTATE", "=bad=")] {
        let lookup = |k: &str| match k {
            "TRACEPARENT" if var == "TRACESTATE" => Some(tp.to_owned()),
            k if k == var => Some(value.to_owned()),
            _ => None,
        };
        let err = OtelConfigBuilder::from_lookup(lookup).err().expect("a config error");
        assert_eq!(err.setting, var, "{err}");
    }
}

#[test]
fn a_child_process_joins_its_parents_trace() {
    let receiver = TestServer::otlp();
    let out = common::run_example("child_process", &[], &receiver);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = receiver.accepted_spans();
    let names: Vec<&str> = spans.iter().map(|(s, _)| s.name.as_str()).collect();
    assert_eq!(spans.len(), 5, "{names:?}"); // parent root, LLM, delegate, child root, tool
    let trace = &spans[0].0.trace_id;
    assert!(spans.iter().all(|(s, _)| &s.trace_id == trace), "one trace: {names:?}");
    let delegate = &spans.iter().find(|(s, _)| s.name == "delegate").unwrap().0;
    let roots: Vec<_> = spans.iter().map(|(s, _)| s).filter(|s| s.name == "session").collect();
    assert_eq!(roots.len(), 2);
    let child =
        roots.iter().find(|s| s.parent_span_id == delegate.span_id).expect("the child's session under `delegate`");
    let parent = roots.iter().find(|s| s.parent_span_id.is_empty()).expect("the parent's session, a trace root");
    assert_eq!(attr_str(&child.attributes, "session.id"), attr_str(&parent.attributes, "session.id"));
    let tool = &spans.iter().find(|(s, _)| s.name == "execute_tool summarize").unwrap().0;
    assert_eq!(tool.parent_span_id, child.span_id);
}

#[test]
fn a_session_resumed_by_id_continues_its_trace() {
    let (client, memory) = memory_client(OtelConfig::builder());
    let id = uuid::Uuid::parse_str("6f1c2b1e-3a4d-4c5e-9f00-112233445566").unwrap();
    let s = client.session().resume(id).tags(&["resumed"]).start();
    assert_eq!(s.id(), id);
    s.record(LlmEvent::new("m"));
    s.end(EndState::Success, "");
    // A session started after it gets a trace of its own.
    let other = client.start_session(&["fresh"]);
    assert_ne!(other.id(), id);
    client.shutdown(Duration::from_secs(30)).unwrap();
    let spans = memory.spans();
    let root = spans.iter().find(|s| s.name == "session" && s.span_context.trace_id().to_bytes() == *id.as_bytes());
    let root = root.expect("the resumed session's root, in its trace");
    assert_eq!(root.parent_span_id, agentops::otel::SpanId::INVALID, "a root of the trace it continues");
    let llm = spans.iter().find(|s| s.name == "chat m").unwrap();
    assert_eq!(
        (llm.span_context.trace_id(), llm.parent_span_id),
        (root.span_context.trace_id(), root.span_context.span_id())
    );
    // Disabled, the id is kept all the same.
    let off = Client::new(OtelConfig::builder().disabled(true).build().unwrap()).unwrap();
    assert_eq!(off.session().resume(id).start().id(), id);
}
