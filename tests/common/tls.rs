//! A TLS receiver for the tests: served by rustls with a CA and certificates made
//! in the test (rcgen), written as PEM files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA, a server certificate for localhost signed by it, and a client
/// certificate signed by it, written as PEM files into `dir`.
pub struct Pki {
    dir: PathBuf,
    ca_der: CertificateDer<'static>,
    server: (CertificateDer<'static>, Vec<u8>),
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("agentops-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca, &ca_key)
            .unwrap();
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

    /// One PKI for every https test server of this process, so that a client can be
    /// given the CA before its server exists. Its files stay in the temp directory.
    pub fn shared() -> &'static Pki {
        static SHARED: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| Pki::new("shared"))
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// The rustls configuration of a server with this PKI's server certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server.1.clone()));
        Arc::new(builder.with_single_cert(vec![self.server.0.clone()], key).unwrap())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTPS receiver: counts connections, keeps the bodies it answered 200 to.
pub struct TlsReceiver {
    pub port: u16,
    pub connections: Arc<AtomicU64>,
    pub bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl TlsReceiver {
    pub fn start(pki: &Pki, require_client_cert: bool) -> TlsReceiver {
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
        Self::serve(Arc::new(builder.with_single_cert(vec![pki.server.0.clone()], key).unwrap()))
    }

    /// A receiver presenting the certificate chain and key of these PEM files.
    pub fn with_pem(cert: &std::path::Path, key: &std::path::Path) -> TlsReceiver {
        use rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_file_iter(cert).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth();
        Self::serve(Arc::new(builder.with_single_cert(chain, key).unwrap()))
    }

    fn serve(config: Arc<rustls::ServerConfig>) -> TlsReceiver {
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

    pub fn url(&self) -> String {
        format!("https://localhost:{}/v1/traces", self.port)
    }

    pub fn spans(&self) -> usize {
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
