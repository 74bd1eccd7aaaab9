//! The export path under faults, against a real local HTTP server that injects them,
//! over http and https (`on_both_schemes!`: each test runs once per scheme).
//! Every test checks exact span counts on both sides and the accounting invariant.
//! No timed assertions: deadlines are generous and checks count things.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentops::exporters::{ExportBatch, ExportContext, ExportError, ExportOutcome, Exporter, InMemoryExporter};
use agentops::{
    BatchConfig, Client, EndState, LlmEvent, OtelConfig, OtlpExporterConfig, Protocol, RetryPolicy, Stats, ToolEvent,
};
use common::{base_url, closed_port, distinct_spans, otlp_for, unique_span_ids, Reply, Scheme, TestServer};

const LONG: Duration = Duration::from_secs(60);

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(8)
        .initial_backoff(Duration::from_millis(10))
        .multiplier(2.0)
        .max_backoff(Duration::from_millis(200))
        .max_elapsed(Duration::from_secs(30))
        .max_retry_after(Duration::from_secs(2))
}

/// A client that exports only on flush or shutdown, so each test's spans go out as
/// one batch and request counts are exact whatever the machine's pace. Spans only:
/// metrics under faults are `tests/metrics.rs`'s.
fn client_for(otlp: OtlpExporterConfig, retry: RetryPolicy, timeout: Duration) -> Client {
    let batch = BatchConfig::default().scheduled_delay(Duration::from_secs(3600));
    let otlp = otlp.timeout(timeout);
    Client::new(OtelConfig::builder().otlp(otlp).retry(retry).batch(batch).enable_metrics(false).build().unwrap())
        .unwrap()
}

/// Records one session with `n` events (n + 1 spans with the root).
fn one_session(client: &Client, n: usize) {
    let s = client.start_session(&["faults"]);
    for i in 0..n {
        s.record(LlmEvent::new("m").tokens(i as u64, 1));
    }
    s.end(EndState::Success, "");
}

fn assert_accounted(s: &Stats) {
    assert_eq!(s.spans_recorded, s.spans_exported + s.spans_dropped() + s.spans_filtered + s.spans_queued, "{s:#?}");
}

on_both_schemes! {
    fn first_requests_answered_503_are_retried_until_delivered(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |r| if r.n <= 3 { Reply::status(503) } else { Reply::ok() });
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
        one_session(&client, 20);
        client.shutdown(LONG).unwrap();
        assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 21);
        let reqs = server.requests();
        assert_eq!(reqs.len(), 4, "3 refusals then one success");
        assert!(reqs.windows(2).all(|w| w[0].body == w[1].body), "the same body is resent");
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped(), s.retries, s.requests), (21, 0, 3, 4));
        assert_accounted(&s);
}
}

/// A receiver that answers the first request 429 with this `Retry-After`, then 200.
fn throttling_once(scheme: Scheme, retry_after: &'static str) -> TestServer {
    TestServer::start_as(scheme, 0, move |r| {
        if r.n == 1 {
            Reply::Status(429, vec![("Retry-After".into(), retry_after.into())], vec![])
        } else {
            Reply::ok()
        }
    })
}

on_both_schemes! {
    fn a_retry_after_beyond_the_retry_budget_is_honoured_by_giving_up(scheme: Scheme) {
        // Honoured, a wait of an hour does not fit the 30 s budget: one request, no
        // retry. Ignored, the 10 ms backoff would have retried and delivered.
        for header in ["3600", "Fri, 31 Dec 2100 23:59:59 GMT"] {
            let server = throttling_once(scheme, header);
            let retry = fast_retry().max_retry_after(Duration::from_secs(3600));
            let client = client_for(server.otlp_config(), retry, Duration::from_secs(10));
            one_session(&client, 5);
            let err = client.shutdown(LONG).unwrap_err();
            assert!(err.to_string().contains("retry budget"), "{header}: {err}");
            assert_eq!(server.requests().len(), 1, "{header}");
            let s = client.stats();
            assert_eq!((s.retries, s.spans_exported, s.spans_dropped_export_failed), (0, 0, 6), "{header}");
            assert_accounted(&s);
        }
}
}

