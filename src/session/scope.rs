//! `Scope`: where events are recorded — a session's root or an open action — and
//! the one recording interface of both. [`Session`](crate::Session) and
//! [`ActionScope`] dereference to it, so a helper that records takes `&Scope` and
//! is handed either.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use opentelemetry::Context;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::current::{current, current_open_in, enter, ScopeGuard};
use super::record::{guard_panic, record_under, run_tool};
use super::state::{context_for, span_context_of, OpenScope, SessionInner};
use crate::event::common::to_json;
use crate::event::{ActionEvent, AgentEvent, Event, EventRef, EventType, ToolCall, ToolEvent};
use crate::util::propagation;

/// Where events are recorded: a session's root, or an open action inside it. Cheap
/// to clone; `Send + Sync`. You get one by dereferencing a
/// [`Session`](crate::Session) or an [`ActionScope`]:
///
/// ```
/// use agentops::{Scope, ToolEvent};
///
/// fn search(scope: &Scope, query: &str) {
///     scope.record(ToolEvent::new("search").params(&query));
/// }
/// # let client = agentops::Client::new(agentops::OtelConfig::builder().disabled(true).build()?)?;
/// let session = client.start_session(&["demo"]);
/// search(&session, "in the session");
/// let plan = session.start_action("plan");
/// search(&plan, "nested under the action");
/// # Ok::<(), agentops::Error>(())
/// ```
#[derive(Clone)]
pub struct Scope {
    pub(crate) session: Arc<SessionInner>,
    /// The open action or agent events go under; `None` for the session root.
    pub(crate) open: Option<Arc<OpenScope>>,
}

// A panic cannot leave a scope half-updated: counters are atomics and the locks
// (parking_lot) do not poison, so scopes may cross `catch_unwind`.
impl std::panic::UnwindSafe for Scope {}
impl std::panic::RefUnwindSafe for Scope {}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("session_id", &self.session.id)
            .field("action", &self.open.as_ref().map(|a| a.span_id))
            .finish()
    }
}

impl Scope {
    /// The session this scope belongs to: its id (the trace id, as a UUID).
    pub fn session_id(&self) -> Uuid {
        self.session.id
    }

    /// Records a finished event as a child span of this scope. Returns a reference
    /// for linking an error to it. Never blocks; see [`Stats`](crate::Stats) for
    /// what happens when the queue is full.
    pub fn record(&self, event: impl Into<Event>) -> EventRef {
        // `record_under` finds the current scope for a session's root itself: doing
        // it here would cost every event one more copy of itself.
        record_under(&self.session, self.open.as_ref(), event.into(), false, None)
    }

