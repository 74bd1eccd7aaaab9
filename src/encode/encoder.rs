//! `EventToSpanEncoder`: turns recorded events into spans on the export thread, in
//! either form the pipeline needs (the SDK's `SpanData`, or OTLP written into a
//! recycled span). The caller only moved the event into the queue; JSON, truncation
//! and attribute building happen here.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use opentelemetry_sdk::trace::SpanData;
use parking_lot::Mutex;

use super::events::define;
use super::leftovers::Leftovers;
use super::recorded::{event_span_id, RecordedEvent};
use super::span::SpanDefinition;
use super::values::ValuePolicy;
use crate::event::content::Content;
use crate::event::Event;

/// Turns events into spans.
#[derive(Debug)]
pub(crate) struct EventToSpanEncoder {
    policy: ValuePolicy,
    scope: InstrumentationScope,
    session_ids: Mutex<HashMap<u128, Arc<str>>>,
}

/// The crate's instrumentation scope.
pub(crate) fn instrumentation_scope() -> InstrumentationScope {
    InstrumentationScope::builder("agentops").with_version(env!("CARGO_PKG_VERSION")).build()
}

impl EventToSpanEncoder {
    /// An encoder; `max_value_len` is the longest string value in bytes.
    pub fn new(capture_content: bool, max_value_len: usize) -> Self {
        EventToSpanEncoder {
            policy: ValuePolicy::new(capture_content, max_value_len),
            scope: instrumentation_scope(),
            session_ids: Default::default(),
        }
    }

    /// The session id (the trace id as a UUID) in text, formatted once per session.
    fn session_id(&self, trace_id: TraceId) -> Arc<str> {
        let key = u128::from_be_bytes(trace_id.to_bytes());
        let mut ids = self.session_ids.lock();
        if let Some(id) = ids.get(&key) {
            return id.clone();
        }
        if ids.len() >= 1024 {
            ids.clear();
        }
        let id: Arc<str> = Arc::from(uuid::Uuid::from_u128(key).to_string());
        ids.insert(key, id.clone());
        id
    }

    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// String values cut at the length limit since the last call.
    pub(crate) fn take_truncated(&self) -> u64 {
        self.policy.take_truncated()
    }

    /// Encodes a finished event into exportable span data. What the event brought
    /// that the span does not keep goes to `left` (see [`Leftovers`]).
    pub(crate) fn encode(&self, rec: RecordedEvent, left: &mut Leftovers) -> SpanData {
        let (trace_id, span_id, parent, def) = self.prepare_with(rec, Vec::with_capacity(16), left, false);
        def.into_span_data(trace_id, span_id, parent, self.scope.clone())
    }

    /// Encodes a finished event straight into an OTLP span (no `SpanData` between).
    #[cfg(test)]
    pub(crate) fn encode_otlp(&self, rec: RecordedEvent) -> otlp_trace::Span {
        let mut out = otlp_trace::Span::default();
        self.encode_otlp_into(rec, &mut out, &mut Vec::new(), &mut Leftovers::default());
        out
    }

    /// Encodes a finished event into `out`, a recycled span whose buffers are
    /// reused; `scratch` lends the attribute list's allocation (returned empty);
    /// `left` as in [`encode`](Self::encode).
    pub(crate) fn encode_otlp_into(
        &self,
        rec: RecordedEvent,
        out: &mut otlp_trace::Span,
        scratch: &mut Vec<KeyValue>,
        left: &mut Leftovers,
    ) {
        let attrs = std::mem::take(scratch);
        let (trace_id, span_id, parent, mut def) = self.prepare_with(rec, attrs, left, false);
        def.fill_otlp_span(trace_id, span_id, parent, out);
        *scratch = def.attributes;
    }

    /// Encodes a finished event with one of the direct writers (`put_span` of
    /// `encode/wire.rs` into protobuf bytes, `put_span_json` of `encode/wire_json.rs`
    /// into OTLP/JSON text), appending to `out`; `scratch` and `left` as in
    /// [`encode_otlp_into`](Self::encode_otlp_into).
    pub(crate) fn encode_direct<B>(
        &self,
        rec: RecordedEvent,
        out: &mut B,
        write: fn(&mut B, &SpanDefinition, TraceId, SpanId, SpanId),
        scratch: &mut Vec<KeyValue>,
        left: &mut Leftovers,
    ) {
        let attrs = std::mem::take(scratch);
        let (trace_id, span_id, parent, mut def) = self.prepare_with(rec, attrs, left, true);
        write(out, &def, trace_id, span_id, parent);
        def.attributes.clear();
        *scratch = def.attributes;
        // The texts written in place are callers' memory: freed in bulk with the rest.
        left.contents.extend(def.deferred.into_texts().map(Content::Text));
    }

    fn prepare_with(
        &self,
        rec: RecordedEvent,
        attrs: Vec<KeyValue>,
        left: &mut Leftovers,
        direct: bool,
    ) -> (TraceId, SpanId, SpanId, SpanDefinition) {
        let RecordedEvent { event, placement, errored } = rec;
        let span_id = event_span_id(&event.common().id);
        let (trace_id, parent) = (placement.trace_id, placement.parent_span_id);
        let session_id = self.session_id(trace_id);
        let failure = errored.then(|| match &event {
            // A failed tool call: its logs hold the error's message.
            Event::Tool(t) => t.logs.clone().unwrap_or_else(|| "the tool call failed".into()),
            Event::Agent(_) => "an error was recorded inside this agent".into(),
            _ => "an error was recorded inside this action".into(),
        });
        let mut def = define(&self.policy, session_id, event, &placement, attrs, left, direct);
        if let Some(message) = failure.filter(|_| !matches!(def.status, Status::Error { .. })) {
            def.status = Status::error(self.policy.cut(message));
        }
        (trace_id, span_id, parent, def)
    }
}
