//! The `agentops` command against captures made here: `tree` prints what the console
//! exporter printed for the same spans, `stats` adds them up exactly, `replay` sends
//! exactly the file's spans (ids unchanged, both protocols, to a collector or to
//! AgentOps) to a decoding receiver, retries a 503 and reports a partial failure with
//! its counts, and bad input gets line numbers and exit codes.
#![cfg(feature = "cli")]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, OtelConfig};
use common::capture::{
    agentops, agentops_ok, file_spans, hex, html_report, make_capture, sorted, stderr, stdout, temp_dir,
};
use common::{Reply, TestServer};
use opentelemetry_proto::tonic::trace::v1::Span;

#[test]
fn tree_prints_what_the_console_exporter_printed() {
    let dir = temp_dir("tree");
    let (file, console) = make_capture(&dir);
    let text = agentops_ok(&["tree", file.to_str().unwrap()]);
    assert_eq!(text, console);
    // The parts that matter, spelled out.
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
    let text = agentops_ok(&["stats", file.to_str().unwrap()]);
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
    let text = agentops_ok(&["stats", "--session", &hex(&first_trace.trace_id), file.to_str().unwrap()]);
    assert!(text.contains("total: 1 sessions (1 ended) | 4 spans |"), "{text}");
    // The first session's events have explicit times months ago; the rest started now.
    let text = agentops_ok(&["stats", "--since", "1h", file.to_str().unwrap()]);
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
        .otlp(agentops::OtlpExporterConfig::new(&down).timeout(Duration::from_millis(500)))
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

    let text = agentops_ok(&["stats", "--spool", spool.to_str().unwrap()]);
    assert!(text.contains("total: 1 sessions (1 ended) | 2 spans |"), "{text}");
    let server = TestServer::otlp();
    agentops_ok(&["replay", "--endpoint", &server.traces_url(), "--spool", spool.to_str().unwrap()]);
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
    let html = std::fs::read_to_string(html_report(&dir, &file)).unwrap();
    for s in file_spans(&file) {
        let id = hex(&s.span_id);
        assert!(html.contains(&format!("\"id\":\"{id}\"")), "span {} ({id}) on the page", s.name);
    }
    assert!(html.contains("default-src 'none'"), "the page may not load anything");
    for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(remote), "{remote}");
    }
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

#[test]
fn replay_over_tls_with_a_ca_and_a_client_certificate() {
    let dir = temp_dir("tls");
    let (file, _) = make_capture(&dir);
    let pki = common::tls::Pki::new("cli");
    let receiver = common::tls::TlsReceiver::start(&pki, true);
    let path = |f: &str| pki.path(f).to_str().unwrap().to_owned();
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client-key.pem"));
    let base = ["replay", "--endpoint", &receiver.url(), "--timeout", "5"];
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_agentops"))
            .args(base)
            .args(extra)
            .arg(&file)
            .env("NO_PROXY", "*")
            .output()
            .unwrap()
    };
    let out = run(&["--ca-certificate", &ca, "--client-certificate", &cert, "--client-key", &key]);
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    assert_eq!(receiver.spans(), 7);
    // Without the CA the server's certificate does not verify: nothing sent, exit 1.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 accepted, 0 rejected, 7 failed (0 retries)"), "{}", stdout(&out));
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
    assert_eq!(receiver.spans(), 7);
    // A certificate without its key is a usage error.
    let out = run(&["--client-certificate", &cert]);
    assert_eq!(out.status.code(), Some(2));
}

/// Issue #30's seventh case: messages name this command's flags, an empty
/// selection costs `$0.000000` (not `$-0.000000`), and a model's dated answer
/// (`gpt-4o-mini-2024-07-18`) adds up with the model asked for.
#[test]
fn flags_named_no_negative_zero_and_models_by_what_was_asked() {
    let dir = temp_dir("cli-messages");
    let (file, _) = make_capture(&dir);
    let bad = agentops(&["replay", file.to_str().unwrap(), "--endpoint", "127.0.0.1:4318"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--endpoint") && !stderr(&bad).contains("OtlpExporterConfig"), "{}", stderr(&bad));
    let text = agentops_ok(&["stats", "--since", "1s", file.to_str().unwrap()]);
    assert!(!text.contains("$-"), "{text}");

    let models = dir.join("models.jsonl");
    let client = Client::new(OtelConfig::builder().file(&models).enable_metrics(false).build().unwrap()).unwrap();
    let s = client.start_session(&["models"]);
    s.record(LlmEvent::new("gpt-4o-mini").response_model("gpt-4o-mini-2024-07-18").tokens(1, 1));
    s.record(LlmEvent::new("gpt-4o-mini").tokens(2, 2));
    s.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(30)).unwrap();
    let text = agentops_ok(&["stats", models.to_str().unwrap()]);
    assert!(text.contains("  model gpt-4o-mini: 2 calls | tokens in/out: 3/3"), "{text}");
    assert!(!text.contains("2024-07-18"), "{text}");
}
