//! TLS settings of an exporter: a PEM bundle of CAs to trust instead of the public
//! web roots (`OTEL_EXPORTER_OTLP_[…_]CERTIFICATE`), and a client certificate and
//! key for mutual TLS (`…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`). Files are read and
//! parsed when the configuration is built, so an unreadable or malformed one is a
//! [`ConfigError`] naming the setting and the path, not a failure at export time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use super::validate::ConfigError;

/// Where the PEM files are, and the settings that named them (for errors).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TlsFiles {
    pub ca: Option<(String, PathBuf)>,
    pub client: Option<((String, PathBuf), (String, PathBuf))>,
}

/// The parsed material, ready for the HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct TlsMaterial {
    roots: Option<Arc<Vec<Certificate<'static>>>>,
    client: Option<ClientCert>,
}

fn read(setting: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::new(setting, path.display().to_string(), format!("cannot be read: {e}")))
}

fn items(setting: &str, path: &Path) -> Result<Vec<PemItem<'static>>, ConfigError> {
    let bad = |why: String| ConfigError::new(setting, path.display().to_string(), why);
    let pem = read(setting, path)?;
    parse_pem(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| bad(format!("is not valid PEM: {e}")))
}

fn certificates(setting: &str, path: &Path) -> Result<Vec<Certificate<'static>>, ConfigError> {
    let certs: Vec<Certificate<'static>> = items(setting, path)?
        .into_iter()
        .filter_map(|i| match i {
            PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(ConfigError::new(setting, path.display().to_string(), "holds no PEM certificate"));
    }
    Ok(certs)
}

fn private_key(setting: &str, path: &Path) -> Result<PrivateKey<'static>, ConfigError> {
    items(setting, path)?
        .into_iter()
        .find_map(|i| match i {
            PemItem::PrivateKey(k) => Some(k),
            _ => None,
        })
        .ok_or_else(|| ConfigError::new(setting, path.display().to_string(), "holds no PEM private key"))
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

    /// Reads and parses the files (`None` when nothing is set).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting and the path of a file that cannot be
    /// read or holds no certificate (or key).
    pub fn load(&self) -> Result<Option<TlsMaterial>, ConfigError> {
        if self.ca.is_none() && self.client.is_none() {
            return Ok(None);
        }
        let roots = match &self.ca {
            Some((setting, path)) => Some(Arc::new(certificates(setting, path)?)),
            None => None,
        };
        let client = match &self.client {
            Some(((cert_setting, cert), (key_setting, key))) => {
                Some(ClientCert::new_with_certs(&certificates(cert_setting, cert)?, private_key(key_setting, key)?))
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
