//! Direct protobuf: spans written straight into the bytes of an OTLP
//! `ExportTraceServiceRequest`, on the export thread, without building
//! opentelemetry-proto structures and without prost's size-then-encode walk over
//! them on the sending thread.
//!
//! The schema is opentelemetry-proto's (field numbers and types below and in
//! `wire_fields.rs` are its `Span`, `KeyValue`, `AnyValue`, `Event`, `Link`,
//! `Status`); what is written follows prost's rules (fields in number order, proto3 defaults left out, oneof
//! members always written, minimal varints). `wire_tests.rs` proves with property
//! tests that the bytes decode, with opentelemetry-proto, to exactly the request its
//! own transform of the same spans gives (and `encode/tests.rs` that an event's
//! description written here equals its `SpanDefinition`'s). Only event spans take
//! this path (and SDK spans, through prost itself); span filters and exporters that
//! read spans keep the struct path.

use std::cell::RefCell;

use opentelemetry::trace::{Event as SpanEvent, Link, SpanId, Status};
use opentelemetry_proto::tonic::trace::v1 as otlp;
use prost::Message;

use super::json::Escape;
use super::literals::Literals;
use super::sink::{AttrKey, AttrValue, SessionAttrs, SpanHead, SpanSink, Truncated};
use super::span::unix_nanos;
use super::wire_fields::{
    any_value_len, bytes_field_len, close_len, event_flags, event_len, len_field, link_len, open_len, put_any_value,
    put_bytes_field, put_event, put_fixed32_field, put_fixed64_field, put_len, put_link, put_varint_field, status_len,
    status_parts, varint_len, LenMark,
};

/// An `AnyValue` holding a string (field 1), framing included.
fn string_value_len(len: usize) -> usize {
    len_field(1, len)
}

/// Bytes written into room made once for a whole attribute: pushed one by one,
/// each byte checks the `Vec`'s capacity, and framing was most of a short
/// attribute's cost.
struct Spare<'b> {
    bytes: &'b mut [u8],
    at: usize,
}

