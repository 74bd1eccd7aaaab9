//! Taking a spooled file for delivery and reading it back. A file is taken with
//! an exclusive lock that the OS releases if the process dies, and only while it
//! still is in the spool (another process may have delivered and removed it since
//! it was listed), so no file is delivered twice.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::util::lines::{read_bounded_line, trim_line, BoundedLine};

/// A file this process holds the lock of.
#[derive(Debug)]
pub(crate) struct LockedFile {
    file: File,
    pub path: PathBuf,
}

/// One line of a spooled file.
#[derive(Debug)]
pub(crate) enum Line {
    /// A request, and the line's bytes (kept to write back what was not delivered).
    Request(Box<ExportTraceServiceRequest>, Vec<u8>),
    /// Not an OTLP JSON request: cut short by a crash, or corrupted.
    Unreadable(String),
}

impl LockedFile {
    /// Locks `path`; `None` when another process holds it or it is gone.
    pub fn take(path: &Path) -> Option<LockedFile> {
        // Write access: some platforms only lock files opened for writing.
        let file = OpenOptions::new().read(true).write(true).open(path).ok()?;
        file.try_lock().ok()?;
        still_linked(&file, path).then(|| LockedFile { file, path: path.to_owned() })
    }

    /// The file's lines, each at most `max_line` bytes (a longer one is reported
    /// as unreadable, not read into memory whole).
    pub fn lines(&self, max_line: u64) -> io::Result<Vec<Line>> {
        let mut reader = BufReader::new(&self.file);
        let mut out = Vec::new();
        let mut number = 0;
        loop {
            number += 1;
            let bytes = match read_bounded_line(&mut reader, max_line)?.0 {
                BoundedLine::End => break,
                BoundedLine::TooLong => {
                    out.push(Line::Unreadable(format!("line {number} is longer than {max_line} bytes")));
                    continue;
                }
                BoundedLine::Line(bytes) => bytes,
            };
            let text = trim_line(&bytes);
            if text.is_empty() {
                continue;
            }
            out.push(match serde_json::from_slice::<ExportTraceServiceRequest>(text) {
                Ok(req) => Line::Request(Box::new(req), bytes),
                Err(e) => Line::Unreadable(format!("line {number}: {e}")),
            });
        }
        Ok(out)
    }

    /// Removes the file, still holding its lock (so no one takes it in between).
    pub fn remove(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Whether `path` still names the open `file` (not removed or replaced since).
#[cfg(unix)]
fn still_linked(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.nlink() > 0 && open.ino() == named.ino() && open.dev() == named.dev(),
        _ => false,
    }
}

/// Elsewhere a file cannot be removed while open, so it is the same if it exists.
#[cfg(not(unix))]
fn still_linked(_file: &File, path: &Path) -> bool {
    path.exists()
}