on_both_schemes! {
    fn an_absurd_retry_after_date_is_ignored_not_a_panic(scheme: Scheme) {
        // A year past what the clock can hold used to overflow on the sending thread.
        for header in ["Sun, 06 Nov 99999999999999 08:49:37 GMT", "Sun, 06 Nov 9223372036854775807 08:49:37 GMT"] {
            let server = throttling_once(scheme, header);
            let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
            one_session(&client, 5);
            client.shutdown(LONG).unwrap();
            assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 6, "{header}");
            let s = client.stats();
            assert_eq!((s.export_panics, s.retries, s.spans_exported), (0, 1, 6), "{header}");
        }
}
}

on_both_schemes! {
    fn a_retry_after_is_capped_and_then_retried(scheme: Scheme) {
        let server = throttling_once(scheme, "3600");
        let retry = fast_retry().max_retry_after(Duration::from_millis(20));
        let client = client_for(server.otlp_config(), retry, Duration::from_secs(10));
        one_session(&client, 5);
        client.shutdown(LONG).unwrap();
        assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 6);
        assert_eq!(server.requests().len(), 2);
        assert_eq!(client.stats().retries, 1);
}
}

on_both_schemes! {
    fn a_connection_closed_without_a_response_is_retried(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |r| if r.n <= 2 { Reply::Close } else { Reply::ok() });
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
        one_session(&client, 10);
        client.shutdown(LONG).unwrap();
        assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 11);
        assert_eq!(server.requests().len(), 3);
        let s = client.stats();
        assert_eq!((s.spans_exported, s.retries), (11, 2));
        assert_accounted(&s);
}
}

on_both_schemes! {
    fn a_response_slower_than_the_timeout_is_retried_at_least_once_delivery(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |r| {
            if r.n == 1 {
                Reply::Delay(Duration::from_secs(3), Box::new(Reply::ok()))
            } else {
                Reply::ok()
            }
        });
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_millis(300));
        one_session(&client, 10);
        client.shutdown(LONG).unwrap();
        // The slow first answer may still count at the receiver: at-least-once, so the
        // receiver sees every span, possibly twice, and the client counts each once.
        assert!(server.wait_until(LONG, |s| s.requests().len() == 2));
        assert_eq!(distinct_spans(&server.accepted_spans()), 11);
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped(), s.retries), (11, 0, 1));
        assert!(s.last_error.is_none(), "{:?}", s.last_error);
}
}

on_both_schemes! {
    fn an_endpoint_down_at_start_then_up_gets_everything(scheme: Scheme) {
        let port = closed_port();
        let client = client_for(otlp_for(scheme, &base_url(scheme, port)), fast_retry(), Duration::from_secs(5));
        one_session(&client, 10);
        // Start the export (a flush that gives up at once), wait (generously) until the
        // exporter has failed at least once, then come up.
        let _ = client.flush(Duration::from_millis(1));
        let deadline = Instant::now() + LONG;
        while client.stats().retries == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(client.stats().retries >= 1);
        let server = TestServer::start_as(scheme, port, |_| Reply::ok());
        client.shutdown(LONG).unwrap();
        assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 11);
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped()), (11, 0));
        assert_accounted(&s);
}
}

on_both_schemes! {
    fn status_400_is_dropped_counted_and_not_retried(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |_| Reply::json(400, serde_json::json!({"message": "bad span"})));
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(5));
        one_session(&client, 10);
        let err = client.shutdown(LONG).unwrap_err();
        assert!(matches!(err, agentops::Error::Export { dropped: 11, .. }), "{err}");
        assert!(err.to_string().contains("HTTP 400"), "{err}");
        assert_eq!(server.requests().len(), 1, "never retried");
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped_rejected, s.retries), (0, 11, 0));
        assert!(s.last_error.unwrap().contains("bad span"));
        assert_accounted(&client.stats());
}
}

