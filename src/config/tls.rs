//! TLS settings of an exporter: a PEM bundle of CAs to trust instead of the public
//! web roots (`OTEL_EXPORTER_OTLP_[…_]CERTIFICATE`), and a client certificate and
//! key for mutual TLS (`…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`).
//!
//! The files are read when the configuration is built (to check them) and again
//! when the HTTP client is built (to use them). Each time, the rustls client
//! configuration that ureq builds on its first https connection — and `expect`s to
//! succeed — is built here first from the same material with the same provider, so
//! whatever rustls refuses (an X.509 v1 certificate, a key that is not the
//! certificate's, an encrypted key, an empty file) is a [`ConfigError`] naming the
//! setting and the path, never a panic on a sending thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use crate::error::config::ConfigError;

/// Where the PEM files are, and the settings that named them (for errors).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct TlsFiles {
    pub ca: Option<(String, PathBuf)>,
    pub client: Option<((String, PathBuf), (String, PathBuf))>,
}

/// How openssl's x509 command without `-extfile` leaves a certificate, and how to
/// make one rustls takes.
const V1_HINT: &str = "is an X.509 v1 certificate, which rustls (and so this crate) refuses for TLS; \
    `openssl x509 -req` makes v1 unless given extensions: re-issue it with \
    `-extfile <(printf 'basicConstraints=CA:FALSE\\n')` (add `extendedKeyUsage=clientAuth` for a client certificate)";

fn bad(setting: &str, path: &Path, why: impl Into<String>) -> ConfigError {
    ConfigError::new(setting, path.display().to_string(), why)
}

/// The file's bytes, refused when empty or when it holds an encrypted key.
fn read_pem(setting: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
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
    Ok(pem)
}

fn certificates(setting: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read_pem(setting, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>();
    let certs = certs.map_err(|e| bad(setting, path, format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(setting, path, "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"));
    }
    Ok(certs)
}

/// The key, and its PEM (ureq takes a key as PEM: it keeps its key kinds private).
fn private_key(setting: &str, path: &Path) -> Result<(PrivateKeyDer<'static>, Vec<u8>), ConfigError> {
    let pem = read_pem(setting, path)?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => bad(setting, path, "holds no PEM private key"),
        e => bad(setting, path, format!("is not a valid PEM private key: {e}")),
    })?;
    Ok((key, pem))
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

/// The bundle's CAs, each one usable as a trust anchor (ureq would skip the ones
/// rustls cannot parse, and trust fewer CAs than the file names, silently).
fn roots(setting: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = certificates(setting, path)?;
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store.add(cert.clone()).map_err(|e| {
            bad(setting, path, format!("certificate {} of {} cannot be trusted as a CA: {e}", i + 1, certs.len()))
        })?;
    }
    Ok(certs)
}

/// What the files hold, checked, in ureq's types.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsMaterial {
    /// The CAs to trust instead of the public web roots.
    roots: Option<Vec<Certificate<'static>>>,
    /// The client's chain and key.
    client: Option<ClientCert>,
}

fn ureq_certs(certs: &[CertificateDer<'_>]) -> Vec<Certificate<'static>> {
    certs.iter().map(|c| Certificate::from_der(c).to_owned()).collect()
}

/// The provider ureq builds its TLS configuration with: the process's default, when
/// the application installed one, else ring.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
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

    /// Reads the files and checks them as rustls will take them.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting and the path of a file that cannot be
    /// read, holds no certificate (or key), or holds one rustls refuses.
    pub fn load(&self) -> Result<TlsMaterial, ConfigError> {
        if self.ca.is_none() && self.client.is_none() {
            return Ok(TlsMaterial::default());
        }
        let roots = match &self.ca {
            Some((setting, path)) => Some(self::roots(setting, path)?),
            None => None,
        };
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(roots.iter().flatten().cloned());
        let roots = roots.as_deref().map(ureq_certs);
        // What ureq builds: every TLS version, the provider, the roots, the identity.
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| ConfigError::new("TLS", "rustls", format!("cannot be set up: {e}")))?
            .with_root_certificates(store);
        let Some(((cert_setting, cert_path), (key_setting, key_path))) = &self.client else {
            return Ok(TlsMaterial { roots, client: None });
        };
        let chain = certificates(cert_setting, cert_path)?;
        let (key, key_pem) = private_key(key_setting, key_path)?;
        if is_v1(&chain[0]) {
            return Err(bad(cert_setting, cert_path, V1_HINT));
        }
        // ureq reads the key from the same PEM, as its own type.
        let ureq_key = PrivateKey::from_pem(&key_pem)
            .map_err(|e| bad(key_setting, key_path, format!("is not a valid PEM private key: {e}")))?;
        match builder.with_client_auth_cert(chain.clone(), key) {
            Ok(_) => Ok(TlsMaterial { roots, client: Some(ClientCert::new_with_certs(&ureq_certs(&chain), ureq_key)) }),
            Err(rustls::Error::InconsistentKeys(_)) => Err(bad(
                key_setting,
                key_path,
                format!("is not the private key of the certificate in {}", cert_path.display()),
            )),
            Err(rustls::Error::General(e)) => {
                Err(bad(key_setting, key_path, format!("cannot be used as a TLS key: {e}")))
            }
            Err(e) => Err(bad(cert_setting, cert_path, format!("cannot be used as a TLS client certificate: {e}"))),
        }
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
    /// ureq's TLS configuration: these CAs instead of the web roots and this
    /// identity, when set.
    pub fn ureq_config(&self) -> TlsConfig {
        let mut b = TlsConfig::builder();
        if let Some(roots) = &self.roots {
            b = b.root_certs(RootCerts::new_with_certs(roots));
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
