//! What the export thread receives for each recorded event: the event and where it
//! sits in its trace.

use std::sync::Arc;

use opentelemetry::trace::{SpanId, TraceId};

use crate::event::Event;

/// Where an event sits: its trace, its parent, its session.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// The session's trace; the session id is derived from it on the export thread
    /// (a shared `Arc` per event would bounce its count between caller and exporter).
    pub trace_id: TraceId,
    pub parent_span_id: SpanId,
    /// The agent scope the event was recorded in, if any: the span's
    /// `agentops.agent.id` unless the event names its own. Shared, not copied, so
    /// recording inside an agent allocates nothing; a thin pointer, so the queue
    /// slot does not grow.
    pub agent_id: Option<Arc<String>>,
}

/// A finished event on its way to the export thread.
#[derive(Debug)]
pub(crate) struct RecordedEvent {
    pub event: Event,
    pub placement: Placement,
    /// An error propagated into this event's span (action scopes).
    pub errored: bool,
}

/// The span id of an event: the low 64 bits of its UUID, so an error's link to its
/// trigger can be built from the trigger's id alone.
pub(crate) fn event_span_id(id: &uuid::Uuid) -> SpanId {
    let low = id.as_u64_pair().1;
    SpanId::from_bytes(if low == 0 { 1u64 } else { low }.to_be_bytes())
}