on_both_schemes! {
    fn partial_success_is_a_success_with_the_rejected_count_recorded(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |_| {
            Reply::json(200, serde_json::json!({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "too old"}}))
        });
        let client = Client::new(
            OtelConfig::builder().otlp(server.otlp_config().protocol(Protocol::HttpJson)).build().unwrap(),
        )
        .unwrap();
        one_session(&client, 9);
        let err = client.shutdown(LONG).unwrap_err();
        assert!(err.to_string().contains("too old"), "{err}");
        assert_eq!(server.requests_to("/v1/traces").len(), 1, "not retried");
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped_rejected), (8, 2));
        // The metrics request's answer speaks of spans, not data points: nothing rejected there.
        assert_eq!((s.metrics_exports, s.metric_points_rejected), (1, 0));
        assert_accounted(&s);
}
}

#[test]
fn an_endpoint_down_for_good_costs_bounded_memory_and_a_bounded_shutdown() {
    let port = closed_port();
    let client = Client::new(
        OtelConfig::builder()
            .otlp(OtlpExporterConfig::new(format!("http://127.0.0.1:{port}")))
            .retry(fast_retry())
            .batch(BatchConfig::default().max_queue_size(100).max_export_batch_size(10))
            .build()
            .unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["down"]);
    for _ in 0..5_000 {
        s.record(ToolEvent::new("t"));
    }
    s.end(EndState::Fail, "");
    let mid = client.stats();
    // In flight at most: the queue, one batch being encoded and the destination's
    // backlog (a queue's worth: pipeline/fanout.rs).
    let bound = 100 + 10 + 100;
    assert!(mid.spans_dropped() >= 5_001 - bound, "{mid:#?}");
    assert!(mid.spans_queued <= bound, "the queue bounds memory: {mid:#?}");
    assert_accounted(&mid);

    // Short deadline: returns (with a timeout error or an export error), never hangs.
    let r = client.shutdown(Duration::from_millis(300));
    assert!(r.is_err());
    // Settled when shutdown returns: what could not be sent is counted as dropped.
    let end = client.stats();
    assert_eq!(end.spans_queued, 0, "{end:#?}");
    assert_eq!(end.spans_exported, 0);
    assert_eq!(end.spans_recorded, 5_001);
    assert_eq!(end.spans_dropped(), 5_001);
    assert_accounted(&end);
}

on_both_schemes! {
    fn a_hanging_endpoint_does_not_hang_shutdown(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |_| Reply::Delay(Duration::from_secs(3600), Box::new(Reply::ok())));
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(600));
        one_session(&client, 3);
        let r = client.shutdown(Duration::from_millis(500));
        assert!(matches!(r, Err(agentops::Error::Timeout { operation: "shutdown", .. })), "{r:?}");
        // Settled when shutdown returns: nothing left "queued", every span dropped.
        let s = client.stats();
        assert_eq!((s.spans_recorded, s.spans_queued, s.spans_exported, s.spans_dropped()), (4, 0, 0, 4), "{s:#?}");
        assert_accounted(&s);
        // A second shutdown reports the same outcome, at once (no second deadline).
        let r2 = client.shutdown(Duration::from_secs(3600));
        assert!(matches!(r2, Err(agentops::Error::Timeout { operation: "shutdown", .. })), "{r2:?}");
}
}

