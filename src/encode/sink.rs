//! An event's span as a sequence of calls: `schema.rs` describes each kind of event
//! to a [`SpanSink`], and each writer renders it: `span.rs` builds a
//! `SpanDefinition` (the struct path), `wire.rs` writes protobuf bytes and
//! `wire_json.rs` OTLP/JSON text straight into a request. The description reads the
//! event and never moves out of it, so the writers copy what they keep and the
//! event goes back whole to be freed where it was allocated (`pipeline/reclaim.rs`).

use std::sync::OnceLock;
use std::time::SystemTime;

use opentelemetry::trace::{Event as SpanEvent, Link, SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Key, Value};

use super::attr::{self, TRUNCATED_SUFFIX};
use super::plain_messages::PlainMessages;

/// A string value as written: the value itself, or its head when it was cut at the
/// length limit, followed by the truncation marker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Truncated<'a> {
    pub head: &'a str,
    pub cut: bool,
}

impl<'a> Truncated<'a> {
    /// `s`, not cut.
    pub fn whole(s: &'a str) -> Self {
        Truncated { head: s, cut: false }
    }

    /// The marker that follows the head, if any.
    pub fn marker(&self) -> &'static str {
        if self.cut {
            TRUNCATED_SUFFIX
        } else {
            ""
        }
    }

    /// The length of the value as written.
    pub fn len(&self) -> usize {
        self.head.len() + self.marker().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an owned string (the struct path).
    pub fn to_owned_string(self) -> String {
        [self.head, self.marker()].concat()
    }
}

/// A span's name: as it is, or `op subject` joined with a space (either alone
/// when the other is empty, `unnamed` when both are).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SpanName<'a> {
    // Events' spans have joined names; tests describe arbitrary spans with this.
    #[cfg_attr(not(test), allow(dead_code))]
    Plain(&'a str),
    Joined {
        op: &'a str,
        subject: Truncated<'a>,
    },
}

impl SpanName<'_> {
    /// The pieces of the name, in order (a cut subject keeps its marker).
    pub fn pieces(&self) -> [&str; 4] {
        match *self {
            SpanName::Plain(name) => [name, "", "", ""],
            SpanName::Joined { op, subject } => match (op.is_empty(), subject.is_empty()) {
                (true, true) => ["unnamed", "", "", ""],
                (false, true) => [op, "", "", ""],
                (true, false) => ["", "", subject.head, subject.marker()],
                (false, false) => [op, " ", subject.head, subject.marker()],
            },
        }
    }

    /// The length of the name.
    pub fn len(&self) -> usize {
        self.pieces().iter().map(|p| p.len()).sum()
    }

    /// The name as an owned string (the struct path).
    pub fn to_owned_string(self) -> String {
        self.pieces().concat()
    }
}

/// What a span is before its attributes: identity, name, kind and times.
#[derive(Debug, Clone)]
pub(crate) struct SpanHead<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `SpanId::INVALID` for a root.
    pub parent: SpanId,
    pub name: SpanName<'a>,
    pub kind: SpanKind,
    pub start: SystemTime,
    /// Never before `start` (the writers take the later of the two, as the
    /// transform of `SpanData` does).
    pub end: SystemTime,
}

/// An attribute's value as the description gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttrValue<'a> {
    /// A literal: kept borrowed on the struct path.
    Static(&'static str),
    /// A string, possibly cut.
    Str(Truncated<'a>),
    I64(i64),
    Bool(bool),
    /// A finite number (others are written as strings: see `values.rs`).
    F64(f64),
    /// A string array, each element possibly cut.
    StrList(&'a [Truncated<'a>]),
    /// The messages JSON of a plain text, written in place by the direct writers.
    Messages(PlainMessages<'a>),
    /// Any value (spans described by a `SpanDefinition`, in tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Value(&'a Value),
}

/// An attribute key: a name from `attr.rs`, or a key a `SpanDefinition` holds.
pub(crate) trait AttrKey {
    fn as_str(&self) -> &str;
    fn into_key(self) -> Key;
    /// The key, when it is a literal.
    fn literal(&self) -> Option<&'static str> {
        None
    }
}

impl AttrKey for &'static str {
    fn as_str(&self) -> &str {
        self
    }
    fn literal(&self) -> Option<&'static str> {
        Some(self)
    }
    fn into_key(self) -> Key {
        Key::from_static_str(self)
    }
}

impl AttrKey for &Key {
    fn as_str(&self) -> &str {
        Key::as_str(self)
    }
    fn into_key(self) -> Key {
        self.clone()
    }
}

/// A session's id in text, and the two attributes that carry it on every span of
/// the session (`session.id`, `gen_ai.conversation.id`) as each direct writer
/// writes them, made once per session: they are the same bytes on every span.
#[derive(Debug)]
pub(crate) struct SessionAttrs {
    id: String,
    pub(crate) protobuf: OnceLock<Vec<u8>>,
    pub(crate) json: OnceLock<String>,
}

impl SessionAttrs {
    pub fn new(id: String) -> Self {
        SessionAttrs { id, protobuf: OnceLock::new(), json: OnceLock::new() }
    }

    /// Describes the two attributes to `sink`, as any other attribute.
    pub fn describe<S: SpanSink + ?Sized>(&self, sink: &mut S) {
        sink.attr(attr::SESSION_ID, AttrValue::Str(Truncated::whole(&self.id)));
        sink.attr(attr::CONVERSATION_ID, AttrValue::Str(Truncated::whole(&self.id)));
    }
}

/// What renders a described span. Calls come in order: `begin`, `attr` for each
/// attribute (`session` for the session's two), `end`.
pub(crate) trait SpanSink {
    fn begin(&mut self, head: &SpanHead<'_>);
    fn attr(&mut self, key: impl AttrKey, value: AttrValue<'_>);
    /// The session's attributes; a writer may copy what it wrote for them before.
    fn session(&mut self, s: &SessionAttrs) {
        s.describe(self);
    }
    /// The status, span events and links (error spans have their exception event
    /// and trigger link; other events have none).
    fn end(&mut self, status: &Status, events: &[SpanEvent], links: &[Link]);
}
