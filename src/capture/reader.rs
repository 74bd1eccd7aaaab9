//! [`CaptureReader`]: the requests of OTLP JSON lines files (the file exporter's
//! `agentops-traces.jsonl`, the Collector's `otlpjsonfile`) and of spool
//! directories, streamed one line at a time: a file of any size is never held
//! whole, and a line that is not a request is reported and skipped.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::encode::request::span_count;
use crate::error::Error;
use crate::util::lines::{read_bounded_line, trim_line, BoundedLine};

/// The longest line read, in bytes (a request is at most a few MiB); longer ones
/// are skipped without being held.
pub const MAX_LINE_BYTES: u64 = 256 * 1024 * 1024;

/// A request read from a capture.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedRequest {
    /// The file it is in.
    pub path: PathBuf,
    /// Its line number there, from 1.
    pub line: u64,
    /// The request.
    pub request: ExportTraceServiceRequest,
}

/// A line that is not an OTLP JSON request: skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedLine {
    /// The file it is in.
    pub path: PathBuf,
    /// Its line number there, from 1.
    pub line: u64,
    /// Why it could not be read.
    pub reason: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: skipped: {}", self.path.display(), self.line, self.reason)
    }
}

/// A line as read: its file, its number, its bytes.
struct RawLine {
    path: PathBuf,
    number: u64,
    bytes: Vec<u8>,
}

struct OpenFile {
    path: PathBuf,
    reader: BufReader<File>,
    line: u64,
}

/// Streams the requests of capture files, in the order given; a directory stands
/// for the `.jsonl` files under it (a spool directory: one sub-directory per
/// destination, files oldest first).
///
/// ```no_run
/// for item in agentops::capture::CaptureReader::open(["agentops-traces.jsonl"])? {
///     match item {
///         Ok(r) => println!("line {}: {} resource spans", r.line, r.request.resource_spans.len()),
///         Err(skipped) => eprintln!("{skipped}"),
///     }
/// }
/// # Ok::<(), agentops::Error>(())
/// ```
pub struct CaptureReader {
    files: VecDeque<PathBuf>,
    current: Option<OpenFile>,
    total_bytes: u64,
    read_bytes: u64,
    max_line: u64,
}

impl Default for CaptureReader {
    fn default() -> Self {
        CaptureReader { files: VecDeque::new(), current: None, total_bytes: 0, read_bytes: 0, max_line: MAX_LINE_BYTES }
    }
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader").field("files_left", &self.files.len()).finish()
    }
}

fn io(path: &Path, what: &str, source: std::io::Error) -> Error {
    Error::Io { context: format!("{what} {}", path.display()), source }
}

/// The `.jsonl` files under `dir`, sorted (spool file names sort oldest first).
fn capture_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, "reading the directory", e))? {
            let path = entry.map_err(|e| io(&d, "reading the directory", e))?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "jsonl") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

impl CaptureReader {
    /// A reader of `paths`: files, or directories standing for their `.jsonl`
    /// files.
    ///
    /// # Errors
    /// [`Error::Io`] for a path that does not exist or cannot be read;
    /// [`Error::Capture`] for an empty file or a directory with no `.jsonl` file.
    pub fn open<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<Self, Error> {
        let mut reader = CaptureReader::default();
        for p in paths {
            let p = p.as_ref();
            let meta = std::fs::metadata(p).map_err(|e| io(p, "opening", e))?;
            let files = if meta.is_dir() {
                let files = capture_files(p)?;
                if files.is_empty() {
                    return Err(Error::Capture { path: p.into(), reason: "no .jsonl capture files in it".into() });
                }
                files
            } else if meta.len() == 0 {
                return Err(Error::Capture { path: p.into(), reason: "the file is empty".into() });
            } else {
                vec![p.to_path_buf()]
            };
            for f in files {
                reader.total_bytes += std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
                reader.files.push_back(f);
            }
        }
        Ok(reader)
    }

    /// The size of every file to read, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes read so far (for progress).
    pub fn read_bytes(&self) -> u64 {
        self.read_bytes
    }

