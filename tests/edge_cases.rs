//! Calls and inputs at the edges, each found in review and fixed: unbounded
//! timeouts, huge prompts and counts, a full queue at session start, a panicking
//! span filter, and the kind an export error keeps.

mod common;

use std::sync::{mpsc, Mutex};
use std::time::Duration;

use agentops::exporters::ExportErrorKind;
use agentops::{attr, BatchConfig, Client, EndState, LlmEvent, OtelConfig, OtlpExporterConfig, RetryPolicy, ToolEvent};
use common::{attr_int, attr_str, closed_port, Reply, TestServer};

const LONG: Duration = Duration::from_secs(30);

fn otlp_client(url: &str) -> Client {
    let config = OtelConfig::builder().otlp(OtlpExporterConfig::new(url)).retry(RetryPolicy::none()).build().unwrap();
    Client::new(config).unwrap()
}

#[test]
fn unbounded_timeouts_are_accepted_not_a_panic() {
    let server = TestServer::otlp();
    let client = otlp_client(&server.base_url());
    let session = client.start_session(&["max"]);
    session.record(LlmEvent::new("m"));
    client.flush(Duration::MAX).unwrap();
    let summary = session.end_and_flush(EndState::Success, "done", Duration::MAX).unwrap();
    assert_eq!(summary.event_counts.llms, 1);
    client.shutdown(Duration::MAX).unwrap();
    assert_eq!(server.accepted_spans().len(), 2);
}

#[test]
fn a_10_mb_prompt_arrives_as_valid_json_cut_inside_and_is_counted() {
    let server = TestServer::otlp();
    let client = otlp_client(&server.base_url());
    let session = client.start_session(&["big"]);
    let prompt = "a \"quoted\" line\n".repeat(10 * 1024 * 1024 / 17);
    session.record(LlmEvent::new("m").prompt(prompt.clone()).completion("short"));
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let spans = server.accepted_spans();
    let llm = spans.iter().find(|(s, _)| s.name == "chat m").expect("the LLM span");
    let text = attr_str(&llm.0.attributes, attr::GEN_AI_INPUT_MESSAGES).unwrap();
    assert!(text.len() <= 64 * 1024, "{}", text.len());
    let v: serde_json::Value = serde_json::from_str(text).expect("the attribute is still JSON");
    let content = v[0]["parts"][0]["content"].as_str().unwrap();
    assert!(content.ends_with(attr::TRUNCATED_SUFFIX));
    assert!(prompt.starts_with(content.trim_end_matches(attr::TRUNCATED_SUFFIX)));
    let out: serde_json::Value =
        serde_json::from_str(attr_str(&llm.0.attributes, attr::GEN_AI_OUTPUT_MESSAGES).unwrap()).unwrap();
    assert_eq!(out[0]["parts"][0]["content"], "short");
    assert_eq!(client.stats().values_truncated, 1);
}

#[test]
fn counts_beyond_i64_are_clamped_not_wrapped() {
    let server = TestServer::otlp();
    let client = otlp_client(&server.base_url());
    let session = client.start_session(&["huge"]);
    session.record(LlmEvent::new("m").tokens(u64::MAX, u64::MAX - 1));
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let spans = server.accepted_spans();
    let llm = &spans.iter().find(|(s, _)| s.name == "chat m").unwrap().0;
    let root = &spans.iter().find(|(s, _)| s.name == "session").unwrap().0;
    assert_eq!(attr_int(&llm.attributes, attr::GEN_AI_INPUT_TOKENS), Some(i64::MAX));
    assert_eq!(attr_int(&root.attributes, attr::SESSION_INPUT_TOKENS), Some(i64::MAX));
    assert_eq!(attr_int(&root.attributes, attr::SESSION_OUTPUT_TOKENS), Some(i64::MAX));
}

#[test]
fn a_session_start_skipped_on_a_full_queue_is_counted() {
    // The first span filter call blocks the export thread until the gate opens, so
    // nothing leaves the queue meanwhile: what fills it stays put.
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (open, gate) = mpsc::channel::<()>();
    let blocking = Mutex::new(Some((entered_tx, gate)));
    let server = TestServer::otlp();
    let config = OtelConfig::builder()
        .otlp(OtlpExporterConfig::new(server.base_url()))
        .span_filter(move |_| {
            if let Some((entered, gate)) = blocking.lock().unwrap().take() {
                let _ = entered.send(());
                // Bounded, so a broken test cannot hang the suite.
                let _ = gate.recv_timeout(Duration::from_secs(60));
            }
            true
        })
        .batch(BatchConfig::default().max_queue_size(2).max_export_batch_size(1))
        .build()
        .unwrap();
    let client = Client::new(config).unwrap();
    let first = client.start_session(&["first"]);
    first.record(ToolEvent::new("t"));
    entered.recv_timeout(LONG).expect("the export thread reached the span filter");
    for _ in 0..3 {
        first.record(ToolEvent::new("t"));
    }
    assert_eq!(client.stats().spans_dropped_queue_full, 1, "the queue holds 2");
    let second = client.start_session(&["second"]);
    assert_eq!(client.stats().session_starts_dropped, 1);
    open.send(()).unwrap();
    // Everything queued is handled before the roots end, so they find room.
    client.flush(LONG).unwrap();
    first.end(EndState::Success, "");
    second.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let s = client.stats();
    // 4 events and 2 session roots; the one event the full queue refused.
    assert_eq!((s.session_starts_dropped, s.spans_recorded, s.spans_exported, s.spans_dropped()), (1, 6, 5, 1));
    assert_eq!(server.accepted_spans().len(), 5);
}

#[test]
fn a_panicking_formatter_drops_its_span_under_its_own_reason() {
    let server = TestServer::otlp();
    let config = OtelConfig::builder()
        .otlp(OtlpExporterConfig::new(server.base_url()))
        .span_filter(|span| {
            assert!(span.name != "execute_tool boom", "span filter bug");
            span.name != "execute_tool filtered"
        })
        .build()
        .unwrap();
    let client = Client::new(config).unwrap();
    let session = client.start_session(&["f"]);
    session.record(ToolEvent::new("boom"));
    session.record(ToolEvent::new("filtered"));
    session.record(ToolEvent::new("kept"));
    session.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let s = client.stats();
    assert_eq!(
        (s.spans_recorded, s.spans_exported, s.spans_filtered, s.spans_dropped_panicked, s.export_panics),
        (4, 2, 1, 1, 1)
    );
    assert_eq!(server.accepted_spans().len(), 2);
}

#[test]
fn export_errors_keep_their_kind() {
    let rejecting = TestServer::start(|_| Reply::status(400));
    let client = otlp_client(&rejecting.base_url());
    client.start_session(&["x"]).end(EndState::Success, "");
    let err = client.flush(LONG).unwrap_err();
    assert!(
        matches!(err, agentops::Error::Export { dropped: 1, kind: ExportErrorKind::Rejected { status: 400 }, .. }),
        "{err:?}"
    );

    let client = otlp_client(&format!("http://127.0.0.1:{}", closed_port()));
    client.start_session(&["x"]).end(EndState::Success, "");
    let err = client.flush(LONG).unwrap_err();
    assert!(matches!(err, agentops::Error::Export { kind: ExportErrorKind::Network, .. }), "{err:?}");
}
