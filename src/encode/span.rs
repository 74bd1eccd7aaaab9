//! `SpanDefinition`: a span described before it becomes exportable data (the struct
//! path: built by [`SpanBuilder`] from an event's description), and its two forms:
//! the SDK's `SpanData` (for span filters and exporters that read spans) and an OTLP
//! span written in place into a recycled one.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{
    Event as SpanEvent, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::sink::{AttrKey, AttrValue, SpanHead, SpanSink};

/// A span, described before it becomes exportable data.
#[derive(Debug)]
pub(crate) struct SpanDefinition {
    pub name: Cow<'static, str>,
    pub kind: SpanKind,
    pub attributes: Vec<KeyValue>,
    pub status: Status,
    pub start: SystemTime,
    pub end: SystemTime,
    pub links: Vec<Link>,
    pub events: Vec<SpanEvent>,
}

/// Builds the `SpanDefinition` of a description, copying what it keeps.
#[derive(Debug)]
pub(crate) struct SpanBuilder {
    pub ids: (TraceId, SpanId, SpanId),
    pub def: SpanDefinition,
}

impl SpanBuilder {
    /// A builder whose attributes go into `attributes` (a reused allocation).
    pub fn new(mut attributes: Vec<KeyValue>) -> Self {
        attributes.clear();
        SpanBuilder {
            ids: (TraceId::INVALID, SpanId::INVALID, SpanId::INVALID),
            def: SpanDefinition {
                name: Cow::Borrowed(""),
                kind: SpanKind::Internal,
                attributes,
                status: Status::Unset,
                start: SystemTime::UNIX_EPOCH,
                end: SystemTime::UNIX_EPOCH,
                links: Vec::new(),
                events: Vec::new(),
            },
        }
    }
}

/// An attribute value as the SDK holds it.
fn to_value(v: AttrValue<'_>) -> Value {
    match v {
        AttrValue::Static(s) => Value::from(s),
        AttrValue::Str(s) => Value::from(s.to_owned_string()),
        AttrValue::I64(i) => Value::I64(i),
        AttrValue::Bool(b) => Value::Bool(b),
        AttrValue::F64(f) => Value::F64(f),
        AttrValue::StrList(items) => {
            Value::Array(Array::String(items.iter().map(|s| StringValue::from(s.to_owned_string())).collect()))
        }
        AttrValue::Messages(m) => Value::from(m.to_json()),
        AttrValue::Value(v) => v.clone(),
    }
}

impl SpanSink for SpanBuilder {
    fn begin(&mut self, head: &SpanHead<'_>) {
        self.ids = (head.trace_id, head.span_id, head.parent);
        let def = &mut self.def;
        def.name = Cow::Owned(head.name.to_owned_string());
        def.kind = head.kind.clone();
        (def.start, def.end) = (head.start, head.end);
    }

    fn attr(&mut self, key: impl AttrKey, value: AttrValue<'_>) {
        self.def.attributes.push(KeyValue::new(key.into_key(), to_value(value)));
    }

    fn end(&mut self, status: &Status, events: &[SpanEvent], links: &[Link]) {
        self.def.status = status.clone();
        self.def.events = events.to_vec();
        self.def.links = links.to_vec();
    }
}

/// Describes a span already defined to `sink`, as an event's description would
/// (tests drive the writers with arbitrary spans this way).
#[cfg(test)]
pub(crate) fn describe_definition<S: SpanSink>(def: &SpanDefinition, ids: (TraceId, SpanId, SpanId), sink: &mut S) {
    use super::sink::SpanName;
    sink.begin(&SpanHead {
        trace_id: ids.0,
        span_id: ids.1,
        parent: ids.2,
        name: SpanName::Plain(&def.name),
        kind: def.kind.clone(),
        start: def.start,
        end: def.end.max(def.start),
    });
    for kv in &def.attributes {
        sink.attr(&kv.key, AttrValue::Value(&kv.value));
    }
    sink.end(&def.status, &def.events, &def.links);
}

pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Values up to this long are copied into a recycled buffer; longer ones moved.
const COPY_MAX: usize = 256;

fn set_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.clear();
    buf.extend_from_slice(bytes);
}

fn set_str(buf: &mut String, s: &str) {
    buf.clear();
    buf.push_str(s);
}

