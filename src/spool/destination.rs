//! Where a destination's batches live: `{spool}/{slug}-{hash}/`, named from the
//! exporter's destination (kind and URL), so the next client finds the batches of
//! the endpoints it sends to and leaves other destinations' alone. A `destination`
//! file inside says which one it is, for people and tools reading the spool.

use std::io;
use std::path::{Path, PathBuf};

/// A destination's spool directory.
#[derive(Debug, Clone)]
pub(crate) struct SpoolDestination {
    pub dir: PathBuf,
}

impl SpoolDestination {
    /// The directory of `key` under `root`, created if needed.
    ///
    /// # Errors
    /// The I/O error when the directory cannot be created or its `destination`
    /// file written.
    pub fn open(root: &Path, key: &str) -> io::Result<Self> {
        let dir = root.join(dir_name(key));
        std::fs::create_dir_all(&dir)?;
        let marker = dir.join("destination");
        if !marker.exists() {
            std::fs::write(&marker, format!("{key}\n"))?;
        }
        Ok(SpoolDestination { dir })
    }
}

/// `otlp http://127.0.0.1:4318/v1/traces` → `otlp_http_127.0.0.1_4318_v1_traces-…`:
/// readable, safe on every file system, and unique by the hash of the whole key.
fn dir_name(key: &str) -> String {
    let slug: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let slug: String = slug.chars().take(60).collect();
    format!("{slug}-{:016x}", fnv1a(key.as_bytes()))
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between releases, and
/// directory names must not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_safe_and_distinct() {
        let a = dir_name("otlp http://127.0.0.1:4318/v1/traces");
        assert!(a.starts_with("otlp_http_127.0.0.1_4318_v1_traces-"), "{a}");
        assert_eq!(a, dir_name("otlp http://127.0.0.1:4318/v1/traces"));
        assert_ne!(a, dir_name("otlp http://127.0.0.1:4319/v1/traces"));
        let odd = dir_name("otlp http://[::1]:4318/../../etc/v1/traces?x=ü");
        assert!(odd.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)), "{odd}");
        assert!(dir_name(&"x".repeat(500)).len() < 80);
    }
}