    /// Where what is done through this scope goes: this scope's action or agent,
    /// or, for a session's root, the scope of the same session current on this
    /// thread, if any (see [`enter`](Self::enter)).
    fn here(&self) -> Option<Cow<'_, Arc<OpenScope>>> {
        match &self.open {
            Some(open) => Some(Cow::Borrowed(open)),
            None => current_open_in(&self.session).map(Cow::Owned),
        }
    }

    /// Makes this scope the current scope of this thread until the guard is
    /// dropped: [`agentops::record`](crate::record) (and the `tracing` bridge)
    /// record into it, and so does the session's own handle (`session.record(…)`
    /// nests under the entered scope). Guards may be dropped in any order; the
    /// current scope is the most recently entered one still held. Another thread
    /// is not affected: enter the scope there too. [`action`](Self::action) and
    /// [`agent`](Self::agent) enter their scope for the duration of their closure.
    ///
    /// ```
    /// use agentops::{LlmEvent, Scope};
    ///
    /// # let client = agentops::Client::new(agentops::OtelConfig::builder().disabled(true).build()?)?;
    /// let session = client.start_session(&["demo"]);
    /// let plan = session.start_action("plan");
    /// {
    ///     let _current = plan.enter();
    ///     session.record(LlmEvent::new("gpt-4o")); // nests under `plan`
    ///     agentops::record(LlmEvent::new("gpt-4o")); // so does this
    /// }
    /// session.record(LlmEvent::new("gpt-4o")); // under the session root again
    /// # Ok::<(), agentops::Error>(())
    /// ```
    pub fn enter(&self) -> ScopeGuard {
        enter((self.session.clone(), self.open.clone()))
    }

    /// This thread's current scope, if one was entered.
    pub(crate) fn current() -> Option<Scope> {
        current().map(|(session, open)| Scope { session, open })
    }

    /// Opens an action scope nested in this one: a span that stays open until
    /// [`ActionScope::end`] (or drop), with what is recorded through it nested
    /// under it.
    pub fn start_action(&self, action_type: impl Into<Cow<'static, str>>) -> ActionScope {
        let inner = self.open(ActionEvent::new(action_type).into());
        ActionScope { scope: Scope { session: self.session.clone(), open: Some(inner.clone()) }, action: inner }
    }

    fn open(&self, event: Event) -> Arc<OpenScope> {
        OpenScope::open(self.session.clone(), self.here().map(Cow::into_owned), event)
    }

    /// Opens an agent scope nested in this one: a span `invoke_agent {name}`
    /// (INTERNAL, `gen_ai.operation.name=invoke_agent`, `gen_ai.agent.name`,
    /// `gen_ai.agent.id`) that stays open until [`AgentScope::end`] (or drop).
    /// What is recorded through it nests under it and carries its id as
    /// `agent_id`; backends that read the GenAI conventions show it as an agent.
    /// `agent` is a name (`"planner"`) or an [`AgentEvent`] with more details (a
    /// description, a known id).
    pub fn start_agent(&self, agent: impl Into<AgentEvent>) -> AgentScope {
        let inner = self.open(agent.into().into());
        AgentScope { scope: Scope { session: self.session.clone(), open: Some(inner.clone()) }, agent: inner }
    }

    /// Runs `f` inside a nested agent scope (see [`start_agent`](Self::start_agent)),
    /// current on this thread while `f` runs, and ends the scope after it; a panic
    /// in `f` is handled as in [`action`](Self::action).
    pub fn agent<T>(&self, agent: impl Into<AgentEvent>, f: impl FnOnce(&AgentScope) -> T) -> T {
        let scope = self.start_agent(agent);
        let out = guard_panic(&self.session, self.here().as_deref(), || {
            let _current = scope.enter();
            f(&scope)
        });
        scope.end();
        out
    }

    /// Runs `f` inside a nested action scope, current on this thread while `f` runs
    /// (see [`enter`](Self::enter)), and ends the scope after it. If `f` panics, the
    /// session ends as `Fail` with the panic message and the panic goes on.
    pub fn action<T>(&self, action_type: impl Into<Cow<'static, str>>, f: impl FnOnce(&ActionScope) -> T) -> T {
        let scope = self.start_action(action_type);
        let out = guard_panic(&self.session, self.here().as_deref(), || {
            let _current = scope.enter();
            f(&scope)
        });
        scope.end();
        out
    }

    /// Runs a tool call and records it in this scope: its arguments, its result,
    /// its timing. An `Err` also records an [`ErrorEvent`](crate::ErrorEvent)
    /// linked to the call. If `f` panics, the session ends as `Fail` with the panic
    /// message and the panic goes on.
    ///
    /// # Errors
    /// Whatever `f` returns, unchanged.
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
        run_tool(&self.session, self.here().as_deref(), ToolEvent::new(name).params(args), f)
    }

    /// Runs a tool call the model asked for and records it with the provider's call
    /// id (`gen_ai.tool.call.id`), so the trace shows LLM → tool → LLM with
    /// matching ids. `f` gets the call's arguments. As [`tool`](Self::tool)
    /// otherwise: a failed call's span has status ERROR, with an error event
    /// linked to it.
    ///
    /// # Errors
    /// Whatever `f` returns, unchanged.
    pub fn tool_call<T, E>(&self, call: &ToolCall, f: impl FnOnce(&Value) -> Result<T, E>) -> Result<T, E>
    where
        T: Serialize,
        E: fmt::Display,
    {
        let mut event = ToolEvent::new(call.name.clone()).params(&call.arguments);
        event.call_id = call.id.clone();
        run_tool(&self.session, self.here().as_deref(), event, || f(&call.arguments))
    }

    /// The W3C `traceparent` of this scope (`00-{trace id}-{span id}-{flags}`): a
    /// process that continues it ([`SessionBuilder::traceparent`](crate::SessionBuilder::traceparent),
    /// or `TRACEPARENT` in its environment) joins this session's trace under this
    /// scope's span.
    pub fn traceparent(&self) -> String {
        let span_id = self.here().map_or(self.session.root_span_id, |a| a.span_id);
        propagation::traceparent(&span_context_of(&self.session, span_id))
    }

    /// The W3C `tracestate` the session was continued with (empty when none).
    pub fn tracestate(&self) -> String {
        self.session.trace_state.header()
    }

    /// The environment a child process needs to join this scope: `TRACEPARENT`,
    /// and `TRACESTATE` when there is one. [`Client::from_env`](crate::Client::from_env)
    /// in the child reads them.
    ///
    /// ```no_run
    /// # let client = agentops::Client::new(agentops::OtelConfig::builder().disabled(true).build()?)?;
    /// let session = client.start_session(&["parent"]);
    /// let status = std::process::Command::new("my-tool").envs(session.child_env()).status()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("TRACEPARENT", self.traceparent())];
        let state = self.tracestate();
        if !state.is_empty() {
            env.push(("TRACESTATE", state));
        }
        env
    }

    /// Writes this scope's trace context as HTTP headers through `set(name,
    /// value)`: `traceparent`, and `tracestate` when there is one; e.g.
    /// `scope.inject(|k, v| request.set_header(k, v))`. The server continues the
    /// session with [`SessionBuilder::extract`](crate::SessionBuilder::extract).
    pub fn inject(&self, mut set: impl FnMut(&'static str, &str)) {
        for (name, value) in self.child_env() {
            set(if name == "TRACEPARENT" { "traceparent" } else { "tracestate" }, &value);
        }
    }

    /// An OpenTelemetry context inside this scope: spans the application starts in
    /// it with [`Client::tracer`](crate::Client::tracer) join the session's trace
    /// under this scope's span and carry `session.id`.
    pub fn context(&self) -> Context {
        let span_id = self.here().map_or(self.session.root_span_id, |a| a.span_id);
        context_for(&self.session, span_id)
    }
}

