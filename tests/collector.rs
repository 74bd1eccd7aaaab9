//! Interop with a real OpenTelemetry collector: rotel (a Rust collector, from PyPI)
//! receives our OTLP/HTTP in protobuf and in JSON and forwards it to this test's own
//! receiver, where every span must arrive exactly once.
//!
//! It needs rotel, so it is `#[ignore]`d in a plain `cargo test` (which says so, with
//! the reason); `.ci/run` installs rotel, sets `ROTEL_BIN` and runs it with
//! `--ignored`, where a missing rotel is a failure, not a skip.

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentops::{Client, Compression, EndState, LlmEvent, OtelConfig, OtlpExporterConfig, Protocol, ToolEvent};
use common::{attr_str, by_trace, closed_port, distinct_spans, TestServer};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rotel_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ROTEL_BIN") {
        return Some(PathBuf::from(p));
    }
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/rotel-venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|py| {
        let bin = py.path().join("site-packages/rotel/rotel-agent");
        bin.exists().then_some(bin)
    })
}

#[test]
#[ignore = "needs rotel: .ci/run installs it (or set ROTEL_BIN) and runs this with --ignored"]
fn sessions_pass_through_a_real_collector_in_both_encodings_and_gzipped() {
    let bin = rotel_bin().expect("rotel is not installed: run .ci/run, or set ROTEL_BIN");
    let sink = TestServer::otlp();
    let http_port = closed_port();
    let grpc_port = closed_port();
    let log = std::env::temp_dir().join(format!("rotel-{http_port}.log"));
    let _rotel = KillOnDrop(
        Command::new(&bin)
            .args(["start", "--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--exporter", "otlp", "--otlp-exporter-endpoint", &sink.base_url()])
            .args(["--otlp-exporter-protocol", "http", "--batch-timeout", "100ms"])
            .arg("--log-file")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rotel"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", http_port)).is_err() {
        assert!(Instant::now() < deadline, "rotel did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut sessions = Vec::new();
    let cases = [
        (Protocol::HttpProtobuf, Compression::None),
        (Protocol::HttpJson, Compression::None),
        (Protocol::HttpProtobuf, Compression::Gzip),
    ];
    for (protocol, compression) in cases {
        let client = Client::new(
            OtelConfig::builder()
                .service_name("collector-interop")
                .otlp(
                    OtlpExporterConfig::new(format!("http://127.0.0.1:{http_port}"))
                        .protocol(protocol)
                        .compression(compression),
                )
                .build()
                .unwrap(),
        )
        .unwrap();
        let s = client.start_session(&[format!("{protocol:?} {compression:?}")]);
        s.record(LlmEvent::new("gpt-4o").prompt("hi").completion("hello").tokens(2, 3));
        let scope = s.start_action("plan");
        scope.record(ToolEvent::new("search").params(&"q"));
        scope.end();
        sessions.push(s.end(EndState::Success, "").session_id);
        client.shutdown(Duration::from_secs(30)).unwrap();
        let st = client.stats();
        assert_eq!((st.spans_exported, st.spans_dropped()), (4, 0), "{st:#?}");
    }

    assert!(
        sink.wait_until(Duration::from_secs(60), |s| distinct_spans(&s.accepted_spans()) >= 12),
        "the collector forwarded {} of 12 spans",
        distinct_spans(&sink.accepted_spans())
    );
    let spans = sink.accepted_spans();
    assert_eq!(distinct_spans(&spans), 12);
    let traces = by_trace(&spans);
    for id in sessions {
        let t = &traces[&id.as_bytes().to_vec()];
        let names: std::collections::BTreeSet<&str> = t.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["chat gpt-4o", "execute_tool search", "plan", "session"].into());
        for s in t {
            assert_eq!(attr_str(&s.attributes, "session.id"), Some(id.to_string().as_str()));
        }
    }
    assert!(spans.iter().all(|(_, res)| attr_str(res, "service.name") == Some("collector-interop")));
}
