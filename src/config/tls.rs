//! TLS settings of an exporter: a PEM bundle of CAs to trust instead of the public
//! web roots (`OTEL_EXPORTER_OTLP_[…_]CERTIFICATE`), and a client certificate and
//! key for mutual TLS (`…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`).
//!
//! Files are read, parsed and checked by rustls itself (the same provider and
//! builder calls ureq makes later) when the configuration is built and again when
//! the HTTP client is built, so whatever rustls would refuse — an X.509 v1
//! certificate, a key that is not the certificate's, an encrypted key, an empty
//! file — is a [`ConfigError`] naming the setting and the path, never a panic on a
//! sending thread (ureq `expect`s the client identity to load).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use super::validate::ConfigError;

/// Where the PEM files are, and the settings that named them (for errors).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct TlsFiles {
    pub ca: Option<(String, PathBuf)>,
    pub client: Option<((String, PathBuf), (String, PathBuf))>,
}

/// The parsed and checked material, ready for the HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct TlsMaterial {
    roots: Option<Arc<Vec<Certificate<'static>>>>,
    client: Option<ClientCert>,
}

/// How openssl's x509 command without `-extfile` leaves a certificate, and how to
/// make one rustls takes.
const V1_HINT: &str = "is an X.509 v1 certificate, which rustls (and so this crate) refuses for TLS; \
    `openssl x509 -req` makes v1 unless given extensions: re-issue it with \
    `-extfile <(printf 'basicConstraints=CA:FALSE\\n')` (add `extendedKeyUsage=clientAuth` for a client certificate)";

fn bad(setting: &str, path: &Path, why: impl Into<String>) -> ConfigError {
    ConfigError::new(setting, path.display().to_string(), why)
}

/// The file's PEM items, and its bytes.
fn items(setting: &str, path: &Path) -> Result<(Vec<u8>, Vec<PemItem<'static>>), ConfigError> {
    let pem = std::fs::read(path).map_err(|e| bad(setting, path, format!("cannot be read: {e}")))?;
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(setting, path, "is empty (expected PEM)"));
    }
    let text = String::from_utf8_lossy(&pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
        let fix = "holds an encrypted private key, and there is no way to ask for its passphrase: \
                   write it unencrypted (`openssl pkey -in KEY -out KEY.plain`) and keep that file private";
        return Err(bad(setting, path, fix));
    }
    let items = parse_pem(&pem).collect::<Result<Vec<_>, _>>();
    let items = items.map_err(|e| bad(setting, path, format!("is not valid PEM: {e}")))?;
    Ok((pem, items))
}

fn certificates(setting: &str, path: &Path) -> Result<Vec<Certificate<'static>>, ConfigError> {
    let certs: Vec<Certificate<'static>> = items(setting, path)?
        .1
        .into_iter()
        .filter_map(|i| match i {
            PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(bad(setting, path, "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"));
    }
    Ok(certs)
}

/// The key as ureq takes it, and as rustls does (ureq keeps its key kind private).
fn private_key(setting: &str, path: &Path) -> Result<(PrivateKey<'static>, PrivateKeyDer<'static>), ConfigError> {
    let (pem, items) = items(setting, path)?;
    let none = || bad(setting, path, "holds no PEM private key");
    let key = items
        .into_iter()
        .find_map(|i| match i {
            PemItem::PrivateKey(k) => Some(k),
            _ => None,
        })
        .ok_or_else(none)?;
    Ok((key, PrivateKeyDer::from_pem_slice(&pem).map_err(|_| none())?))
}

/// Whether a DER certificate is X.509 v1: its TBSCertificate opens without the
/// explicit `[0]` version field (RFC 5280 §4.1: absent means v1).
fn is_v1(der: &[u8]) -> bool {
    // SEQUENCE header of the certificate, then of the TBSCertificate.
    fn skip_header(d: &[u8]) -> Option<&[u8]> {
        let (&tag, rest) = d.split_first()?;
        if tag != 0x30 {
            return None;
        }
        let (&len, rest) = rest.split_first()?;
        let extra = if len & 0x80 != 0 { usize::from(len & 0x7f) } else { 0 };
        rest.get(extra..)
    }
    skip_header(der).and_then(skip_header).and_then(|tbs| tbs.first()).is_some_and(|&tag| tag != 0xa0)
}

