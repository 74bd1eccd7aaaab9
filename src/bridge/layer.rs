//! `AgentOpsLayer`: spans of `tracing` inside a session become spans of the
//! session's trace.
//!
//! A `tracing` span is taken in when it starts under a span already taken in, or
//! while an agentops scope is current on its thread ([`Scope::enter`]), or, failing
//! both, into the layer's default session if it has one; anything else is ignored.
//! It becomes a child of that span or scope, with its own timing, its fields as
//! typed attributes, the `tracing` events inside it as span events (message and
//! fields), and ERROR status when an ERROR-level event happened inside it. A span
//! with GenAI fields is recorded as an LLM call instead (see `gen_ai.rs`). All of
//! this is built on the caller's thread when the span closes, and queued like any
//! event: encoding and I/O stay on the export threads.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{Event as SpanEvent, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use uuid::Uuid;

use super::fields::Fields;
use super::gen_ai::llm_event;
use crate::encode::attr;
use crate::encode::encoder::instrumentation_scope;
use crate::event::recorded::event_span_id;
use crate::event::ErrorEvent;
use crate::session::record::{mark_errored, record_under};
use crate::session::scope::Scope;
use crate::session::state::{span_context_of, OpenScope, SessionInner};
use crate::util::ids;

/// A `tracing_subscriber` layer that puts `tracing` spans into agentops sessions
/// (see the crate docs' "Use with `tracing`"):
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// tracing_subscriber::registry().with(agentops::bridge::AgentOpsLayer::new()).init();
/// ```
#[derive(Debug, Clone)]
pub struct AgentOpsLayer {
    default: Option<Scope>,
    scope: InstrumentationScope,
}

impl Default for AgentOpsLayer {
    fn default() -> Self {
        AgentOpsLayer { default: None, scope: instrumentation_scope() }
    }
}

impl AgentOpsLayer {
    /// A layer that takes in spans under a current scope (and their descendants).
    pub fn new() -> Self {
        Self::default()
    }

    /// Spans that start outside any session go into `scope` (a session, or a scope
    /// in one) instead of being ignored.
    pub fn default_session(mut self, scope: &Scope) -> Self {
        self.default = Some(scope.clone());
        self
    }
}

/// What the layer keeps in a `tracing` span it took in.
struct Bridged {
    session: Arc<SessionInner>,
    /// The agentops scope the span tree hangs under (errors propagate to it).
    open: Option<Arc<OpenScope>>,
    agent: Option<Arc<String>>,
    parent: SpanId,
    /// The id of the event the span becomes if it is an LLM call; the span id is
    /// derived from it, so children can name their parent before it ends.
    event_id: Uuid,
    span_id: SpanId,
    started_at: SystemTime,
    fields: Vec<KeyValue>,
    events: Vec<SpanEvent>,
    error: Option<String>,
}

impl Bridged {
    fn under(
        session: Arc<SessionInner>,
        open: Option<Arc<OpenScope>>,
        agent: Option<Arc<String>>,
        parent: SpanId,
    ) -> Self {
        let event_id = ids::new_uuid();
        Bridged {
            session,
            open,
            agent,
            parent,
            span_id: event_span_id(&event_id),
            event_id,
            started_at: SystemTime::now(),
            fields: Vec::new(),
            events: Vec::new(),
            error: None,
        }
    }

    fn in_scope(scope: &Scope) -> Self {
        let parent = scope.open.as_ref().map_or(scope.session.root_span_id, |o| o.span_id);
        let agent = scope.open.as_ref().and_then(|o| o.agent()).cloned();
        Bridged::under(scope.session.clone(), scope.open.clone(), agent, parent)
    }
}

impl<S> Layer<S> for AgentOpsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let from_parent = span.parent().and_then(|p| {
            let ext = p.extensions();
            let b = ext.get::<Bridged>()?;
            Some(Bridged::under(b.session.clone(), b.open.clone(), b.agent.clone(), b.span_id))
        });
        let bridged = from_parent
            .or_else(|| Scope::current().as_ref().map(Bridged::in_scope))
            .or_else(|| self.default.as_ref().map(Bridged::in_scope));
        let Some(mut bridged) = bridged else { return };
        attrs.record(&mut Fields::new(&mut bridged.fields));
        span.extensions_mut().insert(bridged);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(b) = ext.get_mut::<Bridged>() {
            values.record(&mut Fields::new(&mut b.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else { return };
        let mut ext = span.extensions_mut();
        let Some(b) = ext.get_mut::<Bridged>() else { return };
        let mut attrs = vec![KeyValue::new("level", event.metadata().level().as_str())];
        let mut fields = Fields::new(&mut attrs);
        event.record(&mut fields);
        let message = fields.message.take().unwrap_or_else(|| event.metadata().name().to_owned());
        if *event.metadata().level() == Level::ERROR {
            b.error = Some(message.clone());
        }
        b.events.push(SpanEvent::new(message, SystemTime::now(), attrs, 0));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(b) = span.extensions_mut().remove::<Bridged>() else { return };
        let ended_at = SystemTime::now();
        if let Some(mut llm) = llm_event(&b.fields) {
            llm.common.id = b.event_id;
            llm.common.started_at = b.started_at;
            llm.common.ended_at = Some(ended_at);
            let under = Some((b.parent, b.agent.clone()));
            let call = record_under(&b.session, b.open.as_ref(), llm.into(), false, under);
            if let Some(message) = b.error {
                let error = ErrorEvent::new("tracing::error").details(message).trigger(call).into();
                record_under(&b.session, b.open.as_ref(), error, false, Some((b.parent, b.agent)));
            }
            return;
        }
        let name = span.metadata().name();
        let session_id = StringValue::from(b.session.id_str.clone());
        let mut attributes = b.fields;
        attributes.push(KeyValue::new(attr::SESSION_ID, session_id.clone()));
        attributes.push(KeyValue::new(attr::CONVERSATION_ID, session_id));
        let status = match b.error {
            Some(message) => {
                // As a recorded error does: the enclosing scopes end with ERROR status.
                mark_errored(&b.session, b.open.as_ref());
                Status::error(message)
            }
            None => Status::Unset,
        };
        let mut events = SpanEvents::default(); // non-exhaustive: filled, not built
        events.events = b.events;
        b.session.send_span(SpanData {
            span_context: span_context_of(&b.session, b.span_id),
            parent_span_id: b.parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(name),
            start_time: b.started_at,
            end_time: ended_at,
            attributes,
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        });
    }
}
