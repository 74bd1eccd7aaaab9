//! `FileExporter`: OTLP JSON Lines — one `ExportTraceServiceRequest` per line, the
//! format the OpenTelemetry Collector's file exporter writes and its `otlpjsonfile`
//! receiver reads.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::batch::ExportBatch;
use super::interface::{ExportContext, ExportError, ExportErrorKind, ExportOutcome, Exporter};

/// Appends each batch as one JSON line to a file.
#[derive(Debug)]
pub struct FileExporter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl FileExporter {
    /// Opens (creating if needed) `path` for appending, so a bad path is reported
    /// when the client is built, not later.
    ///
    /// # Errors
    /// The I/O error when the file cannot be opened for appending.
    pub fn new(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(FileExporter { path, out: BufWriter::with_capacity(256 * 1024, file) })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Exporter for FileExporter {
    fn name(&self) -> &str {
        "file"
    }

    fn reads_spans(&self) -> bool {
        false
    }

    fn export(&mut self, batch: &ExportBatch, _cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        let io = |e: std::io::Error| {
            ExportError::new(ExportErrorKind::Failed, format!("writing {}: {e}", self.path.display()))
        };
        serde_json::to_writer(&mut self.out, batch.to_otlp())
            .map_err(|e| ExportError::new(ExportErrorKind::Encode, format!("JSON encoding failed: {e}")))?;
        self.out.write_all(b"\n").map_err(io)?;
        // Flushed per batch: a crash loses at most the batch being written.
        self.out.flush().map_err(io)?;
        Ok(ExportOutcome::default())
    }
}
