//! Direct protobuf: spans written straight into the bytes of an OTLP
//! `ExportTraceServiceRequest`, on the export thread, without building
//! opentelemetry-proto structures and without prost's size-then-encode walk over
//! them on the sending thread.
//!
//! The schema is opentelemetry-proto's (field numbers and types below are its
//! `Span`, `KeyValue`, `AnyValue`, `Event`, `Link`, `Status`); what is written
//! follows prost's rules (fields in number order, proto3 defaults left out, oneof
//! members always written, minimal varints). `wire_tests.rs` proves with property
//! tests that the bytes decode, with opentelemetry-proto, to exactly the request its
//! own transform of the same spans gives. Only event spans take this path (and SDK
//! spans, through prost itself); formatters and exporters that read spans keep the
//! struct path.

use opentelemetry::trace::{Event as SpanEvent, Link, SpanId, Status, TraceFlags, TraceId};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::trace::v1 as otlp;
use prost::Message;

use super::json::Escape;
use super::span::{unix_nanos, SpanDefinition};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn varint_len(v: u64) -> usize {
    // 1 byte per 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

fn put_tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// A length-delimited field of `len` bytes, framing included.
fn len_field(field: u32, len: usize) -> usize {
    tag_len(field) + varint_len(len as u64) + len
}

fn put_len(out: &mut Vec<u8>, field: u32, len: usize) {
    put_tag(out, field, LEN);
    put_varint(out, len as u64);
}

/// Where a length-delimited field's length goes, written once its body is: see
/// [`open_len`] and [`close_len`].
struct LenMark {
    at: usize,
    reserved: usize,
}

/// Starts a length-delimited field whose length is not known yet: its tag, and room
/// for the length's varint sized for `estimate`.
fn open_len(out: &mut Vec<u8>, field: u32, estimate: usize) -> LenMark {
    put_tag(out, field, LEN);
    let (at, reserved) = (out.len(), varint_len(estimate as u64));
    out.resize(at + reserved, 0);
    LenMark { at, reserved }
}

/// Writes the length of the field `open_len` started, now that its body ends the
/// buffer. A length whose varint is longer or shorter than the estimate moves the
/// body (rare: the estimates are close), so the varint stays minimal, as prost's.
fn close_len(out: &mut Vec<u8>, mark: LenMark) {
    let body = mark.at + mark.reserved;
    let len = out.len() - body;
    let need = varint_len(len as u64);
    if need > mark.reserved {
        out.splice(body..body, std::iter::repeat_n(0, need - mark.reserved));
    } else if need < mark.reserved {
        out.drain(mark.at + need..body);
    }
    let mut v = len as u64;
    for b in &mut out[mark.at..mark.at + need] {
        *b = (v as u8 & 0x7f) | 0x80;
        v >>= 7;
    }
    out[mark.at + need - 1] &= 0x7f;
}

/// A string or bytes field; empty ones are left out (proto3 default).
fn bytes_field_len(field: u32, b: &[u8]) -> usize {
    if b.is_empty() {
        0
    } else {
        len_field(field, b.len())
    }
}

fn put_bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        put_len(out, field, b.len());
        out.extend_from_slice(b);
    }
}

fn fixed64_field_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + 8
    }
}

fn put_fixed64_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_tag(out, field, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn fixed32_field_len(field: u32, v: u32) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + 4
    }
}

fn put_fixed32_field(out: &mut Vec<u8>, field: u32, v: u32) {
    if v != 0 {
        put_tag(out, field, FIXED32);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn varint_field_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + varint_len(v)
    }
}

fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_tag(out, field, VARINT);
        put_varint(out, v);
    }
}

// ---- AnyValue (common.v1): 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue ----

/// The body of an `AnyValue` holding `v`. A oneof member is written even when it
/// holds its type's default.
fn any_value_len(v: &Value) -> usize {
    match v {
        Value::String(s) => len_field(1, s.as_str().len()),
        Value::Bool(_) => tag_len(2) + 1,
        Value::I64(i) => tag_len(3) + varint_len(*i as u64),
        Value::F64(_) => tag_len(4) + 8,
        Value::Array(a) => len_field(5, array_len(a)),
        // A value kind newer than this writer: opentelemetry-proto converts it.
        other => AnyValue::from(other.clone()).encoded_len(),
    }
}

