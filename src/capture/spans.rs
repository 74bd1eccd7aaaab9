//! A capture's spans as the commands show them ([`CapturedSpan`]), grouped into
//! sessions (one trace each, [`CapturedSession`]) in time order ([`Sessions`]).

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};

use crate::encode::attr;
use crate::exporters::text::{is_session_root, SpanView};

/// Longest attribute value kept, in bytes: enough to read, and a capture of long
/// prompts does not have to fit in memory whole.
pub const MAX_KEPT_VALUE: usize = 2048;

/// An attribute value of a captured span.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A string (cut to [`MAX_KEPT_VALUE`] bytes, ending with `…`).
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// An array, a map or bytes, as JSON text (cut as strings are).
    Other(String),
}

impl std::fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttributeValue::Str(s) | AttributeValue::Other(s) => f.write_str(s),
            AttributeValue::Int(i) => write!(f, "{i}"),
            AttributeValue::F64(x) => write!(f, "{x}"),
            AttributeValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn cut(s: String) -> String {
    if s.len() <= MAX_KEPT_VALUE {
        return s;
    }
    let mut at = MAX_KEPT_VALUE;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    // A new allocation: truncating would keep the long value's whole buffer.
    let mut kept = String::with_capacity(at + '…'.len_utf8());
    kept.push_str(&s[..at]);
    kept.push('…');
    kept
}

fn value_of(v: Option<AnyValue>) -> AttributeValue {
    match v.and_then(|v| v.value) {
        Some(Any::StringValue(s)) => AttributeValue::Str(cut(s)),
        Some(Any::IntValue(i)) => AttributeValue::Int(i),
        Some(Any::DoubleValue(x)) => AttributeValue::F64(x),
        Some(Any::BoolValue(b)) => AttributeValue::Bool(b),
        Some(other) => AttributeValue::Other(cut(serde_json::to_string(&other).unwrap_or_default())),
        None => AttributeValue::Other(String::new()),
    }
}

/// One span of a capture.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedSpan {
    /// Its trace: the session it belongs to.
    pub trace_id: [u8; 16],
    /// Its id.
    pub span_id: [u8; 8],
    /// Its parent's id; all zeros for a root.
    pub parent_span_id: [u8; 8],
    /// Its name.
    pub name: String,
    /// Its OTLP kind: `internal`, `client`, `server`, `producer`, `consumer`.
    pub kind: &'static str,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
    /// Its attributes, in order.
    pub attributes: Vec<(String, AttributeValue)>,
    /// The error status's message, when it failed.
    pub error: Option<String>,
}

fn id<const N: usize>(bytes: &[u8]) -> [u8; N] {
    // Ids of the wrong length (bad input) read as zeros rather than panic.
    bytes.try_into().unwrap_or([0; N])
}

impl CapturedSpan {
    /// The span as the commands show it.
    pub fn from_otlp(s: Span) -> Self {
        let kind = match SpanKind::try_from(s.kind).unwrap_or(SpanKind::Unspecified) {
            SpanKind::Client => "client",
            SpanKind::Server => "server",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
            _ => "internal",
        };
        let error = s.status.as_ref().filter(|st| st.code == StatusCode::Error as i32).map(|st| st.message.clone());
        CapturedSpan {
            trace_id: id(&s.trace_id),
            span_id: id(&s.span_id),
            parent_span_id: id(&s.parent_span_id),
            name: s.name,
            kind,
            start_unix_nanos: s.start_time_unix_nano,
            end_unix_nanos: s.end_time_unix_nano.max(s.start_time_unix_nano),
            attributes: s.attributes.into_iter().map(|kv| (kv.key, value_of(kv.value))).collect(),
            error,
        }
    }

    /// The attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The kind of event it records (`agentops.span.kind`: `session`, `llm`,
    /// `tool`, `action`, `agent`, `error`), or `span` for others.
    pub fn event_kind(&self) -> String {
        self.attr_text(attr::SPAN_KIND).unwrap_or_else(|| "span".into())
    }

