//! Recording an event into a session: its end time and cost, the session's
//! counts, errors marked on the scopes around it, its place in the trace, and the
//! export queue; and the closures around recording (`guard_panic`, `run_tool`).

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use opentelemetry::trace::SpanId;
use serde::Serialize;

use super::current::current_open_in;

use super::state::{OpenScope, SessionInner};
use super::summary::EndState;
use crate::event::recorded::{Placement, RecordedEvent};
use crate::event::{ErrorEvent, Event, EventRef, EventType, ToolEvent};
use crate::pipeline::message::Message;

/// Marks `open` and every scope around it, and the session, as having seen an
/// error: their spans end with ERROR status.
pub(crate) fn mark_errored(session: &SessionInner, open: Option<&Arc<OpenScope>>) {
    let mut o = open;
    while let Some(scope) = o {
        scope.errored.store(true, Ordering::Relaxed);
        o = scope.parent.as_ref();
    }
    session.errored.store(true, Ordering::Relaxed);
}

/// A panic's message, when its payload is a string.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned())
}

/// Records `event` under the `open` action or agent (or the session root), counting it and
/// propagating an error to every open ancestor. `failed` marks the event's own span
/// failed (a tool call that returned an error). `under` names another parent span
/// (and agent) than `open`'s: a span of the `tracing` bridge inside `open`. For the
/// session's root (`open` is `None`), the session's scope current on this thread,
/// if any, is used instead (see the current scope in `state.rs`).
pub(crate) fn record_under(
    session: &Arc<SessionInner>,
    open: Option<&Arc<OpenScope>>,
    mut event: Event,
    failed: bool,
    under: Option<(SpanId, Option<Arc<String>>)>,
) -> EventRef {
    let current;
    let open = match open {
        Some(open) => Some(open),
        None => {
            current = current_open_in(session);
            current.as_ref()
        }
    };
    let Some(pipeline) = session.queue() else {
        return complete(session, open, &mut event, under).0;
    };
    // Boxed first, as the export queue takes it: the event (a few hundred bytes) is
    // completed in place instead of being copied once more on its way there.
    let placement = Placement { trace_id: session.trace_id, parent_span_id: SpanId::INVALID, agent_id: None };
    let mut recorded = Box::new(RecordedEvent { event, placement, errored: failed });
    let (r, parent, agent) = complete(session, open, &mut recorded.event, under);
    (recorded.placement.parent_span_id, recorded.placement.agent_id) = (parent, agent);
    pipeline.submit(Message::Event(recorded));
    r
}

/// What recording does to an event besides queueing it: its end time and cost,
/// the session's counts, errors marked on the scopes around it; and where its span
/// goes (parent and agent).
fn complete(
    session: &SessionInner,
    open: Option<&Arc<OpenScope>>,
    event: &mut Event,
    under: Option<(SpanId, Option<Arc<String>>)>,
) -> (EventRef, SpanId, Option<Arc<String>>) {
    let common = event.common_mut();
    if common.ended_at.is_none() {
        common.ended_at = Some(std::time::SystemTime::now());
    }
    if let Event::Llm(e) = event {
        if e.cost.is_none() {
            e.cost = session.prices.cost(e);
        }
        if let (Some(provider), Some(open)) = (&e.provider, open) {
            open.agent_provider_seen(provider);
        }
    }
    let r = event.event_ref();
    session.count(event);
    if r.event_type == EventType::Error || matches!(event, Event::Llm(e) if e.error().is_some()) {
        mark_errored(session, open);
    }
    let (parent, agent) = match under {
        Some(placed) => placed,
        None => (open.map_or(session.root_span_id, |a| a.span_id), open.and_then(|a| a.agent()).cloned()),
    };
    (r, parent, agent)
}

/// Runs `f`; on panic, records the panic as an error, ends the session as `Fail`
/// with the message, and resumes the panic.
pub(crate) fn guard_panic<T>(session: &Arc<SessionInner>, open: Option<&Arc<OpenScope>>, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let msg = panic_message(&*payload);
            record_under(session, open, ErrorEvent::new("panic").details(msg.clone()).into(), false, None);
            session.end(EndState::Fail, Some(format!("panic: {msg}")));
            resume_unwind(payload)
        }
    }
}

/// Runs a tool call and records it (see [`Scope::tool`](crate::Scope::tool)):
/// `event` is the call (name, arguments, call id), timed from here.
pub(crate) fn run_tool<T, E>(
    session: &Arc<SessionInner>,
    open: Option<&Arc<OpenScope>>,
    event: ToolEvent,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E>
where
    T: Serialize,
    E: fmt::Display,
{
    let event = event.started_at(std::time::SystemTime::now());
    let out = guard_panic(session, open, f);
    match &out {
        Ok(v) => {
            record_under(session, open, event.returns(v).into(), false, None);
        }
        Err(e) => {
            // The tool's own span fails too, not only the error span beside it.
            let failed = event.logs(format!("error: {e}")).error_type(std::any::type_name::<E>());
            let tool = record_under(session, open, failed.into(), true, None);
            let err = ErrorEvent::new(std::any::type_name::<E>()).details(e.to_string()).trigger(tool);
            record_under(session, open, err.into(), false, None);
        }
    }
    out
}