fn put_any_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => {
            put_len(out, 1, s.as_str().len());
            out.extend_from_slice(s.as_str().as_bytes());
        }
        Value::Bool(b) => {
            put_tag(out, 2, VARINT);
            out.push(u8::from(*b));
        }
        Value::I64(i) => {
            put_tag(out, 3, VARINT);
            put_varint(out, *i as u64);
        }
        Value::F64(f) => {
            put_tag(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Array(a) => {
            put_len(out, 5, array_len(a));
            put_array(out, a);
        }
        other => AnyValue::from(other.clone()).encode_raw(out),
    }
}

/// An `ArrayValue`'s body: `values` (field 1), one `AnyValue` per element.
fn array_len(a: &Array) -> usize {
    match a {
        Array::Bool(v) => v.len() * len_field(1, tag_len(2) + 1),
        Array::I64(v) => v.iter().map(|i| len_field(1, tag_len(3) + varint_len(*i as u64))).sum(),
        Array::F64(v) => v.len() * len_field(1, tag_len(4) + 8),
        Array::String(v) => v.iter().map(|s| len_field(1, len_field(1, s.as_str().len()))).sum(),
        other => newer_array(other).encoded_len(),
    }
}

/// An array kind newer than this writer, as opentelemetry-proto converts it.
fn newer_array(a: &Array) -> opentelemetry_proto::tonic::common::v1::ArrayValue {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    match AnyValue::from(Value::Array(a.clone())).value {
        Some(Any::ArrayValue(arr)) => arr,
        _ => Default::default(),
    }
}

