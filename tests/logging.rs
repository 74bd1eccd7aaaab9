//! What the crate logs: under target `agentops`, once per condition, with error bodies
//! decoded and no doubled prefixes. One test in this binary: it installs the process's
//! logger.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use agentops::{Client, EndState, OtelConfig, OtlpExporterConfig, RetryPolicy};
use common::{Reply, TestServer};
use prost::Message;

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        RECORDS.lock().unwrap().push((r.level(), r.target().to_owned(), r.args().to_string()));
    }
    fn flush(&self) {}
}

/// `google.rpc.Status`, as a collector answers a failed OTLP request.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[test]
fn warnings_are_readable_and_under_the_agentops_target() {
    static CAPTURE: Capture = Capture;
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let body = RpcStatus { code: 5, message: "unknown path /v1/traces/v1/traces".into() }.encode_to_vec();
    let server = TestServer::start(move |_| {
        Reply::Status(404, vec![("Content-Type".into(), "application/x-protobuf".into())], body.clone())
    });
    // The common mistake: the base endpoint given with the traces path already on it.
    let url = format!("{}/v1/traces", server.base_url());
    // Spans only: the metrics URL (…/v1/traces/v1/metrics) would be a second condition.
    let config = OtelConfig::builder()
        .otlp(OtlpExporterConfig::new(url))
        .retry(RetryPolicy::none())
        .enable_metrics(false)
        .build()
        .unwrap();
    let client = Client::new(config).unwrap();
    let session = client.start_session(&["log"]);
    session.end(EndState::Success, "");
    let err = client.flush(Duration::from_secs(30)).unwrap_err();
    client.shutdown(Duration::from_secs(30)).unwrap(); // the flush already reported the loss

    let records = RECORDS.lock().unwrap().clone();
    let warnings: Vec<&(log::Level, String, String)> =
        records.iter().filter(|(level, _, _)| *level == log::Level::Warn).collect();
    assert_eq!(warnings.len(), 1, "once per condition: {records:#?}");
    let (_, target, text) = warnings[0];
    assert_eq!(target, "agentops");
    assert!(text.contains("HTTP 404"), "{text}");
    assert!(text.contains(": unknown path /v1/traces/v1/traces"), "the status is decoded: {text}");
    assert!(!text.contains('\u{8}') && !text.contains("\\u{8}"), "no raw protobuf: {text}");
    assert!(text.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "the hint: {text}");
    assert!(!text.starts_with("agentops:") && !text.contains("agentops: agentops"), "no doubled prefix: {text}");
    for (_, target, _) in &records {
        if target.starts_with("agentops") {
            assert_eq!(target, "agentops", "every record of the crate under one target");
        }
    }
    let message = err.to_string();
    assert!(message.contains("unknown path") && !message.contains("agentops: agentops"), "{message}");
    assert_eq!(client.stats().last_error.as_deref().map(|e| e.contains("unknown path")), Some(true));
}
