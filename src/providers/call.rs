//! `ProviderCall`: the guard around one provider call made with any HTTP client.
//! Started with the request, it is given the answer (whole, streamed, or an error)
//! and records one inference span however the call ends: finished, failed, or
//! dropped unfinished.

use std::borrow::Cow;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::response::{Ended, Response};
use crate::adapters::{Api, Body, ProviderError, MAX_BODY_BYTES};
use crate::event::LlmEvent;
use crate::session::scope::Scope;

/// One provider call being recorded, for any HTTP client (`reqwest::blocking`, a
/// provider crate, hyper, ureq without the [`ProviderCapture`](super::ProviderCapture)
/// middleware). Start it as the request is sent; then give it the answer:
///
/// ```
/// use agentops::providers::{Api, ProviderCall};
/// use serde_json::json;
/// # let client = agentops::Client::new(agentops::OtelConfig::builder().disabled(true).build()?)?;
/// # let session = client.start_session(&["demo"]);
/// # let _entered = session.enter();
///
/// let request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
/// let call = ProviderCall::start(Api::OpenAiChat, &request).url("https://api.openai.com/v1/chat/completions");
/// // … send `request` with your client; then, with what came back:
/// let (status, body) = (200, br#"{"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#);
/// call.finish_with(status, body)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// - A whole answer: [`finish_with`](Self::finish_with) its status and body.
/// - A streamed one: [`status`](Self::status), [`push`](Self::push) the bytes as
///   they arrive (any split; server-sent events are decoded as they pass, nothing
///   is read twice), then [`finish`](Self::finish). Whether the body is a stream
///   is told from its bytes.
/// - No answer (no connection, a timeout): [`fail`](Self::fail).
/// - Dropped unfinished (the caller stopped reading, returned early, panicked):
///   the span ends then, with what arrived, marked incomplete
///   (`agentops.llm.incomplete`); a call never leaves its span open.
///
/// An answer of HTTP 400 or more is the call's failure: status ERROR, `error.type`
/// the provider's error type (or the status), and its message. Bodies over the
/// limit ([`max_body_bytes`](Self::max_body_bytes)) are not kept: the call is
/// recorded without content (`agentops.llm.content_omitted`). With no scope (none
/// given, none current on this thread) nothing is recorded.
#[must_use = "give the call its answer (finish_with, push + finish, or fail); dropping it records it as incomplete"]
#[derive(Debug)]
pub struct ProviderCall {
    scope: Option<Scope>,
    api: Api,
    /// The request, as the adapters read it, until a stream decoder takes it;
    /// `None` from the start when it was over the limit or not JSON.
    request: Option<Value>,
    /// The request could not be read: the call is recorded without content.
    unread: bool,
    /// The model the request names (or the URL, for Gemini).
    model: Option<String>,
    provider: Option<Cow<'static, str>>,
    url: Option<String>,
    started: Instant,
    started_at: SystemTime,
    status: Option<u16>,
    response: Response,
    /// Strings never to be recorded (the request's credentials), cut out of
    /// error messages.
    secrets: Vec<String>,
    open: bool,
}

impl ProviderCall {
    /// Starts recording a call to `api` in this thread's current scope (see
    /// [`Scope::enter`]); the clock starts now. A request that is not JSON is
    /// recorded without content.
    pub fn start(api: Api, request: impl Body) -> ProviderCall {
        ProviderCall::starting(Scope::current(), api, request.json().ok().map(Cow::into_owned), MAX_BODY_BYTES)
    }

    pub(crate) fn starting(scope: Option<Scope>, api: Api, request: Option<Value>, limit: usize) -> ProviderCall {
        let model = match &api {
            Api::Gemini { model } => Some(model.clone()),
            _ => request.as_ref().and_then(|r| r.get("model")).and_then(Value::as_str).map(str::to_owned),
        };
        ProviderCall {
            scope,
            api,
            unread: request.is_none(),
            request,
            model,
            provider: None,
            url: None,
            // A stream's time to its first chunk is from here, the request.
            started: Instant::now(),
            started_at: SystemTime::now(),
            status: None,
            response: Response::new(limit),
            secrets: Vec::new(),
            open: true,
        }
    }

    /// Records into `scope` instead of the current one.
    pub fn scope(mut self, scope: &Scope) -> Self {
        self.scope = Some(scope.clone());
        self
    }

