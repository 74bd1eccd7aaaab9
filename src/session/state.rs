//! The state behind session and scope handles: what a session counts for its
//! summary, how a session queues what is recorded (`record.rs` records), and how a
//! session and an action end. Each thread's current scope is in `current.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use opentelemetry::trace::{Span as _, SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Span as SdkSpan;
use parking_lot::Mutex;
use uuid::Uuid;

use super::summary::{EndState, EventCounts, SessionSummary};
use crate::adapters::prices::table::PriceTable;
use crate::encode::attr;
use crate::encode::values::clamp_i64;
use crate::event::recorded::{Placement, RecordedEvent};
use crate::event::{Event, EventType};
use crate::pipeline::handle::Pipeline;
use crate::pipeline::message::Message;
use crate::pipeline::processor::SessionMark;
use crate::stats::Counters;

pub(crate) struct SessionInner {
    pub id: Uuid,
    pub id_str: Arc<str>,
    pub trace_id: TraceId,
    pub root_span_id: SpanId,
    pub sampled: bool,
    /// The `tracestate` the session was continued with (empty otherwise), passed on
    /// to what it propagates.
    pub trace_state: TraceState,
    pub tags: Vec<String>,
    pub started_at: SystemTime,
    pub started: Instant,
    pub root: Mutex<Option<SdkSpan>>,
    /// Events recorded, by type (sized by the type list, so a new type has its slot).
    pub counts: [AtomicU64; EventType::ALL.len()],
    pub input_tokens: AtomicU64,
    pub output_tokens: AtomicU64,
    pub cost_bits: AtomicU64,
    pub errored: AtomicBool,
    pub summary: Mutex<Option<SessionSummary>>,
    pub pipeline: Option<Arc<Pipeline>>,
    pub replay_url: Option<String>,
    /// Prices LLM calls recorded without a cost.
    pub prices: Arc<PriceTable>,
}

fn add_f64(a: &AtomicU64, v: f64) {
    if !v.is_finite() {
        return;
    }
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + v).to_bits()));
}

impl SessionInner {
    pub(super) fn count(&self, event: &Event) {
        self.counts[event.event_type().index()].fetch_add(1, Ordering::Relaxed);
        if let Event::Llm(e) = event {
            // A failed call is the session's error too (it has no error span of its own).
            if e.error().is_some() {
                self.counts[EventType::Error.index()].fetch_add(1, Ordering::Relaxed);
            }
            if let Some(t) = e.input_tokens {
                self.input_tokens.fetch_add(t, Ordering::Relaxed);
            }
            if let Some(t) = e.output_tokens {
                self.output_tokens.fetch_add(t, Ordering::Relaxed);
            }
            if let Some(c) = e.cost {
                add_f64(&self.cost_bits, c);
            }
        }
    }

    pub fn send(&self, event: Event, parent_span_id: SpanId, agent_id: Option<Arc<String>>, errored: bool) {
        if let Some(pipeline) = self.queue() {
            let placement = Placement { trace_id: self.trace_id, parent_span_id, agent_id };
            pipeline.submit(Message::Event(Box::new(RecordedEvent { event, placement, errored })));
        }
    }

    /// The queue this session's events and spans go to: none without a pipeline,
    /// or when the session is sampled out (which counts the one that would have gone).
    pub(super) fn queue(&self) -> Option<&Pipeline> {
        let pipeline = self.pipeline.as_deref()?;
        if !self.sampled {
            Counters::add(&pipeline.counters.sampled_out, 1);
            return None;
        }
        Some(pipeline)
    }

    /// Queues a finished span built outside the SDK (the `tracing` bridge's).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub fn send_span(&self, span: opentelemetry_sdk::trace::SpanData) {
        if let Some(pipeline) = self.queue() {
            pipeline.submit(Message::Span(Box::new(span)));
        }
    }

    fn event_counts(&self) -> EventCounts {
        let get = |t: EventType| self.counts[t.index()].load(Ordering::Relaxed);
        EventCounts {
            llms: get(EventType::Llm),
            tools: get(EventType::Tool),
            actions: get(EventType::Action),
            errors: get(EventType::Error),
            agents: get(EventType::Agent),
        }
    }

    /// Ends the session once; later calls return the first summary.
    pub fn end(&self, state: EndState, reason: Option<String>) -> SessionSummary {
        let mut slot = self.summary.lock();
        if let Some(s) = &*slot {
            return s.clone();
        }
        let ended_at = SystemTime::now();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let summary = SessionSummary {
            session_id: self.id,
            end_state: state,
            end_state_reason: reason,
            tags: self.tags.clone(),
            started_at: self.started_at,
            ended_at,
            duration: self.started.elapsed(),
            event_counts: self.event_counts(),
            input_tokens: get(&self.input_tokens),
            output_tokens: get(&self.output_tokens),
            cost: f64::from_bits(get(&self.cost_bits)),
            sampled: self.sampled,
            replay_url: self.replay_url.clone(),
            token_cost: None,
        };
        let root = self.root.lock().take();
        if let (Some(p), false) = (&self.pipeline, self.sampled) {
            // A dropped root is a non-recording SDK span: no processor sees it end.
            Counters::add(&p.counters.sampled_out, 1);
        }
        if let Some(root) = root.filter(|_| self.sampled) {
            self.end_root(root, &summary);
        }
        match &self.replay_url {
            Some(url) => {
                let line = format_args!("session {} ended ({state}); {summary}; replay: {url}", self.id);
                crate::util::say::say(log::Level::Info, line)
            }
            None => log::info!(target: "agentops", "session {} ended ({state}); {summary}", self.id),
        }
        *slot = Some(summary.clone());
        summary
    }

    /// Writes the summary onto the root span and ends it.
    fn end_root(&self, mut root: SdkSpan, summary: &SessionSummary) {
        let mut attrs = vec![
            KeyValue::new(attr::SESSION_END_STATE, summary.end_state.as_str()),
            KeyValue::new(attr::SESSION_INPUT_TOKENS, clamp_i64(summary.input_tokens)),
            KeyValue::new(attr::SESSION_OUTPUT_TOKENS, clamp_i64(summary.output_tokens)),
            KeyValue::new(attr::SESSION_COST, summary.cost),
        ];
        if let Some(r) = &summary.end_state_reason {
            attrs.push(KeyValue::new(attr::SESSION_END_STATE_REASON, r.clone()));
        }
        for t in EventType::ALL {
            let key = format!("{}{}", attr::SESSION_EVENT_COUNT_PREFIX, t.as_str());
            attrs.push(KeyValue::new(key, clamp_i64(summary.event_counts.get(t))));
        }
        root.set_attributes(attrs);
        let errored = self.errored.load(Ordering::Relaxed);
        root.set_status(match summary.end_state {
            EndState::Fail => Status::error(summary.end_state_reason.clone().unwrap_or_else(|| "Fail".into())),
            EndState::Success => Status::Ok,
            EndState::Indeterminate if errored => Status::error("an error was recorded in the session"),
            EndState::Indeterminate => Status::Unset,
        });
        root.end_with_timestamp(summary.ended_at);
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        if self.summary.lock().is_none() {
            if std::thread::panicking() {
                self.end(EndState::Fail, Some("dropped while panicking".into()));
            } else {
                self.end(EndState::Indeterminate, Some("session dropped without end()".into()));
            }
        }
    }
}

