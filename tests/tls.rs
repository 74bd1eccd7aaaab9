//! TLS end to end: a receiver served by rustls with a CA and certificates made in
//! the test (rcgen). Delivery with the CA given; a clear, quick failure without it
//! (no retries, counted as dropped); mutual TLS accepted with the client
//! certificate and refused without; unreadable or malformed PEM files refused
//! when the configuration is built, naming the setting and the path.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, OtelConfig, OtelConfigBuilder, OtlpConfig, RetryPolicy};
use common::tls::{Pki, TlsReceiver};

/// Records one session (two spans) and shuts down; the shutdown's outcome.
fn send(otlp: OtlpConfig) -> (Client, Result<(), agentops::Error>) {
    let retry = RetryPolicy::default().initial_backoff(Duration::from_millis(10)).max_elapsed(Duration::from_secs(20));
    let config = OtelConfig::builder().otlp(otlp.no_proxy()).retry(retry).enable_metrics(false).build().unwrap();
    let client = Client::new(config).unwrap();
    let s = client.start_session(&["tls"]);
    s.record(LlmEvent::new("m"));
    s.end(EndState::Success, "");
    let out = client.shutdown(Duration::from_secs(30));
    (client, out)
}

#[test]
fn delivery_with_the_ca_and_a_quick_clear_failure_without_it() {
    let pki = Pki::new("ca");
    let receiver = TlsReceiver::start(&pki, false);
    let (client, out) = send(OtlpConfig::traces_url(receiver.url()).ca_certificate(pki.path("ca.pem")));
    out.unwrap();
    assert_eq!((receiver.spans(), client.stats().spans_exported), (2, 2));

    // The public web roots do not know this CA: refused at once, not retried.
    let before = receiver.connections.load(Ordering::SeqCst);
    let (client, out) = send(OtlpConfig::traces_url(receiver.url()));
    let err = out.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "the message says what failed: {err}");
    let st = client.stats();
    assert_eq!((st.spans_exported, st.spans_dropped()), (0, 2), "counted as dropped");
    assert_eq!((st.requests, st.retries), (1, 0), "one attempt: a certificate that does not verify is not retried");
    assert_eq!(receiver.connections.load(Ordering::SeqCst) - before, 1);
}

#[test]
fn mutual_tls_is_accepted_with_the_client_certificate_and_refused_without() {
    let pki = Pki::new("mtls");
    let receiver = TlsReceiver::start(&pki, true);
    let with_ca = || OtlpConfig::traces_url(receiver.url()).ca_certificate(pki.path("ca.pem"));
    let (_, out) = send(with_ca().client_certificate(pki.path("client.pem"), pki.path("client-key.pem")));
    out.unwrap();
    assert_eq!(receiver.spans(), 2);
    let (client, out) = send(with_ca());
    assert!(out.is_err(), "no client certificate: refused");
    assert_eq!(client.stats().spans_dropped(), 2);
    assert_eq!(receiver.spans(), 2, "nothing more arrived");
}

#[test]
fn unreadable_or_malformed_pem_is_a_config_error_naming_setting_and_path() {
    let pki = Pki::new("errors");
    let missing = pki.path("missing.pem");
    let url = "https://localhost:1/v1/traces";
    let build = |o: OtlpConfig| OtelConfig::builder().otlp(o).build().unwrap_err();
    let err = build(OtlpConfig::traces_url(url).ca_certificate(&missing));
    assert_eq!(err.setting, "OtlpConfig::ca_certificate");
    assert_eq!(Path::new(&err.value), missing);
    assert!(err.reason.contains("cannot be read"), "{err}");
    let err = build(OtlpConfig::traces_url(url).ca_certificate(pki.path("not-pem.pem")));
    assert!(err.reason.contains("no PEM certificate"), "{err}");
    let err = build(OtlpConfig::traces_url(url).client_certificate(pki.path("client.pem"), pki.path("ca.pem")));
    assert!(err.reason.contains("no PEM private key"), "{err}");

    let env = |pairs: Vec<(&'static str, String)>| {
        OtelConfigBuilder::from_lookup(move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .err()
            .unwrap()
    };
    let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://localhost:1".to_owned());
    let err = env(vec![base.clone(), ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", missing.display().to_string())]);
    assert_eq!(
        (err.setting.as_str(), err.value.as_str()),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", missing.to_str().unwrap())
    );
    let err = env(vec![base, ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.path("client.pem").display().to_string())]);
    assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
    assert!(err.reason.contains("its key"), "{err}");
    let key = "6f1c2b1e-3a4d-4c5e-9f00-112233445566".to_owned();
    let err = env(vec![("AGENTOPS_API_KEY", key), ("OTEL_EXPORTER_OTLP_CERTIFICATE", missing.display().to_string())]);
    assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_CERTIFICATE", "the TLS variables apply to AgentOps too");
}