    /// Where the request went (`server.address`, `server.port`; only the host and
    /// port are kept, see [`LlmEvent::url`]).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The provider's name (`gen_ai.provider.name`) when it is not the API's own:
    /// `groq` for Groq's OpenAI-compatible endpoint, for example.
    pub fn provider(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.provider = Some(name.into());
        self
    }

    /// The most bytes of a body kept to be read (default
    /// [`MAX_BODY_BYTES`]); past it the call is recorded without content.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.response.limit = limit;
        self
    }

    /// A credential the request carries (its API key): cut out of any message
    /// recorded, since a provider may echo a bad key in its error. Headers never
    /// reach the span; this is for what the answer says. (The middleware does it
    /// for the request's own credentials.) Strings under 4 bytes are ignored.
    pub fn redact(mut self, secret: impl AsRef<str>) -> Self {
        let secret = secret.as_ref();
        if secret.len() >= 4 {
            self.secrets.push(secret.to_owned());
        }
        self
    }

    /// The answer's HTTP status (before its body is pushed): 400 or more makes
    /// the body an error body and the call failed.
    pub fn status(&mut self, status: u16) {
        self.status = Some(status);
    }

    /// Feeds response bytes as they arrive, split anywhere.
    pub fn push(&mut self, bytes: &[u8]) {
        let (api, request, started) = (&self.api, &mut self.request, (self.started, self.started_at));
        // Server-sent events: the decoder takes the request (moved, not copied).
        let stream = || api.stream_of(request.take().unwrap_or_else(unread), started.0, started.1);
        self.response.push(bytes, stream);
    }

    /// Records the call, its answer complete.
    ///
    /// # Errors
    /// Why the call failed (it is recorded failed too): an error status, the
    /// provider's error event in a stream, a stream cut short before its end
    /// marker, or a body that is not the API's shape.
    pub fn finish(mut self) -> Result<(), ProviderError> {
        self.end(Ended::Finished)
    }

    /// Records the call from its whole answer: [`status`](Self::status), then
    /// [`push`](Self::push) and [`finish`](Self::finish).
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub fn finish_with(mut self, status: u16, body: &[u8]) -> Result<(), ProviderError> {
        self.status(status);
        self.push(body);
        self.finish()
    }

    /// Records the call failed without an answer (or with part of one): no
    /// connection, a timeout, a read that broke off. `error_type` is a
    /// low-cardinality kind (`timeout`, `connection_failed`, …; see
    /// [`LlmEvent::failed`]).
    pub fn fail(mut self, error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) {
        let _ = self.end(Ended::Failed(error_type.into(), message.into()));
    }

    fn end(&mut self, how: Ended) -> Result<(), ProviderError> {
        self.open = false;
        let asked = self.asked();
        let request = self.request.take().unwrap_or_else(unread);
        let started = (self.started, self.started_at);
        let (mut event, outcome) = self.response.event(&self.api, request, asked, self.status, how, started);
        if self.unread {
            event.prompt = None;
            event.details_mut().content_omitted = true;
        }
        if let Some(e) = event.details_mut().error.as_mut() {
            e.message = scrub(&e.message, &self.secrets);
        }
        if let Some(url) = &self.url {
            event = event.url(url);
        }
        if let Some(p) = &self.provider {
            event = event.provider(p.clone());
        }
        if let Some(scope) = &self.scope {
            scope.record(event);
        }
        outcome
    }

    /// The call as far as its request tells: model, provider, start.
    fn asked(&self) -> LlmEvent {
        let model = self.model.clone().unwrap_or_default();
        LlmEvent::new(model).provider(self.api.provider_name()).started_at(self.started_at)
    }
}

impl Scope {
    /// Starts recording a provider call in this scope (see [`ProviderCall`]).
    pub fn start_call(&self, api: Api, request: impl Body) -> ProviderCall {
        ProviderCall::starting(Some(self.clone()), api, request.json().ok().map(Cow::into_owned), MAX_BODY_BYTES)
    }
}

impl Drop for ProviderCall {
    fn drop(&mut self) {
        if self.open {
            let _ = self.end(Ended::Dropped);
        }
    }
}

/// The request the adapters see when it could not be read: an empty one, so that
/// the answer is read all the same.
fn unread() -> Value {
    Value::Object(Default::default())
}

/// `message` with every secret in it replaced.
fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[REDACTED]");
        }
    }
    out
}
