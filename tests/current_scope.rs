//! The current-scope rules: a scope entered on a thread is where the session's own
//! handle and `agentops::record` record there, until its guard is dropped; other
//! threads are not affected; nested enters and guards dropped out of order.

use std::time::Duration;

use agentops::exporters::InMemoryExporter;
use agentops::otel::{SpanData, SpanId};
use agentops::{Client, EndState, LlmEvent, OtelConfig, ToolEvent};

fn client() -> (Client, InMemoryExporter) {
    let memory = InMemoryExporter::new();
    let config = OtelConfig::builder().in_memory(memory.clone()).enable_metrics(false).build().unwrap();
    (Client::new(config).unwrap(), memory)
}

fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

/// The name of the span each LLM span (named by its model) sits under.
fn parent_of(spans: &[SpanData], model: &str) -> String {
    let child = span(spans, &format!("chat {model}"));
    let parent: SpanId = child.parent_span_id;
    spans.iter().find(|s| s.span_context.span_id() == parent).map(|s| s.name.to_string()).unwrap_or_default()
}

#[test]
fn the_session_handle_records_into_the_scope_entered_on_this_thread() {
    let (client, memory) = client();
    let session = client.start_session(&["current"]);
    assert!(agentops::record(LlmEvent::new("nowhere")).is_none(), "no scope is current yet");
    let plan = session.start_action("plan");
    {
        let _g = plan.enter();
        session.record(LlmEvent::new("in-plan"));
        assert!(agentops::record(LlmEvent::new("free-in-plan")).is_some());
        assert_eq!(agentops::current_scope().unwrap().session_id(), session.id());
        // Another thread: nothing is current there, the handle records at the root.
        std::thread::scope(|t| {
            t.spawn(|| {
                assert!(agentops::record(LlmEvent::new("other-thread-free")).is_none());
                session.record(LlmEvent::new("other-thread"));
            });
        });
    }
    session.record(LlmEvent::new("after-guard"));
    plan.end();
    // The closure helpers enter their scope while the closure runs.
    session.action("step", |_| {
        session.record(LlmEvent::new("in-step"));
        session.tool("search", &"q", || Ok::<_, String>(1)).unwrap();
    });
    session.agent("helper", |_| agentops::record(LlmEvent::new("in-agent")).unwrap());
    session.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(30)).unwrap();

    let spans = memory.spans();
    assert_eq!(parent_of(&spans, "in-plan"), "plan");
    assert_eq!(parent_of(&spans, "free-in-plan"), "plan");
    assert_eq!(parent_of(&spans, "other-thread"), "session");
    assert_eq!(parent_of(&spans, "after-guard"), "session");
    assert_eq!(parent_of(&spans, "in-step"), "step");
    assert_eq!(parent_of(&spans, "in-agent"), "invoke_agent helper");
    let tool = span(&spans, "execute_tool search");
    assert_eq!(tool.parent_span_id, span(&spans, "step").span_context.span_id());
    assert!(spans.iter().all(|s| !s.name.contains("nowhere") && !s.name.contains("other-thread-free")));
}

#[test]
fn nested_enters_and_guards_dropped_out_of_order() {
    let (client, memory) = client();
    let session = client.start_session(&["nested"]);
    let outer = session.start_action("outer");
    let inner = outer.start_action("inner");
    let g_outer = outer.enter();
    let g_inner = inner.enter();
    session.record(LlmEvent::new("a"));
    drop(g_outer); // out of order: the most recently entered scope stays current
    session.record(LlmEvent::new("b"));
    let g_outer_again = outer.enter();
    session.record(LlmEvent::new("c"));
    drop(g_outer_again);
    session.record(LlmEvent::new("d"));
    drop(g_inner);
    session.record(LlmEvent::new("e"));
    assert!(agentops::current_scope().is_none());
    // A scope of another session: this session's handle keeps to its own root.
    let other = client.start_session(&["other"]);
    let other_plan = other.start_action("other-plan");
    let g = other_plan.enter();
    session.record(LlmEvent::new("f"));
    agentops::record(ToolEvent::new("into-other"));
    drop(g);
    inner.end();
    outer.end();
    other_plan.end();
    session.end(EndState::Success, "");
    other.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(30)).unwrap();

    let spans = memory.spans();
    for (model, parent) in [("a", "inner"), ("b", "inner"), ("c", "outer"), ("d", "inner"), ("e", "session")] {
        assert_eq!(parent_of(&spans, model), parent, "{model}");
    }
    assert_eq!(parent_of(&spans, "f"), "session");
    assert_eq!(span(&spans, "chat f").span_context.trace_id(), span(&spans, "chat a").span_context.trace_id());
    let into_other = span(&spans, "execute_tool into-other");
    assert_eq!(into_other.parent_span_id, span(&spans, "other-plan").span_context.span_id());
}
