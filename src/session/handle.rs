//! `Session`: one agent run, one trace. Events recorded in it become child spans of
//! its root span; action scopes nest what is recorded inside them.
//!
//! Recording is cheap and never blocks: the event is counted for the summary, given
//! its end time, and moved into the export queue. Everything else (attributes,
//! truncation, JSON) happens on the export thread.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, SpanContext, SpanKind, TraceContextExt, TraceId, Tracer as _};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracer;
use parking_lot::Mutex;
use uuid::Uuid;

use super::scope::Scope;
use super::state::SessionInner;
use super::summary::{EndState, SessionSummary};
use crate::adapters::prices::table::PriceTable;
use crate::config::agentops::AgentOpsConfig;
use crate::encode::attr;
use crate::encode::values::string_array;
use crate::error::Error;
use crate::export::exporter::SessionStart;
use crate::pipeline::handle::Pipeline;
use crate::util::ids;

/// A session started elsewhere, continued here (see
/// [`SessionBuilder::resume`](crate::SessionBuilder::resume)).
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    pub session_id: Uuid,
    /// The legacy protocol's JWT of the session, when the caller has it.
    pub jwt: Option<String>,
}

/// One agent run: a trace whose root span is the session. Records through its
/// [`Scope`] (it dereferences to one: `record`, `tool`, `action`, `start_action`,
/// `context`). Cheap to clone; clones share the session. `Send + Sync`: record from
/// any number of threads.
///
/// A session dropped without [`end`](Session::end) ends itself as `Indeterminate`
/// (or `Fail`, when dropped during a panic).
#[derive(Clone)]
#[must_use = "dropping the last handle ends the session at once"]
pub struct Session {
    scope: Scope,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner();
        f.debug_struct("Session")
            .field("id", &inner.id)
            .field("tags", &inner.tags)
            .field("sampled", &inner.sampled)
            .finish()
    }
}

impl Deref for Session {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl Session {
    /// Starts a session: opens its root span (no I/O).
    pub(crate) fn start(
        prices: Arc<PriceTable>,
        tracer: Option<&SdkTracer>,
        pipeline: Option<Arc<Pipeline>>,
        agentops: Option<&AgentOpsConfig>,
        tags: Vec<String>,
        parent: Option<SpanContext>,
        resume: Option<Resume>,
    ) -> Session {
        let started_at = std::time::SystemTime::now();
        let trace_state = parent.as_ref().map(|p| p.trace_state().clone()).unwrap_or_default();
        let (root, trace_id, root_span_id, sampled) = match tracer {
            Some(tracer) => {
                let parent_cx = match parent {
                    Some(sc) if sc.is_valid() => Context::new().with_remote_span_context(sc),
                    _ => Context::new(),
                };
                let build = || {
                    tracer
                        .span_builder("session")
                        .with_kind(SpanKind::Internal)
                        .with_start_time(started_at)
                        .with_attributes([
                            KeyValue::new(attr::SPAN_KIND, "session"),
                            KeyValue::new(attr::SESSION_TAGS, string_array(&tags)),
                        ])
                        .start_with_context(tracer, &parent_cx)
                };
                // A resumed session's root is a root of the trace it continues.
                let span = match &resume {
                    Some(r) if !parent_cx.has_active_span() => {
                        ids::with_trace_id(TraceId::from_bytes(*r.session_id.as_bytes()), build)
                    }
                    _ => build(),
                };
                let sc = span.span_context().clone();
                (Some(span), sc.trace_id(), sc.span_id(), sc.is_sampled())
            }
            // Telemetry disabled: a session that only counts and summarizes (in the
            // trace it was asked to continue, so what it propagates stays joined).
            None => {
                let trace_id = match (&parent, &resume) {
                    (Some(p), _) if p.is_valid() => p.trace_id(),
                    (_, Some(r)) => TraceId::from_bytes(*r.session_id.as_bytes()),
                    _ => TraceId::from_bytes(*ids::new_uuid().as_bytes()),
                };
                (None, trace_id, ids::new_span_id(), false)
            }
        };
        let id = Uuid::from_bytes(trace_id.to_bytes());
        let id_str: Arc<str> = Arc::from(id.to_string());
        let root = root.map(|mut span| {
            // The session id exists only once the SDK picked the trace id.
            let v = StringValue::from(id_str.clone());
            span.set_attribute(KeyValue::new(attr::SESSION_ID, v.clone()));
            span.set_attribute(KeyValue::new(attr::CONVERSATION_ID, v));
            span
        });
        let replay_url = agentops.map(|a| a.replay_url(&id));
        if let Some(p) = pipeline.as_ref().filter(|_| sampled) {
            let mut start = SessionStart::new(id, tags.clone(), started_at);
            if let Some(r) = resume {
                (start.resumed, start.jwt) = (true, r.jwt);
            }
            p.session_started(start);
        }
        if let Some(url) = &replay_url {
            // The link is what an AgentOps user looks for: shown even without a logger.
            crate::util::say::say(log::Level::Info, format_args!("session {id} started; replay: {url}"));
        }
        let inner = Arc::new(SessionInner {
            id,
            id_str,
            trace_id,
            root_span_id,
            sampled,
            trace_state,
            tags,
            started_at,
            started: Instant::now(),
            root: Mutex::new(root),
            counts: Default::default(),
            input_tokens: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
            cost_bits: AtomicU64::new(0f64.to_bits()),
            errored: AtomicBool::new(false),
            summary: Mutex::new(None),
            pipeline,
            replay_url,
            prices,
        });
        Session { scope: Scope { session: inner, open: None } }
    }