    /// The next line of the current file, opening the next file as needed; `None`
    /// at the end of the last file.
    fn next_line(&mut self) -> Option<Result<RawLine, SkippedLine>> {
        loop {
            if self.current.is_none() {
                let path = self.files.pop_front()?;
                match File::open(&path) {
                    Ok(f) => self.current = Some(OpenFile { path, reader: BufReader::new(f), line: 0 }),
                    Err(e) => return Some(Err(SkippedLine { path, line: 0, reason: format!("cannot open: {e}") })),
                }
            }
            let file = self.current.as_mut()?;
            file.line += 1;
            let skipped =
                |file: &OpenFile, reason: String| SkippedLine { path: file.path.clone(), line: file.line, reason };
            match read_bounded_line(&mut file.reader, self.max_line) {
                Ok((BoundedLine::End, _)) => self.current = None,
                Ok((BoundedLine::TooLong, n)) => {
                    self.read_bytes += n;
                    return Some(Err(skipped(file, format!("longer than {} bytes", self.max_line))));
                }
                Ok((BoundedLine::Line(bytes), n)) => {
                    self.read_bytes += n;
                    return Some(Ok(RawLine { path: file.path.clone(), number: file.line, bytes }));
                }
                Err(e) => {
                    let line = skipped(file, format!("cannot read the rest of the file: {e}"));
                    self.current = None;
                    return Some(Err(line));
                }
            }
        }
    }
}

impl Iterator for CaptureReader {
    type Item = Result<CapturedRequest, SkippedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let RawLine { path, number: line, bytes } = match self.next_line()? {
                Ok(l) => l,
                Err(skipped) => return Some(Err(skipped)),
            };
            let text = trim_line(&bytes);
            if text.is_empty() {
                continue; // blank lines are not requests, nor errors
            }
            return Some(match serde_json::from_slice::<ExportTraceServiceRequest>(text) {
                // Unknown fields are ignored, so a metrics line reads as a request
                // without spans.
                Ok(request) if span_count(&request) == 0 => {
                    Err(SkippedLine { path, line, reason: "holds no spans (not a traces request)".into() })
                }
                Ok(request) => Ok(CapturedRequest { path, line, request }),
                Err(e) => Err(SkippedLine { path, line, reason: format!("not an OTLP JSON request: {e}") }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_line(span_id: u8) -> String {
        format!(
            "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{\"traceId\":\"{}\",\"spanId\":\"{}\",\"name\":\"s\"}}]}}]}}]}}",
            "ab".repeat(16),
            format!("{span_id:02x}").repeat(8)
        )
    }

    #[test]
    fn long_blank_and_foreign_lines_are_skipped_with_their_numbers() {
        let dir = std::env::temp_dir().join(format!("agentops-capture-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.jsonl");
        let long = format!("{{\"x\":\"{}\"}}", "y".repeat(5000));
        let metrics = "{\"resourceMetrics\":[]}";
        let text =
            [request_line(1), String::new(), long, request_line(2), metrics.into(), "  ".into(), request_line(3)];
        std::fs::write(&path, text.join("\n")).unwrap();
        let mut reader = CaptureReader::open([&path]).unwrap();
        reader.max_line = 1024;
        let items: Vec<_> = reader.by_ref().collect();
        let lines: Vec<Result<u64, (u64, String)>> =
            items.into_iter().map(|i| i.map(|r| r.line).map_err(|s| (s.line, s.reason))).collect();
        assert_eq!(lines[0], Ok(1));
        assert_eq!(lines[1], Err((3, "longer than 1024 bytes".into())));
        assert_eq!(lines[2], Ok(4), "the line after a long one is read from its start");
        assert!(matches!(&lines[3], Err((5, why)) if why.contains("no spans")), "{:?}", lines[3]);
        assert_eq!(lines[4], Ok(7), "the last line needs no newline");
        assert_eq!(lines.len(), 5);
        assert_eq!(reader.read_bytes(), reader.total_bytes());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_stands_for_its_capture_files_in_order() {
        let dir = std::env::temp_dir().join(format!("agentops-capture-dir-{}", std::process::id()));
        let sub = dir.join("otlp_http_x-1");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("00000000000000000002-1-1-1.jsonl"), request_line(2)).unwrap();
        std::fs::write(sub.join("00000000000000000001-1-1-1.jsonl"), request_line(1)).unwrap();
        std::fs::write(sub.join("00000000000000000003-1-1-1.jsonl.tmp"), "half-written").unwrap();
        std::fs::write(sub.join("destination"), "otlp http://x").unwrap();
        let ids: Vec<Vec<u8>> = CaptureReader::open([&dir])
            .unwrap()
            .map(|r| r.unwrap().request.resource_spans[0].scope_spans[0].spans[0].span_id.clone())
            .collect();
        assert_eq!(ids, [vec![1; 8], vec![2; 8]], "oldest first; .tmp and other files left alone");
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(matches!(CaptureReader::open([&empty]), Err(Error::Capture { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
