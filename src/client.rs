//! `Client`: the entry point. Owns the telemetry pipeline; starts sessions.

use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::trace::SdkTracer;
use parking_lot::Mutex;

use crate::adapters::prices::table::PriceTable;
use crate::config::otel::OtelConfig;
use crate::error::Error;
use crate::pipeline::manager::TelemetryManager;
use crate::session::handle::{Resume, Session};
use crate::session::state::SessionInner;
use crate::session::summary::EndState;
use crate::stats::Stats;
use crate::util::propagation;

struct ClientInner {
    manager: Option<TelemetryManager>,
    shutdown_timeout: Duration,
    prices: Arc<PriceTable>,
    /// Sessions started and maybe still open, for the panic hook
    /// ([`InitGuard::end_sessions_on_panic`](crate::InitGuard::end_sessions_on_panic)).
    sessions: Mutex<SessionList>,
    /// The trace sessions continue by default (`TRACEPARENT` in the environment).
    parent: Option<SpanContext>,
}

/// Weak references to the sessions a client started; the dead ones are dropped
/// whenever the list has doubled since the last sweep.
#[derive(Default)]
struct SessionList {
    sessions: Vec<Weak<SessionInner>>,
    sweep_at: usize,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if let Some(m) = &self.manager {
            // Bounded: returns by the configured deadline whatever the endpoint does.
            if let Err(e) = m.shutdown(self.shutdown_timeout) {
                log::warn!(target: "agentops", "shutdown on drop: {e}");
            }
        }
    }
}

/// The AgentOps client. Cheap to clone (clones share the pipeline), `Send + Sync`.
/// When the last clone is dropped the pipeline shuts down, waiting at most the
/// configured shutdown timeout.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

// A panic cannot leave the client inconsistent: counters are atomics and the locks
// (parking_lot) do not poison.
impl std::panic::UnwindSafe for Client {}
impl std::panic::RefUnwindSafe for Client {}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("disabled", &self.inner.manager.is_none()).finish()
    }
}

/// Options for [`Client::session`].
#[derive(Debug)]
#[must_use]
pub struct SessionBuilder<'a> {
    client: &'a Client,
    tags: Vec<String>,
    parent: Option<SpanContext>,
    resume: Option<Resume>,
}

impl SessionBuilder<'_> {
    /// Adds tags.
    pub fn tags<S: AsRef<str>>(mut self, tags: &[S]) -> Self {
        self.tags.extend(tags.iter().map(|t| t.as_ref().to_owned()));
        self
    }

    /// Continues a trace from elsewhere: the session's root becomes a child of this
    /// (remote) span, and the session id is that trace's id.
    pub fn parent(mut self, remote: SpanContext) -> Self {
        self.parent = Some(remote);
        self
    }

    /// Continues a session started elsewhere (another process, the Python SDK) by
    /// its id: this session's spans go into that session's trace (its id is the
    /// trace id), under a new `session` span that is a root of it. With the legacy
    /// v2 protocol the session is not created again: its JWT ([`jwt`](Self::jwt))
    /// is reused, or a fresh one asked for (`/v2/reauthorize_jwt`). It replaces a
    /// parent set before it (the one `TRACEPARENT` gives included); a parent set
    /// after it ([`parent`](Self::parent), [`traceparent`](Self::traceparent))
    /// wins, and the session continues that span instead.
    pub fn resume(mut self, session_id: uuid::Uuid) -> Self {
        self.resume = Some(Resume { session_id, jwt: self.resume.and_then(|r| r.jwt) });
        self.parent = None;
        self
    }

    /// The legacy v2 JWT of the session being resumed; call it after
    /// [`resume`](Self::resume) (before it, there is nothing to attach it to).
    pub fn jwt(mut self, jwt: impl Into<String>) -> Self {
        if let Some(r) = &mut self.resume {
            r.jwt = Some(jwt.into());
        }
        self
    }

    /// Continues the scope a W3C `traceparent` names (from
    /// [`Scope::traceparent`](crate::Scope::traceparent) in another process), with
    /// its `tracestate` if there is one: the session's root becomes a child of that
    /// span, in its trace, so the session id is the other session's.
    ///
    /// # Errors
    /// [`Error::InvalidTraceContext`] saying what is wrong with a malformed value.
    pub fn traceparent(self, traceparent: &str, tracestate: Option<&str>) -> Result<Self, Error> {
        let remote = propagation::parse(traceparent, tracestate)
            .map_err(|reason| Error::InvalidTraceContext { value: traceparent.to_owned(), reason })?;
        Ok(self.parent(remote))
    }

    /// Continues the trace context in incoming HTTP headers, read through
    /// `header(name)` (`traceparent`, `tracestate`; matched as the caller's map
    /// matches names). Without a `traceparent` the builder is returned unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidTraceContext`] when the headers are malformed.
    pub fn extract(self, header: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        match header("traceparent") {
            Some(tp) => self.traceparent(&tp, header("tracestate").as_deref()),
            None => Ok(self),
        }
    }

    /// Starts the session. Does no I/O and never blocks.
    pub fn start(self) -> Session {
        let inner = &self.client.inner;
        let m = inner.manager.as_ref();
        let session = Session::start(
            inner.prices.clone(),
            m.map(TelemetryManager::tracer),
            m.map(|m| m.pipeline().clone()),
            m.and_then(TelemetryManager::agentops),
            self.tags,
            self.parent,
            self.resume,
        );
        let mut list = inner.sessions.lock();
        if list.sessions.len() >= list.sweep_at {
            list.sessions.retain(|s| s.strong_count() > 0);
            list.sweep_at = (2 * list.sessions.len()).max(64);
        }
        list.sessions.push(Arc::downgrade(session.inner_arc()));
        session
    }
}

