//! `FileExporter`: OTLP JSON Lines — one `ExportTraceServiceRequest` per line, the
//! format the OpenTelemetry Collector's file exporter writes and its `otlpjsonfile`
//! receiver reads. Metrics go the same way, one `ExportMetricsServiceRequest` per
//! line, to a file of their own next to the traces file ([`metrics_path_for`]).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use serde::Serialize;

use crate::config::exporter_spec::metrics_path_for;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::batch::ExportBatch;
use crate::export::context::ExportContext;
use crate::export::exporter::{ExportOutcome, Exporter};
use crate::export::metrics::{MetricsExporter, MetricsOutcome};

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

    /// Where metrics go when this exporter writes spans to `traces` (see the
    /// crate docs' "Metrics"): `agentops-traces.jsonl` → `agentops-metrics.jsonl`.
    pub fn metrics_path_for(traces: impl AsRef<Path>) -> PathBuf {
        metrics_path_for(traces.as_ref())
    }

    /// Appends one request as a JSON line, flushed: a crash loses at most the line
    /// being written.
    fn append<M: Serialize>(&mut self, request: &M) -> Result<(), ExportError> {
        let io = |e: std::io::Error| {
            ExportError::new(ExportErrorKind::Failed, format!("writing {}: {e}", self.path.display()))
        };
        serde_json::to_writer(&mut self.out, request)
            .map_err(|e| ExportError::new(ExportErrorKind::Encode, format!("JSON encoding failed: {e}")))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.out.flush().map_err(io)
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
        self.append(batch.to_otlp())?;
        Ok(ExportOutcome::default())
    }
}

impl MetricsExporter for FileExporter {
    fn name(&self) -> &str {
        "file"
    }

    fn export_metrics(
        &mut self,
        req: &ExportMetricsServiceRequest,
        _cx: &ExportContext<'_>,
    ) -> Result<MetricsOutcome, ExportError> {
        self.append(req)?;
        Ok(MetricsOutcome::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_file_sits_next_to_the_traces_file() {
        let cases = [
            ("agentops-traces.jsonl", "agentops-metrics.jsonl"),
            ("out/run.jsonl", "out/run.metrics.jsonl"),
            ("/tmp/traces", "/tmp/metrics"),
            ("capture", "capture.metrics"),
            (".hidden", ".hidden.metrics"),
        ];
        for (traces, metrics) in cases {
            assert_eq!(metrics_path_for(Path::new(traces)), PathBuf::from(metrics), "{traces}");
        }
    }
}
