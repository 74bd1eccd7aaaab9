//! Spool file names and listing. A spooled batch is
//! `{unix_nanos:020}-{pid}-{seq}-{spans}.jsonl`: the time first, so names sort
//! oldest first in every directory and across them; the span count last, so
//! eviction can count what it removes without reading the file. A file being
//! written is `….jsonl.tmp` until it is complete.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A complete spooled file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolFile {
    pub path: PathBuf,
    /// The name, which orders files by age.
    pub name: String,
    pub spans: u64,
    pub bytes: u64,
}

/// A `.tmp` file: a batch being written, or a crash's leftover.
#[derive(Debug, Clone)]
pub(crate) struct PartialFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub modified: Option<SystemTime>,
}

/// What a directory holds.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub complete: Vec<SpoolFile>,
    pub partial: Vec<PartialFile>,
}

impl Listing {
    pub fn bytes(&self) -> u64 {
        self.complete.iter().map(|f| f.bytes).sum::<u64>() + self.partial.iter().map(|f| f.bytes).sum::<u64>()
    }
}

/// A fresh name for a batch of `spans` spans (unique in this process by a counter,
/// across processes by the pid).
pub(crate) fn new_name(spans: u64) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:020}-{}-{seq}-{spans}.jsonl", std::process::id())
}

/// The span count in a spooled file's name; `None` for names that are not ours.
pub(crate) fn spans_in_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".jsonl")?;
    let mut parts = stem.rsplitn(4, '-');
    let spans = parts.next()?.parse().ok()?;
    let _seq: u64 = parts.next()?.parse().ok()?;
    let _pid: u64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    (time.len() == 20 && time.bytes().all(|b| b.is_ascii_digit())).then_some(spans)
}

/// The spooled files of one destination directory. A missing directory is empty.
pub(crate) fn list(dir: &Path) -> io::Result<Listing> {
    let mut listing = Listing::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue }; // removed meanwhile
        if !meta.is_file() {
            continue;
        }
        if let Some(base) = name.strip_suffix(".tmp") {
            if spans_in_name(base).is_some() {
                let modified = meta.modified().ok();
                listing.partial.push(PartialFile { path: entry.path(), bytes: meta.len(), modified });
            }
        } else if let Some(spans) = spans_in_name(&name) {
            listing.complete.push(SpoolFile { path: entry.path(), name, spans, bytes: meta.len() });
        }
    }
    listing.complete.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

/// Every destination directory under `root`.
pub(crate) fn destinations(root: &Path) -> io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(root) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A `.tmp` file untouched this long belongs to no live writer (writing one takes
/// milliseconds); it is what a crash mid-write left.
pub(crate) const ABANDONED_AFTER: Duration = Duration::from_secs(60);

impl PartialFile {
    /// Whether it was left by a crash: no writer holds its lock, and it is old.
    pub fn is_abandoned(&self) -> bool {
        let old = self.modified.and_then(|m| m.elapsed().ok()).is_some_and(|age| age >= ABANDONED_AFTER);
        old && File::open(&self.path).is_ok_and(|f| f.try_lock().is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_age() {
        let a = new_name(512);
        let b = new_name(3);
        assert_eq!(spans_in_name(&a), Some(512));
        assert_eq!(spans_in_name(&b), Some(3));
        assert!(a < b, "{a} < {b}");
        for other in ["destination", "x.jsonl", "1-2-3-4.jsonl", "00000000000000000001-2-3-x.jsonl", "a.tmp"] {
            assert_eq!(spans_in_name(other), None, "{other}");
        }
    }
}
