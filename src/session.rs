//! `Session`: one agent run, one trace. Events recorded in it become child spans of
//! its root span; action scopes nest what is recorded inside them.
//!
//! Recording is cheap and never blocks: the event is counted for the summary, given
//! its end time, and moved into the export queue. Everything else (attributes,
//! truncation, JSON) happens on the export thread.

use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};
use parking_lot::Mutex;
use serde::Serialize;
use uuid::Uuid;

use crate::config::AgentOpsConfig;
use crate::event::{to_json, ActionEvent, ErrorEvent, Event, EventRef, EventType, ToolEvent};
use crate::telemetry::encoder::{attr, event_span_id, string_array, Placement, RecordedEvent};

use crate::telemetry::exporters::SessionStart;
use crate::telemetry::ids;
use crate::telemetry::processor::SessionMark;
use crate::telemetry::stats::Counters;
use crate::telemetry::time::human_duration;
use crate::telemetry::worker::{Message, Pipeline};

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndState {
    /// The agent did what it was asked.
    Success,
    /// The agent failed (the root span's status becomes ERROR).
    Fail,
    /// Unknown: the session was dropped without being ended, or the application
    /// could not tell.
    Indeterminate,
}

impl EndState {
    /// `Success`, `Fail` or `Indeterminate`, as AgentOps spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            EndState::Success => "Success",
            EndState::Fail => "Fail",
            EndState::Indeterminate => "Indeterminate",
        }
    }
}

impl fmt::Display for EndState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Events recorded per type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// LLM calls.
    pub llms: u64,
    /// Tool calls.
    pub tools: u64,
    /// Actions.
    pub actions: u64,
    /// Errors.
    pub errors: u64,
}

impl EventCounts {
    /// The count of one type.
    pub fn get(&self, t: EventType) -> u64 {
        match t {
            EventType::Llm => self.llms,
            EventType::Tool => self.tools,
            EventType::Action => self.actions,
            EventType::Error => self.errors,
        }
    }

    /// All events.
    pub fn total(&self) -> u64 {
        self.llms + self.tools + self.actions + self.errors
    }
}

/// What a session came to, returned by [`Session::end`].
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    /// The session id (= the trace id, as a UUID).
    pub session_id: Uuid,
    /// How it ended.
    pub end_state: EndState,
    /// Why it ended so.
    pub end_state_reason: Option<String>,
    /// The session's tags.
    pub tags: Vec<String>,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// Events per type.
    pub event_counts: EventCounts,
    /// Input tokens over all LLM calls.
    pub input_tokens: u64,
    /// Output tokens over all LLM calls.
    pub output_tokens: u64,
    /// Cost over all LLM calls in USD (non-finite costs are left out).
    pub cost: f64,
    /// Whether the session was sampled (exported).
    pub sampled: bool,
    /// The session's page on the AgentOps dashboard, when exporting to AgentOps.
    pub replay_url: Option<String>,
    /// The cost AgentOps computed for the session (legacy v2 protocol), filled in
    /// by [`Session::end_and_flush`]; `None` otherwise.
    pub token_cost: Option<f64>,
}

impl fmt::Display for SessionSummary {
    /// `Session Stats - Duration: 1m 2.3s | Cost: $0.001234 | LLMs: 2 | Tools: 1 | Actions: 1 | Errors: 1`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.event_counts;
        write!(
            f,
            "Session Stats - Duration: {} | Cost: ${:.6} | LLMs: {} | Tools: {} | Actions: {} | Errors: {}",
            human_duration(self.duration),
            self.cost,
            c.llms,
            c.tools,
            c.actions,
            c.errors
        )
    }
}

pub(crate) struct SessionInner {
    id: Uuid,
    id_str: Arc<str>,
    trace_id: TraceId,
    root_span_id: SpanId,
    sampled: bool,
    tags: Vec<String>,
    started_at: SystemTime,
    started: Instant,
    root: Mutex<Option<SdkSpan>>,
    counts: [AtomicU64; 4],
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    cost_bits: AtomicU64,
    errored: AtomicBool,
    summary: Mutex<Option<SessionSummary>>,
    pipeline: Option<Arc<Pipeline>>,
    replay_url: Option<String>,
}