/// An open action: a span that stays open while the agent works on the action,
/// with what is recorded through it as its children. Records through its
/// [`Scope`] (it dereferences to one). Clones share the action. Dropped without
/// [`end`](ActionScope::end), it ends itself (with ERROR status when dropped
/// during a panic).
#[derive(Clone)]
#[must_use = "dropping the scope ends the action at once"]
pub struct ActionScope {
    scope: Scope,
    /// The same action as `scope.action`, without the `Option`.
    action: Arc<OpenScope>,
}

impl fmt::Debug for ActionScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionScope").field("span_id", &self.inner().span_id).finish()
    }
}

impl Deref for ActionScope {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl ActionScope {
    fn inner(&self) -> &OpenScope {
        &self.action
    }

    /// The action's event reference (`None` once it has ended).
    pub fn event_ref(&self) -> Option<EventRef> {
        self.inner().event.lock().as_ref().map(|e| EventRef::new(e.common().id, EventType::Action))
    }

    /// Changes the open action's event (nothing once it has ended).
    fn update(&self, f: impl FnOnce(&mut ActionEvent)) {
        if let Some(Event::Action(e)) = self.inner().event.lock().as_mut() {
            f(e);
        }
    }

    /// Sets the action's inputs.
    pub fn params<T: Serialize + ?Sized>(&self, p: &T) {
        self.update(|e| e.params = Some(to_json(p)));
    }

    /// Sets the action's outputs.
    pub fn returns<T: Serialize + ?Sized>(&self, r: &T) {
        self.update(|e| e.returns = Some(to_json(r)));
    }

    /// Sets the action's logs.
    pub fn logs(&self, l: impl Into<String>) {
        self.update(|e| e.logs = Some(l.into()));
    }

    /// Ends the action now. Ending again does nothing.
    pub fn end(&self) {
        self.inner().finish(false);
    }
}

/// An open agent: a span `invoke_agent {name}` that stays open while the agent
/// works, with what is recorded through it (it dereferences to a [`Scope`]) as its
/// children, each carrying the agent's id. Clones share the agent. Dropped
/// without [`end`](AgentScope::end), it ends itself.
#[derive(Clone)]
#[must_use = "dropping the scope ends the agent at once"]
pub struct AgentScope {
    scope: Scope,
    agent: Arc<OpenScope>,
}

impl fmt::Debug for AgentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentScope").field("id", &self.id()).finish()
    }
}

impl Deref for AgentScope {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl AgentScope {
    /// The agent's id (`gen_ai.agent.id`).
    pub fn id(&self) -> &str {
        self.agent.agent_id.as_deref().map_or("", String::as_str)
    }

    /// Ends the agent's span now. Ending again does nothing.
    pub fn end(&self) {
        self.agent.finish(false);
    }
}
