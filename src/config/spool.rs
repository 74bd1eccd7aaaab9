//! Spool settings: where undelivered batches are kept, how much of them, and how
//! often a client tries to deliver them again.

use std::path::PathBuf;
use std::time::Duration;

use super::parse::parse_num;
use crate::error::config::{ensure, ensure_duration_in, ConfigError};

/// The spool part of an [`OtelConfig`](crate::OtelConfig) (off unless a directory is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolSettings {
    /// `AGENTOPS_SPOOL_DIR`: one subdirectory per destination lives there.
    pub dir: PathBuf,
    /// `AGENTOPS_SPOOL_MAX_BYTES`: the whole spool's bound, every destination together.
    pub max_bytes: u64,
    /// Time between two delivery rounds of a live client (one round runs at start).
    pub retry_interval: Duration,
}

impl SpoolSettings {
    /// 64 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// 30 s.
    pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(30);

    pub fn new(dir: PathBuf) -> Self {
        SpoolSettings { dir, max_bytes: Self::DEFAULT_MAX_BYTES, retry_interval: Self::DEFAULT_RETRY_INTERVAL }
    }

    /// Checks the settings; `names` are the directory's, the bound's and the
    /// interval's setting names, as the user wrote them.
    pub(crate) fn validate(&self, names: [&str; 3]) -> Result<(), ConfigError> {
        let dir = self.dir.display().to_string();
        if dir.is_empty() {
            return Err(ConfigError::new(names[0], dir, "must name a directory"));
        }
        if self.dir.is_file() {
            return Err(ConfigError::new(names[0], dir, "is a file, not a directory"));
        }
        // A spooled batch must fit: one batch is rarely above a few MiB.
        ensure(self.max_bytes >= 1024 * 1024, names[1], self.max_bytes, "must be at least 1 MiB (1048576)")?;
        ensure_duration_in(names[2], self.retry_interval, Duration::from_millis(10), Duration::from_secs(24 * 3600))
    }

    /// Reads `AGENTOPS_SPOOL_DIR` and `AGENTOPS_SPOOL_MAX_BYTES` (a number of bytes,
    /// or with a `KiB`/`MiB`/`GiB` suffix).
    pub(crate) fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<SpoolSettings>, ConfigError> {
        let Some(dir) = get("AGENTOPS_SPOOL_DIR") else {
            if let Some(v) = get("AGENTOPS_SPOOL_MAX_BYTES") {
                return Err(ConfigError::new("AGENTOPS_SPOOL_MAX_BYTES", v, "needs AGENTOPS_SPOOL_DIR"));
            }
            return Ok(None);
        };
        let mut s = SpoolSettings::new(PathBuf::from(dir.trim()));
        if let Some(v) = get("AGENTOPS_SPOOL_MAX_BYTES") {
            s.max_bytes = parse_size("AGENTOPS_SPOOL_MAX_BYTES", &v)?;
        }
        s.validate(["AGENTOPS_SPOOL_DIR", "AGENTOPS_SPOOL_MAX_BYTES", "spool_retry_interval"])?;
        Ok(Some(s))
    }
}

/// `1048576`, `1024KiB`, `64MiB`, `1GiB` (binary units; `KB`/`MB`/`GB` mean the same here).
fn parse_size(setting: &str, v: &str) -> Result<u64, ConfigError> {
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(ConfigError::new(setting, v, "expected a number of bytes, optionally with KiB, MiB or GiB")),
    };
    let n: u64 = parse_num(setting, num)?;
    n.checked_mul(1 << shift).ok_or_else(|| ConfigError::new(setting, v, "is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Option<SpoolSettings>, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        SpoolSettings::from_env(&|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("x", "1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("x", "64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("x", " 2 GiB ").unwrap(), 2 << 30);
        assert_eq!(parse_size("x", "512k").unwrap(), 512 << 10);
        assert!(parse_size("x", "12 parsecs").unwrap_err().to_string().contains("KiB"));
        assert!(parse_size("x", "99999999999999GiB").unwrap_err().to_string().contains("too large"));
        assert!(parse_size("x", "-1").is_err());
    }

    #[test]
    fn from_the_environment() {
        assert_eq!(env(&[]).unwrap(), None);
        let s = env(&[("AGENTOPS_SPOOL_DIR", "/tmp/spool")]).unwrap().unwrap();
        assert_eq!((s.dir.to_str().unwrap(), s.max_bytes), ("/tmp/spool", 64 << 20));
        let s = env(&[("AGENTOPS_SPOOL_DIR", "/tmp/spool"), ("AGENTOPS_SPOOL_MAX_BYTES", "8MiB")]).unwrap().unwrap();
        assert_eq!(s.max_bytes, 8 << 20);
        let e = env(&[("AGENTOPS_SPOOL_DIR", "/tmp/spool"), ("AGENTOPS_SPOOL_MAX_BYTES", "100")]).unwrap_err();
        assert!(e.to_string().contains("AGENTOPS_SPOOL_MAX_BYTES") && e.to_string().contains("1 MiB"), "{e}");
        let e = env(&[("AGENTOPS_SPOOL_MAX_BYTES", "8MiB")]).unwrap_err();
        assert!(e.to_string().contains("needs AGENTOPS_SPOOL_DIR"), "{e}");
        let e = env(&[("AGENTOPS_SPOOL_DIR", "Cargo.toml")]);
        if std::path::Path::new("Cargo.toml").is_file() {
            assert!(e.unwrap_err().to_string().contains("is a file"));
        }
    }
}
