//! Direct OTLP/JSON: the JSON twin of `wire.rs`. Spans are written straight into
//! the text of an `ExportTraceServiceRequest` on the export thread, in the form
//! opentelemetry-proto's serde implementation reads (camelCase names, hex ids,
//! 64-bit integers as strings, enums as numbers); the request's resource and scope
//! are serialized once per pipeline by opentelemetry-proto itself.
//! `wire_json_tests.rs` proves with property tests that what is written
//! deserializes, with opentelemetry-proto, to exactly what its own JSON encoding of
//! the same spans deserializes to.

use std::cell::RefCell;

use opentelemetry::trace::{Event as SpanEvent, Link, SpanId, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as otlp;

use super::json::{push_escaped_str, push_json_str, Escape};
use super::literals::Literals;
use super::sink::{AttrKey, AttrValue, SessionAttrs, SpanHead, SpanSink, Truncated};
use super::span::unix_nanos;
use super::wire_fields::{event_flags, link_flags, status_parts};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, bytes: &[u8]) {
    // Ids are 16 or 8 bytes: written through one buffer, not a push per digit.
    let mut text = [0u8; 34];
    let n = bytes.len().min(16);
    text[0] = b'"';
    for (i, b) in bytes[..n].iter().enumerate() {
        text[1 + 2 * i] = HEX[usize::from(b >> 4)];
        text[2 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    text[1 + 2 * n] = b'"';
    push_ascii(out, &text[..2 + 2 * n]);
}

/// Appends bytes this file made of ASCII digits and quotes.
fn push_ascii(out: &mut String, ascii: &[u8]) {
    debug_assert!(ascii.is_ascii());
    out.extend(ascii.iter().map(|&b| char::from(b)));
}

fn push_u64_string(out: &mut String, v: u64) {
    out.push('"');
    push_u64(out, v);
    out.push('"');
}

fn push_u64(out: &mut String, v: u64) {
    // Two digits at a time from a table (timestamps have 19 digits).
    const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let (mut i, mut v) = (digits.len(), v);
    while v >= 100 {
        let pair = usize::try_from(v % 100).unwrap_or(0) * 2;
        v /= 100;
        i -= 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = usize::try_from(v).unwrap_or(0) * 2;
        i -= 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        digits[i] = b'0' + v as u8;
    }
    push_ascii(out, &digits[i..]);
}

fn push_i64_string(out: &mut String, v: i64) {
    out.push('"');
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
    out.push('"');
}

/// An `AnyValue` object as opentelemetry-proto serializes it.
fn push_any_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => {
            out.push_str("{\"stringValue\":");
            push_json_str(out, s.as_str());
            out.push('}');
        }
        Value::Bool(b) => out.push_str(if *b { "{\"boolValue\":true}" } else { "{\"boolValue\":false}" }),
        Value::I64(i) => {
            out.push_str("{\"intValue\":");
            push_i64_string(out, *i);
            out.push('}');
        }
        Value::Array(a) => {
            out.push_str("{\"arrayValue\":{\"values\":[");
            push_array(out, a);
            out.push_str("]}}");
        }
        // Doubles (and kinds newer than this writer) exactly as opentelemetry-proto
        // writes them: its serializer decides how non-finite numbers look.
        other => push_serialized(out, &AnyValue::from(other.clone())),
    }
}

fn push_array(out: &mut String, a: &Array) {
    fn each<T>(out: &mut String, items: &[T], f: impl Fn(&mut String, &T)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            f(out, item);
        }
    }
    match a {
        Array::Bool(v) => each(out, v, |o, b| push_any_value(o, &Value::Bool(*b))),
        Array::I64(v) => each(out, v, |o, i| push_any_value(o, &Value::I64(*i))),
        Array::F64(v) => each(out, v, |o, f| push_any_value(o, &Value::F64(*f))),
        Array::String(v) => each(out, v, |o, s| {
            o.push_str("{\"stringValue\":");
            push_json_str(o, s.as_str());
            o.push('}');
        }),
        other => {
            if let Some(any_value::Value::ArrayValue(arr)) = AnyValue::from(Value::Array(other.clone())).value {
                each(out, &arr.values, push_serialized);
            }
        }
    }
}

