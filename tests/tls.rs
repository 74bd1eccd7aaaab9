//! TLS end to end: a receiver served by rustls with a CA and certificates made in
//! the test (rcgen). Delivery with the CA given; a clear, quick failure without it
//! (no retries, counted as dropped); mutual TLS accepted with the client
//! certificate and refused without; unreadable or malformed PEM files refused
//! when the configuration is built, naming the setting and the path.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, OtelConfig, OtelConfigBuilder, OtlpConfig, RetryPolicy};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA, a server certificate for localhost signed by it, and a client
/// certificate signed by it, written as PEM files into `dir`.
struct Pki {
    dir: PathBuf,
    ca_der: CertificateDer<'static>,
    server: (CertificateDer<'static>, Vec<u8>),
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("agentops-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server =
            CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&server_key, &ca, &ca_key).unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["agent".to_owned()]).unwrap();
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
        for (file, pem) in [
            ("ca.pem", ca.pem()),
            ("client.pem", client.pem()),
            ("client-key.pem", client_key.serialize_pem()),
            ("not-pem.pem", "this is not a certificate".to_owned()),
        ] {
            std::fs::write(dir.join(file), pem).unwrap();
        }
        Pki { dir, ca_der: ca.der().clone(), server: (server.der().clone(), server_key.serialize_der()) }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTPS receiver: counts connections, keeps the bodies it answered 200 to.
struct TlsReceiver {
    port: u16,
    connections: Arc<AtomicU64>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl TlsReceiver {
    fn start(pki: &Pki, require_client_cert: bool) -> TlsReceiver {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der.clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server.1.clone()));
        let config = Arc::new(builder.with_single_cert(vec![pki.server.0.clone()], key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (connections, bodies) = (Arc::new(AtomicU64::new(0)), Arc::new(Mutex::new(Vec::new())));
        let (c, b) = (connections.clone(), bodies.clone());
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                c.fetch_add(1, Ordering::SeqCst);
                let (config, bodies) = (config.clone(), b.clone());
                std::thread::spawn(move || {
                    let conn = rustls::ServerConnection::new(config).unwrap();
                    let mut reader = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                    loop {
                        let (mut line, mut len) = (String::new(), 0usize);
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return; // closed, or the handshake failed
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; len];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        bodies.lock().unwrap().push(body);
                        let out = reader.get_mut();
                        if out
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                            .and_then(|_| out.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        TlsReceiver { port, connections, bodies }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/v1/traces", self.port)
    }

    fn spans(&self) -> usize {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .map(|b| ExportTraceServiceRequest::decode(&b[..]).unwrap())
            .flat_map(|r| r.resource_spans)
            .flat_map(|r| r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }
}

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