/// One agent run: a trace whose root span is the session. Cheap to clone; clones
/// share the session. `Send + Sync`: record from any number of threads.
///
/// A session dropped without [`end`](Session::end) ends itself as `Indeterminate`
/// (or `Fail`, when dropped during a panic).
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

// A panic cannot leave a session half-updated: counters are atomics and the locks
// (parking_lot) do not poison, so sessions may cross `catch_unwind`.
impl std::panic::UnwindSafe for Session {}
impl std::panic::RefUnwindSafe for Session {}
impl std::panic::UnwindSafe for ActionScope {}
impl std::panic::RefUnwindSafe for ActionScope {}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("tags", &self.inner.tags)
            .field("sampled", &self.inner.sampled)
            .finish()
    }
}

fn add_f64(a: &AtomicU64, v: f64) {
    if !v.is_finite() {
        return;
    }
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + v).to_bits()));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned())
}

impl Session {
    /// Starts a session: opens its root span (no I/O).
    pub(crate) fn start(
        tracer: Option<&SdkTracer>,
        pipeline: Option<Arc<Pipeline>>,
        agentops: Option<&AgentOpsConfig>,
        tags: Vec<String>,
        parent: Option<SpanContext>,
    ) -> Session {
        let started_at = SystemTime::now();
        let (root, trace_id, root_span_id, sampled) = match tracer {
            Some(tracer) => {
                let parent_cx = match parent {
                    Some(sc) if sc.is_valid() => Context::new().with_remote_span_context(sc),
                    _ => Context::new(),
                };
                let span = tracer
                    .span_builder("session")
                    .with_kind(SpanKind::Internal)
                    .with_start_time(started_at)
                    .with_attributes([
                        KeyValue::new(attr::SPAN_KIND, "session"),
                        KeyValue::new(attr::SESSION_TAGS, string_array(&tags)),
                    ])
                    .start_with_context(tracer, &parent_cx);
                let sc = span.span_context().clone();
                (Some(span), sc.trace_id(), sc.span_id(), sc.is_sampled())
            }
            // Telemetry disabled: a session that only counts and summarizes.
            None => {
                let u = ids::new_uuid();
                (None, TraceId::from_bytes(*u.as_bytes()), ids::new_span_id(), false)
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
            p.session_started(SessionStart { session_id: id, tags: tags.clone(), started_at });
        }
        if let Some(url) = &replay_url {
            log::info!(target: "agentops", "session {id} started; replay: {url}");
        }
        Session {
            inner: Arc::new(SessionInner {
                id,
                id_str,
                trace_id,
                root_span_id,
                sampled,
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
            }),
        }
    }

    /// The session id: the trace id, as a UUID.
    pub fn id(&self) -> Uuid {
        self.inner.id
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.inner.trace_id
    }

    /// The session's tags.
    pub fn tags(&self) -> &[String] {
        &self.inner.tags
    }

    /// Whether the sampler kept this session (if not, nothing of it is exported).
    pub fn is_sampled(&self) -> bool {
        self.inner.sampled
    }

    /// Whether [`end`](Self::end) was called.
    pub fn is_ended(&self) -> bool {
        self.inner.summary.lock().is_some()
    }

    /// Records a finished event as a child span of the session. Returns a reference
    /// for linking an error to it. Never blocks; see [`Stats`](crate::Stats) for
    /// what happens when the queue is full.
    pub fn record(&self, event: impl Into<Event>) -> EventRef {
        record_under(&self.inner, None, event.into())
    }

    /// Opens an action scope: a span that stays open until [`ActionScope::end`] (or
    /// drop), with what is recorded through it nested under it.
    pub fn start_action(&self, action_type: impl Into<Cow<'static, str>>) -> ActionScope {
        ActionScope::open(self.inner.clone(), None, ActionEvent::new(action_type))
    }

    /// Runs `f` inside an action scope and ends the scope after it. If `f` panics,
    /// the session ends as `Fail` with the panic message and the panic goes on.
    pub fn action<T>(&self, action_type: impl Into<Cow<'static, str>>, f: impl FnOnce(&ActionScope) -> T) -> T {
        let scope = self.start_action(action_type);
        let out = guard_panic(&self.inner, None, || f(&scope));
        scope.end();
        out
    }

    /// Runs a tool call and records it: its arguments, its result, its timing. An
    /// `Err` also records an [`ErrorEvent`] linked to the call. If `f` panics, the
    /// session ends as `Fail` with the panic message and the panic goes on.
    pub fn tool<A, T, E>(
        &self,
        name: impl Into<Cow<'static, str>>,
        args: &A,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        A: Serialize + ?Sized,
        T: Serialize,
        E: fmt::Display,
    {
        run_tool(&self.inner, None, name.into(), args, f)
    }

    /// An OpenTelemetry context inside this session: spans the application starts in
    /// it with [`Client::tracer`](crate::Client::tracer) join the session's trace
    /// under its root and carry `session.id`.
    pub fn context(&self) -> Context {
        context_for(&self.inner, self.inner.root_span_id)
    }

    /// Ends the session and returns its summary. Ending again returns the first
    /// summary and changes nothing.
    pub fn end(&self, state: EndState, reason: impl Into<String>) -> SessionSummary {
        let reason = reason.into();
        self.inner.end(state, (!reason.is_empty()).then_some(reason))
    }

    /// Ends the session like [`end`](Self::end), then waits (at most `timeout`)
    /// until everything recorded so far is exported, and fills in what the
    /// backend answered ([`SessionSummary::token_cost`] with the legacy AgentOps
    /// protocol). The one session call that waits on the network, by request.
    pub fn end_and_flush(
        &self,
        state: EndState,
        reason: impl Into<String>,
        timeout: Duration,
    ) -> Result<SessionSummary, crate::Error> {
        let mut summary = self.end(state, reason);
        if let Some(p) = &self.inner.pipeline {
            p.flush(timeout)?;
            if let Some(cost) = p.costs.take(&self.inner.id) {
                summary.token_cost = Some(cost);
                if let Some(stored) = self.inner.summary.lock().as_mut() {
                    stored.token_cost = Some(cost);
                }
            }
        }
        Ok(summary)
    }

    /// The session's page on the AgentOps dashboard, when exporting to AgentOps.
    pub fn replay_url(&self) -> Option<&str> {
        self.inner.replay_url.as_deref()
    }
}

impl SessionInner {
    fn count(&self, event: &Event) {
        self.counts[event.event_type().index()].fetch_add(1, Ordering::Relaxed);
        if let Event::Llm(e) = event {
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

    fn send(&self, event: Event, parent_span_id: SpanId, errored: bool) {
        let Some(pipeline) = &self.pipeline else {
            return;
        };
        if !self.sampled {
            Counters::add(&pipeline.counters.sampled_out, 1);
            return;
        }
        pipeline.submit(Message::Event(Box::new(Some(RecordedEvent {
            event,
            placement: Placement { trace_id: self.trace_id, parent_span_id },
            errored,
        }))));
    }

    fn end(&self, state: EndState, reason: Option<String>) -> SessionSummary {
        let mut slot = self.summary.lock();
        if let Some(s) = &*slot {
            return s.clone();
        }
        let ended_at = SystemTime::now();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let event_counts = EventCounts {
            llms: get(&self.counts[EventType::Llm.index()]),
            tools: get(&self.counts[EventType::Tool.index()]),
            actions: get(&self.counts[EventType::Action.index()]),
            errors: get(&self.counts[EventType::Error.index()]),
        };
        let summary = SessionSummary {
            session_id: self.id,
            end_state: state,
            end_state_reason: reason,
            tags: self.tags.clone(),
            started_at: self.started_at,
            ended_at,
            duration: self.started.elapsed(),
            event_counts,
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
        if let Some(mut root) = root.filter(|_| self.sampled) {
            let mut attrs = vec![
                KeyValue::new(attr::SESSION_END_STATE, state.as_str()),
                KeyValue::new(attr::SESSION_INPUT_TOKENS, summary.input_tokens as i64),
                KeyValue::new(attr::SESSION_OUTPUT_TOKENS, summary.output_tokens as i64),
                KeyValue::new(attr::SESSION_COST, summary.cost),
            ];
            if let Some(r) = &summary.end_state_reason {
                attrs.push(KeyValue::new(attr::SESSION_END_STATE_REASON, r.clone()));
            }
            for t in EventType::ALL {
                attrs.push(KeyValue::new(
                    format!("{}{}", attr::SESSION_EVENT_COUNT_PREFIX, t.as_str()),
                    event_counts.get(t) as i64,
                ));
            }
            root.set_attributes(attrs);
            let errored = self.errored.load(Ordering::Relaxed);
            root.set_status(match state {
                EndState::Fail => Status::error(summary.end_state_reason.clone().unwrap_or_else(|| "Fail".into())),
                EndState::Success => Status::Ok,
                EndState::Indeterminate if errored => Status::error("an error was recorded in the session"),
                EndState::Indeterminate => Status::Unset,
            });
            root.end_with_timestamp(ended_at);
        }
        if let Some(url) = &self.replay_url {
            log::info!(target: "agentops", "session {} ended ({state}); {summary}; replay: {url}", self.id);
        } else {
            log::info!(target: "agentops", "session {} ended ({state}); {summary}", self.id);
        }
        *slot = Some(summary.clone());
        summary
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

fn context_for(session: &SessionInner, span_id: SpanId) -> Context {
    let flags = if session.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
    // Marked not remote: the span lives in this process, its children are local.
    let sc = SpanContext::new(session.trace_id, span_id, flags, false, TraceState::NONE);
    Context::new().with_remote_span_context(sc).with_value(SessionMark { session_id: session.id_str.clone() })
}

/// Records `event` under `scope` (or the session root), counting it and propagating
/// an error to every open ancestor.
fn record_under(session: &Arc<SessionInner>, scope: Option<&Arc<ScopeInner>>, mut event: Event) -> EventRef {
    let common = event.common_mut();
    if common.ended_at.is_none() {
        common.ended_at = Some(SystemTime::now());
    }
    let r = event.as_ref();
    session.count(&event);
    if r.event_type == EventType::Error {
        let mut s = scope;
        while let Some(sc) = s {
            sc.errored.store(true, Ordering::Relaxed);
            s = sc.parent.as_ref();
        }
        session.errored.store(true, Ordering::Relaxed);
    }
    let parent = scope.map_or(session.root_span_id, |s| s.span_id);
    session.send(event, parent, false);
    r
}

/// Runs `f`; on panic, records the panic as an error, ends the session as `Fail`
/// with the message, and resumes the panic.
fn guard_panic<T>(session: &Arc<SessionInner>, scope: Option<&Arc<ScopeInner>>, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let msg = panic_message(&*payload);
            record_under(session, scope, ErrorEvent::new("panic").details(msg.clone()).into());
            session.end(EndState::Fail, Some(format!("panic: {msg}")));
            resume_unwind(payload)
        }
    }
}

fn run_tool<A, T, E>(
    session: &Arc<SessionInner>,
    scope: Option<&Arc<ScopeInner>>,
    name: Cow<'static, str>,
    args: &A,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E>
where
    A: Serialize + ?Sized,
    T: Serialize,
    E: fmt::Display,
{
    let event = ToolEvent::new(name).params(args);
    let out = guard_panic(session, scope, f);
    match &out {
        Ok(v) => {
            record_under(session, scope, event.returns(v).into());
        }
        Err(e) => {
            let tool = record_under(session, scope, event.logs(format!("error: {e}")).into());
            let err = ErrorEvent::new(std::any::type_name::<E>()).details(e.to_string()).trigger(tool);
            record_under(session, scope, err.into());
        }
    }
    out
}

struct ScopeInner {
    session: Arc<SessionInner>,
    parent: Option<Arc<ScopeInner>>,
    span_id: SpanId,
    event: Mutex<Option<ActionEvent>>,
    errored: AtomicBool,
}

/// An open action: a span that stays open while the agent works on the action,
/// with what is recorded through it as its children. Clones share the scope.
/// Dropped without [`end`](ActionScope::end), it ends itself (with ERROR status
/// when dropped during a panic).
#[derive(Clone)]
pub struct ActionScope {
    inner: Arc<ScopeInner>,
}

impl fmt::Debug for ActionScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionScope").field("span_id", &self.inner.span_id).finish()
    }
}

impl ActionScope {
    fn open(session: Arc<SessionInner>, parent: Option<Arc<ScopeInner>>, event: ActionEvent) -> ActionScope {
        // Counted when opened: a summary taken while it is open includes it.
        session.counts[EventType::Action.index()].fetch_add(1, Ordering::Relaxed);
        ActionScope {
            inner: Arc::new(ScopeInner {
                span_id: event_span_id(&event.common.id),
                session,
                parent,
                event: Mutex::new(Some(event)),
                errored: AtomicBool::new(false),
            }),
        }
    }

    /// The action's event reference.
    pub fn event_ref(&self) -> Option<EventRef> {
        self.inner.event.lock().as_ref().map(|e| EventRef { id: e.common.id, event_type: EventType::Action })
    }

    /// Sets the action's inputs.
    pub fn params<T: Serialize + ?Sized>(&self, p: &T) {
        if let Some(e) = self.inner.event.lock().as_mut() {
            e.params = Some(to_json(p));
        }
    }

    /// Sets the action's outputs.
    pub fn returns<T: Serialize + ?Sized>(&self, r: &T) {
        if let Some(e) = self.inner.event.lock().as_mut() {
            e.returns = Some(to_json(r));
        }
    }

    /// Sets the action's logs.
    pub fn logs(&self, l: impl Into<String>) {
        if let Some(e) = self.inner.event.lock().as_mut() {
            e.logs = Some(l.into());
        }
    }

    /// Records a finished event inside this action.
    pub fn record(&self, event: impl Into<Event>) -> EventRef {
        record_under(&self.inner.session, Some(&self.inner), event.into())
    }

    /// Opens a nested action.
    pub fn start_action(&self, action_type: impl Into<Cow<'static, str>>) -> ActionScope {
        ActionScope::open(self.inner.session.clone(), Some(self.inner.clone()), ActionEvent::new(action_type))
    }

    /// Runs a tool call inside this action; see [`Session::tool`].
    pub fn tool<A, T, E>(
        &self,
        name: impl Into<Cow<'static, str>>,
        args: &A,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        A: Serialize + ?Sized,
        T: Serialize,
        E: fmt::Display,
    {
        run_tool(&self.inner.session, Some(&self.inner), name.into(), args, f)
    }

    /// An OpenTelemetry context inside this action (see [`Session::context`]).
    pub fn context(&self) -> Context {
        context_for(&self.inner.session, self.inner.span_id)
    }

    /// Ends the action now. Ending again does nothing.
    pub fn end(&self) {
        self.inner.finish(false);
    }
}

impl ScopeInner {
    fn finish(&self, panicking: bool) {
        let Some(mut event) = self.event.lock().take() else {
            return;
        };
        event.common.ended_at = Some(SystemTime::now());
        let errored = self.errored.load(Ordering::Relaxed) || panicking;
        let parent = self.parent.as_ref().map_or(self.session.root_span_id, |p| p.span_id);
        self.session.send(Event::Action(event), parent, errored);
    }
}

impl Drop for ScopeInner {
    fn drop(&mut self) {
        self.finish(std::thread::panicking());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_matches_the_python_sdk() {
        let s = SessionSummary {
            session_id: Uuid::nil(),
            end_state: EndState::Success,
            end_state_reason: None,
            tags: vec![],
            started_at: SystemTime::UNIX_EPOCH,
            ended_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(62_300),
            event_counts: EventCounts { llms: 2, tools: 1, actions: 1, errors: 1 },
            input_tokens: 0,
            output_tokens: 0,
            cost: 0.001234,
            sampled: true,
            replay_url: None,
            token_cost: None,
        };
        assert_eq!(
            s.to_string(),
            "Session Stats - Duration: 1m 2.3s | Cost: $0.001234 | LLMs: 2 | Tools: 1 | Actions: 1 | Errors: 1"
        );
    }

    #[test]
    fn disabled_sessions_still_summarize() {
        let s = Session::start(None, None, None, vec!["t".into()], None);
        s.record(crate::LlmEvent::new("m").tokens(3, 4).cost(0.5));
        s.record(crate::LlmEvent::new("m").tokens(1, 1).cost(f64::NAN));
        let a = s.start_action("plan");
        a.record(ErrorEvent::new("x"));
        a.end();
        let sum = s.end(EndState::Success, "ok");
        assert_eq!(sum.event_counts, EventCounts { llms: 2, tools: 0, actions: 1, errors: 1 });
        assert_eq!((sum.input_tokens, sum.output_tokens), (4, 5));
        assert_eq!(sum.cost, 0.5);
        assert_eq!(s.end(EndState::Fail, "again"), sum, "second end changes nothing");
    }
}
