//! The `agentops` command against captures made here: `tree` prints what the console
//! exporter printed for the same spans, `stats` adds them up exactly, `replay` sends
//! exactly the file's spans (ids unchanged, both protocols) to a decoding receiver,
//! retries a 503 and reports a partial failure with its counts, and bad input gets
//! line numbers and exit codes.
#![cfg(feature = "cli")]

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentops::{Client, ConsoleExporter, ConsoleMode, EndState, ErrorEvent, LlmEvent, OtelConfig, ToolEvent};
use common::{Reply, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn temp_dir(name: &str) -> PathBuf {
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

fn t(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + ms)
}

/// Two sessions, one after the other (4 and 3 spans), written to `dir/capture.jsonl`; returns the
/// file and what the console exporter printed (tree mode) for the same spans.
fn make_capture(dir: &Path) -> (PathBuf, String) {
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

fn agentops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentops")).args(args).output().expect("run agentops")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every span of a capture file, read with opentelemetry-proto.
fn file_spans(path: &Path) -> Vec<Span> {
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

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| (&a.trace_id, &a.span_id).cmp(&(&b.trace_id, &b.span_id)));
    spans
}

#[test]
fn tree_prints_what_the_console_exporter_printed() {
    let dir = temp_dir("tree");
    let (file, console) = make_capture(&dir);
    let out = agentops(&["tree", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), console);
    // The parts that matter, spelled out.
    let text = stdout(&out);
    assert!(text.contains("├─ chat gpt-4o [llm] 1.5s tokens 12→3 $0.250000\n"), "{text}");
    assert!(text.contains("├─ execute_tool calculator [tool] 20ms\n"), "{text}");
    assert!(text.contains("└─ error RateLimited [error] 0µs ✗ slow down\n"), "{text}");
    assert_eq!(text.matches("agentops session ").count(), 2);
    let first = text.find("Success (answered)").unwrap();
    let second = text.find("Fail (gave up)").unwrap();
    assert!(first < second, "sessions in time order");
}

#[test]
fn stats_prints_each_session_line_and_exact_totals() {
    let dir = temp_dir("stats");
    let (file, console) = make_capture(&dir);
    let out = agentops(&["stats", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let console_lines: Vec<&str> = console.lines().filter(|l| l.starts_with("agentops session ")).collect();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], &console_lines[..], "the session summary lines, in time order");
    assert_eq!(
        &lines[2..],
        [
            "total: 2 sessions (2 ended) | 7 spans | tokens in/out: 18/12 | cost: $0.875000 | errors: 1",
            "  model claude-3-5-haiku: 1 calls | tokens in/out: 5/7 | cost: $0.500000",
            "  model gpt-4o: 2 calls | tokens in/out: 13/5 | cost: $0.375000",
            "  error RateLimited: 1",
        ]
    );
}

#[test]
fn session_and_since_select_part_of_a_file() {
    let dir = temp_dir("select");
    let (file, _) = make_capture(&dir);
    let spans = file_spans(&file);
    let first_trace = spans.iter().find(|s| s.name == "chat gpt-4o" && s.start_time_unix_nano > 0).unwrap();
    let trace_hex: String = first_trace.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    let out = agentops(&["stats", "--session", &trace_hex, file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("total: 1 sessions (1 ended) | 4 spans |"), "{}", stdout(&out));
    // The first session's events have explicit times months ago; the rest started now.
    let out = agentops(&["stats", "--since", "1h", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains("total: 2 sessions (2 ended) | 4 spans |"), "{text}");
    let bad = agentops(&["stats", "--since", "yesterday", file.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--since"), "{}", stderr(&bad));
}

fn replay_to(server: &TestServer, file: &Path, protocol: &str) -> Output {
    agentops(&["replay", "--endpoint", &server.base_url(), "--protocol", protocol, file.to_str().unwrap()])
}

#[test]
fn replay_sends_exactly_the_files_spans_in_both_protocols() {
    let dir = temp_dir("replay");
    let (file, _) = make_capture(&dir);
    let expected = sorted(file_spans(&file));
    assert_eq!(expected.len(), 7);
    for (protocol, content_type) in [("http/protobuf", "application/x-protobuf"), ("http/json", "application/json")] {
        let server = TestServer::otlp();
        let out = replay_to(&server, &file, protocol);
        assert!(out.status.success(), "{protocol}: {}", stderr(&out));
        let got = sorted(server.accepted_spans().into_iter().map(|(s, _)| s).collect());
        assert_eq!(got, expected, "{protocol}: every span as captured, ids unchanged");
        assert!(server.requests().iter().all(|r| r.header("content-type") == Some(content_type)));
        assert!(stdout(&out).contains("replayed 7 spans in 2 requests"), "{}", stdout(&out));
        assert!(stdout(&out).contains("7 accepted, 0 rejected, 0 failed"), "{}", stdout(&out));
    }
}

#[test]
fn replay_retries_a_503_and_reports_a_partial_failure() {
    let dir = temp_dir("faults");
    let (file, _) = make_capture(&dir);
    let lines = std::fs::read_to_string(&file).unwrap().lines().filter(|l| !l.is_empty()).count();
    assert!(lines >= 2, "the capture has several requests");
    // The first attempt gets a 503, the retry goes through.
    let server = TestServer::start(|r| if r.n == 1 { Reply::status(503) } else { Reply::ok() });
    let out = replay_to(&server, &file, "http/protobuf");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.requests().len(), lines + 1, "one retry");
    assert!(stdout(&out).contains("7 accepted, 0 rejected, 0 failed (1 retries)"), "{}", stdout(&out));
    assert_eq!(sorted(server.accepted_spans().into_iter().map(|(s, _)| s).collect()), sorted(file_spans(&file)));

    // The first request is refused for good: non-zero exit, and the counts say so.
    let server = TestServer::start(|r| if r.n == 1 { Reply::status(400) } else { Reply::ok() });
    let out = replay_to(&server, &file, "http/protobuf");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let refused = file_spans(&file).len() - server.accepted_spans().len();
    assert!(refused > 0);
    let summary = format!("{} accepted, {refused} rejected, 0 failed", 7 - refused);
    assert!(stdout(&out).contains(&summary), "{} / {summary}", stdout(&out));
    assert!(stderr(&out).contains("HTTP 400"), "{}", stderr(&out));
}

#[test]
fn bad_lines_are_reported_by_number_and_skipped() {
    let dir = temp_dir("bad");
    let (file, _) = make_capture(&dir);
    let good = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(1, "{\"resourceSpans\": [ cut short");
    lines.insert(2, "not json at all");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let server = TestServer::otlp();
    let out = replay_to(&server, &bad, "http/json");
    assert_eq!(out.status.code(), Some(1), "skipped lines make a partial replay");
    let err = stderr(&out);
    assert!(err.contains("bad.jsonl:2: skipped: not an OTLP JSON request"), "{err}");
    assert!(err.contains("bad.jsonl:3: skipped"), "{err}");
    assert!(stdout(&out).contains("7 accepted, 0 rejected, 0 failed (0 retries); 2 lines skipped"), "{}", stdout(&out));
    assert_eq!(server.accepted_spans().len(), 7, "every good line still sent");

    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = agentops(&["tree", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("empty.jsonl: the file is empty"), "{}", stderr(&out));
    let out = agentops(&["stats", dir.join("missing.jsonl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.jsonl"), "{}", stderr(&out));
    let out = agentops(&["replay", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "nowhere to send");
    assert!(stderr(&out).contains("--endpoint"), "{}", stderr(&out));
}

#[test]
fn the_spool_is_read_and_replayed() {
    let dir = temp_dir("spool");
    let spool = dir.join("spool");
    // A client whose collector is down spools its batches.
    let down = format!("http://127.0.0.1:{}", common::closed_port());
    let config = OtelConfig::builder()
        .default_exporters(false)
        .otlp(agentops::OtlpConfig::new(&down).timeout(Duration::from_millis(500)))
        .retry(agentops::RetryPolicy::none())
        .spool_dir(&spool)
        .enable_metrics(false)
        .build()
        .unwrap();
    let client = Client::new(config).unwrap();
    let s = client.start_session(&["spooled"]);
    s.record(LlmEvent::new("gpt-4o").prompt("p").completion("c").tokens(1, 1));
    s.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(client.stats().spans_spooled, 2);

    let out = agentops(&["stats", "--spool", spool.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("total: 1 sessions (1 ended) | 2 spans |"), "{}", stdout(&out));
    let server = TestServer::otlp();
    let out = agentops(&["replay", "--endpoint", &server.traces_url(), "--spool", spool.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: HashSet<Vec<u8>> = server.accepted_spans().into_iter().map(|(s, _)| s.span_id).collect();
    assert_eq!(ids.len(), 2);
}

#[test]
fn help_is_on_every_subcommand() {
    for sub in ["replay", "tree", "stats", "html"] {
        let out = agentops(&[sub, "--help"]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("Usage: agentops"), "{sub}");
    }
    let out = agentops(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn html_holds_every_span_and_nothing_remote() {
    let dir = temp_dir("html");
    let (file, _) = make_capture(&dir);
    let page = dir.join("report.html");
    let out = agentops(&["html", file.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("(2 sessions, 7 spans)"), "{}", stdout(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    for s in file_spans(&file) {
        let id: String = s.span_id.iter().map(|b| format!("{b:02x}")).collect();
        assert!(html.contains(&format!("\"id\":\"{id}\"")), "span {} ({id}) on the page", s.name);
    }
    assert!(html.contains("default-src 'none'"), "the page may not load anything");
    for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(remote), "{remote}");
    }
}

/// A proxy that only records what is asked of it: every request a browser makes goes
/// through it (loopback included). Chromium's own traffic to Google's services (time,
/// accounts, updates) is told apart by host; anything else is a request a page made.
struct CountingProxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    accepted: AtomicU64,
    handled: AtomicU64,
    sentinels: AtomicU64,
    requests: Mutex<Vec<String>>,
}

/// The host a proxied request is for (`CONNECT host:443` or `GET http://host/…`).
fn proxied_host(head: &str) -> String {
    let target = head.split_whitespace().nth(1).unwrap_or("");
    let target = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")).unwrap_or(target);
    target.split(['/', ':']).next().unwrap_or("").to_owned()
}

impl CountingProxy {
    fn start() -> CountingProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                st.accepted.fetch_add(1, Ordering::SeqCst);
                let st = st.clone();
                std::thread::spawn(move || {
                    if let Ok(mut conn) = conn {
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut head = [0u8; 512];
                        let n = std::io::Read::read(&mut conn, &mut head).unwrap_or(0);
                        let head = String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or("").to_owned();
                        let host = proxied_host(&head);
                        let chromiums_own = ["google.com", "gstatic.com", "googleapis.com", "gvt1.com"]
                            .iter()
                            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
                        if head.starts_with("SENTINEL") {
                            st.sentinels.fetch_add(1, Ordering::SeqCst);
                        } else if !chromiums_own {
                            st.requests.lock().unwrap().push(head);
                        }
                    }
                    st.handled.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        CountingProxy { port, state }
    }

    /// What pages asked for since the last call. A last connection of our own goes
    /// in behind the browser's: connections are accepted in order, so once it and
    /// every connection accepted before it are handled, nothing is missed.
    fn taken(&self) -> Vec<String> {
        let st = &self.state;
        let want = st.sentinels.load(Ordering::SeqCst) + 1;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"SENTINEL\r\n").unwrap();
        drop(s);
        let limit = std::time::Instant::now() + Duration::from_secs(60);
        while st.sentinels.load(Ordering::SeqCst) < want
            || st.handled.load(Ordering::SeqCst) < st.accepted.load(Ordering::SeqCst)
        {
            assert!(std::time::Instant::now() < limit, "the proxy's threads did not finish");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::mem::take(&mut *st.requests.lock().unwrap())
    }
}

/// Renders `page` in headless Chromium through `proxy`; the screenshot's pixels.
fn screenshot(page: &Path, proxy: &CountingProxy, dir: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let shot = dir.join(format!("{}.png", page.file_stem().unwrap().to_string_lossy()));
    let out = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--window-size=1280,900",
            &format!("--proxy-server=http://127.0.0.1:{}", proxy.port),
            "--proxy-bypass-list=<-loopback>",
            &format!("--user-data-dir={}", dir.join("chromium-profile").display()),
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{chromium} could not run ({e}): install Debian's chromium (.ci/run does)"));
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(step).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

fn near(p: [u8; 3], rgb: [u8; 3]) -> bool {
    p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 6)
}

#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this with --ignored"]
fn html_renders_offline_in_headless_chromium() {
    let dir = temp_dir("chromium");
    let (file, _) = make_capture(&dir);
    let page = dir.join("report.html");
    let out = agentops(&["html", file.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let proxy = CountingProxy::start();

    // The control: a page that does ask for something is seen by the proxy.
    let control = dir.join("control.html");
    std::fs::write(&control, "<!doctype html><img src=\"http://192.0.2.1/x.png\"><p>control</p>").unwrap();
    screenshot(&control, &proxy, &dir);
    let asked = proxy.taken();
    assert!(asked.iter().any(|r| r.contains("192.0.2.1")), "the proxy sees a page's requests: {asked:?}");

    let (w, h, pixels) = screenshot(&page, &proxy, &dir);
    assert_eq!(proxy.taken(), Vec::<String>::new(), "no request left the report");
    assert_eq!((w, h), (1280, 900));
    // Drawn, not blank: the waterfall's bars in their kinds' colours (report.css).
    for (kind, rgb) in [("llm", [0x2f, 0x6f, 0xde]), ("tool", [0x1f, 0x9d, 0x6b]), ("error", [0xd1, 0x36, 0x3b])] {
        let n = pixels.iter().filter(|&&p| near(p, rgb)).count();
        assert!(n > 50, "{kind} bars drawn ({n} pixels)");
    }
    let background = pixels.iter().filter(|&&p| near(p, [0xf6, 0xf7, 0xf9]) || near(p, [0xff, 0xff, 0xff])).count();
    assert!(background < pixels.len() * 97 / 100, "more than background");
}

#[test]
fn replay_to_agentops_authenticates_and_keeps_the_ids() {
    const KEY: &str = "00000000-1111-2222-3333-444444444444";
    let dir = temp_dir("agentops");
    let (file, _) = make_capture(&dir);
    let server = TestServer::start(|r| match r.path.as_str() {
        "/v3/auth/token" if r.header("x-api-key") == Some(KEY) => {
            Reply::json(200, serde_json::json!({"token": "tok-1", "project_id": "proj-1"}))
        }
        "/v1/traces" if r.header("authorization") == Some("Bearer tok-1") => Reply::ok(),
        _ => Reply::status(401),
    });
    let out = Command::new(env!("CARGO_BIN_EXE_agentops"))
        .args(["replay", "--agentops", file.to_str().unwrap()])
        .env("AGENTOPS_API_KEY", KEY)
        .env("AGENTOPS_API_ENDPOINT", server.base_url())
        .env("AGENTOPS_EXPORTER_ENDPOINT", server.base_url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    let ids = |spans: Vec<Span>| spans.into_iter().map(|s| (s.trace_id, s.span_id)).collect::<HashSet<_>>();
    let got = ids(server.accepted_spans().into_iter().map(|(s, _)| s).collect());
    assert_eq!(got, ids(file_spans(&file)), "every span, ids unchanged");
    assert_eq!(server.requests_to("/v3/auth/token").len(), 1, "one token for the whole replay");

    let out = Command::new(env!("CARGO_BIN_EXE_agentops"))
        .args(["replay", "--agentops", file.to_str().unwrap()])
        .env_remove("AGENTOPS_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("AGENTOPS_API_KEY"), "{}", stderr(&out));
}

/// Runs the command and reaps it with `wait4`, for its own peak resident set (KiB):
/// its stdout, its stderr and its exit status's success, and that peak.
// The child is reaped by `wait4` (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn agentops_measured(args: &[&str]) -> (String, String, bool, i64) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentops"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut e = String::new();
        let _ = err_pipe.read_to_string(&mut e);
        e
    });
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let (mut status, pid) = (0, child.id() as libc::pid_t);
    // SAFETY: a zeroed rusage is valid; wait4 fills it and the status for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (out, err_reader.join().unwrap(), ok, usage.ru_maxrss)
}

#[test]
fn a_large_capture_is_streamed_not_held() {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    let dir = temp_dir("large");
    let file = dir.join("large.jsonl");
    // 3,000 lines of one span each with a 64 KiB prompt: 197 MB on disk.
    let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let prompt = "p".repeat(64 * 1024);
    for i in 0..3000u64 {
        let kv = |k: &str, v: any_value::Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            key_strindex: 0,
        };
        let span = Span {
            trace_id: (1u128 + u128::from(i % 10)).to_be_bytes().to_vec(),
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: "chat m".into(),
            start_time_unix_nano: 1_790_000_000_000_000_000 + i,
            end_time_unix_nano: 1_790_000_000_000_000_000 + i + 1000,
            attributes: vec![
                kv("agentops.span.kind", any_value::Value::StringValue("llm".into())),
                kv("gen_ai.request.model", any_value::Value::StringValue("m".into())),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(2)),
                kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(3)),
                kv("gen_ai.input.messages", any_value::Value::StringValue(prompt.clone())),
            ],
            ..Span::default()
        };
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans: vec![span], ..ScopeSpans::default() }],
                ..ResourceSpans::default()
            }],
        };
        serde_json::to_writer(&mut w, &req).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 190_000_000, "{size}");
    let html = dir.join("large.html");
    for args in [vec!["stats"], vec!["html", "-o", html.to_str().unwrap()]] {
        let mut all = args.clone();
        all.push(file.to_str().unwrap());
        let (out, err, ok, peak) = agentops_measured(&all);
        assert!(ok, "{err}");
        if args[0] == "stats" {
            assert!(out.contains("total: 10 sessions (0 ended) | 3000 spans | tokens in/out: 6000/9000"), "{out}");
        }
        // Held whole, the capture alone would be more than this.
        assert!(peak < 120 * 1024, "{} held {peak} KiB for a {size}-byte capture", args[0]);
    }
}