/// An open scope inside a session (an action or an agent): its span id, its parent,
/// the event that becomes its span when it ends, and whether an error was recorded
/// inside it.
pub(crate) struct OpenScope {
    pub session: Arc<SessionInner>,
    pub parent: Option<Arc<OpenScope>>,
    pub span_id: SpanId,
    /// The agent's id, when this scope is an agent.
    pub agent_id: Option<Arc<String>>,
    pub event: Mutex<Option<Event>>,
    pub errored: AtomicBool,
    /// An agent's provider is known (given, or taken from a model call inside).
    provider_known: AtomicBool,
}

impl OpenScope {
    /// Opens a scope for `event` (an action or an agent).
    pub fn open(session: Arc<SessionInner>, parent: Option<Arc<OpenScope>>, event: Event) -> Arc<Self> {
        // Counted when opened: a summary taken while it is open includes it.
        session.counts[event.event_type().index()].fetch_add(1, Ordering::Relaxed);
        let (agent_id, provider_known) = match &event {
            Event::Agent(a) => (Some(Arc::new(a.agent_id.clone())), a.provider.is_some()),
            _ => (None, true),
        };
        Arc::new(OpenScope {
            span_id: crate::event::recorded::event_span_id(&event.common().id),
            session,
            parent,
            agent_id,
            event: Mutex::new(Some(event)),
            errored: AtomicBool::new(false),
            provider_known: AtomicBool::new(provider_known),
        })
    }

    /// A model call of `provider` was recorded in this scope: the nearest agent
    /// around it that has no provider yet takes it (`gen_ai.provider.name` is
    /// required on agent spans). One relaxed load once it is known.
    #[allow(clippy::ptr_arg)] // the `Cow` is cloned: a literal stays borrowed
    pub fn agent_provider_seen(&self, provider: &std::borrow::Cow<'static, str>) {
        let mut s = Some(self);
        while let Some(scope) = s {
            if scope.agent_id.is_some() {
                if !scope.provider_known.load(Ordering::Relaxed) {
                    if let Some(Event::Agent(a)) = scope.event.lock().as_mut() {
                        a.provider.get_or_insert_with(|| provider.clone());
                    }
                    scope.provider_known.store(true, Ordering::Relaxed);
                }
                return;
            }
            s = scope.parent.as_deref();
        }
    }

    /// The id of the nearest agent this scope is in (itself included).
    pub fn agent(&self) -> Option<&Arc<String>> {
        let mut s = Some(self);
        while let Some(scope) = s {
            if let Some(id) = &scope.agent_id {
                return Some(id);
            }
            s = scope.parent.as_deref();
        }
        None
    }

    /// Ends the scope once; `panicking` marks it failed.
    pub fn finish(&self, panicking: bool) {
        let Some(mut event) = self.event.lock().take() else {
            return;
        };
        event.common_mut().ended_at = Some(SystemTime::now());
        let errored = self.errored.load(Ordering::Relaxed) || panicking;
        let parent = self.parent.as_ref().map_or(self.session.root_span_id, |p| p.span_id);
        let agent = self.parent.as_ref().and_then(|p| p.agent()).cloned();
        self.session.send(event, parent, agent, errored);
    }
}

impl Drop for OpenScope {
    fn drop(&mut self) {
        self.finish(std::thread::panicking());
    }
}

/// The span context of `span_id` in `session` (marked not remote: the span lives
/// in this process).
pub(crate) fn span_context_of(session: &SessionInner, span_id: SpanId) -> SpanContext {
    let flags = if session.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
    SpanContext::new(session.trace_id, span_id, flags, false, session.trace_state.clone())
}

/// An OpenTelemetry context whose current span is `span_id` in `session`.
pub(crate) fn context_for(session: &SessionInner, span_id: SpanId) -> Context {
    let sc = span_context_of(session, span_id);
    Context::new().with_remote_span_context(sc).with_value(SessionMark { session_id: session.id_str.clone() })
}
