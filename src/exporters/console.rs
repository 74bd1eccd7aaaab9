//! `ConsoleExporter`: a human-readable view of sessions on a terminal.
//!
//! `Summary` prints one line per session when its root span arrives. `Tree` holds a
//! session's spans until its root arrives (spans end child-first) and prints the
//! whole session as a tree; what is still held at shutdown is printed then.

use std::collections::HashMap;
use std::io::Write;

use opentelemetry::trace::{Status, TraceId};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use crate::config::console::ConsoleMode;
use crate::encode::span::unix_nanos;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::batch::ExportBatch;
use crate::export::context::ExportContext;
use crate::export::exporter::{ExportOutcome, Exporter};
use crate::export::metrics::{MetricsExporter, MetricsOutcome};
use crate::exporters::text::{is_session_root, summary_line, tree, SpanView};
use crate::metrics::summary_line as metrics_line;

/// Spans held while waiting for their session root, at most; beyond it the oldest
/// session's spans are printed early.
const MAX_HELD_SPANS: usize = 10_000;

/// Prints sessions to standard output (or any writer).
pub struct ConsoleExporter {
    mode: ConsoleMode,
    out: Box<dyn Write + Send>,
    held: HashMap<TraceId, Vec<SpanData>>,
    held_count: usize,
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleExporter").field("mode", &self.mode).finish()
    }
}

impl ConsoleExporter {
    /// Prints to standard error: a program's standard output is its own (a CLI's
    /// output, a pipe).
    pub fn new(mode: ConsoleMode) -> Self {
        Self::with_writer(mode, std::io::stderr())
    }

    /// Prints to `out`.
    pub fn with_writer(mode: ConsoleMode, out: impl Write + Send + 'static) -> Self {
        ConsoleExporter { mode, out: Box::new(out), held: HashMap::new(), held_count: 0 }
    }

    fn write(&mut self, text: &str) -> Result<(), ExportError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|_| self.out.flush())
            .map_err(|e| ExportError::new(ExportErrorKind::Failed, format!("console: {e}")))
    }
}

/// An attribute of a span as the SDK holds it (the OTLP form has its own lookup).
fn attr_of<'a>(s: &'a SpanData, key: &str) -> Option<&'a Value> {
    s.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

impl SpanView for SpanData {
    fn span_id(&self) -> [u8; 8] {
        self.span_context.span_id().to_bytes()
    }
    fn parent_span_id(&self) -> [u8; 8] {
        self.parent_span_id.to_bytes()
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn start_unix_nanos(&self) -> u64 {
        unix_nanos(self.start_time)
    }
    fn end_unix_nanos(&self) -> u64 {
        unix_nanos(self.end_time)
    }
    fn attr_text(&self, key: &str) -> Option<String> {
        attr_of(self, key).map(|v| v.as_str().into_owned())
    }
    fn attr_f64(&self, key: &str) -> Option<f64> {
        match attr_of(self, key)? {
            Value::F64(c) => Some(*c),
            _ => None,
        }
    }
    fn error(&self) -> Option<&str> {
        match &self.status {
            Status::Error { description } => Some(description),
            _ => None,
        }
    }
}

/// At each metrics collection, one line of what the metrics show (nothing while no
/// agent work was recorded).
impl MetricsExporter for ConsoleExporter {
    fn name(&self) -> &str {
        "console"
    }

    fn export_metrics(
        &mut self,
        req: &ExportMetricsServiceRequest,
        _cx: &ExportContext<'_>,
    ) -> Result<MetricsOutcome, ExportError> {
        if let Some(line) = metrics_line::describe(req) {
            self.write(&format!("{line}\n"))?;
        }
        Ok(MetricsOutcome::default())
    }
}

impl Exporter for ConsoleExporter {
    fn name(&self) -> &str {
        "console"
    }

    fn export(&mut self, batch: &ExportBatch, _cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        let mut text = String::new();
        for span in batch.spans() {
            match self.mode {
                ConsoleMode::Summary => {
                    if is_session_root(span) {
                        text.push_str(&summary_line(span));
                    }
                }
                ConsoleMode::Tree => {
                    let trace = span.span_context.trace_id();
                    let root = is_session_root(span);
                    self.held.entry(trace).or_default().push(span.clone());
                    self.held_count += 1;
                    if root {
                        let spans = self.held.remove(&trace).unwrap_or_default();
                        self.held_count -= spans.len();
                        text.push_str(&tree(&spans));
                        text.push_str(&summary_line(span));
                    } else if self.held_count > MAX_HELD_SPANS {
                        // Print the biggest held session early rather than grow.
                        if let Some(big) = self.held.iter().max_by_key(|(_, v)| v.len()).map(|(k, _)| *k) {
                            let spans = self.held.remove(&big).unwrap_or_default();
                            self.held_count -= spans.len();
                            text.push_str("(session still open; spans so far)\n");
                            text.push_str(&tree(&spans));
                        }
                    }
                }
            }
        }
        if !text.is_empty() {
            self.write(&text)?;
        }
        Ok(ExportOutcome::default())
    }

    fn shutdown(&mut self, _cx: &ExportContext<'_>) -> Result<(), ExportError> {
        let mut text = String::new();
        for (_, spans) in self.held.drain() {
            text.push_str("(session not ended before shutdown)\n");
            text.push_str(&tree(&spans));
        }
        self.held_count = 0;
        if text.is_empty() {
            Ok(())
        } else {
            self.write(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::attr;
    use crate::exporters::text::describe;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceState};
    use opentelemetry::KeyValue;
    use std::time::SystemTime;

    fn span(attrs: Vec<KeyValue>) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(1),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "session".into(),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes: attrs,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    #[test]
    fn costs_print_rounded() {
        let root = span(vec![KeyValue::new(attr::SESSION_COST, 0.000_030_299_999_999_999_994)]);
        let line = summary_line(&root);
        assert!(line.contains("cost: $0.000030\n"), "{line}");
        let llm = span(vec![KeyValue::new(attr::LLM_COST, 0.1 + 0.2)]);
        assert!(describe(&llm).ends_with(" $0.300000"), "{}", describe(&llm));
    }
}
