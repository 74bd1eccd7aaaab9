//! TLS end to end: a receiver served by rustls with a CA and certificates made in
//! the test (rcgen). Delivery with the CA given; a clear, quick failure without it
//! (no retries, counted as dropped); mutual TLS accepted with the client
//! certificate and refused without; unreadable or malformed PEM files refused
//! when the configuration is built, naming the setting and the path.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, OtelConfig, OtelConfigBuilder, OtlpExporterConfig, RetryPolicy};
use common::tls::{Pki, TlsReceiver};

/// Records one session (two spans) and shuts down; the shutdown's outcome.
fn send(otlp: OtlpExporterConfig) -> (Client, Result<(), agentops::Error>) {
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
    let (client, out) = send(OtlpExporterConfig::traces_url(receiver.url()).ca_certificate(pki.path("ca.pem")));
    out.unwrap();
    assert_eq!((receiver.spans(), client.stats().spans_exported), (2, 2));

    // The public web roots do not know this CA: refused at once, not retried.
    let before = receiver.connections.load(Ordering::SeqCst);
    let (client, out) = send(OtlpExporterConfig::traces_url(receiver.url()));
    let err = out.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "the message says what failed: {err}");
    assert!(err.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"), "and what to set: {err}");
    assert!(err.contains(&format!("localhost:{}", receiver.port)), "and where: {err}");
    let st = client.stats();
    assert_eq!((st.spans_exported, st.spans_dropped()), (0, 2), "counted as dropped");
    assert_eq!((st.requests, st.retries), (1, 0), "one attempt: a certificate that does not verify is not retried");
    assert_eq!(receiver.connections.load(Ordering::SeqCst) - before, 1);
}

#[test]
fn mutual_tls_is_accepted_with_the_client_certificate_and_refused_without() {
    let pki = Pki::new("mtls");
    let receiver = TlsReceiver::start(&pki, true);
    let with_ca = || OtlpExporterConfig::traces_url(receiver.url()).ca_certificate(pki.path("ca.pem"));
    let (_, out) = send(with_ca().client_certificate(pki.path("client.pem"), pki.path("client-key.pem")));
    out.unwrap();
    assert_eq!(receiver.spans(), 2);
    let (client, out) = send(with_ca());
    // TLS 1.3 refuses a missing client certificate after the client's side of the
    // handshake, so the client sees the connection break (retried), not the alert.
    assert!(out.is_err(), "no client certificate: refused");
    assert_eq!(client.stats().spans_dropped(), 2);
    assert_eq!(receiver.spans(), 2, "nothing more arrived");
}

