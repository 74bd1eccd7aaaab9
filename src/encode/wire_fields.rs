//! Protobuf's wire format for OTLP's messages, as prost writes them: varints, tags,
//! length-delimited fields (with lengths filled in after their body), and the
//! common messages (`AnyValue`, `KeyValue`, `Span.Event`, `Span.Link`, `Status`).
//! Field numbers and types are opentelemetry-proto's; `wire.rs` writes spans with
//! them.

use opentelemetry::trace::{Event as SpanEvent, Link, Status, TraceFlags};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::trace::v1 as otlp;
use prost::Message;

use super::span::unix_nanos;

pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

pub(super) fn varint_len(v: u64) -> usize {
    // 1 byte per 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn tag_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

pub(super) fn put_tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// A length-delimited field of `len` bytes, framing included.
pub(super) fn len_field(field: u32, len: usize) -> usize {
    tag_len(field) + varint_len(len as u64) + len
}

pub(super) fn put_len(out: &mut Vec<u8>, field: u32, len: usize) {
    put_tag(out, field, LEN);
    put_varint(out, len as u64);
}

/// Where a length-delimited field's length goes, written once its body is: see
/// [`open_len`] and [`close_len`].
pub(super) struct LenMark {
    at: usize,
    reserved: usize,
}

/// Starts a length-delimited field whose length is not known yet: its tag, and room
/// for the length's varint sized for `estimate`.
pub(super) fn open_len(out: &mut Vec<u8>, field: u32, estimate: usize) -> LenMark {
    put_tag(out, field, LEN);
    let (at, reserved) = (out.len(), varint_len(estimate as u64));
    // A few bytes: pushed, where `resize` called `memset`.
    for _ in 0..reserved {
        out.push(0);
    }
    LenMark { at, reserved }
}

/// Writes the length of the field `open_len` started, now that its body ends the
/// buffer. A length whose varint is longer or shorter than the estimate moves the
/// body (rare: the estimates are close), so the varint stays minimal, as prost's.
pub(super) fn close_len(out: &mut Vec<u8>, mark: LenMark) {
    let body = mark.at + mark.reserved;
    let len = out.len() - body;
    let need = varint_len(len as u64);
    if need != mark.reserved {
        return close_len_moving(out, mark, len, need);
    }
    let mut v = len as u64;
    // `need` bytes at `mark.at`: all but the last carry the continuation bit.
    let varint = &mut out[mark.at..body];
    for (i, b) in varint.iter_mut().enumerate() {
        *b = (v as u8 & 0x7f) | if i + 1 < need { 0x80 } else { 0 };
        v >>= 7;
    }
}

/// [`close_len`] when the estimate's varint was shorter or longer than the length's:
/// the body moves so the varint stays minimal.
#[cold]
fn close_len_moving(out: &mut Vec<u8>, mark: LenMark, len: usize, need: usize) {
    let body = mark.at + mark.reserved;
    if need > mark.reserved {
        out.splice(body..body, std::iter::repeat_n(0, need - mark.reserved));
    } else {
        out.drain(mark.at + need..body);
    }
    let reserved = LenMark { at: mark.at, reserved: need };
    debug_assert_eq!(out.len() - (reserved.at + need), len);
    close_len(out, reserved);
}

/// A string or bytes field; empty ones are left out (proto3 default).
pub(super) fn bytes_field_len(field: u32, b: &[u8]) -> usize {
    if b.is_empty() {
        0
    } else {
        len_field(field, b.len())
    }
}

pub(super) fn put_bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        put_len(out, field, b.len());
        out.extend_from_slice(b);
    }
}

pub(super) fn fixed64_field_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + 8
    }
}

pub(super) fn put_fixed64_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_tag(out, field, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

pub(super) fn fixed32_field_len(field: u32, v: u32) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + 4
    }
}

pub(super) fn put_fixed32_field(out: &mut Vec<u8>, field: u32, v: u32) {
    if v != 0 {
        put_tag(out, field, FIXED32);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

pub(super) fn varint_field_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + varint_len(v)
    }
}

pub(super) fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_tag(out, field, VARINT);
        put_varint(out, v);
    }
}

// ---- AnyValue (common.v1): 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue ----

/// The body of an `AnyValue` holding `v`. A oneof member is written even when it
/// holds its type's default.
pub(super) fn any_value_len(v: &Value) -> usize {
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

pub(super) fn put_any_value(out: &mut Vec<u8>, v: &Value) {
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
pub(super) fn array_len(a: &Array) -> usize {
    match a {
        Array::Bool(v) => v.len() * len_field(1, tag_len(2) + 1),
        Array::I64(v) => v.iter().map(|i| len_field(1, tag_len(3) + varint_len(*i as u64))).sum(),
        Array::F64(v) => v.len() * len_field(1, tag_len(4) + 8),
        Array::String(v) => v.iter().map(|s| len_field(1, len_field(1, s.as_str().len()))).sum(),
        other => newer_array(other).encoded_len(),
    }
}

/// An array kind newer than this writer, as opentelemetry-proto converts it.
pub(super) fn newer_array(a: &Array) -> opentelemetry_proto::tonic::common::v1::ArrayValue {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    match AnyValue::from(Value::Array(a.clone())).value {
        Some(Any::ArrayValue(arr)) => arr,
        _ => Default::default(),
    }
}

pub(super) fn put_array(out: &mut Vec<u8>, a: &Array) {
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

pub(super) fn key_value_len(kv: &KeyValue) -> usize {
    bytes_field_len(1, kv.key.as_str().as_bytes()) + len_field(2, any_value_len(&kv.value))
}

pub(super) fn attributes_len(field: u32, attrs: &[KeyValue]) -> usize {
    attrs.iter().map(|kv| len_field(field, key_value_len(kv))).sum()
}

pub(super) fn put_attributes(out: &mut Vec<u8>, field: u32, attrs: &[KeyValue]) {
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

pub(super) fn event_len(e: &SpanEvent) -> usize {
    fixed64_field_len(1, unix_nanos(e.timestamp))
        + bytes_field_len(2, e.name.as_bytes())
        + attributes_len(3, &e.attributes)
        + varint_field_len(4, u64::from(e.dropped_attributes_count))
}

pub(super) fn put_event(out: &mut Vec<u8>, e: &SpanEvent) {
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

pub(super) fn link_len(l: &Link, state: &str) -> usize {
    let cx = &l.span_context;
    bytes_field_len(1, &cx.trace_id().to_bytes())
        + bytes_field_len(2, &cx.span_id().to_bytes())
        + bytes_field_len(3, state.as_bytes())
        + attributes_len(4, &l.attributes)
        + varint_field_len(5, u64::from(l.dropped_attributes_count))
        + fixed32_field_len(6, link_flags(l))
}

pub(super) fn put_link(out: &mut Vec<u8>, l: &Link, state: &str) {
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

pub(super) fn status_len(s: &Status) -> usize {
    let (message, code) = status_parts(s);
    bytes_field_len(2, message.as_bytes()) + varint_field_len(3, code)
}

/// The flags of an event's span: sampled, its parent local.
pub(super) fn event_flags() -> u32 {
    u32::from(TraceFlags::SAMPLED.to_u8()) | otlp::SpanFlags::ContextHasIsRemoteMask as u32
}