    /// A number attribute (integers too).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.attribute(key)? {
            AttributeValue::Int(i) => Some(*i as f64),
            AttributeValue::F64(x) => Some(*x),
            AttributeValue::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

impl SpanView for CapturedSpan {
    fn span_id(&self) -> [u8; 8] {
        self.span_id
    }
    fn parent_span_id(&self) -> [u8; 8] {
        self.parent_span_id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn start_unix_nanos(&self) -> u64 {
        self.start_unix_nanos
    }
    fn end_unix_nanos(&self) -> u64 {
        self.end_unix_nanos
    }
    fn attr_text(&self, key: &str) -> Option<String> {
        self.attribute(key).map(ToString::to_string)
    }
    fn attr_f64(&self, key: &str) -> Option<f64> {
        match self.attribute(key)? {
            AttributeValue::F64(x) => Some(*x),
            _ => None,
        }
    }
    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// The spans of one session (one trace), in the order they were read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedSession {
    /// The session's trace.
    pub trace_id: [u8; 16],
    /// Its spans.
    pub spans: Vec<CapturedSpan>,
}

impl CapturedSession {
    /// The session's root span (`agentops.span.kind = session`), once it ended.
    pub fn root(&self) -> Option<&CapturedSpan> {
        self.spans.iter().find(|s| is_session_root(*s))
    }

    /// The session id: its root's `session.id`, else the trace id as a UUID.
    pub fn session_id(&self) -> String {
        self.root()
            .and_then(|r| r.attr_text(attr::SESSION_ID))
            .unwrap_or_else(|| uuid::Uuid::from_bytes(self.trace_id).to_string())
    }

    /// When its first span started, in nanoseconds since the Unix epoch.
    pub fn start_unix_nanos(&self) -> u64 {
        self.spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0)
    }

    /// When its last span ended.
    pub fn end_unix_nanos(&self) -> u64 {
        self.spans.iter().map(|s| s.end_unix_nanos).max().unwrap_or(0)
    }

    /// The console exporter's tree of the session's spans, then its summary line
    /// (or a note when the capture holds no root: the session had not ended).
    pub fn tree(&self) -> String {
        let mut out = crate::exporters::text::tree(&self.spans);
        match self.root() {
            Some(root) => out.push_str(&crate::exporters::text::summary_line(root)),
            None => out.push_str(&format!("(session {} not ended in this capture)\n", self.session_id())),
        }
        out
    }

    /// Its session summary line (see [`tree`](Self::tree)).
    pub fn summary_line(&self) -> String {
        match self.root() {
            Some(root) => crate::exporters::text::summary_line(root),
            None => format!("agentops session {} not ended | {} spans\n", self.session_id(), self.spans.len()),
        }
    }
}

/// The attributes the text views and the totals read; [`Sessions::new`] keeps only
/// these, so a large capture's prompts are not held.
fn is_summary_attribute(key: &str) -> bool {
    key.starts_with(attr::SESSION_EVENT_COUNT_PREFIX)
        || [
            attr::SPAN_KIND,
            attr::SESSION_ID,
            attr::SESSION_TAGS,
            attr::SESSION_END_STATE,
            attr::SESSION_END_STATE_REASON,
            attr::SESSION_INPUT_TOKENS,
            attr::SESSION_OUTPUT_TOKENS,
            attr::SESSION_COST,
            attr::GEN_AI_INPUT_TOKENS,
            attr::GEN_AI_OUTPUT_TOKENS,
            attr::GEN_AI_REQUEST_MODEL,
            attr::GEN_AI_RESPONSE_MODEL,
            attr::LLM_COST,
            attr::ERROR_TYPE,
        ]
        .contains(&key)
}

/// A capture's spans gathered by session.
#[derive(Debug, Default)]
pub struct Sessions {
    by_trace: HashMap<[u8; 16], Vec<CapturedSpan>>,
    all_attributes: bool,
}

impl Sessions {
    /// No sessions yet; spans keep the attributes the tree, the summary lines and
    /// the totals show (names, kinds, times, tokens, costs, models, errors).
    pub fn new() -> Self {
        Self::default()
    }

    /// No sessions yet; spans keep every attribute (each value cut to
    /// [`MAX_KEPT_VALUE`]), for the HTML report's details.
    pub fn with_all_attributes() -> Self {
        Sessions { all_attributes: true, ..Self::default() }
    }

    /// Adds every span of a captured request.
    pub fn add(&mut self, request: ExportTraceServiceRequest) {
        for mut span in request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans) {
            if !self.all_attributes {
                span.attributes.retain(|kv| is_summary_attribute(&kv.key));
            }
            let span = CapturedSpan::from_otlp(span);
            self.by_trace.entry(span.trace_id).or_default().push(span);
        }
    }

    /// The sessions, in the order they started.
    pub fn into_sorted(self) -> Vec<CapturedSession> {
        let mut sessions: Vec<CapturedSession> =
            self.by_trace.into_iter().map(|(trace_id, spans)| CapturedSession { trace_id, spans }).collect();
        sessions.sort_by_key(|s| (s.start_unix_nanos(), s.trace_id));
        sessions
    }
}
