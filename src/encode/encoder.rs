//! `EventToSpanEncoder`: turns recorded events into spans on the export thread, in
//! the form the pipeline needs: the SDK's `SpanData`, OTLP written into a recycled
//! span, or straight into a request's bytes. The caller only moved the event into
//! the queue; JSON, truncation and attributes happen here. The event is read, not
//! consumed (`schema.rs`), so it can be freed where it was allocated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::trace::TraceId;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use opentelemetry_sdk::trace::SpanData;

use super::schema::describe;
use super::sink::{SessionAttrs, SpanSink};
use super::span::SpanBuilder;
use super::values::ValuePolicy;
use crate::event::recorded::RecordedEvent;

/// Turns events into spans. It lives on the export thread alone.
#[derive(Debug)]
pub(crate) struct EventToSpanEncoder {
    policy: ValuePolicy,
    scope: InstrumentationScope,
    session_ids: RefCell<SessionIds>,
    /// JSON values are serialized here while they are written.
    json: RefCell<String>,
}

/// Session ids in text, by trace; the last one looked up is kept apart, since
/// events mostly come a session at a time.
#[derive(Debug, Default)]
struct SessionIds {
    last: Option<(TraceId, Arc<SessionAttrs>)>,
    all: HashMap<TraceId, Arc<SessionAttrs>>,
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
            json: Default::default(),
        }
    }

    /// An encoder whose LLM spans carry the names AgentOps reads instead of the GenAI
    /// messages JSON (see `agentops_names.rs`): for a client whose every span
    /// exporter is AgentOps'.
    pub fn with_agentops_names(mut self, on: bool) -> Self {
        self.policy.agentops_names = on;
        self
    }

    /// The session id (the trace id as a UUID) in text and its attributes, made
    /// once per session.
    fn session(&self, trace_id: TraceId) -> Arc<SessionAttrs> {
        let mut ids = self.session_ids.borrow_mut();
        if let Some((t, id)) = &ids.last {
            if *t == trace_id {
                return id.clone();
            }
        }
        if ids.all.len() >= 1024 {
            ids.all.clear();
        }
        let text = || Arc::new(SessionAttrs::new(uuid::Uuid::from_bytes(trace_id.to_bytes()).to_string()));
        let id = ids.all.entry(trace_id).or_insert_with(text).clone();
        ids.last = Some((trace_id, id.clone()));
        id
    }

    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// String values cut at the length limit since the last call.
    pub(crate) fn take_truncated(&self) -> u64 {
        self.policy.take_truncated()
    }

    /// Describes the span of `rec` to `sink`: one of the direct writers
    /// (`WireSpan` of `encode/wire.rs`, `JsonSpan` of `encode/wire_json.rs`), or a
    /// `SpanBuilder`.
    pub(crate) fn encode_to<S: SpanSink>(&self, rec: &RecordedEvent, sink: &mut S) {
        let session = self.session(rec.placement.trace_id);
        let mut json = self.json.borrow_mut();
        describe(&self.policy, rec, &session, &mut json, sink);
        // A long value must not stay behind for every later event.
        json.clear();
        json.shrink_to(4096);
    }

    /// Encodes a finished event into exportable span data.
    pub(crate) fn encode(&self, rec: &RecordedEvent) -> SpanData {
        let mut b = SpanBuilder::new(Vec::with_capacity(16));
        self.encode_to(rec, &mut b);
        let (trace_id, span_id, parent) = b.ids;
        b.def.into_span_data(trace_id, span_id, parent, self.scope.clone())
    }

    /// Encodes a finished event straight into an OTLP span (no `SpanData` between).
    #[cfg(test)]
    pub(crate) fn encode_otlp(&self, rec: &RecordedEvent) -> otlp_trace::Span {
        let mut out = otlp_trace::Span::default();
        self.encode_otlp_into(rec, &mut out, &mut Vec::new());
        out
    }

    /// Encodes a finished event into `out`, a recycled span whose buffers are
    /// reused; `scratch` lends the attribute list's allocation (returned empty).
    pub(crate) fn encode_otlp_into(
        &self,
        rec: &RecordedEvent,
        out: &mut otlp_trace::Span,
        scratch: &mut Vec<KeyValue>,
    ) {
        let mut b = SpanBuilder::new(std::mem::take(scratch));
        self.encode_to(rec, &mut b);
        let (trace_id, span_id, parent) = b.ids;
        b.def.fill_otlp_span(trace_id, span_id, parent, out);
        *scratch = b.def.attributes;
    }
}