fn put_array(out: &mut Vec<u8>, a: &Array) {
    match a {
        Array::Bool(v) => v.iter().for_each(|b| {
            put_len(out, 1, tag_len(2) + 1);
            put_tag(out, 2, VARINT);
            out.push(u8::from(*b));
        }),
        Array::I64(v) => v.iter().for_each(|i| {
            put_len(out, 1, tag_len(3) + varint_len(*i as u64));
            put_tag(out, 3, VARINT);
            put_varint(out, *i as u64);
        }),
        Array::F64(v) => v.iter().for_each(|f| {
            put_len(out, 1, tag_len(4) + 8);
            put_tag(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }),
        Array::String(v) => v.iter().for_each(|s| {
            let s = s.as_str();
            put_len(out, 1, len_field(1, s.len()));
            put_len(out, 1, s.len());
            out.extend_from_slice(s.as_bytes());
        }),
        other => newer_array(other).encode_raw(out),
    }
}

// ---- KeyValue: 1 key, 2 value (AnyValue, always present) ----

fn key_value_len(kv: &KeyValue) -> usize {
    bytes_field_len(1, kv.key.as_str().as_bytes()) + len_field(2, any_value_len(&kv.value))
}

fn attributes_len(field: u32, attrs: &[KeyValue]) -> usize {
    attrs.iter().map(|kv| len_field(field, key_value_len(kv))).sum()
}

/// The span's attributes (field 9), deferred messages in their placeholders' place.
/// Their lengths are known once written (escapes lengthen the text), so they are
/// filled in after.
fn put_span_attributes(out: &mut Vec<u8>, def: &SpanDefinition) {
    if def.deferred.is_empty() {
        return put_attributes(out, 9, &def.attributes);
    }
    for (i, kv) in def.attributes.iter().enumerate() {
        let Some(m) = def.deferred.at(i) else {
            put_attributes(out, 9, std::slice::from_ref(kv));
            continue;
        };
        let key = kv.key.as_str().as_bytes();
        let text = m.unescaped_len();
        let key_value = open_len(out, 9, len_field(1, key.len()) + len_field(2, len_field(1, text)));
        put_bytes_field(out, 1, key);
        let any_value = open_len(out, 2, len_field(1, text));
        let string = open_len(out, 1, text);
        m.write(out, Escape::Once);
        close_len(out, string);
        close_len(out, any_value);
        close_len(out, key_value);
    }
}

fn put_attributes(out: &mut Vec<u8>, field: u32, attrs: &[KeyValue]) {
    for kv in attrs {
        let key = kv.key.as_str().as_bytes();
        let value_len = any_value_len(&kv.value);
        put_len(out, field, bytes_field_len(1, key) + len_field(2, value_len));
        put_bytes_field(out, 1, key);
        put_len(out, 2, value_len);
        put_any_value(out, &kv.value);
    }
}

// ---- Span.Event: 1 time, 2 name, 3 attributes, 4 dropped_attributes_count ----

fn event_len(e: &SpanEvent) -> usize {
    fixed64_field_len(1, unix_nanos(e.timestamp))
        + bytes_field_len(2, e.name.as_bytes())
        + attributes_len(3, &e.attributes)
        + varint_field_len(4, u64::from(e.dropped_attributes_count))
}

fn put_event(out: &mut Vec<u8>, e: &SpanEvent) {
    put_fixed64_field(out, 1, unix_nanos(e.timestamp));
    put_bytes_field(out, 2, e.name.as_bytes());
    put_attributes(out, 3, &e.attributes);
    put_varint_field(out, 4, u64::from(e.dropped_attributes_count));
}

// ---- Span.Link: 1 trace_id, 2 span_id, 3 trace_state, 4 attributes, 5 dropped, 6 flags ----

/// A link's flags, as opentelemetry-proto's transform sets them.
pub(super) fn link_flags(l: &Link) -> u32 {
    let mut flags = u32::from(l.span_context.trace_flags().to_u8()) | otlp::SpanFlags::ContextHasIsRemoteMask as u32;
    if l.span_context.is_remote() {
        flags |= otlp::SpanFlags::ContextIsRemoteMask as u32;
    }
    flags
}

fn link_len(l: &Link, state: &str) -> usize {
    let cx = &l.span_context;
    bytes_field_len(1, &cx.trace_id().to_bytes())
        + bytes_field_len(2, &cx.span_id().to_bytes())
        + bytes_field_len(3, state.as_bytes())
        + attributes_len(4, &l.attributes)
        + varint_field_len(5, u64::from(l.dropped_attributes_count))
        + fixed32_field_len(6, link_flags(l))
}

fn put_link(out: &mut Vec<u8>, l: &Link, state: &str) {
    let cx = &l.span_context;
    put_bytes_field(out, 1, &cx.trace_id().to_bytes());
    put_bytes_field(out, 2, &cx.span_id().to_bytes());
    put_bytes_field(out, 3, state.as_bytes());
    put_attributes(out, 4, &l.attributes);
    put_varint_field(out, 5, u64::from(l.dropped_attributes_count));
    put_fixed32_field(out, 6, link_flags(l));
}

// ---- Status: 2 message, 3 code ----

/// A status's message and code.
pub(super) fn status_parts(s: &Status) -> (&str, u64) {
    match s {
        Status::Error { description } => (description, otlp::status::StatusCode::Error as u64),
        Status::Ok => ("", otlp::status::StatusCode::Ok as u64),
        Status::Unset => ("", otlp::status::StatusCode::Unset as u64),
    }
}

fn status_len(s: &Status) -> usize {
    let (message, code) = status_parts(s);
    bytes_field_len(2, message.as_bytes()) + varint_field_len(3, code)
}

/// The flags of an event's span: sampled, its parent local.
pub(super) fn event_flags() -> u32 {
    u32::from(TraceFlags::SAMPLED.to_u8()) | otlp::SpanFlags::ContextHasIsRemoteMask as u32
}

/// Appends `def` as one element of `ScopeSpans.spans` (field 2): tag, length and
/// the `Span` message, equal to what opentelemetry-proto's transform of
/// `def.into_span_data(trace_id, span_id, parent, _)` encodes to.
pub(crate) fn put_span(out: &mut Vec<u8>, def: &SpanDefinition, trace_id: TraceId, span_id: SpanId, parent: SpanId) {
    // No size pass: the span's length is filled in once it is written. Most spans
    // are 128 bytes to 16 KiB, a two-byte length.
    let span = open_len(out, 2, 128);
    put_bytes_field(out, 1, &trace_id.to_bytes());
    put_bytes_field(out, 2, &span_id.to_bytes());
    if parent != SpanId::INVALID {
        put_bytes_field(out, 4, &parent.to_bytes());
    }
    put_bytes_field(out, 5, def.name.as_bytes());
    put_varint_field(out, 6, otlp::span::SpanKind::from(def.kind.clone()) as u64);
    put_fixed64_field(out, 7, unix_nanos(def.start));
    put_fixed64_field(out, 8, unix_nanos(def.end.max(def.start)));
    put_span_attributes(out, def);
    for e in &def.events {
        put_len(out, 11, event_len(e));
        put_event(out, e);
    }
    for l in &def.links {
        let state = l.span_context.trace_state().header();
        put_len(out, 13, link_len(l, &state));
        put_link(out, l, &state);
    }
    // Present even when empty: the transform always sets it.
    put_len(out, 15, status_len(&def.status));
    let (message, code) = status_parts(&def.status);
    put_bytes_field(out, 2, message.as_bytes());
    put_varint_field(out, 3, code);
    put_fixed32_field(out, 16, event_flags());
    close_len(out, span);
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