impl Spare<'_> {
    fn byte(&mut self, b: u8) {
        self.bytes[self.at] = b;
        self.at += 1;
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    /// A length-delimited field's tag (one byte for the fields written here) and
    /// length.
    fn field(&mut self, tag: u8, len: usize) {
        self.byte(tag);
        self.varint(len as u64);
    }

    /// A string field (`number` below 16), possibly cut.
    fn string(&mut self, number: u8, s: Truncated<'_>) {
        self.field(number << 3 | 2, s.len());
        self.copy(s.head.as_bytes());
        self.copy(s.marker().as_bytes());
    }

    fn copy(&mut self, b: &[u8]) {
        self.bytes[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
}

thread_local! {
    /// Literal attributes as this writer writes them (on the export thread).
    static LITERALS: RefCell<Literals<Vec<u8>>> = RefCell::new(Literals::new());
}

/// Writes described spans as elements of `ScopeSpans.spans` (field 2): tag, length
/// and the `Span` message, equal to what opentelemetry-proto's transform of the
/// same span (as `SpanData`) encodes to.
pub(crate) struct WireSpan<'o> {
    out: &'o mut Vec<u8>,
    span: Option<LenMark>,
}

impl<'o> WireSpan<'o> {
    /// A writer appending to `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        WireSpan { out, span: None }
    }

    /// A `KeyValue` (field 9) whose `AnyValue` body is `any` bytes long, written by
    /// `value` after the framing, into room reserved once for all of it.
    fn key_value(&mut self, key: &str, any: usize, value: impl FnOnce(&mut Spare<'_>)) {
        let key = key.as_bytes();
        let kv = bytes_field_len(1, key) + len_field(2, any);
        let total = len_field(9, kv);
        let start = self.out.len();
        self.out.resize(start + total, 0);
        let mut w = Spare { bytes: &mut self.out[start..], at: 0 };
        w.field(9 << 3 | 2, kv);
        if !key.is_empty() {
            w.field(1 << 3 | 2, key.len());
            w.copy(key);
        }
        w.field(2 << 3 | 2, any);
        value(&mut w);
        // Fewer bytes would leave zeros in the request; more cannot be written (the
        // slice is `total` long).
        assert_eq!(w.at, total, "an attribute's size");
    }

    fn string_attr(&mut self, key: &str, s: Truncated<'_>) {
        self.key_value(key, string_value_len(s.len()), |w| w.string(1, s));
    }
}

impl SpanSink for WireSpan<'_> {
    fn begin(&mut self, h: &SpanHead<'_>) {
        let out = &mut *self.out;
        // No size pass: the span's length is filled in once it is written. Most
        // spans are 128 bytes to 16 KiB, a two-byte length.
        self.span = Some(open_len(out, 2, 128));
        put_bytes_field(out, 1, &h.trace_id.to_bytes());
        put_bytes_field(out, 2, &h.span_id.to_bytes());
        if h.parent != SpanId::INVALID {
            put_bytes_field(out, 4, &h.parent.to_bytes());
        }
        let name = h.name.len();
        if name > 0 {
            put_len(out, 5, name);
            h.name.pieces().iter().for_each(|p| out.extend_from_slice(p.as_bytes()));
        }
        put_varint_field(out, 6, otlp::span::SpanKind::from(h.kind.clone()) as u64);
        put_fixed64_field(out, 7, unix_nanos(h.start));
        put_fixed64_field(out, 8, unix_nanos(h.end.max(h.start)));
    }

    fn attr(&mut self, key: impl AttrKey, value: AttrValue<'_>) {
        let (literal, key) = (key.literal(), key.as_str());
        match value {
            AttrValue::Static(s) => match literal {
                Some(k) => LITERALS.with(|l| {
                    let mut l = l.borrow_mut();
                    let bytes = l.get(k, s, || {
                        let mut bytes = Vec::new();
                        WireSpan::new(&mut bytes).string_attr(k, Truncated::whole(s));
                        bytes
                    });
                    self.out.extend_from_slice(bytes);
                }),
                None => self.string_attr(key, Truncated::whole(s)),
            },
            AttrValue::Str(s) => self.string_attr(key, s),
            AttrValue::I64(i) => self.key_value(key, 1 + varint_len(i as u64), |w| {
                w.byte(3 << 3);
                w.varint(i as u64);
            }),
            AttrValue::Bool(b) => self.key_value(key, 2, |w| {
                w.byte(2 << 3);
                w.byte(u8::from(b));
            }),
            AttrValue::F64(f) => self.key_value(key, 1 + 8, |w| {
                w.byte(4 << 3 | 1);
                w.copy(&f.to_le_bytes());
            }),
            AttrValue::StrList(items) => {
                let array: usize = items.iter().map(|s| len_field(1, string_value_len(s.len()))).sum();
                self.key_value(key, len_field(5, array), |w| {
                    w.field(5 << 3 | 2, array);
                    for s in items {
                        w.field(1 << 3 | 2, string_value_len(s.len()));
                        w.string(1, *s);
                    }
                });
            }
            AttrValue::Messages(m) => {
                // Its length is known once written (escapes lengthen the text), so
                // the lengths around it are filled in after.
                let (key, text) = (key.as_bytes(), m.unescaped_len());
                let out = &mut *self.out;
                let key_value = open_len(out, 9, len_field(1, key.len()) + len_field(2, string_value_len(text)));
                put_bytes_field(out, 1, key);
                let any_value = open_len(out, 2, string_value_len(text));
                let string = open_len(out, 1, text);
                m.write(out, Escape::Once);
                close_len(out, string);
                close_len(out, any_value);
                close_len(out, key_value);
            }
            // Only spans described by a `SpanDefinition` (tests): encoded apart, then copied.
            AttrValue::Value(v) => {
                let mut any = Vec::with_capacity(any_value_len(v));
                put_any_value(&mut any, v);
                self.key_value(key, any.len(), |w| w.copy(&any));
            }
        }
    }

    fn session(&mut self, s: &SessionAttrs) {
        let bytes = s.protobuf.get_or_init(|| {
            let mut bytes = Vec::new();
            s.describe(&mut WireSpan::new(&mut bytes));
            bytes
        });
        self.out.extend_from_slice(bytes);
    }

    fn end(&mut self, status: &Status, events: &[SpanEvent], links: &[Link]) {
        let out = &mut *self.out;
        for e in events {
            put_len(out, 11, event_len(e));
            put_event(out, e);
        }
        for l in links {
            let state = l.span_context.trace_state().header();
            put_len(out, 13, link_len(l, &state));
            put_link(out, l, &state);
        }
        // Present even when empty: the transform always sets it.
        put_len(out, 15, status_len(status));
        let (message, code) = status_parts(status);
        put_bytes_field(out, 2, message.as_bytes());
        put_varint_field(out, 3, code);
        put_fixed32_field(out, 16, event_flags());
        if let Some(span) = self.span.take() {
            close_len(out, span);
        }
    }
}