/// Appends what opentelemetry-proto's serde writes for `v`.
fn push_serialized<T: serde::Serialize>(out: &mut String, v: &T) {
    // Its types always serialize; the text is UTF-8.
    out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "{}".into()));
}

/// A string as a JSON string literal: its (possibly cut) head, then the marker.
fn push_cut(out: &mut String, s: Truncated<'_>) {
    out.reserve(s.len() + 2);
    out.push('"');
    push_escaped_str(out, s.head, Escape::Once);
    push_escaped_str(out, s.marker(), Escape::Once);
    out.push('"');
}

/// A string `AnyValue` object.
fn push_string_value(out: &mut String, s: Truncated<'_>) {
    out.push_str("{\"stringValue\":");
    push_cut(out, s);
    out.push('}');
}

fn push_attributes(out: &mut String, attrs: &[KeyValue]) {
    out.push('[');
    for (i, kv) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"key\":");
        push_json_str(out, kv.key.as_str());
        out.push_str(",\"value\":");
        push_any_value(out, &kv.value);
        out.push('}');
    }
    out.push(']');
}

fn push_event(out: &mut String, e: &SpanEvent) {
    out.push_str("{\"timeUnixNano\":");
    push_u64_string(out, unix_nanos(e.timestamp));
    out.push_str(",\"name\":");
    push_json_str(out, &e.name);
    out.push_str(",\"attributes\":");
    push_attributes(out, &e.attributes);
    out.push_str(",\"droppedAttributesCount\":");
    push_u64(out, u64::from(e.dropped_attributes_count));
    out.push('}');
}

fn push_link(out: &mut String, l: &Link) {
    let cx = &l.span_context;
    out.push_str("{\"traceId\":");
    push_hex(out, &cx.trace_id().to_bytes());
    out.push_str(",\"spanId\":");
    push_hex(out, &cx.span_id().to_bytes());
    out.push_str(",\"traceState\":");
    push_json_str(out, &cx.trace_state().header());
    out.push_str(",\"attributes\":");
    push_attributes(out, &l.attributes);
    out.push_str(",\"droppedAttributesCount\":");
    push_u64(out, u64::from(l.dropped_attributes_count));
    out.push_str(",\"flags\":");
    push_u64(out, u64::from(link_flags(l)));
    out.push('}');
}

/// A string attribute object.
fn push_literal(out: &mut String, key: &str, value: &str) {
    out.push_str("{\"key\":");
    push_json_str(out, key);
    out.push_str(",\"value\":");
    push_string_value(out, Truncated::whole(value));
    out.push('}');
}

thread_local! {
    /// Literal attributes as this writer writes them (on the export thread).
    static LITERALS: RefCell<Literals<String>> = RefCell::new(Literals::new());
}

/// Writes a described span as a `Span` object (the caller writes the commas between
/// spans), equal on decoding to opentelemetry-proto's JSON of the transform of the
/// same span (as `SpanData`).
pub(crate) struct JsonSpan<'o> {
    out: &'o mut String,
    attributes: usize,
}

impl<'o> JsonSpan<'o> {
    /// A writer appending to `out`.
    pub fn new(out: &'o mut String) -> Self {
        JsonSpan { out, attributes: 0 }
    }
}