on_both_schemes! {
    fn large_batches_are_split_under_the_byte_cap(scheme: Scheme) {
        // Both encodings: a batch written directly is decoded and split like any other.
        for protocol in [Protocol::HttpProtobuf, Protocol::HttpJson] {
            let server = TestServer::otlp_as(scheme);
            let client = Client::new(
                OtelConfig::builder()
                    .otlp(server.otlp_config().protocol(protocol))
                    .batch(BatchConfig::default().max_request_bytes(8 * 1024))
                    .build()
                    .unwrap(),
            )
            .unwrap();
            let s = client.start_session(&["big"]);
            for _ in 0..50 {
                s.record(LlmEvent::new("m").prompt("p".repeat(1024)));
            }
            s.end(EndState::Success, "");
            client.shutdown(LONG).unwrap();
            let reqs = server.requests_to("/v1/traces");
            assert!(reqs.len() >= 7, "{protocol:?}: {} requests", reqs.len());
            assert!(reqs.iter().all(|r| r.body.len() <= 8 * 1024), "{protocol:?}");
            assert_eq!(unique_span_ids(&server.accepted_spans()).len(), 51, "{protocol:?}");
            assert_eq!(server.accepted_spans().len(), 51, "{protocol:?}: each span once");
        }
}
}

struct Panicky {
    calls: Arc<AtomicU64>,
}

impl Exporter for Panicky {
    fn name(&self) -> &str {
        "panicky"
    }
    fn export(&mut self, _batch: &ExportBatch, _cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("exporter bug");
        }
        Ok(ExportOutcome::default())
    }
}

#[test]
fn a_panicking_exporter_is_caught_counted_and_the_thread_goes_on() {
    let calls = Arc::new(AtomicU64::new(0));
    let memory = InMemoryExporter::new();
    let client = Client::new(
        OtelConfig::builder().exporter(Panicky { calls: calls.clone() }).in_memory(memory.clone()).build().unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["p"]);
    s.record(ToolEvent::new("a"));
    let err = client.flush(LONG).unwrap_err().to_string();
    assert!(err.contains("panicked") && err.contains("exporter bug"), "the panic and its message: {err}");
    s.record(ToolEvent::new("b"));
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    let st = client.stats();
    assert_eq!(st.export_panics, 1);
    assert_eq!((st.spans_dropped_export_failed, st.spans_exported), (1, 2));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(memory.len(), 3, "the other exporter got every batch");
    assert_accounted(&st);
}