/// Writes `attrs` over `out`, reusing its key and short-value buffers.
fn fill_key_values(out: &mut Vec<otlp_common::KeyValue>, attrs: impl Iterator<Item = KeyValue>) {
    use otlp_common::any_value::Value as Any;
    let mut n = 0;
    for kv in attrs {
        match out.get_mut(n) {
            None => out.push(otlp_key_value(kv)),
            Some(slot) => {
                set_str(&mut slot.key, kv.key.as_str());
                slot.key_strindex = 0;
                match (&mut slot.value, kv.value) {
                    (Some(otlp_common::AnyValue { value: Some(Any::StringValue(buf)) }), Value::String(v))
                        if v.as_str().len() <= COPY_MAX =>
                    {
                        set_str(buf, v.as_str())
                    }
                    (value, v) => *value = Some(otlp_any_value(v)),
                }
            }
        }
        n += 1;
    }
    out.truncate(n);
}

/// A value in OTLP form. Strings are moved, not copied (opentelemetry-proto's own
/// conversion copies every value); other values use its conversion.
fn otlp_any_value(v: Value) -> otlp_common::AnyValue {
    match v {
        Value::String(s) => {
            otlp_common::AnyValue { value: Some(otlp_common::any_value::Value::StringValue(String::from(s))) }
        }
        other => other.into(),
    }
}

pub(crate) fn otlp_key_value(kv: KeyValue) -> otlp_common::KeyValue {
    otlp_common::KeyValue { key: kv.key.as_str().to_owned(), value: Some(otlp_any_value(kv.value)), key_strindex: 0 }
}

impl SpanDefinition {
    /// Writes the span into `out`, reusing `out`'s buffers (a span already sent,
    /// recycled): keys, ids, name and short values are copied into existing
    /// allocations; long values are moved. Drains `self.attributes`, so its
    /// allocation can be reused as well.
    pub(crate) fn fill_otlp_span(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        parent_span_id: SpanId,
        out: &mut otlp_trace::Span,
    ) {
        set_bytes(&mut out.trace_id, &trace_id.to_bytes());
        set_bytes(&mut out.span_id, &span_id.to_bytes());
        if parent_span_id == SpanId::INVALID {
            out.parent_span_id.clear();
        } else {
            set_bytes(&mut out.parent_span_id, &parent_span_id.to_bytes());
        }
        out.trace_state.clear();
        // Sampled, and "the parent's remoteness is known" (it is local).
        out.flags = u32::from(TraceFlags::SAMPLED.to_u8()) | otlp_trace::SpanFlags::ContextHasIsRemoteMask as u32;
        set_str(&mut out.name, &self.name);
        out.kind = otlp_trace::span::SpanKind::from(self.kind.clone()) as i32;
        out.start_time_unix_nano = unix_nanos(self.start);
        out.end_time_unix_nano = unix_nanos(self.end.max(self.start));
        fill_key_values(&mut out.attributes, self.attributes.drain(..));
        out.dropped_attributes_count = 0;
        out.events.clear();
        out.events.extend(self.events.drain(..).map(|e| otlp_trace::span::Event {
            time_unix_nano: unix_nanos(e.timestamp),
            name: e.name.into_owned(),
            attributes: e.attributes.into_iter().map(otlp_key_value).collect(),
            dropped_attributes_count: 0,
        }));
        out.dropped_events_count = 0;
        out.links.clear();
        out.links.extend(self.links.drain(..).map(Into::into));
        out.dropped_links_count = 0;
        let status = out.status.get_or_insert_with(Default::default);
        status.code = otlp_trace::status::StatusCode::from(&self.status) as i32;
        match &self.status {
            Status::Error { description } => set_str(&mut status.message, description),
            _ => status.message.clear(),
        }
    }

    pub(crate) fn into_span_data(
        self,
        trace_id: TraceId,
        span_id: SpanId,
        parent_span_id: SpanId,
        scope: InstrumentationScope,
    ) -> SpanData {
        let mut events = SpanEvents::default();
        events.events = self.events;
        let mut links = SpanLinks::default();
        links.links = self.links;
        SpanData {
            span_context: SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, TraceState::NONE),
            parent_span_id,
            parent_span_is_remote: false,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start,
            end_time: self.end.max(self.start),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events,
            links,
            status: self.status,
            instrumentation_scope: scope,
        }
    }
}
