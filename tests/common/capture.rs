//! Captures for the `agentops` command's tests: two sessions written by a client to
//! an OTLP JSON lines file (and what its console exporter printed for them), and
//! running the command.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentops::exporters::ConsoleExporter;
use agentops::{Client, ConsoleMode, EndState, ErrorEvent, LlmEvent, OtelConfig, ToolEvent};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "agentops-cli-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn t(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + ms)
}

/// Two sessions, one after the other (4 and 3 spans), written to `dir/capture.jsonl`; returns the
/// file and what the console exporter printed (tree mode) for the same spans.
pub fn make_capture(dir: &Path) -> (PathBuf, String) {
    let file = dir.join("capture.jsonl");
    let console = SharedBuf::default();
    let config = OtelConfig::builder()
        .default_exporters(false)
        .file(&file)
        .exporter(ConsoleExporter::with_writer(ConsoleMode::Tree, console.clone()))
        .build()
        .unwrap();
    let client = Client::new(config).unwrap();
    let a = client.start_session(&["cli", "first"]);
    a.record(
        LlmEvent::new("gpt-4o")
            .prompt("What is 2+2?")
            .completion("4")
            .tokens(12, 3)
            .cost(0.25)
            .started_at(t(0))
            .ended_at(t(1500)),
    );
    a.record(ToolEvent::new("calculator").params(&"2+2").returns(&4).started_at(t(1500)).ended_at(t(1520)));
    a.record(ErrorEvent::new("RateLimited").details("slow down").started_at(t(1600)).ended_at(t(1600)));
    a.end(EndState::Success, "answered");
    // The second session in requests of its own: the capture has several lines.
    client.flush(Duration::from_secs(10)).unwrap();
    let b = client.start_session(&["cli", "second"]);
    b.record(LlmEvent::new("claude-3-5-haiku").prompt("hi").completion("hello").tokens(5, 7).cost(0.5));
    b.record(LlmEvent::new("gpt-4o").prompt("again").completion("ok").tokens(1, 2).cost(0.125));
    b.end(EndState::Fail, "gave up");
    client.shutdown(Duration::from_secs(10)).unwrap();
    let printed = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
    (file, printed)
}

pub fn agentops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentops")).args(args).output().expect("run agentops")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every span of a capture file, read with opentelemetry-proto.
pub fn file_spans(path: &Path) -> Vec<Span> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<ExportTraceServiceRequest>(l).unwrap())
        .flat_map(|r| r.resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

pub fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| (&a.trace_id, &a.span_id).cmp(&(&b.trace_id, &b.span_id)));
    spans
}

/// Runs the command, which must succeed; its standard output.
pub fn agentops_ok(args: &[&str]) -> String {
    let out = agentops(args);
    assert!(out.status.success(), "agentops {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Lowercase hex, as OTLP/JSON and the HTML report write ids.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `agentops html` of `file`, written to `dir/report.html`; its path.
pub fn html_report(dir: &Path, file: &Path) -> PathBuf {
    let page = dir.join("report.html");
    let text = agentops_ok(&["html", file.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(text.contains("(2 sessions, 7 spans)"), "{text}");
    page
}
