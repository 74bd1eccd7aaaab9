//! Secrets are never printed (issue #32): a URL's userinfo, header values and tokens
//! appear in no error, log line, `Debug` output, spool directory name or spool
//! file; settings are checked whole (ports, headers the transport owns); the spool
//! says once when it starts evicting. Every log line of this test binary is
//! captured and searched for the secrets.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, OtelConfig, OtelConfigBuilder, OtlpExporterConfig, RetryPolicy};
use common::{Reply, TestServer};

const PW: &str = "s3cr3t-PW";
const TOKEN: &str = "tok-9f8e7d";

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        LINES.lock().unwrap().push(r.args().to_string());
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static CAPTURE: Capture = Capture;
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}

/// No captured log line holds `secret`.
fn assert_never_logged(secret: &str) {
    let lines = LINES.lock().unwrap();
    assert!(lines.iter().all(|l| !l.contains(secret)), "{secret} was logged: {lines:#?}");
}

fn env(pairs: &[(&str, String)]) -> Result<OtelConfigBuilder, agentops::ConfigError> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    OtelConfigBuilder::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
}

fn quick() -> RetryPolicy {
    RetryPolicy::default().max_attempts(2).initial_backoff(Duration::from_millis(5))
}

#[test]
fn a_url_s_password_is_in_no_error_log_line_or_debug_output() {
    capture_logs();
    let server = TestServer::start(|_| Reply::status(404));
    let url = format!("http://user:{PW}@127.0.0.1:{}/wrong", server.port());
    let otlp = OtlpExporterConfig::traces_url(&url);
    assert!(!format!("{otlp:?}").contains(PW), "{otlp:?}");
    let client =
        Client::new(OtelConfig::builder().otlp(otlp).retry(quick()).enable_metrics(false).build().unwrap()).unwrap();
    let s = client.start_session(&["secrets"]);
    s.record(LlmEvent::new("m"));
    s.end(EndState::Success, "");
    let err = client.shutdown(Duration::from_secs(30)).unwrap_err().to_string();
    assert!(err.contains("HTTP 404 from http://***@127.0.0.1"), "{err}");
    assert!(!err.contains(PW), "{err}");
    let st = client.stats();
    assert!(!st.last_error.clone().unwrap_or_default().contains(PW));
    assert!(!format!("{st:?}").contains(PW));
    assert_eq!(server.requests().len(), 1, "the request was sent");
    assert_never_logged(PW);

    // A URL that is no URL is echoed without its userinfo too.
    let bad = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", format!("htp://user:{PW}@h"))]).err().unwrap();
    assert_eq!(bad.setting, "OTEL_EXPORTER_OTLP_ENDPOINT");
    assert!(!bad.to_string().contains(PW) && bad.to_string().contains("htp://***@h"), "{bad}");
}

#[test]
fn header_values_are_never_echoed_even_when_malformed() {
    capture_logs();
    for value in [format!("Authorization: Bearer {TOKEN}"), format!("Authorization=Bearer%2{TOKEN}")] {
        let err =
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318".into()), ("OTEL_EXPORTER_OTLP_HEADERS", value)])
                .err()
                .unwrap();
        assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_HEADERS");
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN), "{err}");
    }
    let otlp = OtlpExporterConfig::new("http://c:4318").header("Authorization", format!("Bearer {TOKEN}"));
    assert!(!format!("{otlp:?}").contains(TOKEN), "{otlp:?}");
    assert_never_logged(TOKEN);
}

#[test]
fn ports_out_of_range_and_headers_the_transport_owns_are_refused() {
    for port in ["65616", "99999", "0"] {
        let err = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}"))]).err().unwrap();
        assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_ENDPOINT", "{port}");
        assert!(err.reason.contains("1–65535"), "{err}");
        let err = OtelConfig::builder()
            .otlp(OtlpExporterConfig::new(format!("http://127.0.0.1:{port}")))
            .build()
            .unwrap_err();
        assert!(err.reason.contains("1–65535"), "{err}");
    }
    for header in ["Content-Length=5", "transfer-encoding=chunked", "Host=elsewhere"] {
        let err = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318".into()),
            ("OTEL_EXPORTER_OTLP_HEADERS", header.into()),
        ])
        .err()
        .unwrap();
        assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_HEADERS", "{header}");
        assert!(err.reason.contains("set by the HTTP client"), "{err}");
    }
    let (name, value) = ("Content-Length", "5");
    let err =
        OtelConfig::builder().otlp(OtlpExporterConfig::new("http://c:4318").header(name, value)).build().unwrap_err();
    assert_eq!(err.setting, "OtlpExporterConfig::header");
}

#[test]
fn the_spool_keys_destinations_without_secrets_and_says_once_when_it_evicts() {
    capture_logs();
    let dir = std::env::temp_dir().join(format!("agentops-secrets-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = common::closed_port();
    // Five 60 kB prompts a session and a file a session: the 1 MiB bound is reached
    // with the fourth file.
    let spooled = |password: &str| {
        let url = format!("http://user:{password}@127.0.0.1:{port}");
        let client = Client::new(
            OtelConfig::builder()
                .otlp(OtlpExporterConfig::new(url))
                .retry(quick())
                .enable_metrics(false)
                .spool_dir(&dir)
                .spool_max_bytes(1 << 20)
                .build()
                .unwrap(),
        )
        .unwrap();
        for _ in 0..4 {
            let s = client.start_session(&["spooled"]);
            for _ in 0..5 {
                s.record(LlmEvent::new("m").prompt("p".repeat(60_000)));
            }
            s.end(EndState::Success, "");
            let _ = client.flush(Duration::from_secs(30));
        }
        client.shutdown(Duration::from_secs(30)).unwrap();
        client.stats()
    };
    let first = spooled(PW);
    assert!(first.spans_spooled > 0, "{first:#?}");
    // The same destination with another password: the same directory, not a new one.
    spooled("another-password");
    let dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    for path in walk(&dir) {
        assert!(!path.display().to_string().contains(PW), "{}", path.display());
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(!text.contains(PW) && !text.contains("another-password"), "{}", path.display());
    }
    let said = || LINES.lock().unwrap().iter().filter(|l| l.contains("reached its bound")).count();
    let before = said();
    let st = spooled(PW);
    assert!(st.spool.files_evicted > 1, "the bound of 1 MiB evicts, write after write: {:#?}", st.spool);
    assert_eq!(said() - before, 1, "one line for the episode, not one per eviction");
    assert!(LINES.lock().unwrap().iter().any(|l| l.contains("reached its bound") && l.contains("evicted")));
    assert_never_logged(PW);
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