impl SpanSink for JsonSpan<'_> {
    fn begin(&mut self, h: &SpanHead<'_>) {
        let out = &mut *self.out;
        out.push_str("{\"traceId\":");
        push_hex(out, &h.trace_id.to_bytes());
        out.push_str(",\"spanId\":");
        push_hex(out, &h.span_id.to_bytes());
        if h.parent != SpanId::INVALID {
            out.push_str(",\"parentSpanId\":");
            push_hex(out, &h.parent.to_bytes());
        }
        out.push_str(",\"flags\":");
        push_u64(out, u64::from(event_flags()));
        out.push_str(",\"name\":\"");
        h.name.pieces().iter().for_each(|p| push_escaped_str(out, p, Escape::Once));
        out.push_str("\",\"kind\":");
        push_u64(out, otlp::span::SpanKind::from(h.kind.clone()) as u64);
        out.push_str(",\"startTimeUnixNano\":");
        push_u64_string(out, unix_nanos(h.start));
        out.push_str(",\"endTimeUnixNano\":");
        push_u64_string(out, unix_nanos(h.end.max(h.start)));
        out.push_str(",\"attributes\":[");
        self.attributes = 0;
    }

    fn attr(&mut self, key: impl AttrKey, value: AttrValue<'_>) {
        let out = &mut *self.out;
        if self.attributes > 0 {
            out.push(',');
        }
        self.attributes += 1;
        if let (AttrValue::Static(v), Some(k)) = (value, key.literal()) {
            // The whole `{"key":…,"value":…}` object, written once.
            return LITERALS.with(|l| {
                out.push_str(l.borrow_mut().get(k, v, || {
                    let mut text = String::new();
                    push_literal(&mut text, k, v);
                    text
                }))
            });
        }
        out.push_str("{\"key\":");
        push_json_str(out, key.as_str());
        out.push_str(",\"value\":");
        match value {
            AttrValue::Static(s) => push_string_value(out, Truncated::whole(s)),
            AttrValue::Str(s) => push_string_value(out, s),
            AttrValue::I64(i) => push_any_value(out, &Value::I64(i)),
            AttrValue::Bool(b) => push_any_value(out, &Value::Bool(b)),
            AttrValue::F64(f) => push_any_value(out, &Value::F64(f)),
            AttrValue::StrList(items) => {
                out.push_str("{\"arrayValue\":{\"values\":[");
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_string_value(out, *s);
                }
                out.push_str("]}}");
            }
            // The messages JSON escaped twice in one pass, as the string value it is.
            AttrValue::Messages(m) => {
                out.push_str("{\"stringValue\":\"");
                m.write(out, Escape::Twice);
                out.push_str("\"}");
            }
            AttrValue::Value(v) => push_any_value(out, v),
        }
        out.push('}');
    }

    fn session(&mut self, s: &SessionAttrs) {
        let text = s.json.get_or_init(|| {
            let mut text = String::new();
            s.describe(&mut JsonSpan::new(&mut text));
            text
        });
        if self.attributes > 0 {
            self.out.push(',');
        }
        self.out.push_str(text);
        self.attributes += 2;
    }

    fn end(&mut self, status: &Status, events: &[SpanEvent], links: &[Link]) {
        let out = &mut *self.out;
        out.push_str("],\"events\":[");
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_event(out, e);
        }
        out.push_str("],\"links\":[");
        for (i, l) in links.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_link(out, l);
        }
        let (message, code) = status_parts(status);
        out.push_str("],\"status\":{\"message\":");
        push_json_str(out, message);
        out.push_str(",\"code\":");
        push_u64(out, code);
        out.push_str("}}");
    }
}

/// Appends a span already in OTLP form (an SDK span), as opentelemetry-proto
/// serializes it.
pub(crate) fn put_otlp_span_json(out: &mut String, span: &otlp::Span) {
    push_serialized(out, span);
}

/// The text around a pipeline's spans: the resource and the scope, serialized once
/// by opentelemetry-proto.
#[derive(Debug, Clone)]
pub(crate) struct JsonFrame {
    head: String,
    tail: String,
}

impl JsonFrame {
    pub fn new(resource: &Resource, resource_schema: &str, scope: &InstrumentationScope, scope_schema: &str) -> Self {
        let mut head = String::from("{\"resourceSpans\":[{\"resource\":");
        push_serialized(&mut head, resource);
        head.push_str(",\"scopeSpans\":[{\"scope\":");
        push_serialized(&mut head, scope);
        head.push_str(",\"spans\":[");
        let mut tail = String::from("],\"schemaUrl\":");
        push_json_str(&mut tail, scope_schema);
        tail.push_str("}],\"schemaUrl\":");
        push_json_str(&mut tail, resource_schema);
        tail.push_str("}]}");
        JsonFrame { head, tail }
    }

    /// Starts a request in `buf` (a recycled allocation).
    pub fn start(&self, buf: &mut String) {
        buf.clear();
        buf.push_str(&self.head);
    }

    /// Written before each span but the first.
    pub fn separator(buf: &mut String, spans_so_far: usize) {
        if spans_so_far > 0 {
            buf.push(',');
        }
    }

    /// Completes the request.
    pub fn finish(&self, buf: &mut String) {
        buf.push_str(&self.tail);
    }
}

#[cfg(test)]
#[path = "wire_json_tests.rs"]
mod tests;