    fn inner(&self) -> &SessionInner {
        &self.scope.session
    }

    pub(crate) fn inner_arc(&self) -> &Arc<SessionInner> {
        &self.scope.session
    }

    /// The session id: the trace id, as a UUID.
    pub fn id(&self) -> Uuid {
        self.inner().id
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.inner().trace_id
    }

    /// The session's tags.
    pub fn tags(&self) -> &[String] {
        &self.inner().tags
    }

    /// Whether the sampler kept this session (if not, nothing of it is exported).
    pub fn is_sampled(&self) -> bool {
        self.inner().sampled
    }

    /// Whether [`end`](Self::end) was called.
    pub fn is_ended(&self) -> bool {
        self.inner().summary.lock().is_some()
    }

    /// Ends the session and returns its summary. Ending again returns the first
    /// summary and changes nothing.
    pub fn end(&self, state: EndState, reason: impl Into<String>) -> SessionSummary {
        let reason = reason.into();
        self.inner().end(state, (!reason.is_empty()).then_some(reason))
    }

    /// Ends the session like [`end`](Self::end), then waits (at most `timeout`;
    /// `Duration::MAX` is fine) until everything recorded so far is exported, and
    /// fills in what the backend answered ([`SessionSummary::token_cost`] with the
    /// legacy AgentOps protocol). The one session call that waits on the network,
    /// by request.
    ///
    /// # Errors
    /// As [`Client::flush`](crate::Client::flush): [`Error::Timeout`],
    /// [`Error::Export`] when spans were dropped, [`Error::ShutDown`].
    pub fn end_and_flush(
        &self,
        state: EndState,
        reason: impl Into<String>,
        timeout: Duration,
    ) -> Result<SessionSummary, Error> {
        let mut summary = self.end(state, reason);
        let inner = self.inner();
        if let Some(p) = &inner.pipeline {
            p.flush(timeout)?;
            if let Some(cost) = p.costs.take(&inner.id) {
                summary.token_cost = Some(cost);
                if let Some(stored) = inner.summary.lock().as_mut() {
                    stored.token_cost = Some(cost);
                }
            }
        }
        Ok(summary)
    }

    /// The session's page on the AgentOps dashboard, when exporting to AgentOps.
    pub fn replay_url(&self) -> Option<&str> {
        self.inner().replay_url.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ErrorEvent, LlmEvent};
    use crate::session::summary::EventCounts;

    #[test]
    fn disabled_sessions_still_summarize() {
        let s = Session::start(Arc::new(PriceTable::empty()), None, None, None, vec!["t".into()], None, None);
        s.record(LlmEvent::new("m").tokens(3, 4).cost(0.5));
        s.record(LlmEvent::new("m").tokens(1, 1).cost(f64::NAN));
        let a = s.start_action("plan");
        a.record(ErrorEvent::new("x"));
        a.end();
        let sum = s.end(EndState::Success, "ok");
        assert_eq!(sum.event_counts, EventCounts { llms: 2, tools: 0, actions: 1, errors: 1, agents: 0 });
        assert_eq!((sum.input_tokens, sum.output_tokens), (4, 5));
        assert_eq!(sum.cost, 0.5);
        assert_eq!(s.end(EndState::Fail, "again"), sum, "second end changes nothing");
    }
}