impl Client {
    /// A client for `config`. Starts the background threads; does no network I/O.
    ///
    /// # Errors
    /// [`Error::Io`] when a local resource cannot be had (the traces file cannot be
    /// opened), [`Error::Thread`] when a background thread cannot be started.
    pub fn new(config: OtelConfig) -> Result<Client, Error> {
        let (shutdown_timeout, prices, parent) =
            (config.shutdown_timeout, config.prices.clone(), config.parent.clone());
        let manager = if config.disabled { None } else { Some(TelemetryManager::new(config)?) };
        let sessions = Mutex::new(SessionList::default());
        Ok(Client { inner: Arc::new(ClientInner { manager, shutdown_timeout, prices, sessions, parent }) })
    }

    /// A client configured from the environment ([`OtelConfig::from_env`]).
    ///
    /// # Errors
    /// [`Error::Config`] naming the first invalid variable, or as [`Client::new`].
    pub fn from_env() -> Result<Client, Error> {
        Client::new(OtelConfig::from_env()?)
    }

    /// Starts a session with these tags. Does no I/O and never blocks.
    pub fn start_session<S: AsRef<str>>(&self, tags: &[S]) -> Session {
        self.session().tags(tags).start()
    }

    /// A builder for a session with more options.
    pub fn session(&self) -> SessionBuilder<'_> {
        SessionBuilder { client: self, tags: Vec::new(), parent: self.inner.parent.clone(), resume: None }
    }

    /// The tracer of this client's provider, for the application's own spans (start
    /// them in [`Scope::context`](crate::Scope::context) to put them in a session).
    /// `None` when disabled.
    pub fn tracer(&self) -> Option<&SdkTracer> {
        self.inner.manager.as_ref().map(TelemetryManager::tracer)
    }

    /// Exports everything recorded before this call, and (when metrics are on) a
    /// metrics collection taken after it; waits at most `timeout` (`Duration::MAX`
    /// is fine: it means no deadline).
    ///
    /// # Errors
    /// [`Error::Export`] (with the failure's kind) if spans were dropped since the
    /// previous flush or the metrics could not be exported (`dropped: 0`),
    /// [`Error::Timeout`] if the deadline came first, [`Error::ShutDown`] after a
    /// shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        match &self.inner.manager {
            Some(m) => m.flush(timeout),
            None => Ok(()),
        }
    }

    /// Drains the queue, exports, collects and exports the metrics a last time, and
    /// stops the background threads; returns by `timeout` whatever the endpoint
    /// does. When it returns, every span recorded so far is counted as exported or
    /// dropped in [`stats`](Self::stats). Spans ending afterwards are counted as
    /// dropped. Calling it again returns the first call's outcome.
    ///
    /// # Errors
    /// [`Error::Timeout`] if the deadline came first (what was in flight is counted
    /// as dropped), [`Error::Export`] if spans were dropped since the last flush or
    /// the last metrics could not be exported (`dropped: 0`).
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        match &self.inner.manager {
            Some(m) => m.shutdown(timeout),
            None => Ok(()),
        }
    }

    /// A snapshot of the pipeline's counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.inner.manager.as_ref().map(TelemetryManager::stats).unwrap_or_default();
        s.models_without_price = self.inner.prices.unknown_models();
        s
    }

    /// The prices LLM calls without an explicit cost are priced with.
    pub fn prices(&self) -> &PriceTable {
        &self.inner.prices
    }

    /// Whether telemetry is off.
    pub fn is_disabled(&self) -> bool {
        self.inner.manager.is_none()
    }

    /// The shutdown deadline configured for `Drop`.
    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.inner.shutdown_timeout
    }

    /// Whether both handles share one pipeline.
    pub(crate) fn same_as(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Ends every session of this client that is still open (the process is
    /// ending: a panic, a signal, an exit).
    pub(crate) fn end_open_sessions(&self, state: EndState, reason: &str) {
        let open: Vec<Arc<SessionInner>> =
            self.inner.sessions.lock().sessions.iter().filter_map(Weak::upgrade).collect();
        for s in open {
            s.end(state, Some(reason.to_owned()));
        }
    }
}