/// The CAs of a bundle, each one usable as a trust anchor. (ureq would skip the
/// ones rustls cannot parse and trust fewer CAs than the file names, silently.)
fn check_roots(setting: &str, path: &Path, certs: &[Certificate<'_>]) -> Result<(), ConfigError> {
    let mut store = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store.add(CertificateDer::from(cert.der())).map_err(|e| {
            bad(setting, path, format!("certificate {} of {} cannot be trusted as a CA: {e}", i + 1, certs.len()))
        })?;
    }
    Ok(())
}

/// The client identity as rustls takes it: the same call ureq makes (and unwraps).
fn check_client(
    (cert_setting, cert_path): (&str, &Path),
    (key_setting, key_path): (&str, &Path),
    chain: &[Certificate<'_>],
    key: PrivateKeyDer<'static>,
) -> Result<(), ConfigError> {
    if is_v1(chain[0].der()) {
        return Err(bad(cert_setting, cert_path, V1_HINT));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| bad(cert_setting, cert_path, format!("TLS cannot be set up: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty());
    let der_chain = chain.iter().map(|c| CertificateDer::from(c.der().to_vec())).collect();
    match builder.with_client_auth_cert(der_chain, key) {
        Ok(_) => Ok(()),
        Err(rustls::Error::InconsistentKeys(_)) => Err(bad(
            key_setting,
            key_path,
            format!("is not the private key of the certificate in {}", cert_path.display()),
        )),
        Err(rustls::Error::General(e)) => Err(bad(key_setting, key_path, format!("cannot be used as a TLS key: {e}"))),
        Err(e) => Err(bad(cert_setting, cert_path, format!("cannot be used as a TLS client certificate: {e}"))),
    }
}

impl TlsFiles {
    /// The files variables name (each as `(variable, path)`), checked: a client
    /// certificate needs its key and the other way round, and every file must load.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable at fault and the path.
    pub fn from_vars(
        ca: Option<(String, PathBuf)>,
        cert: Option<(String, PathBuf)>,
        key: Option<(String, PathBuf)>,
    ) -> Result<Self, ConfigError> {
        let client = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some((v, p)), None) | (None, Some((v, p))) => {
                let reason = "mutual TLS needs both the client certificate and its key";
                return Err(ConfigError::new(v, p.display().to_string(), reason));
            }
        };
        let files = TlsFiles { ca, client };
        files.validate()?;
        Ok(files)
    }

    /// Reads, parses and checks the files (`None` when nothing is set).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting and the path of a file that cannot be
    /// read, holds no certificate (or key), or holds one rustls would refuse.
    pub fn load(&self) -> Result<Option<TlsMaterial>, ConfigError> {
        if self.ca.is_none() && self.client.is_none() {
            return Ok(None);
        }
        let roots = match &self.ca {
            Some((setting, path)) => {
                let certs = certificates(setting, path)?;
                check_roots(setting, path, &certs)?;
                Some(Arc::new(certs))
            }
            None => None,
        };
        let client = match &self.client {
            Some(((cert_setting, cert_path), (key_setting, key_path))) => {
                let chain = certificates(cert_setting, cert_path)?;
                let (key, rustls_key) = private_key(key_setting, key_path)?;
                check_client((cert_setting, cert_path), (key_setting, key_path), &chain, rustls_key)?;
                Some(ClientCert::new_with_certs(&chain, key))
            }
            None => None,
        };
        Ok(Some(TlsMaterial { roots, client }))
    }

    /// Checks that every file given loads (see [`load`](Self::load)).
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.load().map(drop)
    }
}

impl TlsMaterial {
    /// The TLS configuration of the HTTP client: the given CAs instead of the web
    /// roots, and the client identity, when set.
    pub fn config(&self) -> TlsConfig {
        let mut b = TlsConfig::builder();
        if let Some(roots) = &self.roots {
            b = b.root_certs(RootCerts::Specific(roots.clone()));
        }
        b.client_cert(self.client.clone()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_field_tells_v1_from_v3() {
        // SEQUENCE { SEQUENCE { [0] { INTEGER 2 } ... } }: v3.
        assert!(!is_v1(&[0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0x80, 0xa0, 0x03, 0x02, 0x01, 0x02]));
        // SEQUENCE { SEQUENCE { INTEGER serial ... } }: v1.
        assert!(is_v1(&[0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0x80, 0x02, 0x01, 0x05]));
        // Not a certificate at all: not called v1 (rustls says what it is).
        assert!(!is_v1(&[0x04, 0x00]));
        assert!(!is_v1(&[]));
    }
}