/// Appends a span already in OTLP form (an SDK span) as one element of
/// `ScopeSpans.spans`, encoded by prost.
pub(crate) fn put_otlp_span(out: &mut Vec<u8>, span: &otlp::Span) {
    let len = span.encoded_len();
    out.reserve(len_field(2, len));
    put_len(out, 2, len);
    span.encode_raw(out);
}

/// The constant parts of every request of one pipeline: its resource and scope,
/// encoded once (by prost), and their schema URLs.
#[derive(Debug, Clone)]
pub(crate) struct RequestFrame {
    resource: Vec<u8>,
    resource_schema: String,
    scope: Vec<u8>,
    scope_schema: String,
}

impl RequestFrame {
    pub fn new(
        resource: &opentelemetry_proto::tonic::resource::v1::Resource,
        resource_schema: String,
        scope: &opentelemetry_proto::tonic::common::v1::InstrumentationScope,
        scope_schema: String,
    ) -> Self {
        RequestFrame { resource: resource.encode_to_vec(), resource_schema, scope: scope.encode_to_vec(), scope_schema }
    }

    /// Room to keep in front of the spans for [`finish`](Self::finish): the frame's
    /// fixed bytes plus four tags and four varints at their longest.
    pub fn header_room(&self) -> usize {
        self.resource.len() + self.scope.len() + 4 * (1 + 10)
    }

    /// Completes a request whose spans (each from [`put_span`] or [`put_otlp_span`])
    /// are `buf[room..]`, `room` being [`header_room`](Self::header_room): the
    /// header is written right before the spans and the schema URLs after them.
    /// Returns where the request starts in `buf`.
    pub fn finish(&self, buf: &mut Vec<u8>, room: usize) -> usize {
        let spans = buf.len() - room;
        // ScopeSpans: 1 scope, 2 spans (already framed), 3 schema_url.
        let scope_spans = len_field(1, self.scope.len()) + spans + bytes_field_len(3, self.scope_schema.as_bytes());
        // ResourceSpans: 1 resource (always present), 2 scope_spans, 3 schema_url.
        let resource_spans = len_field(1, self.resource.len())
            + len_field(2, scope_spans)
            + bytes_field_len(3, self.resource_schema.as_bytes());
        let mut head = Vec::with_capacity(room);
        put_len(&mut head, 1, resource_spans); // ExportTraceServiceRequest.resource_spans
        put_len(&mut head, 1, self.resource.len());
        head.extend_from_slice(&self.resource);
        put_len(&mut head, 2, scope_spans);
        put_len(&mut head, 1, self.scope.len());
        head.extend_from_slice(&self.scope);
        let start = room - head.len();
        buf[start..room].copy_from_slice(&head);
        put_bytes_field(buf, 3, self.scope_schema.as_bytes());
        put_bytes_field(buf, 3, self.resource_schema.as_bytes());
        start
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
pub(crate) mod tests;