#[test]
fn a_panic_inside_a_helper_fails_the_session_and_keeps_unwinding() {
    let memory = InMemoryExporter::new();
    let client = Client::new(OtelConfig::builder().in_memory(memory.clone()).build().unwrap()).unwrap();
    let session = client.start_session(&["boom"]);
    let s2 = session.clone();
    let r = std::panic::catch_unwind(move || {
        let _: Result<(), std::io::Error> = s2.tool("explode", &(), || panic!("tool blew up"));
    });
    assert!(r.is_err(), "the panic propagated");
    assert!(session.is_ended());
    let summary = session.end(EndState::Success, "too late");
    assert_eq!(summary.end_state, EndState::Fail);
    assert_eq!(summary.end_state_reason.as_deref(), Some("panic: tool blew up"));
    assert_eq!(summary.event_counts.errors, 1);

    let session = client.start_session(&["boom2"]);
    let s3 = session.clone();
    let r = std::panic::catch_unwind(move || s3.action("step", |_| panic!("in action")));
    assert!(r.is_err());
    assert_eq!(session.end(EndState::Success, "").end_state, EndState::Fail);
    client.shutdown(LONG).unwrap();
    let spans = memory.spans();
    let root_errors = spans
        .iter()
        .filter(|s| s.name == "session" && matches!(s.status, opentelemetry::trace::Status::Error { .. }))
        .count();
    assert_eq!(root_errors, 2);
    let step = spans.iter().find(|s| s.name == "step").expect("the action span was ended");
    assert!(matches!(step.status, opentelemetry::trace::Status::Error { .. }));
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    // The exporter blocks until released: the queue fills behind it.
    let gate = Arc::new(parking_lot::Mutex::new(()));
    struct Gated(Arc<parking_lot::Mutex<()>>);
    impl Exporter for Gated {
        fn name(&self) -> &str {
            "gated"
        }
        fn export(&mut self, _b: &ExportBatch, _cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
            drop(self.0.lock());
            Ok(ExportOutcome::default())
        }
    }
    let held = gate.lock();
    let client = Client::new(
        OtelConfig::builder()
            .exporter(Gated(gate.clone()))
            .batch(BatchConfig::default().max_queue_size(50).max_export_batch_size(10))
            .build()
            .unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["q"]);
    for _ in 0..1_000 {
        s.record(ToolEvent::new("t"));
    }
    let mid = client.stats();
    // Outside the queue of 50: the destination's backlog (a queue's worth, beyond
    // which batches are dropped for it: pipeline/fanout.rs) and one batch of 10
    // being built.
    assert!(mid.spans_dropped() >= 1_000 - 50 - 50 - 10, "{mid:#?}");
    assert!(mid.spans_dropped_queue_full > 0, "the queue itself filled too: {mid:#?}");
    assert_accounted(&mid);
    drop(held);
    s.end(EndState::Success, "");
    // Spans dropped for a destination that was behind are an export failure the
    // next flush or shutdown reports (those the full queue refused are not).
    match client.shutdown(LONG) {
        Ok(()) | Err(agentops::Error::Export { kind: agentops::exporters::ExportErrorKind::Failed, .. }) => {}
        Err(e) => panic!("{e}"),
    }
    let end = client.stats();
    assert_eq!(end.spans_recorded, 1_001);
    assert_eq!(end.spans_exported + end.spans_dropped(), 1_001);
    let gated = &end.exporters[0];
    assert_eq!(
        (gated.spans_exported, gated.spans_dropped, gated.spans_queued),
        (end.spans_exported, end.spans_dropped() - end.spans_dropped_queue_full, 0)
    );
    assert_accounted(&end);
}

on_both_schemes! {
    /// An answer's body is read up to a cap (256 KiB) and within the request's
    /// timeout: a 200 whose body never ends is a delivery, not a hang.
    fn an_endless_answer_body_is_cut_at_the_cap(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |_| Reply::Endless);
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
        one_session(&client, 10);
        client.shutdown(LONG).unwrap();
        let s = client.stats();
        assert_eq!((s.spans_exported, s.requests, s.retries), (11, 1, 0));
        assert_eq!(server.requests().len(), 1);
        assert_accounted(&s);
    }

    /// A 200 cut short after its headers arrived: the status says the spans were
    /// taken, so they count as delivered and are not resent.
    fn a_200_cut_short_counts_as_delivered_and_is_not_resent(scheme: Scheme) {
        let server =
            TestServer::start_as(scheme, 0, |_| Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{}".to_vec()));
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
        one_session(&client, 7);
        client.shutdown(LONG).unwrap();
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped(), s.requests, s.retries), (8, 0, 1, 0));
        assert_eq!(server.requests().len(), 1, "one copy of the batch");
    }

    /// Headers dripped a byte every 100 ms: the request's timeout (1 s) ends the
    /// wait, and the retry is answered at once.
    fn an_answer_dripped_slower_than_the_timeout_is_retried(scheme: Scheme) {
        let drip = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n".to_vec();
        let server = TestServer::start_as(scheme, 0, move |r| {
            if r.n == 1 {
                Reply::drip(&drip, Duration::from_millis(100))
            } else {
                Reply::ok()
            }
        });
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(1));
        one_session(&client, 4);
        client.shutdown(LONG).unwrap();
        let s = client.stats();
        assert_eq!((s.spans_exported, s.spans_dropped(), s.retries), (5, 0, 1));
        assert!(server.wait_until(LONG, |s| s.requests().len() == 2));
    }

    /// A redirect is not followed (a POST turned into a GET would lose its body): a
    /// clear failure naming where it points, one request, the spans counted.
    fn a_redirect_is_a_failure_naming_its_location(scheme: Scheme) {
        for status in [301, 302, 307, 308] {
            let server = TestServer::start_as(scheme, 0, move |_| {
                Reply::Status(status, vec![("Location".into(), "https://elsewhere.example/v1/traces".into())], vec![])
            });
            let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
            one_session(&client, 2);
            let err = client.shutdown(LONG).unwrap_err().to_string();
            assert!(err.contains(&format!("HTTP {status}")), "{err}");
            assert!(err.contains("redirects to https://elsewhere.example/v1/traces"), "{err}");
            let reqs = server.requests();
            assert_eq!(reqs.len(), 1, "{status}: not followed, not retried");
            assert_eq!(reqs[0].method, "POST");
            let s = client.stats();
            assert_eq!((s.spans_exported, s.spans_dropped_rejected), (0, 3), "{status}");
        }
    }
}