#[test]
fn unreadable_or_malformed_pem_is_a_config_error_naming_setting_and_path() {
    let pki = Pki::new("errors");
    let missing = pki.path("missing.pem");
    let url = "https://localhost:1/v1/traces";
    let build = |o: OtlpExporterConfig| OtelConfig::builder().otlp(o).build().unwrap_err();
    let err = build(OtlpExporterConfig::traces_url(url).ca_certificate(&missing));
    assert_eq!(err.setting, "OtlpExporterConfig::ca_certificate");
    assert_eq!(Path::new(&err.value), missing);
    assert!(err.reason.contains("cannot be read"), "{err}");
    let err = build(OtlpExporterConfig::traces_url(url).ca_certificate(pki.path("not-pem.pem")));
    assert!(err.reason.contains("no PEM certificate"), "{err}");
    let err = build(OtlpExporterConfig::traces_url(url).client_certificate(pki.path("client.pem"), pki.path("ca.pem")));
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

/// Runs openssl (in the test's directory) as a user would to make certificates.
fn openssl(dir: &Path, args: &str) {
    let out = std::process::Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(out.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn certificates_made_with_openssl_the_usual_ways_are_checked_when_the_config_is_built() {
    let pki = Pki::new("openssl");
    let dir = pki.path("");
    openssl(&dir, "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=test-ca");
    openssl(&dir, "req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=agent");
    // Without -extfile, `openssl x509 -req` makes an X.509 v1 certificate.
    let sign = "x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30";
    openssl(&dir, &format!("{sign} -out client-v1.pem"));
    std::fs::write(dir.join("v3.cnf"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").unwrap();
    openssl(&dir, &format!("{sign} -out client-v3.pem -extfile v3.cnf"));
    openssl(&dir, "genrsa -traditional -out other-rsa.key 2048"); // RSA PKCS#1
    openssl(&dir, "ecparam -genkey -name prime256v1 -noout -out other-ec.key"); // EC SEC1
    openssl(&dir, "genpkey -algorithm RSA -aes256 -pass pass:secret -out encrypted.key");
    std::fs::write(dir.join("empty.pem"), "").unwrap();

    let url = "https://127.0.0.1:1/v1/traces";
    let mtls = |cert: &str, key: &str| {
        let otlp = OtlpExporterConfig::traces_url(url).ca_certificate(dir.join("ca.pem"));
        OtelConfig::builder().otlp(otlp.client_certificate(dir.join(cert), dir.join(key))).build()
    };
    mtls("client-v3.pem", "client.key").expect("a v3 certificate and its own key are fine");

    let err = mtls("client-v1.pem", "client.key").unwrap_err();
    assert_eq!(
        (err.setting.as_str(), Path::new(&err.value)),
        ("OtlpExporterConfig::client_certificate", &*dir.join("client-v1.pem"))
    );
    assert!(err.reason.contains("X.509 v1") && err.reason.contains("-extfile"), "{err}");
    for other in ["other-rsa.key", "other-ec.key"] {
        let err = mtls("client-v3.pem", other).unwrap_err();
        assert_eq!(Path::new(&err.value), dir.join(other), "{err}");
        assert!(err.reason.contains("is not the private key of the certificate"), "{other}: {err}");
    }
    let err = mtls("client-v3.pem", "encrypted.key").unwrap_err();
    assert!(err.reason.contains("encrypted"), "{err}");
    let err = mtls("client-v3.pem", "empty.pem").unwrap_err();
    assert!(err.reason.contains("is empty"), "{err}");
    let err = mtls("client.key", "client.key").unwrap_err();
    assert!(err.reason.contains("no PEM certificate"), "{err}");
    let err =
        OtelConfig::builder().otlp(OtlpExporterConfig::traces_url(url).ca_certificate(dir.join("empty.pem"))).build();
    assert_eq!(err.unwrap_err().setting, "OtlpExporterConfig::ca_certificate");

    // From the environment, the error names the variable.
    let var = |k: &str, file: &str| (k.to_owned(), dir.join(file).display().to_string());
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), "https://127.0.0.1:1".to_owned()),
        var("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "client-v1.pem"),
        var("OTEL_EXPORTER_OTLP_CLIENT_KEY", "client.key"),
    ];
    let err = OtelConfigBuilder::from_lookup(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .err()
        .unwrap();
    assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
    assert!(err.reason.contains("X.509 v1"), "{err}");
}

/// A self-signed certificate as `openssl req -x509` makes it (CA:TRUE) served as the
/// server's own and trusted as the CA: rustls refuses it where curl accepts it, so
/// the failure says why and how to make one that works.
#[test]
fn a_self_signed_ca_certificate_used_as_the_server_s_is_explained() {
    let pki = Pki::new("selfsigned");
    let dir = pki.path("");
    let req = "req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 30 -subj /CN=127.0.0.1 \
               -addext subjectAltName=IP:127.0.0.1";
    openssl(&dir, req);
    let receiver = TlsReceiver::with_pem(&dir.join("self.pem"), &dir.join("self.key"));
    let url = format!("https://127.0.0.1:{}/v1/traces", receiver.port);
    let (client, out) = send(OtlpExporterConfig::traces_url(url).ca_certificate(dir.join("self.pem")));
    let err = out.unwrap_err().to_string();
    assert!(err.contains("CaUsedAsEndEntity") && err.contains("CA:FALSE"), "{err}");
    assert_eq!((client.stats().requests, client.stats().retries), (1, 0), "not retried");
}
