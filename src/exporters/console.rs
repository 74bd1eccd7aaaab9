//! `ConsoleExporter`: a human-readable view of sessions on a terminal.
//!
//! `Summary` prints one line per session when its root span arrives. `Tree` holds a
//! session's spans until its root arrives (spans end child-first) and prints the
//! whole session as a tree; what is still held at shutdown is printed then.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use super::batch::ExportBatch;
use super::interface::{ExportContext, ExportError, ExportErrorKind, ExportOutcome, Exporter};
use super::metrics_interface::{MetricsExporter, MetricsOutcome};
use crate::encode::attr;
use crate::metrics::summary_line;
use crate::util::time::{human_duration, usd};

/// How much the console exporter prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsoleMode {
    /// One line per finished session.
    Summary,
    /// Every session as a tree of its spans.
    Tree,
}

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
    /// Prints to standard output.
    pub fn new(mode: ConsoleMode) -> Self {
        Self::with_writer(mode, std::io::stdout())
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

/// A cost attribute, rounded for people.
fn cost_of(s: &SpanData, key: &str) -> Option<String> {
    match attr_of(s, key)? {
        Value::F64(c) => Some(usd(*c)),
        other => Some(other.as_str().into_owned()),
    }
}

fn is_session_root(s: &SpanData) -> bool {
    attr_of(s, attr::SPAN_KIND).is_some_and(|v| v.as_str() == "session")
}

fn duration_of(s: &SpanData) -> Duration {
    s.end_time.duration_since(s.start_time).unwrap_or_default()
}

fn summary_line(root: &SpanData) -> String {
    let get = |k: &str| attr_of(root, k).map(|v| v.as_str().into_owned());
    let count = |t: &str| get(&format!("{}{t}", attr::SESSION_EVENT_COUNT_PREFIX)).unwrap_or_else(|| "0".into());
    format!(
        "agentops session {} {} ({}) | {} | LLMs: {} | Tools: {} | Actions: {} | Errors: {} | tokens in/out: {}/{} | cost: {}\n",
        get(attr::SESSION_ID).unwrap_or_default(),
        get(attr::SESSION_END_STATE).unwrap_or_else(|| "?".into()),
        get(attr::SESSION_END_STATE_REASON).unwrap_or_default(),
        human_duration(duration_of(root)),
        count("llms"),
        count("tools"),
        count("actions"),
        count("errors"),
        get(attr::SESSION_INPUT_TOKENS).unwrap_or_else(|| "0".into()),
        get(attr::SESSION_OUTPUT_TOKENS).unwrap_or_else(|| "0".into()),
        cost_of(root, attr::SESSION_COST).unwrap_or_else(|| usd(0.0)),
    )
}

fn describe(s: &SpanData) -> String {
    let get = |k: &str| attr_of(s, k).map(|v| v.as_str().into_owned());
    let mut line = format!(
        "{} [{}] {}",
        s.name,
        get(attr::SPAN_KIND).unwrap_or_else(|| "span".into()),
        human_duration(duration_of(s))
    );
    if let (Some(i), Some(o)) = (get(attr::GEN_AI_INPUT_TOKENS), get(attr::GEN_AI_OUTPUT_TOKENS)) {
        let _ = write!(line, " tokens {i}→{o}");
    }
    if let Some(c) = cost_of(s, attr::LLM_COST) {
        let _ = write!(line, " {c}");
    }
    if let Status::Error { description } = &s.status {
        let _ = write!(line, " ✗ {description}");
    }
    line
}

fn tree(spans: &[SpanData]) -> String {
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    let ids: std::collections::HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if ids.contains(&s.parent_span_id) {
            children.entry(s.parent_span_id).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    for v in children.values_mut() {
        v.sort_by_key(|&i| spans[i].start_time);
    }
    roots.sort_by_key(|&i| spans[i].start_time);
    let mut out = String::new();
    // Iterative walk: (index, prefix, is_last, depth).
    let mut stack: Vec<(usize, String, bool, usize)> =
        roots.iter().rev().map(|&i| (i, String::new(), true, 0)).collect();
    while let Some((i, prefix, last, depth)) = stack.pop() {
        let s = &spans[i];
        if depth == 0 {
            let _ = writeln!(out, "{}", describe(s));
        } else {
            let _ = writeln!(out, "{prefix}{}{}", if last { "└─ " } else { "├─ " }, describe(s));
        }
        let child_prefix =
            if depth == 0 { String::new() } else { format!("{prefix}{}", if last { "   " } else { "│  " }) };
        if let Some(kids) = children.get(&s.span_context.span_id()) {
            for (n, &k) in kids.iter().enumerate().rev() {
                stack.push((k, child_prefix.clone(), n + 1 == kids.len(), depth + 1));
            }
        }
    }
    out
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
        if let Some(line) = summary_line::describe(req) {
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
    use opentelemetry::trace::{SpanContext, SpanKind, TraceFlags, TraceState};
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