on_both_schemes! {
    /// A server that closes each connection after answering it: the next batch finds
    /// its pooled connection gone. Whatever the client does about it, every request
    /// it sends is one it counts (no resend hidden below the retry loop), and every
    /// span arrives once.
    fn connections_closed_after_each_answer_cost_no_uncounted_resend(scheme: Scheme) {
        let server = TestServer::start_as(scheme, 0, |_| {
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec())
        });
        let client = client_for(server.otlp_config(), fast_retry(), Duration::from_secs(10));
        for _ in 0..3 {
            one_session(&client, 3);
            client.flush(LONG).unwrap();
        }
        client.shutdown(LONG).unwrap();
        let s = client.stats();
        // One request per flush, plus one per counted retry; the server read no more.
        assert_eq!(s.requests, 3 + s.retries, "{s:#?}");
        assert!(server.requests().len() as u64 <= s.requests, "a request nobody counted: {s:#?}");
        assert_eq!((s.spans_exported, unique_span_ids(&server.accepted_spans()).len()), (12, 12));
    }
}

/// Issue #30's first case: a collector that answers after an hour next to a traces
/// file. The file gets every span at once (it does not wait for the collector),
/// and a short shutdown gives up on the collector alone: per exporter, the file
/// has every span and the collector none.
#[test]
fn a_hung_destination_neither_delays_nor_empties_the_file_next_to_it() {
    let server = TestServer::start(|_| Reply::Delay(Duration::from_secs(3600), Box::new(Reply::ok())));
    let path = std::env::temp_dir().join(format!("agentops-hung-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let client = Client::new(
        OtelConfig::builder()
            .otlp(server.otlp_config().timeout(Duration::from_secs(600)))
            .file(&path)
            .retry(fast_retry())
            .enable_metrics(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    one_session(&client, 9);
    let _ = client.flush(Duration::from_millis(200)); // the collector holds it; the file does not
    let lines = || std::fs::read_to_string(&path).unwrap_or_default();
    let spans_in_file =
        || -> usize { lines().lines().map(|l| unique_span_ids(&common::spans_of_json_line(l)).len()).sum() };
    let deadline = Instant::now() + LONG;
    while spans_in_file() < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(spans_in_file(), 10, "the file has every span while the collector hangs");
    let r = client.shutdown(Duration::from_millis(500));
    assert!(matches!(r, Err(agentops::Error::Timeout { .. })), "{r:?}");
    let s = client.stats();
    let by_name = |n: &str| s.exporters.iter().find(|e| e.name == n).unwrap().clone();
    assert_eq!((by_name("file").spans_exported, by_name("file").spans_dropped), (10, 0));
    assert_eq!(by_name("otlp").spans_exported, 0);
    assert_eq!((s.spans_recorded, s.spans_exported, s.spans_dropped()), (10, 0, 10), "{s:#?}");
    let _ = std::fs::remove_file(&path);
}
