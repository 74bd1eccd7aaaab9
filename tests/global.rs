//! The global client: a program that returns from `main` with the guard exports
//! every span without an explicit shutdown; a panic ends its session as `Fail`
//! and still exports; a bad environment under `init_from_env` is logged and runs
//! disabled. The examples run as their own processes against a decoding receiver.

mod common;

use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

use common::{attr_int, attr_str, TestServer};

fn run_example(args: &[&str], receiver: &TestServer) -> Output {
    common::run_example("init_guard", args, receiver)
}

#[test]
fn returning_from_main_with_the_guard_exports_everything() {
    let receiver = TestServer::otlp();
    let out = run_example(&[], &receiver);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = receiver.accepted_spans();
    let names: Vec<&str> = spans.iter().map(|(s, _)| s.name.as_str()).collect();
    assert_eq!(spans.len(), 3, "{names:?}");
    let root = &spans.iter().find(|(s, _)| s.name == "session").unwrap().0;
    assert_eq!(attr_str(&root.attributes, "agentops.session.end_state"), Some("Success"));
    let llm = &spans.iter().find(|(s, _)| s.name == "chat gpt-4o").unwrap().0;
    assert_eq!(llm.parent_span_id, root.span_id, "recorded through the current scope");
    assert_eq!(attr_int(&llm.attributes, "gen_ai.usage.input_tokens"), Some(12));
    assert_eq!(receiver.accepted_metrics().len(), 1, "the guard's shutdown collected the metrics");
}

#[test]
fn a_panic_ends_the_session_as_fail_and_still_exports() {
    let receiver = TestServer::otlp();
    let out = run_example(&["--panic"], &receiver);
    assert_eq!(out.status.code(), Some(101), "a panic: {}", String::from_utf8_lossy(&out.stderr));
    let spans = receiver.accepted_spans();
    assert_eq!(spans.len(), 3);
    let root = &spans.iter().find(|(s, _)| s.name == "session").unwrap().0;
    assert_eq!(attr_str(&root.attributes, "agentops.session.end_state"), Some("Fail"));
    let reason = attr_str(&root.attributes, "agentops.session.end_state_reason").unwrap();
    assert_eq!(reason, "panic: the agent gave up after 42");
}

static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        RECORDS.lock().unwrap().push((r.level(), r.args().to_string()));
    }
    fn flush(&self) {}
}

#[test]
fn a_bad_environment_is_logged_and_telemetry_runs_disabled() {
    static CAPTURE: Capture = Capture;
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    // The only test of this binary that changes the process's environment.
    std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "lots");
    let guard = agentops::init_from_env();
    std::env::remove_var("OTEL_BSP_MAX_QUEUE_SIZE");
    assert!(guard.client().is_disabled());
    assert!(agentops::client().is_some_and(|c| c.is_disabled()));
    let session = agentops::start_session(&["still-works"]);
    let _current = session.enter();
    assert!(agentops::record(agentops::LlmEvent::new("m").tokens(1, 2)).is_some());
    let summary = session.end(agentops::EndState::Success, "");
    assert_eq!((summary.event_counts.llms, summary.input_tokens), (1, 1), "sessions still summarize");
    let errors: Vec<String> =
        RECORDS.lock().unwrap().iter().filter(|(l, _)| *l == log::Level::Error).map(|(_, m)| m.clone()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("OTEL_BSP_MAX_QUEUE_SIZE") && errors[0].contains("disabled"), "{}", errors[0]);
    drop(guard);
    assert!(agentops::client().is_none(), "the guard uninstalls the client");
    assert!(agentops::flush(Duration::from_secs(1)).is_ok());
    // Without a global client, sessions still work.
    assert_eq!(agentops::start_session(&["none"]).end(agentops::EndState::Success, "").event_counts.llms, 0);
}

/// The init_guard example with only these variables set (no file, no console).
fn init_guard_with(vars: &[(&str, String)]) -> Output {
    std::process::Command::new(common::example("init_guard"))
        .env_clear()
        .env("AGENTOPS_TRACES_FILE", "off")
        .env("AGENTOPS_CONSOLE", "off")
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

/// Issue #30's second case: a bad variable under `init_from_env` in a program with
/// no logger is said once on stderr (naming the variable and the value), nothing on
/// stdout but the program's own output, and the program goes on (telemetry off).
#[test]
fn a_bad_variable_under_init_from_env_reaches_stderr_once_without_a_logger() {
    let receiver = TestServer::otlp();
    let out = init_guard_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("agentops: error:")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains("telemetry is disabled") && said[0].contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{stderr}");
    assert!(said[0].contains("grpc"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("agentops"), "nothing of ours on stdout");
    assert!(receiver.requests().is_empty(), "telemetry is off");
}

/// Issue #30's third case: misspelled variables are not silently ignored: one
/// warning each, naming the closest variable that is read.
#[test]
fn misspelled_variables_are_warned_about_with_the_closest_name() {
    let receiver = TestServer::otlp();
    let out = init_guard_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPIONT", receiver.base_url()),
        ("AGENTOPS_APIKEY", "6f1c2b1e-3a4d-4c5e-9f00-112233445566".into()),
        ("OTEL_PROPAGATORS", "tracecontext".into()),
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("agentops: warning:")).collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        stderr.contains("AGENTOPS_APIKEY is not a variable this crate reads; did you mean AGENTOPS_API_KEY?"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "OTEL_EXPORTER_OTLP_ENDPIONT is not a variable this crate reads; did you mean OTEL_EXPORTER_OTLP_ENDPOINT?"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("6f1c2b1e"), "a value is never echoed");
}

/// Issue #30's sixth case, a library's manners: with nothing configured, a program
/// finds no file of ours in its working directory and nothing of ours on its
/// stdout: the console summary and the metrics line go to stderr.
#[test]
fn with_nothing_set_no_file_is_written_and_stdout_is_the_program_s() {
    let dir = std::env::temp_dir().join(format!("agentops-manners-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(common::example("init_guard")).env_clear().current_dir(&dir).output().unwrap();
    assert!(out.status.success());
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(files.is_empty(), "no file written into the working directory: {files:?}");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stderr.contains("Metrics - LLM calls: 1"), "the console's lines go to stderr: {stderr}");
    assert!(!stdout.contains("Metrics -") && !stdout.contains("Spans:"), "stdout is the program's: {stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #30's fourth case: `std::process::exit` runs no destructor; called after
/// `agentops::shutdown`, the open session is ended and everything arrives.
#[test]
fn shutdown_then_process_exit_loses_nothing() {
    let receiver = TestServer::otlp();
    let out = run_example(&["--exit"], &receiver);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = receiver.accepted_spans();
    assert_eq!(spans.len(), 3);
    let root = &spans.iter().find(|(s, _)| s.name == "session").unwrap().0;
    assert_eq!(attr_str(&root.attributes, "agentops.session.end_state"), Some("Indeterminate"));
    assert_eq!(
        attr_str(&root.attributes, "agentops.session.end_state_reason"),
        Some("shut down before the session ended")
    );
}

/// Issue #30's fourth case: SIGINT (and SIGTERM) with `end_sessions_on_signal`:
/// the session ends as `Fail` (`interrupted`), everything arrives, and the process
/// still ends as the signal ends it.
#[cfg(target_os = "linux")]
#[test]
fn sigint_and_sigterm_end_the_session_export_and_still_end_the_process() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let receiver = TestServer::otlp();
        let mut child = std::process::Command::new(common::example("init_guard"))
            .env_clear()
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
            .env("AGENTOPS_TRACES_FILE", "off")
            .env("AGENTOPS_CONSOLE", "off")
            .arg("--wait-for-signal")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        // SAFETY: a plain syscall on the child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(signal), "ended by the signal, as without agentops: {status:?}");
        let spans = receiver.accepted_spans();
        assert_eq!(spans.len(), 3, "{signal}");
        let root = &spans.iter().find(|(s, _)| s.name == "session").unwrap().0;
        assert_eq!(attr_str(&root.attributes, "agentops.session.end_state"), Some("Fail"));
        assert_eq!(attr_str(&root.attributes, "agentops.session.end_state_reason"), Some("interrupted"));
    }
}
